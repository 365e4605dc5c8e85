/* Leak analysis driven with synthetic series through the real history (so
 * downsampling and envelopes are as in the daemon): every leak shape is a
 * suspect, every non-leak shape never is, at any point of its life. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leaks.h"
#include "proctab.h"

#define MiB (1024.0 * 1024)
#define T0 1700000000u

/* Test windows, as the integration suites use them. */
static struct leak_params P;

static int setup(void **state)
{
	leak_params_defaults(&P);
	P.min_duration_s = 20;
	P.min_growth = 4 << 20;
	P.min_confidence = 0.8;
	P.window_s[0] = 10;
	P.window_s[1] = 60;
	P.nwindows = 2;
	return 0;
}

/* Fills owned (anon) bytes and anything else for time t (seconds). */
typedef void (*shape_fn)(struct hist_sample *s, double t, unsigned *seed);

struct outcome {
	double first_suspect; /* seconds; < 0 never */
	int suspect_rounds;
	double last_suspect;
	struct leak_verdict v; /* the last verdict */
};

static double noise(unsigned *seed, double amp)
{
	return ((double)rand_r(seed) / RAND_MAX * 2 - 1) * amp;
}

static void set_anon(struct hist_sample *s, double bytes)
{
	s->anon_kb = bytes > 0 ? (uint32_t)(bytes / 1024) : 0;
}

/* Feeds samples every step seconds over [0, dur] (skipping [gap_from,
 * gap_to)), analysing after each one as the daemon does. */
static void drive_gap(shape_fn f, double dur, double step, double gap_from, double gap_to,
		      const struct leak_params *prm, struct outcome *o)
{
	struct history h = {};
	unsigned seed = 42;

	memset(o, 0, sizeof(*o));
	o->first_suspect = -1;
	for (double t = 0; t <= dur; t += step) {
		struct hist_sample s = { .t = T0 + (uint32_t)t, .vm_kb = 1 << 20 };

		if (t >= gap_from && t < gap_to)
			continue;
		f(&s, t, &seed);
		assert_int_equal(history_add(&h, &s), 0);
		assert_int_equal(leak_analyse_history(&h, prm, &o->v), 0);
		if (o->v.cls == LEAK_SUSPECT) {
			if (o->first_suspect < 0)
				o->first_suspect = t;
			o->last_suspect = t;
			o->suspect_rounds++;
		}
	}
	history_free(&h);
}

static void drive(shape_fn f, double dur, struct outcome *o)
{
	drive_gap(f, dur, 1, -1, -1, &P, o);
}

static void leak_fast(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 50 * MiB + t * MiB + noise(seed, 200 << 10));
	s->heap_kb = (uint32_t)(t * 1024);
}

static void leak_slow(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 80 * MiB + t * 256 * 1024 + noise(seed, 64 << 10));
}

static void steady_leak_is_a_suspect_with_the_right_figures(void **state)
{
	struct outcome o;

	drive(leak_fast, 120, &o);
	assert_int_equal(o.v.cls, LEAK_SUSPECT);
	assert_true(o.first_suspect >= P.min_duration_s && o.first_suspect <= P.min_duration_s + 3);
	assert_true(fabs(o.v.slope - MiB) < 0.05 * MiB);
	assert_true(o.v.growth_start <= T0 + 2);
	assert_true(fabs((double)o.v.grown - 120 * MiB) < 6 * MiB);
	assert_true(o.v.confidence >= 0.9);
	assert_true(o.v.heap_delta > 100 * MiB);
	assert_true(strstr(o.v.reason, "slices") != NULL);
	assert_int_equal(o.v.nwin, 2);
	assert_true(fabs(o.v.win[0].slope - MiB) < 0.1 * MiB);
	assert_int_equal(o.v.win[1].span_s, 60);
}

static void slow_leak_is_a_suspect(void **state)
{
	struct outcome o;

	drive(leak_slow, 150, &o);
	assert_int_equal(o.v.cls, LEAK_SUSPECT);
	assert_true(o.first_suspect <= P.min_duration_s + 5);
	assert_true(fabs(o.v.slope - 256 * 1024) < 0.05 * 256 * 1024);
}

static void early_growth_is_only_growing(void **state)
{
	struct outcome o;

	drive(leak_fast, 12, &o);
	assert_int_equal(o.v.cls, LEAK_GROWING);
	assert_true(o.first_suspect < 0);
	drive(leak_fast, 2, &o);
	assert_int_equal(o.v.cls, LEAK_NEW);
}

