#include "leaks.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "trend.h"

/* The classes in protocol spelling, in enum order. */
static const char *const class_names[LEAK__COUNT] = {
	"new", "steady", "growing", "leak-suspect", "plateau", "sawtooth", "reserved-only",
};

/* Slices the growth span is cut into for the "rose in k of n" counts. */
#define LEAK_SLICES 6

const char *leak_class_name(enum leak_class c)
{
	return (unsigned)c < LEAK__COUNT ? class_names[c] : "?";
}

int leak_class_from_name(const char *name)
{
	for (int c = 0; c < LEAK__COUNT; c++)
		if (!strcmp(name, class_names[c]))
			return c;
	return -1;
}

void leak_params_defaults(struct leak_params *p)
{
	memset(p, 0, sizeof(*p));
	p->min_duration_s = 30 * 60;
	p->min_growth = 32ull << 20;
	p->min_confidence = 0.8;
	p->window_s[0] = 60;
	p->window_s[1] = 600;
	p->window_s[2] = 3600;
	p->nwindows = 3;
}

bool leak_is_grower(const struct leak_verdict *v)
{
	return (v->cls == LEAK_SUSPECT || v->cls == LEAK_GROWING) && v->slope > 0;
}

/* Figures in the one-line reasons, printed as the CLI prints them. */
static const char *hbytes(double b, char *buf, size_t len)
{
	if (b < 0 && len > 1) {
		buf[0] = '-';
		fmt_bytes((uint64_t)llround(-b), buf + 1, len - 1);
	} else {
		fmt_bytes(b > 0 ? (uint64_t)llround(b) : 0, buf, len);
	}
	return buf;
}

static const char *hdur(double s, char *buf, size_t len)
{
	return fmt_duration(s > 0 ? (uint64_t)(s + 0.5) : 0, buf, len);
}

static double med3(double a, double b, double c)
{
	if (a > b) {
		double x = a;
		a = b;
		b = x;
	}
	return c < a ? a : c > b ? b : c;
}

/* One sample wildly off while its neighbours agree (a transient dip or
 * spike) becomes the median of the three. A real step stays (it has two
 * sides), and so does a sawtooth's one-sample trough: its neighbours, the
 * last peak and the next rise, do not agree. */
static void despike(const double *in, double *out, size_t n)
{
	out[0] = in[0];
	out[n - 1] = in[n - 1];
	for (size_t i = 1; i + 1 < n; i++) {
		double a = in[i - 1], x = in[i], b = in[i + 1];

		out[i] = fabs(a - b) < 0.5 * fmin(fabs(x - a), fabs(x - b)) ? med3(a, x, b) : x;
	}
}

/* Series the analysis works on, all relative to the first sample. */
struct series {
	size_t n;
	double t[LEAK_MAX_SAMPLES];
	double y[LEAK_MAX_SAMPLES];  /* anon + swap at the sample */
	double lo[LEAK_MAX_SAMPLES]; /* envelope of the samples it stands for */
	double hi[LEAK_MAX_SAMPLES];
	double floor[LEAK_MAX_SAMPLES];
	double tmp[LEAK_MAX_SAMPLES];
};

static void load(struct series *S, const struct hist_sample *s, size_t n)
{
	S->n = n;
	for (size_t i = 0; i < n; i++) {
		double own = ((double)s[i].anon_kb + s[i].swap_kb) * 1024;
		double lo = (double)s[i].owned_min_kb * 1024, hi = (double)s[i].owned_max_kb * 1024;

		/* Samples not made by history_add() carry no envelope. */
		if (hi < own || lo > own)
			lo = hi = own;
		S->t[i] = (double)(s[i].t - s[0].t);
		S->y[i] = own;
		S->lo[i] = lo;
		S->hi[i] = hi;
	}
}

static void despike_all(struct series *S)
{
	size_t n = S->n;

	if (n < 3)
		return;
	despike(S->y, S->tmp, n);
	memcpy(S->y, S->tmp, n * sizeof(double));
	despike(S->lo, S->tmp, n);
	memcpy(S->lo, S->tmp, n * sizeof(double));
	despike(S->hi, S->tmp, n);
	memcpy(S->hi, S->tmp, n * sizeof(double));
}

