/* Leak analysis of one process's history, and the projection of when the
 * growers run out of memory (pure code: fed with samples and limits).
 *
 * What counts is memory the process owns: anonymous RSS plus swapped-out
 * pages. File-backed RSS never counts (reading a big file is not a leak);
 * VM size only tells reserved-but-untouched growth apart. The verdict is
 * computed once per interval and kept on the process (struct proc.leak). */
#ifndef FAULTLINE_LEAKS_H
#define FAULTLINE_LEAKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "limits.h"

enum leak_class {
	LEAK_NEW = 0,       /* too few samples to say anything */
	LEAK_STEADY,        /* no growth worth the name */
	LEAK_GROWING,       /* growing, too early (or too unsteady) to call */
	LEAK_SUSPECT,       /* sustained growth that is not given back */
	LEAK_PLATEAU,       /* grew, then levelled off (a cache warming up) */
	LEAK_SAWTOOTH,      /* grows and gives back (GC, batches, churn) */
	LEAK_RESERVED_ONLY, /* VM grows, owned memory does not */
	LEAK__COUNT,
};

/* "leak-suspect", "growing", ... as the protocol spells them. */
const char *leak_class_name(enum leak_class c);
/* The inverse; -1 when unknown. */
int leak_class_from_name(const char *name);

#define LEAK_MAX_WINDOWS 4
/* The analysis works on at most this many points (the default history holds
 * 480 samples; a bigger one is merged down). */
#define LEAK_MAX_SAMPLES 512

struct leak_params {
	uint32_t min_duration_s; /* growth shorter than this is only "growing" */
	uint64_t min_growth;     /* bytes: less growth than this is noise */
	double min_confidence;   /* 0..1: below it, "growing" not "suspect" */
	uint32_t window_s[LEAK_MAX_WINDOWS]; /* rates reported over these spans */
	int nwindows;
};

/* Server defaults: 30 min, 32 MiB, 0.8, windows 1m/10m/1h. */
void leak_params_defaults(struct leak_params *p);

struct leak_window {
	uint32_t span_s;    /* the configured span */
	uint32_t covered_s; /* how much of it the history covers */
	uint32_t samples;
	double slope;       /* bytes/s (Theil–Sen); 0 when fewer than 3 samples */
};

struct leak_projection {
	double tte_s;            /* seconds to exhaustion; < 0: no projection */
	enum mem_limit_kind kind;
	uint64_t limit;          /* bytes */
	uint64_t headroom;       /* bytes left under the limit */
	double rate;             /* bytes/s of every grower sharing the limit */
	uint32_t sharers;        /* how many growers share it (this one included) */
	char where[256];         /* the limiting cgroup, "" for the system */
};

struct leak_verdict {
	enum leak_class cls;
	uint32_t analysed_at;  /* wall seconds of the newest sample; 0: never */
	uint32_t samples;      /* samples the verdict rests on */
	uint32_t span_s;       /* history span */
	uint64_t owned;        /* anon + swap now, bytes */
	double slope;          /* bytes/s since the growth began (Theil–Sen) */
	uint32_t growth_start; /* wall seconds */
	uint32_t growing_for_s;
	uint64_t grown;        /* bytes since the growth began */
	int64_t heap_delta;    /* brk heap change over the same span (evidence) */
	int64_t vm_delta;      /* VM change over the whole history */
	double confidence;     /* 0..1 */
	char reason[192];      /* the confidence (or the class) in one line */
	struct leak_window win[LEAK_MAX_WINDOWS];
	int nwin;
	struct leak_projection proj;
};

/* Analyses a time-ordered series s[0..n-1] (history_series()); beyond
 * LEAK_MAX_SAMPLES, neighbours are merged (with their envelope) so the whole
 * span counts. Returns 0, or -EINVAL for no samples. */
int leak_analyse(const struct hist_sample *s, size_t n, const struct leak_params *prm, struct leak_verdict *v);
/* The same, straight from a process's history. */
int leak_analyse_history(const struct history *h, const struct leak_params *prm, struct leak_verdict *v);

/* True for the classes whose growth is projected (suspect, growing). */
bool leak_is_grower(const struct leak_verdict *v);

/* Projection for a set of growers. memcg[i] is grower i's tightest cgroup
 * limit (NULL: none known); system is the machine's. Growers that share a
 * limit (same cgroup path; every grower for the system) share its headroom,
 * so each one's time is headroom / (sum of their rates); the soonest of the
 * two wins. Non-growers get no projection. */
void leak_project(struct leak_verdict **v, const struct mem_limit *const *memcg, size_t n,
		  const struct mem_limit *system);

/* Ranking for `faultline leaks`: suspects first, then by the soonest
 * exhaustion, then by the steepest slope. For qsort over verdict pointers. */
int leak_cmp_rank(const struct leak_verdict *a, const struct leak_verdict *b);

#endif