static void plateau_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 20 * MiB + fmin(t, 8) * 8 * MiB + noise(seed, 100 << 10));
}

/* A warm-up longer than half the minimum duration but shorter than it. */
static void long_warmup_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 20 * MiB + fmin(t, 15) * 2 * MiB + noise(seed, 100 << 10));
}

static void plateau_is_never_a_suspect(void **state)
{
	struct outcome o;

	drive(plateau_fn, 300, &o);
	assert_true(o.first_suspect < 0);
	assert_int_equal(o.v.cls, LEAK_PLATEAU);
	drive(long_warmup_fn, 300, &o);
	assert_true(o.first_suspect < 0);
	assert_int_equal(o.v.cls, LEAK_PLATEAU);
}

static void sawtooth_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 20 * MiB + fmod(t, 10) * 12 * MiB + noise(seed, 100 << 10));
}

/* Teeth longer than the minimum duration. */
static void slow_sawtooth_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 20 * MiB + fmod(t, 45) * 4 * MiB);
}

static void sawtooth_is_never_a_suspect(void **state)
{
	struct outcome o;

	drive(sawtooth_fn, 600, &o);
	assert_true(o.first_suspect < 0);
	assert_int_equal(o.v.cls, LEAK_SAWTOOTH);
	/* Its first tooth is a ramp like any other; every later one is
	 * known for what it is. */
	drive(slow_sawtooth_fn, 600, &o);
	assert_true(o.first_suspect < 0 || o.last_suspect < 45);
	assert_int_equal(o.v.cls, LEAK_SAWTOOTH);
}

/* A collected heap that leaks: 100 MiB teeth every 10 s over a floor that
 * rises 200 KiB/s. */
static void gc_leak_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 20 * MiB + fmod(t, 10) * 10 * MiB + t * 200 * 1024 + noise(seed, 100 << 10));
}

static void a_leak_under_a_sawtooth_is_a_suspect(void **state)
{
	struct outcome o;

	drive(gc_leak_fn, 150, &o);
	assert_int_equal(o.v.cls, LEAK_SUSPECT);
	assert_true(o.first_suspect >= P.min_duration_s);
	assert_true(fabs(o.v.slope - 200 * 1024) < 0.15 * 200 * 1024);
	assert_non_null(strstr(o.v.reason, "troughs"));
}

static void churn_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 30 * MiB + fabs(noise(seed, 30 * MiB)));
}

static void big_constant_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 2048 * MiB + noise(seed, 1 * MiB));
}

static void churn_and_big_constant_are_never_suspects(void **state)
{
	struct outcome o;

	drive(churn_fn, 600, &o);
	assert_true(o.first_suspect < 0);
	assert_true(o.v.cls == LEAK_SAWTOOTH || o.v.cls == LEAK_STEADY);
	drive(big_constant_fn, 600, &o);
	assert_true(o.first_suspect < 0);
	assert_int_equal(o.v.cls, LEAK_STEADY);
}

static void reserved_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 10 * MiB + noise(seed, 50 << 10));
	s->vm_kb = (uint64_t)((100 * MiB + t * 10 * MiB) / 1024);
}

static void file_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 10 * MiB + noise(seed, 50 << 10));
	s->file_kb = (uint32_t)((t * 10 * MiB) / 1024);
	s->vm_kb = (uint64_t)((100 * MiB + 1024 * MiB) / 1024); /* the file mapped at once */
}

static void reserved_and_file_growth_never_count(void **state)
{
	struct outcome o;

	/* Before min_duration a VM jump with little anon is also how a leak
	 * starts (malloc maps, then touches): too early to call it reserved. */
	drive(reserved_fn, 10, &o);
	assert_int_equal(o.v.cls, LEAK_NEW);
	assert_non_null(strstr(o.v.reason, "too early"));
	drive(reserved_fn, 200, &o);
	assert_true(o.first_suspect < 0);
	assert_int_equal(o.v.cls, LEAK_RESERVED_ONLY);
	assert_true(o.v.vm_delta > 1000 * MiB);
	drive(file_fn, 200, &o);
	assert_true(o.first_suspect < 0);
	assert_int_equal(o.v.cls, LEAK_STEADY);
}

static void outlier_fn(struct hist_sample *s, double t, unsigned *seed)
{
	int i = (int)t;

	leak_fast(s, t, seed);
	if (i == 37 || i == 71 || i == 113 || i == 140)
		s->anon_kb = 0; /* a sample read mid-exec, or garbage */
	if (i == 55 || i == 97 || i == 131)
		s->anon_kb *= 3;
}