static void envelope_range(const struct series *S, double *min_lo, double *max_hi)
{
	*min_lo = S->lo[0];
	*max_hi = S->hi[0];
	for (size_t i = 1; i < S->n; i++) {
		*min_lo = S->lo[i] < *min_lo ? S->lo[i] : *min_lo;
		*max_hi = S->hi[i] > *max_hi ? S->hi[i] : *max_hi;
	}
}

/* Median step between neighbouring samples over the newest ones. */
static double jitter(struct series *S)
{
	size_t m = S->n > 61 ? 60 : S->n - 1;

	for (size_t i = 0; i < m; i++)
		S->tmp[i] = fabs(S->y[S->n - 1 - i] - S->y[S->n - 2 - i]);
	return trend_median(S->tmp, m);
}

/* Median time between neighbouring samples over the newest ones. */
static double spacing(struct series *S)
{
	size_t m = S->n > 61 ? 60 : S->n - 1;

	for (size_t i = 0; i < m; i++)
		S->tmp[i] = S->t[S->n - 1 - i] - S->t[S->n - 2 - i];
	return trend_median(S->tmp, m);
}

/* First index with t >= from_t. */
static size_t index_at(const struct series *S, double from_t)
{
	size_t i = 0;

	while (i + 1 < S->n && S->t[i] < from_t)
		i++;
	return i;
}

/* Points for the reported rates (windows, the recent check): they decide
 * little, so they get a cheaper fit than the growth itself. */
#define WINDOW_POINTS 12

static void windows(const struct series *S, const struct leak_params *prm, struct leak_verdict *v)
{
	double now = S->t[S->n - 1];

	v->nwin = prm->nwindows < LEAK_MAX_WINDOWS ? prm->nwindows : LEAK_MAX_WINDOWS;
	for (int w = 0; w < v->nwin; w++) {
		struct leak_window *lw = &v->win[w];
		size_t from = index_at(S, now - prm->window_s[w]);
		struct trend_fit f;

		lw->span_s = prm->window_s[w];
		lw->covered_s = (uint32_t)(now - S->t[from]);
		lw->samples = (uint32_t)(S->n - from);
		if (lw->samples >= 3) {
			trend_theil_sen_points(S->t + from, S->lo + from, S->n - from, WINDOW_POINTS, &f);
			lw->slope = f.slope;
		}
	}
}

static int leak_analyse_merged(const struct hist_sample *s, size_t n, const struct leak_params *prm,
			       struct leak_verdict *v);

/* The troughs of a sawtooth (the lowest point after each fall of at least
 * h), the newest LEAK_TROUGHS of them. A tooth still falling at the end is
 * not counted yet. */
#define LEAK_TROUGHS 16

struct troughs {
	int n;
	double t[LEAK_TROUGHS], v[LEAK_TROUGHS];
};

static void find_troughs(const struct series *S, double h, struct troughs *tr)
{
	double peak = S->hi[0], vmin = 0, tmin = 0;
	bool falling = false;

	tr->n = 0;
	for (size_t i = 0; i < S->n; i++) {
		if (!falling) {
			if (S->hi[i] > peak)
				peak = S->hi[i];
			if (peak - S->lo[i] >= h) {
				falling = true;
				vmin = S->lo[i];
				tmin = S->t[i];
			}
			continue;
		}
		if (S->lo[i] < vmin) {
			vmin = S->lo[i];
			tmin = S->t[i];
		}
		if (S->hi[i] >= vmin + h) {
			if (tr->n == LEAK_TROUGHS) {
				memmove(tr->t, tr->t + 1, (LEAK_TROUGHS - 1) * sizeof(double));
				memmove(tr->v, tr->v + 1, (LEAK_TROUGHS - 1) * sizeof(double));
				tr->n--;
			}
			tr->t[tr->n] = tmin;
			tr->v[tr->n] = vmin;
			tr->n++;
			falling = false;
			peak = S->hi[i];
		}
	}
}

/* A sawtooth whose troughs keep rising leaks under its teeth (a garbage
 * collector that frees less each time). Fills v and returns true when the
 * troughs make the case as firmly as a plain leak must. */
