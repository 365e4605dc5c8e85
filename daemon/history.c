#include "history.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* 1 min at 1 s, 10 min at 10 s, 2 h at 1 min, 12 h at 10 min, 1 week at 1 h. */
const uint32_t hist_tier_step[HIST_TIERS] = { 0, 10, 60, 600, 3600 };
static const uint16_t default_cap[HIST_TIERS] = { 60, 60, 120, 72, 168 };
uint16_t hist_tier_cap[HIST_TIERS] = { 60, 60, 120, 72, 168 };

void history_set_max_samples(unsigned total)
{
	for (int t = 0; t < HIST_TIERS; t++) {
		uint64_t c = (uint64_t)default_cap[t] * total / HIST_DEFAULT_SAMPLES;

		hist_tier_cap[t] = c < 1 ? 1 : c > UINT16_MAX ? UINT16_MAX : c;
	}
}

static int ring_push(struct hist_ring *r, uint16_t max, const struct hist_sample *s)
{
	if (r->len < r->cap) {
		r->s[(r->head + r->len) % r->cap] = *s;
		r->len++;
		return 0;
	}
	if (r->cap < max) {
		/* Grow: unroll into a bigger array, oldest first. */
		uint16_t ncap = r->cap ? r->cap * 2 : 4;
		struct hist_sample *n;

		if (ncap > max)
			ncap = max;
		n = malloc(sizeof(*n) * ncap);
		if (!n)
			return -ENOMEM;
		for (uint16_t i = 0; i < r->len; i++)
			n[i] = r->s[(r->head + i) % r->cap];
		free(r->s);
		r->s = n;
		r->cap = ncap;
		r->head = 0;
		r->s[r->len++] = *s;
		return 0;
	}
	r->s[r->head] = *s; /* full: overwrite the oldest */
	r->head = (r->head + 1) % r->cap;
	return 0;
}

static struct hist_sample *ring_last(const struct hist_ring *r)
{
	if (!r->len)
		return NULL;
	return &r->s[(r->head + r->len - 1) % r->cap];
}

static int add(struct history *h, const struct hist_sample *in, bool grow)
{
	struct hist_sample s = *in;
	int err;

	/* Not growing, a ring still gets its first slots: a record with no
	 * history at all would be useless, and new records are gated anyway. */
#define MAX(t) (grow || !h->tier[t].cap ? hist_tier_cap[t] : h->tier[t].cap)
	s.owned_min_kb = s.owned_max_kb = s.anon_kb + s.swap_kb;
	err = ring_push(&h->tier[0], MAX(0), &s);
	for (int t = 1; t < HIST_TIERS && !err; t++) {
		struct hist_sample *last = ring_last(&h->tier[t]);

		/* One sample per step: the first one of each bucket, widened
		 * to the envelope of every sample that fell into it. */
		if (last && s.t / hist_tier_step[t] == last->t / hist_tier_step[t]) {
			if (s.owned_min_kb < last->owned_min_kb)
				last->owned_min_kb = s.owned_min_kb;
			if (s.owned_max_kb > last->owned_max_kb)
				last->owned_max_kb = s.owned_max_kb;
			continue;
		}
		err = ring_push(&h->tier[t], MAX(t), &s);
	}
#undef MAX
	return err;
}

int history_add(struct history *h, const struct hist_sample *s)
{
	return add(h, s, true);
}

int history_add_no_grow(struct history *h, const struct hist_sample *s)
{
	return add(h, s, false);
}

int history_push_tier(struct history *h, int tier, const struct hist_sample *s)
{
	if (tier < 0 || tier >= HIST_TIERS)
		return -EINVAL;
	return ring_push(&h->tier[tier], hist_tier_cap[tier], s);
}

void history_free(struct history *h)
{
	for (int t = 0; t < HIST_TIERS; t++)
		free(h->tier[t].s);
	memset(h, 0, sizeof(*h));
}

size_t history_len(const struct history *h, int tier)
{
	return h->tier[tier].len;
}

const struct hist_sample *history_at(const struct history *h, int tier, size_t i)
{
	const struct hist_ring *r = &h->tier[tier];

	if (i >= r->len)
		return NULL;
	return &r->s[(r->head + i) % r->cap];
}

const struct hist_sample *history_last(const struct history *h)
{
	return ring_last(&h->tier[0]);
}

size_t history_series(const struct history *h, struct hist_sample *out, size_t max)
{
	/* Walk from the coarsest tier to the finest; each tier contributes
	 * only the samples older than what the next finer tier holds. */
	size_t n = 0;

	for (int t = HIST_TIERS - 1; t >= 0; t--) {
		const struct hist_ring *r = &h->tier[t];
		uint32_t finer_start = UINT32_MAX;

		for (int f = t - 1; f >= 0; f--) {
			if (h->tier[f].len) {
				uint32_t ft = history_at(h, f, 0)->t;
				if (ft < finer_start)
					finer_start = ft;
			}
		}
		for (size_t i = 0; i < r->len && n < max; i++) {
			const struct hist_sample *s = history_at(h, t, i);

			if (t > 0 && s->t >= finer_start)
				break;
			if (n && s->t < out[n - 1].t)
				continue;
			if (n && s->t == out[n - 1].t) {
				/* A sub-second interval: samples share whole
				 * seconds. One per second, with the newest
				 * values (the verdict's "now") and the
				 * envelope of them all. */
				uint32_t lo = out[n - 1].owned_min_kb, hi = out[n - 1].owned_max_kb;

				out[n - 1] = *s;
				if (lo < s->owned_min_kb)
					out[n - 1].owned_min_kb = lo;
				if (hi > s->owned_max_kb)
					out[n - 1].owned_max_kb = hi;
				continue;
			}
			out[n] = *s;
			/* A coarse sample stands for its whole bucket: its
			 * envelope holds values up to the bucket's end. When
			 * that reaches into the finer span, a later peak (or
			 * low) would sit at an earlier time: a steady leak
			 * would seem to fall, and its floor to rest. Such a
			 * sample keeps only its own value, which is exact. */
			if (t > 0 && (uint64_t)s->t / hist_tier_step[t] * hist_tier_step[t] + hist_tier_step[t] >
					     finer_start)
				out[n].owned_min_kb = out[n].owned_max_kb = s->anon_kb + s->swap_kb;
			n++;
		}
	}
	return n;
}

size_t history_bytes(const struct history *h)
{
	size_t b = 0;

	for (int t = 0; t < HIST_TIERS; t++)
		b += (size_t)h->tier[t].cap * sizeof(struct hist_sample);
	return b;
}
