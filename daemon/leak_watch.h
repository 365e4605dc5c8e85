/* Once per interval: the leak verdict of every live process, the limits the
 * growers run into, and when they run out. Reads only cgroup files of
 * cgroups that hold a grower, and /proc/meminfo once. */
#ifndef FAULTLINE_LEAK_WATCH_H
#define FAULTLINE_LEAK_WATCH_H

#include <stdint.h>

#include "cgcache.h"
#include "config.h"
#include "leaks.h"
#include "limits.h"
#include "proctab.h"

struct leak_watch_stats {
	uint64_t rounds;
	uint64_t analysed;       /* verdicts computed, all rounds */
	uint64_t last_procs;     /* processes analysed in the last round */
	uint64_t last_us;        /* duration of the last round */
	uint64_t limit_errors;   /* cgroup or meminfo reads that failed */
	uint32_t by_class[LEAK__COUNT]; /* live processes per class, last round */
};

struct leak_watch {
	struct leak_params params;
	enum mem_limit_kind memcg_kind; /* which hierarchy has the memory controller */
	char memcg_root[256];
	char proc_root[64];
	struct mem_limit system;
	struct leak_watch_stats stats;
	/* The live leak suspects of the last round (valid until the next
	 * round or until the table drops a process). */
	struct proc **suspects;
	size_t nsuspects, suspects_cap;
	/* scratch, grown as needed */
	struct leak_verdict **growers;
	const struct mem_limit **grower_limits;
	size_t *grower_limit_idx; /* into limits[]; SIZE_MAX: none */
	struct mem_limit *limits;
	uint64_t *limit_ids;
	size_t cap;
};

/* The [leaks] keys of the config as analysis parameters. */
void leak_params_from_config(const struct fl_config *c, struct leak_params *p);

/* sys_cgroup_root is normally /sys/fs/cgroup, proc_root /proc. */
void leak_watch_init(struct leak_watch *w, const struct leak_params *prm, const char *sys_cgroup_root,
		     const char *proc_root);
void leak_watch_free(struct leak_watch *w);

/* Analyse every live process with known RSS, then project the growers. */
void leak_watch_round(struct leak_watch *w, struct proctab *t, const struct cgcache *cg);

#endif
