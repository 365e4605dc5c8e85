#include "cgcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *cgcache_get(const struct cgcache *c, uint64_t id)
{
	struct cg_entry *e;

	HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	return e ? e->path : NULL;
}

int cgcache_put(struct cgcache *c, uint64_t id, const char *path)
{
	size_t n = strlen(path) + 1;
	struct cg_entry *e, *old;

	e = malloc(sizeof(*e) + n);
	if (!e)
		return -ENOMEM;
	e->id = id;
	memcpy(e->path, path, n);
	HASH_FIND(hh, c->by_id, &id, sizeof(id), old);
	if (old) {
		HASH_DEL(c->by_id, old);
		free(old);
		c->count--;
	}
	HASH_ADD(hh, c->by_id, id, sizeof(e->id), e);
	c->count++;
	return 0;
}

void cgcache_free(struct cgcache *c)
{
	struct cg_entry *e, *tmp;

	HASH_ITER(hh, c->by_id, e, tmp) {
		HASH_DEL(c->by_id, e);
		free(e);
	}
	c->count = 0;
}