static bool leaky_sawtooth(const struct series *S, const struct hist_sample *s, const struct leak_params *prm,
			   double h, double tol, struct leak_verdict *v)
{
	struct troughs tr;
	struct trend_fit fit;
	int rose = 0;
	double span, grown, share, conf;
	char a[32], b[32];

	find_troughs(S, h, &tr);
	if (tr.n < 4)
		return false;
	for (int k = 1; k < tr.n; k++)
		rose += tr.v[k] > tr.v[k - 1] + tol;
	share = (double)rose / (tr.n - 1);
	span = tr.t[tr.n - 1] - tr.t[0];
	grown = tr.v[tr.n - 1] - tr.v[0];
	trend_theil_sen(tr.t, tr.v, tr.n, &fit);
	conf = fmin(1, span / fmax(1, prm->min_duration_s)) * (0.5 * fit.share_rising + 0.5 * share);
	if (share < 0.75 || grown < prm->min_growth || span < prm->min_duration_s || fit.slope <= 0 ||
	    conf < prm->min_confidence)
		return false;
	v->cls = LEAK_SUSPECT;
	v->slope = fit.slope;
	v->growth_start = s[0].t + (uint32_t)tr.t[0];
	v->growing_for_s = (uint32_t)(S->t[S->n - 1] - tr.t[0]);
	v->grown = (uint64_t)grown;
	v->confidence = conf;
	snprintf(v->reason, sizeof(v->reason),
		 "confidence %.0f%%: a sawtooth whose troughs rose in %d/%d teeth, by %s over %s", conf * 100, rose,
		 tr.n - 1, hbytes(grown, a, sizeof(a)), hdur(span, b, sizeof(b)));
	return true;
}

/* No growth, fall or plateau worth the name: reserved-only when the VM grew
 * by more than file mappings explain, else steady. */
static void quiet_class(const struct hist_sample *s, size_t n, const struct leak_params *prm, const struct series *S,
			struct leak_verdict *v, double min_lo)
{
	double rise = fmax(0, S->y[n - 1] - min_lo);
	int64_t file_growth = ((int64_t)s[n - 1].file_kb - (int64_t)s[0].file_kb) * 1024;
	char a[32], b[32], c[32];

	if (v->vm_delta - file_growth >= (int64_t)prm->min_growth && S->t[n - 1] < prm->min_duration_s) {
		/* A leak's first second looks the same (malloc maps before it
		 * touches): call it reserved only once it has stayed so. */
		v->cls = LEAK_NEW;
		snprintf(v->reason, sizeof(v->reason), "VM grew %s, anon+swap only %s, for %s: too early to tell",
			 hbytes((double)v->vm_delta, a, sizeof(a)), hbytes(rise, b, sizeof(b)),
			 hdur(S->t[n - 1], c, sizeof(c)));
	} else if (v->vm_delta - file_growth >= (int64_t)prm->min_growth) {
		v->cls = LEAK_RESERVED_ONLY;
		snprintf(v->reason, sizeof(v->reason), "VM grew %s, anon+swap only %s: reserved, not used",
			 hbytes((double)v->vm_delta, a, sizeof(a)), hbytes(rise, b, sizeof(b)));
	} else {
		v->cls = LEAK_STEADY;
		snprintf(v->reason, sizeof(v->reason), "anon+swap within %s of its low over %s",
			 hbytes(rise, a, sizeof(a)), hdur(S->t[n - 1], b, sizeof(b)));
	}
}

