/* The process table: latest counters, rates and history of every process,
 * keyed by (tgid, start time) so a reused pid never merges two processes.
 * Pure code: fed with records, knows nothing of BPF, /proc or sockets. */
#ifndef FAULTLINE_PROCTAB_H
#define FAULTLINE_PROCTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "faultline.h"
#include "history.h"
#include "leaks.h"

struct proc_key {
	uint32_t tgid;
	/* 0 for this boot; n for a record restored from n boots ago, whose
	 * (tgid, start_ns) may be taken again by an unrelated process now.
	 * The key is hashed as bytes: never leave it uninitialised. */
	uint32_t gen;
	uint64_t start_ns;
};

struct proc_counters {
	uint64_t min_flt;
	uint64_t maj_flt;
	uint64_t rss_anon; /* bytes */
	uint64_t rss_file;
	uint64_t rss_shmem;
	uint64_t swap;
	uint64_t vm;
	uint64_t heap;
	uint64_t pgtables;
};

enum proc_state {
	PROC_LIVE = 0,
	PROC_EXITED = 1,
};

enum proc_exit_how {
	EXIT_SEEN = 0,     /* the exit event arrived */
	EXIT_VANISHED = 1, /* gone from the snapshot, no exit event (dropped) */
	EXIT_WHILE_DOWN = 2, /* alive at the last save, gone at restart */
};

struct proc {
	UT_hash_handle hh;
	struct proc_key key;
	char comm[FL_COMM_LEN];
	bool comm_changed; /* in the last snapshot: it exec'd */
	uint32_t ppid;
	uint32_t uid;
	uint32_t nr_threads;
	uint32_t map_count;
	int32_t oom_score_adj;
	uint64_t memcg_id;
	struct proc_counters cur;
	struct fl_mm_stats mm;
	bool has_mm;
	bool rss_known; /* false for processes only seen at exit */
	bool restored;  /* loaded from the state file, not yet seen again */
	bool unit_retired; /* exited, and its counts folded into its unit (units_agg.c) */

	/* per second, over the last interval */
	double minflt_rate;
	double majflt_rate;
	double rss_rate; /* anon + file + shmem, bytes/s (negative: shrinking) */
	double anon_rate;

	uint64_t first_seen_ms; /* monotonic */
	uint64_t last_seen_ms;
	uint32_t first_seen_wall; /* CLOCK_REALTIME seconds */
	uint32_t round;
	uint32_t missed_rounds;

	enum proc_state state;
	enum proc_exit_how exit_how;
	int32_t exit_code;
	uint32_t exit_wall;
	uint64_t peak_rss; /* bytes, max of what we saw and the kernel's maxrss */

	char *cmdline;     /* filled by the I/O layer, may stay NULL */
	struct history hist;
	/* The leak verdict, recomputed once per interval from hist (while
	 * live; an exited process keeps its last one). */
	struct leak_verdict leak;
	enum leak_class leak_prev; /* the class before this interval's analysis */
	/* Wall seconds of the last leak alerts raised for this process (0:
	 * none yet): a new suspect, and an exhaustion within the horizon. */
	uint32_t leak_alerted_suspect;
	uint32_t leak_alerted_exhaustion;
	/* [trace] suspect_profile: the growth trace taken the first time the
	 * process became a leak suspect (the trace reply's data as JSON text),
	 * and where that stands (enum proc_profile). */
	char *growth_profile;
	uint8_t profile_state;
	struct proc *exit_prev, *exit_next; /* exited list, oldest first */
};

struct proctab_stats {
	uint64_t live;
	uint64_t exited;
	uint64_t seen_total;      /* distinct processes ever tracked */
	uint64_t exits_seen;      /* exit events applied */
	uint64_t exits_vanished;  /* gone without an exit event */
	uint64_t exited_evicted;  /* exited records dropped to keep the cap */
	uint64_t dropped_new;     /* new processes not tracked: table full */
	uint64_t dropped_new_memory; /* …of which because of max_memory */
	uint64_t evicted_memory;  /* exited records dropped to stay in max_memory */
	uint64_t history_oom;     /* samples lost to allocation failure */
	uint64_t history_capped;  /* samples that could not grow a history (max_memory) */
	uint64_t exited_while_down; /* restored live, gone at restart */
	uint64_t rounds;
};