static void outliers_do_not_hide_a_leak(void **state)
{
	struct outcome o;

	drive(outlier_fn, 150, &o);
	assert_int_equal(o.v.cls, LEAK_SUSPECT);
	assert_true(fabs(o.v.slope - MiB) < 0.1 * MiB);
	assert_true(o.v.growth_start <= T0 + 30);
}

static void gap_when_the_daemon_was_down(void **state)
{
	struct outcome o;

	/* 20 min without samples in the middle of a slow leak. */
	drive_gap(leak_slow, 1500, 1, 60, 1260, &P, &o);
	assert_int_equal(o.v.cls, LEAK_SUSPECT);
	assert_true(fabs(o.v.slope - 256 * 1024) < 0.1 * 256 * 1024);
	assert_true(o.v.growth_start <= T0 + 10);
}

static void leak_after_flat_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 40 * MiB + (t > 300 ? (t - 300) * MiB : 0) + noise(seed, 100 << 10));
}

static void growth_start_is_when_the_leak_began(void **state)
{
	struct outcome o;

	drive(leak_after_flat_fn, 400, &o);
	assert_int_equal(o.v.cls, LEAK_SUSPECT);
	assert_true(o.v.growth_start >= T0 + 290 && o.v.growth_start <= T0 + 310);
	assert_true(o.v.growing_for_s >= 90 && o.v.growing_for_s <= 110);
	assert_true(fabs((double)o.v.grown - 100 * MiB) < 10 * MiB);
}

static void leak_stops_fn(struct hist_sample *s, double t, unsigned *seed)
{
	set_anon(s, 40 * MiB + fmin(t, 200) * MiB + noise(seed, 100 << 10));
}

static void a_stopped_leak_becomes_a_plateau(void **state)
{
	struct outcome o;

	drive(leak_stops_fn, 215, &o);
	assert_int_equal(o.v.cls, LEAK_SUSPECT); /* a short pause changes nothing */
	drive(leak_stops_fn, 400, &o);
	assert_int_equal(o.v.cls, LEAK_PLATEAU);
	/* ...once flat for a sixth of what was seen */
	assert_true(o.last_suspect > 200 && o.last_suspect < 200 + 400 / 6.0 + 15);
}

static void week_leak_fn(struct hist_sample *s, double t, unsigned *seed)
{
	/* 1 MiB/h for a week on top of 300 MiB, with a daily sawtooth of
	 * 20 MiB (a cache flushed at night). */
	set_anon(s, 300 * MiB + t / 3600 * MiB + fmod(t, 86400) / 86400 * 20 * MiB + noise(seed, 2 * MiB));
}

static void a_week_long_slow_leak_is_seen(void **state)
{
	struct leak_params server;
	struct outcome o;

	leak_params_defaults(&server);
	drive_gap(week_leak_fn, 7 * 86400, 60, -1, -1, &server, &o);
	assert_int_equal(o.v.cls, LEAK_SUSPECT);
	assert_true(o.v.span_s >= 6 * 86400);
	assert_true(fabs(o.v.slope * 3600 - MiB) < 0.25 * MiB);
	assert_true(o.v.growth_start <= T0 + 86400);
}

/* history_samples raised past what the analysis reads: neighbours are
 * merged, so the whole span (and a sawtooth's troughs) still count. */
static void a_long_history_is_merged_not_cut(void **state)
{
	static struct hist_sample s[3000];
	struct leak_verdict v;
	unsigned seed = 7;

	for (int i = 0; i < 3000; i++) {
		s[i].t = T0 + i;
		set_anon(&s[i], 50 * MiB + i * 64 * 1024.0 + noise(&seed, 100 << 10));
		s[i].owned_min_kb = s[i].owned_max_kb = s[i].anon_kb;
	}
	assert_int_equal(leak_analyse(s, 3000, &P, &v), 0);
	assert_int_equal(v.cls, LEAK_SUSPECT);
	assert_true(v.span_s >= 2990);
	assert_true(v.growth_start <= T0 + 10);
	assert_true(fabs(v.slope - 64 * 1024) < 0.05 * 64 * 1024);
	/* a sawtooth: its troughs survive the merge */
	for (int i = 0; i < 3000; i++) {
		set_anon(&s[i], 20 * MiB + fmod(i, 30) * 3 * MiB);
		s[i].owned_min_kb = s[i].owned_max_kb = s[i].anon_kb;
	}
	assert_int_equal(leak_analyse(s, 3000, &P, &v), 0);
	assert_int_equal(v.cls, LEAK_SAWTOOTH);
}