int leak_analyse(const struct hist_sample *s, size_t n, const struct leak_params *prm, struct leak_verdict *v)
{
	static __thread struct series S;
	char a[32], b[32], c[32];
	size_t start, lb, last;
	double now, tol, base_tol, flat_min, max_hi, quiet, span_g, end_level, grown, fall_recent, total_rise, min_lo, conf;
	double dur, floors = 0, ends = 0;
	struct trend_fit fit, recent = { 0 };
	struct trend_slices sl;
	uint64_t vm_min;
	bool rising, gives_back, gives_back_any, stalled;

	if (!n)
		return -EINVAL;
	if (n > LEAK_MAX_SAMPLES)
		return leak_analyse_merged(s, n, prm, v);
	memset(v, 0, sizeof(*v));
	v->proj.tte_s = -1;
	v->analysed_at = s[n - 1].t;
	v->samples = (uint32_t)n;
	v->span_s = s[n - 1].t - s[0].t;
	v->owned = ((uint64_t)s[n - 1].anon_kb + s[n - 1].swap_kb) << 10;
	vm_min = s[0].vm_kb;
	for (size_t i = 1; i < n; i++)
		if (s[i].vm_kb < vm_min)
			vm_min = s[i].vm_kb;
	v->vm_delta = ((int64_t)s[n - 1].vm_kb - (int64_t)vm_min) * 1024;
	load(&S, s, n);
	if (n < 4) {
		windows(&S, prm, v);
		v->cls = LEAK_NEW;
		snprintf(v->reason, sizeof(v->reason), "only %zu samples so far", n);
		return 0;
	}
	last = n - 1;
	now = S.t[last];
	/* Most processes never move by half the minimum growth: then nothing
	 * can rise, fall or level off enough to count, and the class is
	 * steady or reserved-only whatever the fit says (the same tests as
	 * below, without the fits). Looked at before despiking too, which is
	 * most of the cost of a quiet process. */
	quiet = fmax(4 * fmax(64 << 10, prm->min_growth / 64.0), prm->min_growth / 2.0);
	envelope_range(&S, &min_lo, &max_hi);
	if (max_hi - min_lo >= quiet) {
		despike_all(&S);
		envelope_range(&S, &min_lo, &max_hi);
	}
	windows(&S, prm, v);
	if (max_hi - min_lo < quiet) {
		trend_theil_sen_points(S.t, S.lo, n, WINDOW_POINTS, &fit);
		v->slope = fit.slope;
		v->growth_start = s[last].t;
		quiet_class(s, n, prm, &S, v, min_lo);
		return 0;
	}
	/* Below tol the floor counts as flat: jitter, not growth. The jitter
	 * is read off the newest (densest) samples: a steady leak's steps are
	 * one interval's growth, far below what a flat stretch must gain. */
	base_tol = fmax(64 << 10, prm->min_growth / 64.0);
	tol = fmax(base_tol, 3 * jitter(&S));
	/* A floor resting this long ends a run of growth: half the minimum
	 * duration, or a sixth of what we have seen (so a week-long leak
	 * that pauses for an hour stays a suspect). */
	flat_min = fmax(prm->min_duration_s / 2.0, now / 6.0);
	/* ...and at least 8 samples long: tol allows 3 samples' steps, so a
	 * shorter stretch (short test windows, a sub-second interval whose
	 * samples share whole seconds) would let a steady leak pass for a
	 * floor at rest, and a leak for a plateau. */
	flat_min = fmax(flat_min, 8 * spacing(&S));
	trend_suffix_floor(S.lo, n, S.floor);
	start = trend_growth_start(S.t, S.floor, n, flat_min, tol);
	span_g = now - S.t[start];
	v->growth_start = s[start].t;
	v->growing_for_s = (uint32_t)span_g;
	v->heap_delta = ((int64_t)s[last].heap_kb - (int64_t)s[start].heap_kb) * 1024;

	trend_theil_sen(S.t + start, S.lo + start, n - start, &fit);
	end_level = trend_median(S.lo + (n - start >= 3 ? n - 3 : start), n - start >= 3 ? 3 : n - start);
	grown = fmax(0, end_level - S.lo[start]);
	v->slope = fit.slope;
	v->grown = (uint64_t)grown;
	trend_slices(S.t, S.lo, S.y, start, n, LEAK_SLICES, &sl);
	if (sl.compared) {
		floors = (double)sl.floor_rose / sl.compared;
		ends = (double)sl.ended_higher / sl.compared;
	}
	/* Falls are looked for a little before the growth began too: a
	 * sawtooth's current tooth starts right after its last fall. */
	lb = index_at(&S, now - fmax(2 * span_g, prm->min_duration_s));
	/* From the sample before: a fall into the first one counts too. */
	fall_recent = trend_largest_fall(S.hi, S.lo, lb ? lb - 1 : 0, n);
	total_rise = fmax(0, end_level - min_lo);
	{
		size_t r = index_at(&S, now - span_g / 3);

		if (n - r >= 3)
			trend_theil_sen_points(S.t + r, S.lo + r, n - r, WINDOW_POINTS * 2, &recent);
	}

	rising = grown >= prm->min_growth && fit.slope > 0;
	/* Falls are judged against the fixed tolerance: a sawtooth's own
	 * steps make its jitter large. */
	gives_back = fall_recent >= fmax(4 * base_tol, 0.5 * fmax(grown, (double)prm->min_growth));
	gives_back_any = fall_recent >= fmax(4 * base_tol, prm->min_growth / 2.0);
	dur = fmin(1, span_g / fmax(1, prm->min_duration_s));
	conf = dur * (0.5 * fit.share_rising + 0.25 * floors + 0.25 * ends);
	v->confidence = rising && !gives_back ? conf : 0;
	/* Young growth that has gone flat is a warm-up ending, not a leak;
	 * an established leak that pauses stays a suspect until the floor has
	 * rested for flat_min. */
	stalled = span_g < 2.0 * prm->min_duration_s && recent.pairs && recent.slope < 0.25 * fit.slope;

	if (gives_back_any && leaky_sawtooth(&S, s, prm, fmax(4 * base_tol, prm->min_growth / 2.0), base_tol, v)) {
		/* v filled in: the troughs' trend, not the teeth's */
	} else if (rising && gives_back) {
		v->cls = LEAK_SAWTOOTH;
		snprintf(v->reason, sizeof(v->reason), "grew %s but fell by %s within %s: gives memory back",
			 hbytes(grown, a, sizeof(a)), hbytes(fall_recent, b, sizeof(b)),
			 hdur(now - S.t[lb], c, sizeof(c)));
	} else if (rising && span_g < prm->min_duration_s) {
		v->cls = LEAK_GROWING;
		snprintf(v->reason, sizeof(v->reason), "grew %s in %s; a suspect only after %s of growth",
			 hbytes(grown, a, sizeof(a)), hdur(span_g, b, sizeof(b)),
			 hdur(prm->min_duration_s, c, sizeof(c)));
	} else if (rising && stalled) {
		v->cls = LEAK_GROWING;
		snprintf(v->reason, sizeof(v->reason), "grew %s in %s but barely in the last %s: levelling off?",
			 hbytes(grown, a, sizeof(a)), hdur(span_g, b, sizeof(b)), hdur(span_g / 3, c, sizeof(c)));
	} else if (rising) {
		v->cls = conf >= prm->min_confidence ? LEAK_SUSPECT : LEAK_GROWING;
		snprintf(v->reason, sizeof(v->reason),
			 "confidence %.0f%%%s: floor rose in %d/%d slices, %.0f%% of point pairs rising, %s of growth",
			 conf * 100, v->cls == LEAK_SUSPECT ? "" : " (too low)", sl.floor_rose,
			 sl.compared, fit.share_rising * 100, hdur(span_g, a, sizeof(a)));
	} else if (gives_back_any) {
		v->cls = LEAK_SAWTOOTH;
		snprintf(v->reason, sizeof(v->reason), "falls by up to %s within %s: gives memory back",
			 hbytes(fall_recent, a, sizeof(a)), hdur(now - S.t[lb], b, sizeof(b)));
	} else if (total_rise >= prm->min_growth) {
		size_t j = 0;

		/* Flat since the floor first came within reach of today's level. */
		while (j < last && S.floor[j] < end_level - 4 * tol)
			j++;
		v->cls = LEAK_PLATEAU;
		snprintf(v->reason, sizeof(v->reason), "grew %s, then flat for %s",
			 hbytes(total_rise, a, sizeof(a)), hdur(now - S.t[j], b, sizeof(b)));
	} else {
		quiet_class(s, n, prm, &S, v, min_lo);
	}
	return 0;
}

