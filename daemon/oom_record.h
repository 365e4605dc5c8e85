/* What one OOM kill was, as a JSON record (pure code: json-c and the process
 * table; no BPF, no files, no sockets).
 *
 *   id, time_ms, probe,
 *   victim     {pid, tid, start_ns, comm, cmdline, uid, ppid, threads, cgroup, memcg_id,
 *               rss_anon, rss_file, rss_shmem, swap, pgtables, total_vm, peak_rss, oom_score_adj}
 *   trigger    {pid, tid, comm, cgroup, memcg_id, is_victim}
 *   constraint {kind: "memcg", cgroup, memcg_id, limit, usage} | {kind: "system", mem_total, mem_available}
 *   top        [{pid, comm, rss, rss_anon, swap, cgroup}…]  the largest in that scope, latest snapshot
 *   history    {window_s, first_seen, samples: n, t: […], rss: […], anon: […], swap: […]}
 *   leak       {suspect, class, alerted_at, verdict}: had the victim been a leak suspect
 *   outcome    {state: "pending" | "exited" | "not_seen", time_ms, signal}
 *   unavailable {field: why}    every field left null says why here
 */
#ifndef FAULTLINE_OOM_RECORD_H
#define FAULTLINE_OOM_RECORD_H

#include <json-c/json.h>
#include <stdint.h>

#include "cgcache.h"
#include "faultline.h"
#include "proctab.h"

/* A memory cgroup is "at its limit" within this many pages. */
#define OOM_AT_LIMIT_PAGES 64
#define OOM_BLAME_SLOTS 64
#define OOM_TOP_N 5
#define OOM_HISTORY_WINDOW_S (30 * 60)
#define OOM_HISTORY_MAX_SAMPLES 180

/* Which level of the memcg chain a kill belongs to. A group is blamed when
 * it is at its limit and its own OOM count moved since the last kill blamed
 * on it; if none is, the kill was system-wide. Counts are remembered per
 * group (least recently blamed forgotten first). */
struct oom_blame {
	struct {
		uint64_t id;
		uint64_t count;
		uint64_t used; /* tick of the last blame, 0 = free */
	} slot[OOM_BLAME_SLOTS];
	uint64_t tick;
};

/* Index into e->levels, or -1 for system-wide. */
int oom_blame_pick(struct oom_blame *b, const struct fl_oom_event *e);

/* Everything the record is made of; the I/O layer fills the strings. */
struct oom_context {
	const struct fl_oom_event *ev;
	struct proctab *procs;
	const struct cgcache *cgroups;
	uint32_t page_size;
	uint64_t time_ms;	/* wall clock of the kill */
	int level;		/* oom_blame_pick() */
	const char *victim_cgroup;	/* NULL: not known */
	const char *trigger_cgroup;
	const char *constraint_cgroup;
	const char *victim_cmdline;	/* used when the process table has none */
	int64_t mem_total;	/* bytes, -1: unknown (system-wide kills) */
	int64_t mem_available;
};

/* The record (without "id": the store gives it). */
json_object *oom_record_build(const struct oom_context *c);

/* The outcome of a victim that is known to have exited. */
json_object *oom_outcome_exited(uint64_t time_ms, int32_t exit_code);
json_object *oom_outcome_not_seen(uint64_t time_ms);

/* "OOM killer: killed java (pid 4242, 3.1 GiB anon) in /app.service, limit
 * 3.0 GiB, triggered by java (pid 4250)". */
void oom_record_message(json_object *rec, char *buf, size_t len);

/* Every scalar field of the record as NAME=value, NAME in the journal's
 * field syntax: FAULTLINE_VICTIM_PID, FAULTLINE_TOP_0_COMM, arrays of
 * numbers comma-joined (FAULTLINE_HISTORY_RSS). Calls fn for each. */
typedef void (*oom_field_fn)(const char *name, const char *value, void *ctx);
void oom_record_fields(json_object *rec, oom_field_fn fn, void *ctx);

#endif