static void pid_reuse_starts_afresh(void **state)
{
	struct proctab t;
	struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = 4242, .start_ns = 1000 };
	struct proc *a, *b;
	bool is_new;

	proctab_init(&t, 4096, 100, 100);
	for (uint32_t i = 0; i < 60; i++) {
		proctab_begin_round(&t, i * 1000ull, T0 + i);
		r.rss_anon = (10 << 20) / 4096 + i * 256; /* 1 MiB/s */
		a = proctab_apply(&t, &r, &is_new);
		proctab_end_round(&t);
	}
	assert_int_equal(leak_analyse_history(&a->hist, &P, &a->leak), 0);
	assert_int_equal(a->leak.cls, LEAK_SUSPECT);
	/* Same pid, another start time: another process, flat. */
	r.start_ns = 2000;
	for (uint32_t i = 60; i < 120; i++) {
		proctab_begin_round(&t, i * 1000ull, T0 + i);
		r.rss_anon = (100 << 20) / 4096;
		b = proctab_apply(&t, &r, &is_new);
		proctab_end_round(&t);
	}
	assert_ptr_not_equal(a, b);
	assert_int_equal(leak_analyse_history(&b->hist, &P, &b->leak), 0);
	assert_int_equal(b->leak.cls, LEAK_STEADY);
	assert_int_equal(a->leak.cls, LEAK_SUSPECT); /* the old verdict is kept */
	proctab_free(&t);
}

static void projection_shares_a_limit(void **state)
{
	struct leak_verdict a = { .cls = LEAK_SUSPECT, .slope = 1 * MiB };
	struct leak_verdict b = { .cls = LEAK_GROWING, .slope = 3 * MiB };
	struct leak_verdict c = { .cls = LEAK_SUSPECT, .slope = 1 * MiB };
	struct leak_verdict d = { .cls = LEAK_STEADY, .slope = 5 * MiB };
	struct mem_limit cg = { .kind = MEM_LIMIT_MEMCG_V1, .limit = 200 * MiB, .headroom = 100 * MiB,
				.path = "/app" };
	struct mem_limit sys = { .kind = MEM_LIMIT_SYSTEM, .limit = 10000 * MiB, .headroom = 1000 * MiB };
	struct leak_verdict *v[4] = { &a, &b, &c, &d };
	const struct mem_limit *lim[4] = { &cg, &cg, NULL, &cg };

	leak_project(v, lim, 4, &sys);
	/* a and b share /app: 100 MiB at 4 MiB/s */
	assert_true(fabs(a.proj.tte_s - 25) < 1e-6);
	assert_int_equal(a.proj.kind, MEM_LIMIT_MEMCG_V1);
	assert_string_equal(a.proj.where, "/app");
	assert_int_equal(a.proj.sharers, 2);
	assert_true(fabs(b.proj.tte_s - 25) < 1e-6);
	/* c has no cgroup limit: the system, shared by all three growers */
	assert_true(fabs(c.proj.tte_s - 200) < 1e-6);
	assert_int_equal(c.proj.kind, MEM_LIMIT_SYSTEM);
	assert_int_equal(c.proj.sharers, 3);
	/* not a grower: no projection */
	assert_true(d.proj.tte_s < 0);
	/* The system wins when it is tighter. */
	sys.headroom = 50 * MiB;
	leak_project(v, lim, 4, &sys);
	assert_int_equal(a.proj.kind, MEM_LIMIT_SYSTEM);
	assert_true(fabs(a.proj.tte_s - 10) < 1e-6);
}