struct proctab {
	struct proc *by_key;
	struct proc *exited_head; /* utlist, oldest first */
	uint32_t page_size;
	uint32_t max_live;
	uint32_t max_exited;
	uint64_t max_bytes; /* budget for records + history; 0: none */
	uint64_t mem_bytes; /* what the records and their history take now */
	uint32_t round;
	uint64_t now_ms;
	uint32_t now_wall;
	struct proctab_stats stats;
};

/* Forget a live process only after it misses this many snapshots without an
 * exit event: the event may still be in the ring buffer. */
#define PROCTAB_VANISH_ROUNDS 2

void proctab_init(struct proctab *t, uint32_t page_size, uint32_t max_live, uint32_t max_exited);
/* The memory budget (max_memory); exited records go first, oldest first. */
void proctab_set_max_bytes(struct proctab *t, uint64_t max_bytes);
void proctab_free(struct proctab *t);

/* Bytes one record takes (struct, history, command line). */
size_t proc_cost(const struct proc *p);
enum proc_profile { PROFILE_NONE = 0, PROFILE_RUNNING, PROFILE_DONE, PROFILE_FAILED };

/* Sets p->growth_profile (takes ownership), keeping the memory count right. */
void proctab_set_growth_profile(struct proctab *t, struct proc *p, char *json);
/* Sets p->cmdline (takes ownership), keeping the memory count right. */
void proctab_set_cmdline(struct proctab *t, struct proc *p, char *cmdline);

/* Re-inserts a record loaded from the state file: a copy of *tmpl (its
 * history and cmdline are taken over). Live ones are marked restored, so the
 * first round that misses them records them as exited while the daemon was
 * down. Returns the entry, or NULL for a duplicate key or no memory. */
struct proc *proctab_restore(struct proctab *t, struct proc *tmpl);

void proctab_begin_round(struct proctab *t, uint64_t now_ms, uint32_t now_wall);
/* Apply one process record (thread faults already summed in). Returns the
 * entry, or NULL when the table is full; *is_new says it was just added. */
struct proc *proctab_apply(struct proctab *t, const struct fl_proc_rec *r, bool *is_new);
/* Processes absent from this round: after PROCTAB_VANISH_ROUNDS, exited. */
void proctab_end_round(struct proctab *t);

/* The final record of a process. */
struct proc *proctab_exit(struct proctab *t, const struct fl_exit_event *e, uint64_t now_ms,
			  uint32_t now_wall);

struct proc *proctab_lookup(struct proctab *t, uint32_t tgid, uint64_t start_ns);
/* The live process with this pid, else the most recent exited one. */
struct proc *proctab_find_pid(struct proctab *t, uint32_t tgid);

uint64_t proc_rss(const struct proc *p);

/* Live processes into out[] (at most max), sorted by cmp; returns count. */
typedef int (*proc_cmp_fn)(const void *a, const void *b);
size_t proctab_sorted(struct proctab *t, bool exited, proc_cmp_fn cmp, struct proc **out, size_t max);

int proc_cmp_rss(const void *a, const void *b);
int proc_cmp_minflt_rate(const void *a, const void *b);
int proc_cmp_majflt_rate(const void *a, const void *b);
int proc_cmp_growth(const void *a, const void *b);
int proc_cmp_vm(const void *a, const void *b);
int proc_cmp_exit_newest(const void *a, const void *b);
/* Sort key by name ("rss", "minflt-rate", ...), NULL if unknown. */
proc_cmp_fn proc_cmp_by_name(const char *name);

#endif
