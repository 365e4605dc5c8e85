/* The recent events (OOM kills, big mappings, leak alerts…) as JSON objects
 * in a bounded ring, numbered so `watch` clients and queries can follow. */
#ifndef FAULTLINE_EVENTLOG_H
#define FAULTLINE_EVENTLOG_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct eventlog {
	json_object **ring;
	size_t cap;
	size_t len;
	size_t head; /* oldest */
	uint64_t next_seq;
};

int eventlog_init(struct eventlog *l, size_t cap);
void eventlog_free(struct eventlog *l);
/* Takes ownership of ev; adds "seq" to it. Returns the stored object. */
json_object *eventlog_add(struct eventlog *l, json_object *ev);
/* Takes ownership of an event restored from the state file, which already
 * has its "seq"; later events are numbered after it. */
void eventlog_restore(struct eventlog *l, json_object *ev, uint64_t seq);
/* The i-th stored event, oldest first. */
json_object *eventlog_at(const struct eventlog *l, size_t i);

#endif