static void ranking(void **state)
{
	struct leak_verdict soon = { .cls = LEAK_SUSPECT, .slope = 1, .proj.tte_s = 10 };
	struct leak_verdict late = { .cls = LEAK_SUSPECT, .slope = 100, .proj.tte_s = 1000 };
	struct leak_verdict none = { .cls = LEAK_SUSPECT, .slope = 1000, .proj.tte_s = -1 };
	struct leak_verdict grow = { .cls = LEAK_GROWING, .slope = 1e9, .proj.tte_s = 1 };
	struct leak_verdict flat = { .cls = LEAK_STEADY, .proj.tte_s = -1 };

	assert_true(leak_cmp_rank(&soon, &late) < 0);
	assert_true(leak_cmp_rank(&late, &none) < 0);
	assert_true(leak_cmp_rank(&none, &grow) < 0);
	assert_true(leak_cmp_rank(&grow, &flat) < 0);
	assert_int_equal(leak_cmp_rank(&soon, &soon), 0);
	assert_int_equal(leak_class_from_name("leak-suspect"), LEAK_SUSPECT);
	assert_string_equal(leak_class_name(LEAK_RESERVED_ONLY), "reserved-only");
	assert_int_equal(leak_class_from_name("nonsense"), -1);
}

static void leak_3m_fn(struct hist_sample *s, double t, unsigned *seed)
{
	(void)seed;
	set_anon(s, 2 * MiB + t * 3 * MiB);
	s->heap_kb = s->anon_kb;
	s->vm_kb = s->anon_kb + (4 << 10); /* malloc's VM grows with its RSS */
}

/* The daemon at a sub-second interval: samples carry whole seconds, so
 * several share one; tier 0 then spans only a quarter of its samples in
 * seconds and the 10 s tier's newest bucket overlaps it. A steady leak must
 * go new -> growing -> leak-suspect and never look flat (plateau,
 * reserved-only, steady) or given back (sawtooth), whatever min_duration. */
static void steady_leak_at_a_subsecond_interval_is_never_flat(void **state)
{
	static const uint32_t min_durations[] = { 4, 6, 10, 20 };

	for (size_t k = 0; k < sizeof(min_durations) / sizeof(*min_durations); k++) {
		struct leak_params prm = P;
		struct history h = {};
		struct leak_verdict v;
		double first_suspect = -1;
		unsigned seed = 1;

		prm.min_duration_s = min_durations[k];
		for (double t = 0; t <= 45; t += 0.25) {
			struct hist_sample s = { .t = T0 + (uint32_t)t };

			leak_3m_fn(&s, t, &seed);
			assert_int_equal(history_add(&h, &s), 0);
			assert_int_equal(leak_analyse_history(&h, &prm, &v), 0);
			if (v.cls != LEAK_NEW && v.cls != LEAK_GROWING && v.cls != LEAK_SUSPECT)
				fail_msg("min_duration %us, t=%.2fs: %s (%s)", prm.min_duration_s, t,
					 leak_class_name(v.cls), v.reason);
			if (first_suspect >= 0 && v.cls != LEAK_SUSPECT)
				fail_msg("min_duration %us, t=%.2fs: suspect since %.2fs, now %s (%s)",
					 prm.min_duration_s, t, first_suspect, leak_class_name(v.cls), v.reason);
			if (v.cls == LEAK_SUSPECT && first_suspect < 0)
				first_suspect = t;
			if (v.cls != LEAK_NEW)
				assert_true(v.slope > 2.5 * MiB && v.slope < 3.5 * MiB);
		}
		if (first_suspect < prm.min_duration_s || first_suspect > prm.min_duration_s + 3)
			fail_msg("min_duration %us: first a suspect at %.2fs", prm.min_duration_s, first_suspect);
		assert_true(v.growth_start <= T0 + 2);
		history_free(&h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(steady_leak_is_a_suspect_with_the_right_figures),
		cmocka_unit_test(slow_leak_is_a_suspect),
		cmocka_unit_test(early_growth_is_only_growing),
		cmocka_unit_test(plateau_is_never_a_suspect),
		cmocka_unit_test(sawtooth_is_never_a_suspect),
		cmocka_unit_test(a_leak_under_a_sawtooth_is_a_suspect),
		cmocka_unit_test(churn_and_big_constant_are_never_suspects),
		cmocka_unit_test(reserved_and_file_growth_never_count),
		cmocka_unit_test(outliers_do_not_hide_a_leak),
		cmocka_unit_test(gap_when_the_daemon_was_down),
		cmocka_unit_test(growth_start_is_when_the_leak_began),
		cmocka_unit_test(a_stopped_leak_becomes_a_plateau),
		cmocka_unit_test(a_week_long_slow_leak_is_seen),
		cmocka_unit_test(a_long_history_is_merged_not_cut),
		cmocka_unit_test(pid_reuse_starts_afresh),
		cmocka_unit_test(projection_shares_a_limit),
		cmocka_unit_test(ranking),
		cmocka_unit_test(steady_leak_at_a_subsecond_interval_is_never_flat),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
