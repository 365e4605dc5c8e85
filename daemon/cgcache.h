/* Memory-cgroup id -> path, learnt once per cgroup from the first process
 * seen in it, so no /proc read happens per snapshot (pure code). */
#ifndef FAULTLINE_CGCACHE_H
#define FAULTLINE_CGCACHE_H

#include <stdint.h>
#include <uthash.h>

struct cg_entry {
	UT_hash_handle hh;
	uint64_t id;
	char path[];
};

struct cgcache {
	struct cg_entry *by_id;
	unsigned count;
};

const char *cgcache_get(const struct cgcache *c, uint64_t id);
int cgcache_put(struct cgcache *c, uint64_t id, const char *path);
void cgcache_free(struct cgcache *c);

#endif
