/* The process table: keys, rates, exits, pid reuse, eviction, sorting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "proctab.h"

#define PS 4096

static struct fl_proc_rec rec(uint32_t tgid, uint64_t start, uint64_t minflt, uint64_t anon_pages)
{
	struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = tgid, .start_ns = start, .min_flt = minflt,
				 .rss_anon = anon_pages, .rss_file = 10, .total_vm = 1000, .nr_threads = 1 };
	snprintf(r.comm, sizeof(r.comm), "p%u", tgid);
	return r;
}

static struct fl_exit_event exit_ev(uint32_t tgid, uint64_t start, uint64_t minflt)
{
	struct fl_exit_event e = { .hdr = { .kind = FL_EV_EXIT, .tgid = tgid }, .start_ns = start,
				   .min_flt = minflt, .maxrss_pages = 50, .exit_code = 9 };
	snprintf(e.comm, sizeof(e.comm), "short");
	return e;
}

static void round_of(struct proctab *t, uint64_t now_ms, const struct fl_proc_rec *recs, int n)
{
	bool is_new;

	proctab_begin_round(t, now_ms, (uint32_t)(1700000000 + now_ms / 1000));
	for (int i = 0; i < n; i++)
		proctab_apply(t, &recs[i], &is_new);
	proctab_end_round(t);
}

static void rates_over_interval(void **state)
{
	struct proctab t;
	struct fl_proc_rec r1 = rec(100, 5, 1000, 100), r2 = rec(100, 5, 3000, 612);
	struct proc *p;

	proctab_init(&t, PS, 100, 10);
	round_of(&t, 1000, &r1, 1);
	round_of(&t, 3000, &r2, 1); /* 2 s later */
	p = proctab_lookup(&t, 100, 5);
	assert_non_null(p);
	assert_true(p->minflt_rate > 999.9 && p->minflt_rate < 1000.1);
	/* 512 pages in 2 s */
	assert_true(p->anon_rate > 512.0 * PS / 2 - 1 && p->anon_rate < 512.0 * PS / 2 + 1);
	assert_int_equal(p->cur.rss_anon, 612 * PS);
	assert_int_equal(history_len(&p->hist, 0), 2);
	proctab_free(&t);
}

static void pid_reuse_never_merges(void **state)
{
	struct proctab t;
	struct fl_proc_rec old = rec(200, 5, 10, 1), reused = rec(200, 99, 20, 2);
	struct fl_exit_event e = exit_ev(200, 5, 11);

	proctab_init(&t, PS, 100, 10);
	round_of(&t, 1000, &old, 1);
	proctab_exit(&t, &e, 1500, 1700000001);
	round_of(&t, 2000, &reused, 1);
	assert_int_equal(t.stats.live, 1);
	assert_int_equal(t.stats.exited, 1);
	assert_int_equal(proctab_lookup(&t, 200, 5)->state, PROC_EXITED);
	assert_int_equal(proctab_lookup(&t, 200, 5)->cur.min_flt, 11);
	assert_int_equal(proctab_lookup(&t, 200, 99)->state, PROC_LIVE);
	/* show PID prefers the live one */
	assert_int_equal(proctab_find_pid(&t, 200)->key.start_ns, 99);
	proctab_free(&t);
}

static void short_lived_seen_only_at_exit(void **state)
{
	struct proctab t;
	struct fl_exit_event e = exit_ev(300, 7, 42);
	struct proc *p;

	proctab_init(&t, PS, 100, 10);
	p = proctab_exit(&t, &e, 100, 1700000000);
	assert_non_null(p);
	assert_int_equal(p->state, PROC_EXITED);
	assert_int_equal(p->cur.min_flt, 42);
	assert_int_equal(p->peak_rss, 50 * PS);
	assert_false(p->rss_known);
	assert_string_equal(p->comm, "short");
	assert_int_equal(t.stats.live, 0);
	assert_int_equal(t.stats.exits_seen, 1);
	/* a duplicate exit (two threads saw live == 0) is not counted twice */
	proctab_exit(&t, &e, 101, 1700000000);
	assert_int_equal(t.stats.exits_seen, 1);
	proctab_free(&t);
}

