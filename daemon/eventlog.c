#include "eventlog.h"

#include <errno.h>
#include <stdlib.h>

int eventlog_init(struct eventlog *l, size_t cap)
{
	l->ring = calloc(cap, sizeof(*l->ring));
	if (!l->ring)
		return -ENOMEM;
	l->cap = cap;
	l->len = l->head = 0;
	l->next_seq = 1;
	return 0;
}

void eventlog_free(struct eventlog *l)
{
	for (size_t i = 0; i < l->len; i++)
		json_object_put(eventlog_at(l, i));
	free(l->ring);
	l->ring = NULL;
	l->len = l->cap = 0;
}

static void put(struct eventlog *l, json_object *ev)
{
	if (l->len == l->cap) {
		json_object_put(l->ring[l->head]);
		l->ring[l->head] = ev;
		l->head = (l->head + 1) % l->cap;
	} else {
		l->ring[(l->head + l->len) % l->cap] = ev;
		l->len++;
	}
}

json_object *eventlog_add(struct eventlog *l, json_object *ev)
{
	json_object_object_add(ev, "seq", json_object_new_uint64(l->next_seq++));
	put(l, ev);
	return ev;
}

void eventlog_restore(struct eventlog *l, json_object *ev, uint64_t seq)
{
	put(l, ev);
	if (seq >= l->next_seq)
		l->next_seq = seq + 1;
}

json_object *eventlog_at(const struct eventlog *l, size_t i)
{
	return i < l->len ? l->ring[(l->head + i) % l->cap] : NULL;
}
