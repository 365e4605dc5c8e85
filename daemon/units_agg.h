/* Per-unit view: the process table summed per memory cgroup, which on a
 * systemd host is a service, scope or slice, and in a container host a
 * container. Keyed by the cgroup's path, not its id, so a restarted service
 * (new cgroup, same path) keeps its series. Fault and OOM counters never go
 * back: an exited process leaves its faults in its unit. Pure code: fed with
 * the process table and the cgroup cache, knows nothing of BPF or sockets. */
#ifndef FAULTLINE_UNITS_AGG_H
#define FAULTLINE_UNITS_AGG_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "cgcache.h"
#include "proctab.h"

#define UNIT_NAME_LEN 128
#define UNIT_OOM_KINDS 4

/* A unit with no process is forgotten after this long (a restarting service
 * comes back within it and keeps its counters). */
#define UNIT_IDLE_FORGET_MS (10 * 60 * 1000)

struct unit_oom {
	char constraint[16]; /* "memcg", "global", ...; "" = free slot */
	uint64_t kills;
};

struct unit {
	UT_hash_handle hh;
	char *path;                   /* the cgroup path, "/" for the root */
	char name[UNIT_NAME_LEN];     /* nginx.service, user@1000.service, a container id */
	char slice[UNIT_NAME_LEN];    /* nearest enclosing *.slice, "" when none */

	/* this round, over the unit's live processes */
	uint32_t procs;
	uint32_t leak_suspects;
	uint64_t rss_anon, rss_file, rss_shmem, swap; /* bytes */
	double minflt_rate, majflt_rate;              /* per second */
	double rss_rate;                              /* bytes per second */

	/* never decreasing */
	uint64_t minflt, majflt;                 /* live processes + retired */
	uint64_t retired_minflt, retired_majflt; /* exited processes' final counts */
	struct unit_oom oom[UNIT_OOM_KINDS];

	uint64_t idle_since_ms; /* 0 while it has processes */
};

struct units_agg_stats {
	uint64_t units;          /* tracked now */
	uint64_t unattributed;   /* live processes this round whose cgroup is unknown */
	uint64_t forgotten;      /* units dropped after UNIT_IDLE_FORGET_MS idle */
	uint64_t not_tracked;    /* units not tracked: table full */
	uint64_t oom_unattributed; /* OOM kills whose victim cgroup was unknown */
};

struct units_agg {
	struct unit *by_path;
	uint32_t max_units; /* table bound (not the export cap) */
	struct units_agg_stats stats;
};

/* Leak-suspect test of one process, supplied by the caller (may be NULL). */
typedef bool (*unit_suspect_fn)(const struct proc *p, void *ctx);

void units_agg_init(struct units_agg *ua, uint32_t max_units);
void units_agg_free(struct units_agg *ua);

/* One round: re-sum every unit from the process table. Exited processes
 * are folded into their unit's retired counters once (proc->unit_retired). */
void units_agg_update(struct units_agg *ua, struct proctab *pt, const struct cgcache *cg, uint64_t now_ms,
		      unit_suspect_fn is_suspect, void *ctx);

/* An OOM kill whose victim lived in the cgroup at path (NULL: unknown). */
void units_agg_oom(struct units_agg *ua, const char *path, const char *constraint, uint64_t now_ms);

struct unit *units_agg_find(struct units_agg *ua, const char *path);
uint64_t unit_rss(const struct unit *u);
uint64_t unit_oom_kills(const struct unit *u);

/* Units sorted by RSS, largest first, into out[] (at most max); count. */
size_t units_agg_sorted(struct units_agg *ua, struct unit **out, size_t max);

/* "nginx.service" and "system.slice" from "/system.slice/nginx.service". */
void unit_names_from_path(const char *path, char *name, size_t nlen, char *slice, size_t slen);

#endif