static void vanished_after_missed_rounds(void **state)
{
	struct proctab t;
	struct fl_proc_rec r = rec(400, 1, 1, 1);

	proctab_init(&t, PS, 100, 10);
	round_of(&t, 1000, &r, 1);
	round_of(&t, 2000, NULL, 0);
	assert_int_equal(proctab_lookup(&t, 400, 1)->state, PROC_LIVE); /* exit may still be queued */
	round_of(&t, 3000, NULL, 0);
	assert_int_equal(proctab_lookup(&t, 400, 1)->state, PROC_EXITED);
	assert_int_equal(proctab_lookup(&t, 400, 1)->exit_how, EXIT_VANISHED);
	assert_int_equal(t.stats.exits_vanished, 1);
	proctab_free(&t);
}

static void exited_list_is_bounded(void **state)
{
	struct proctab t;

	proctab_init(&t, PS, 100, 3);
	for (uint32_t i = 1; i <= 10; i++) {
		struct fl_exit_event e = exit_ev(i, i, i);
		proctab_exit(&t, &e, i, 1700000000 + i);
	}
	assert_int_equal(t.stats.exited, 3);
	assert_int_equal(t.stats.exited_evicted, 7);
	assert_null(proctab_lookup(&t, 1, 1)); /* oldest gone first */
	assert_non_null(proctab_lookup(&t, 10, 10));
	proctab_free(&t);
}

static void live_cap_counts_untracked(void **state)
{
	struct proctab t;
	struct fl_proc_rec r[3] = { rec(1, 1, 1, 1), rec(2, 2, 1, 1), rec(3, 3, 1, 1) };

	proctab_init(&t, PS, 2, 10);
	round_of(&t, 1000, r, 3);
	assert_int_equal(t.stats.live, 2);
	assert_int_equal(t.stats.dropped_new, 1);
	proctab_free(&t);
}

static void sorted_by_rss_and_by_name(void **state)
{
	struct proctab t;
	struct fl_proc_rec r[3] = { rec(1, 1, 1, 10), rec(2, 2, 1, 300), rec(3, 3, 1, 20) };
	struct proc *out[3];
	size_t n;

	proctab_init(&t, PS, 100, 10);
	round_of(&t, 1000, r, 3);
	n = proctab_sorted(&t, false, proc_cmp_by_name("rss"), out, 3);
	assert_int_equal(n, 3);
	assert_int_equal(out[0]->key.tgid, 2);
	assert_int_equal(out[1]->key.tgid, 3);
	assert_int_equal(out[2]->key.tgid, 1);
	assert_null(proc_cmp_by_name("bogus"));
	assert_non_null(proc_cmp_by_name("majflt-rate"));
	proctab_free(&t);
}

static void no_mm_keeps_last_rss(void **state)
{
	struct proctab t;
	struct fl_proc_rec a = rec(9, 9, 1, 100), b = rec(9, 9, 2, 0);

	b.flags = FL_PROC_NO_MM;
	proctab_init(&t, PS, 100, 10);
	round_of(&t, 1000, &a, 1);
	round_of(&t, 2000, &b, 1);
	assert_int_equal(proctab_lookup(&t, 9, 9)->cur.rss_anon, 100 * PS);
	assert_int_equal(proctab_lookup(&t, 9, 9)->cur.min_flt, 2);
	proctab_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rates_over_interval),
		cmocka_unit_test(pid_reuse_never_merges),
		cmocka_unit_test(short_lived_seen_only_at_exit),
		cmocka_unit_test(vanished_after_missed_rounds),
		cmocka_unit_test(exited_list_is_bounded),
		cmocka_unit_test(live_cap_counts_untracked),
		cmocka_unit_test(sorted_by_rss_and_by_name),
		cmocka_unit_test(no_mm_keeps_last_rss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