/* A history longer than the analysis reads (history_samples raised): groups
 * of neighbours become one sample with their envelope, so the whole span
 * is still seen. */
static int leak_analyse_merged(const struct hist_sample *s, size_t n, const struct leak_params *prm,
			       struct leak_verdict *v)
{
	static __thread struct hist_sample m[LEAK_MAX_SAMPLES];
	size_t k = (n + LEAK_MAX_SAMPLES - 1) / LEAK_MAX_SAMPLES, nm = 0;

	/* Groups end at the newest sample, so the last one is exactly now. */
	for (size_t end = n; end > 0 && nm < LEAK_MAX_SAMPLES; nm++) {
		size_t begin = end > k ? end - k : 0;
		struct hist_sample g = s[end - 1];

		for (size_t i = begin; i < end; i++) {
			uint32_t own = s[i].anon_kb + s[i].swap_kb;
			uint32_t lo = s[i].owned_max_kb >= own && s[i].owned_min_kb <= own ? s[i].owned_min_kb : own;
			uint32_t hi = s[i].owned_max_kb >= own && s[i].owned_min_kb <= own ? s[i].owned_max_kb : own;

			if (i == begin || lo < g.owned_min_kb)
				g.owned_min_kb = lo;
			if (i == begin || hi > g.owned_max_kb)
				g.owned_max_kb = hi;
		}
		m[LEAK_MAX_SAMPLES - 1 - nm] = g;
		end = begin;
	}
	return leak_analyse(m + LEAK_MAX_SAMPLES - nm, nm, prm, v);
}

