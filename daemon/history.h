/* Per-process sample history within a fixed memory budget (pure code).
 *
 * Samples land in tier 0 (every interval); each coarser tier keeps one sample
 * per `step` seconds, so recent history is dense and a week-long trend still
 * fits. Rings start small and grow to their tier's capacity, so a process
 * that lives a few seconds costs a few samples. */
#ifndef FAULTLINE_HISTORY_H
#define FAULTLINE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct hist_sample {
	uint32_t t;        /* CLOCK_REALTIME seconds */
	uint32_t anon_kb;  /* anonymous RSS */
	uint32_t swap_kb;  /* swapped-out anonymous pages */
	uint32_t file_kb;  /* file-backed RSS */
	uint32_t shmem_kb;
	uint32_t heap_kb;  /* brk - start_brk */
	uint64_t vm_kb;    /* total VM (can exceed 4 TiB: ASan, JVMs) */
	uint64_t min_flt;
	uint64_t maj_flt;
	/* Lowest and highest anon+swap of the samples this one stands for: a
	 * coarse tier keeps the first sample of each bucket, and without the
	 * envelope a sawtooth's troughs (or a leak's peaks) would fall between
	 * them. history_add() fills both; in tier 0 they equal anon+swap. */
	uint32_t owned_min_kb;
	uint32_t owned_max_kb;
};

#define HIST_TIERS 5

struct hist_ring {
	struct hist_sample *s;
	uint16_t cap;   /* allocated slots */
	uint16_t len;   /* used slots */
	uint16_t head;  /* index of the oldest sample */
};

struct history {
	struct hist_ring tier[HIST_TIERS];
};

/* Step (seconds) and capacity of each tier; tier 0 takes every sample. */
extern const uint32_t hist_tier_step[HIST_TIERS];
extern uint16_t hist_tier_cap[HIST_TIERS];

/* The default total of the tiers' capacities (1 min at 1 s … 1 week at 1 h). */
#define HIST_DEFAULT_SAMPLES 480
/* Scales every tier to a total of `total` samples per process (the
 * history_samples key), at least 1 per tier. Call before any history grows. */
void history_set_max_samples(unsigned total);

/* Appends one sample to one tier only (restoring a saved history). */
int history_push_tier(struct history *h, int tier, const struct hist_sample *s);

/* Append one sample (its envelope is computed here); returns 0 or -ENOMEM
 * (the sample is then dropped). */
int history_add(struct history *h, const struct hist_sample *s);
/* The same without growing any ring past its present size (the oldest
 * sample makes room): for when the memory budget is spent. */
int history_add_no_grow(struct history *h, const struct hist_sample *s);
void history_free(struct history *h);

/* Samples of one tier, oldest first: the i-th (0 <= i < len). */
const struct hist_sample *history_at(const struct history *h, int tier, size_t i);
size_t history_len(const struct history *h, int tier);
const struct hist_sample *history_last(const struct history *h);

/* Merge all tiers into one time-ordered series (coarse tiers for the span
 * the finer ones no longer cover). Fills at most max; returns the count. */
size_t history_series(const struct history *h, struct hist_sample *out, size_t max);

/* Bytes allocated for this history (for the daemon's memory accounting). */
size_t history_bytes(const struct history *h);

#endif