int leak_analyse_history(const struct history *h, const struct leak_params *prm, struct leak_verdict *v)
{
	static __thread struct hist_sample *buf;
	static __thread size_t cap;
	size_t total = 0, n;

	for (int t = 0; t < HIST_TIERS; t++)
		total += history_len(h, t);
	if (total > cap) {
		struct hist_sample *nb = realloc(buf, total * sizeof(*buf));

		if (!nb)
			return -ENOMEM;
		buf = nb;
		cap = total;
	}
	n = history_series(h, buf, total);
	return leak_analyse(buf, n, prm, v);
}

void leak_project(struct leak_verdict **v, const struct mem_limit *const *memcg, size_t n,
		  const struct mem_limit *system)
{
	double sys_rate = 0;
	uint32_t sys_sharers = 0;

	for (size_t i = 0; i < n; i++) {
		v[i]->proj = (struct leak_projection){ .tte_s = -1 };
		if (leak_is_grower(v[i])) {
			sys_rate += v[i]->slope;
			sys_sharers++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct leak_projection *p = &v[i]->proj;

		if (!leak_is_grower(v[i]))
			continue;
		if (system && system->kind != MEM_LIMIT_NONE) {
			p->tte_s = system->headroom / sys_rate;
			p->kind = system->kind;
			p->limit = system->limit;
			p->headroom = system->headroom;
			p->rate = sys_rate;
			p->sharers = sys_sharers;
			p->where[0] = 0;
		}
		if (memcg[i] && memcg[i]->kind != MEM_LIMIT_NONE) {
			double rate = 0, tte;
			uint32_t sharers = 0;

			for (size_t j = 0; j < n; j++)
				if (leak_is_grower(v[j]) && memcg[j] &&
				    (memcg[j] == memcg[i] || !strcmp(memcg[j]->path, memcg[i]->path))) {
					rate += v[j]->slope;
					sharers++;
				}
			tte = memcg[i]->headroom / rate;
			if (p->tte_s < 0 || tte < p->tte_s) {
				p->tte_s = tte;
				p->kind = memcg[i]->kind;
				p->limit = memcg[i]->limit;
				p->headroom = memcg[i]->headroom;
				p->rate = rate;
				p->sharers = sharers;
				snprintf(p->where, sizeof(p->where), "%s", memcg[i]->path);
			}
		}
	}
}

int leak_cmp_rank(const struct leak_verdict *a, const struct leak_verdict *b)
{
	/* suspect, growing, then the rest in enum order */
	static const int order[LEAK__COUNT] = {
		[LEAK_SUSPECT] = 0, [LEAK_GROWING] = 1, [LEAK_PLATEAU] = 2, [LEAK_SAWTOOTH] = 3,
		[LEAK_RESERVED_ONLY] = 4, [LEAK_STEADY] = 5, [LEAK_NEW] = 6,
	};
	bool pa = a->proj.tte_s >= 0, pb = b->proj.tte_s >= 0;

	if (order[a->cls] != order[b->cls])
		return order[a->cls] - order[b->cls];
	if (pa != pb)
		return pa ? -1 : 1;
	if (pa && a->proj.tte_s != b->proj.tte_s)
		return a->proj.tte_s < b->proj.tte_s ? -1 : 1;
	if (a->slope != b->slope)
		return a->slope > b->slope ? -1 : 1;
	return 0;
}
