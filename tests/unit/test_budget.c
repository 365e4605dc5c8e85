/* The caps: max_memory (exited records go first, oldest first, then new
 * processes are counted, not tracked), history_samples, exited_keep, and the
 * memory count staying exact through every path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proctab.h"

#define PS 4096

static struct fl_proc_rec rec(uint32_t tgid)
{
	struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = tgid, .start_ns = tgid * 10ull, .rss_anon = 5 };
	snprintf(r.comm, sizeof(r.comm), "p%u", tgid);
	return r;
}

static struct fl_exit_event exit_ev(uint32_t tgid)
{
	struct fl_exit_event e = { .hdr = { .kind = FL_EV_EXIT, .tgid = tgid }, .start_ns = tgid * 10ull };
	return e;
}

/* One round in which pids [from, to) are alive. */
static void round_range(struct proctab *t, uint32_t sec, uint32_t from, uint32_t to)
{
	bool is_new;

	proctab_begin_round(t, sec * 1000ull, 1700000000 + sec);
	for (uint32_t pid = from; pid < to; pid++) {
		struct fl_proc_rec r = rec(pid);
		proctab_apply(t, &r, &is_new);
	}
	proctab_end_round(t);
}

static uint64_t recount(struct proctab *t)
{
	struct proc *p, *tmp;
	uint64_t sum = 0;

	HASH_ITER(hh, t->by_key, p, tmp)
		sum += proc_cost(p);
	return sum;
}

static void memory_count_is_exact(void **state)
{
	struct proctab t;

	proctab_init(&t, PS, 0, 50);
	for (uint32_t s = 0; s < 100; s++) {
		round_range(&t, s, 1 + s, 40 + s); /* one process leaves per round */
		if (s % 7 == 0) {
			struct fl_exit_event e = exit_ev(5000 + s);
			proctab_exit(&t, &e, s * 1000ull, 1700000000 + s);
			proctab_set_cmdline(&t, proctab_lookup(&t, 1 + s, (1 + s) * 10ull), strdup("some --cmdline"));
		}
		assert_int_equal(t.mem_bytes, recount(&t));
	}
	proctab_free(&t);
	assert_int_equal(t.mem_bytes, 0);
}

static void exited_go_first_oldest_first(void **state)
{
	struct proctab t;
	uint64_t budget;

	proctab_init(&t, PS, 0, 0);
	/* 20 processes, which then all exit (vanish) in pid order. */
	round_range(&t, 0, 1, 21);
	for (uint32_t pid = 1; pid <= 20; pid++) {
		struct fl_exit_event e = exit_ev(pid);
		proctab_exit(&t, &e, 1000, 1700000001);
	}
	assert_int_equal(t.stats.exited, 20);
	/* A budget that holds about 15 bare records: the 5 oldest go. */
	budget = t.mem_bytes * 15 / 20;
	proctab_set_max_bytes(&t, budget);
	round_range(&t, 2, 100, 101);
	assert_true(t.mem_bytes <= budget + sizeof(struct proc) * 2);
	assert_true(t.stats.evicted_memory >= 5);
	for (uint32_t pid = 1; pid <= t.stats.evicted_memory; pid++)
		assert_null(proctab_lookup(&t, pid, pid * 10ull));
	assert_non_null(proctab_lookup(&t, 20, 200));
	assert_non_null(proctab_lookup(&t, 100, 1000));
	assert_int_equal(t.stats.dropped_new_memory, 0);
	proctab_free(&t);
}

static void then_new_ones_are_counted(void **state)
{
	struct proctab t;

	proctab_init(&t, PS, 0, 100);
	proctab_set_max_bytes(&t, 30 * (sizeof(struct proc) + 200));
	round_range(&t, 0, 1, 101); /* 100 live processes, room for some */
	assert_true(t.stats.live < 30);
	assert_true(t.stats.live >= 5);
	assert_true(t.mem_bytes <= t.max_bytes + sizeof(struct proc) + HIST_TIERS * 4 * sizeof(struct hist_sample));
	assert_int_equal(t.stats.dropped_new, 100 - t.stats.live);
	assert_int_equal(t.stats.dropped_new_memory, t.stats.dropped_new);
	/* A short-lived process seen only at exit is refused the same way. */
	struct fl_exit_event e = exit_ev(9999);
	assert_null(proctab_exit(&t, &e, 1000, 1700000001));
	assert_int_equal(t.stats.dropped_new_memory, 100 - t.stats.live + 1);
	/* Live ones keep their history, within the per-process cap. */
	for (uint32_t s = 1; s < 200; s++)
		round_range(&t, s, 1, 101);
	assert_true(t.mem_bytes <= t.max_bytes + t.stats.live * 480 * sizeof(struct hist_sample));
	assert_int_equal(t.mem_bytes, recount(&t));
	proctab_free(&t);
}

/* Budget spent with only live records left: their histories keep their
 * newest samples but stop growing, so the table stays within the cap. */
static void histories_stop_growing_at_the_cap(void **state)
{
	struct proctab t;
	uint64_t before;

	proctab_init(&t, PS, 0, 100);
	round_range(&t, 0, 1, 11);
	proctab_set_max_bytes(&t, t.mem_bytes); /* spent now */
	before = t.mem_bytes;
	for (uint32_t s = 1; s < 150; s++)
		round_range(&t, s, 1, 11);
	/* At most one growth step past the cap (it is checked before)… */
	assert_true(t.mem_bytes <= before + hist_tier_cap[0] * sizeof(struct hist_sample));
	/* …and from then on, none. */
	before = t.mem_bytes;
	for (uint32_t s = 150; s < 300; s++)
		round_range(&t, s, 1, 11);
	assert_int_equal(t.mem_bytes, before);
	assert_int_equal(t.mem_bytes, recount(&t));
	assert_true(t.stats.history_capped > 0);
	/* the newest sample is there */
	assert_int_equal(history_last(&proctab_lookup(&t, 5, 50)->hist)->t, 1700000000 + 299);
	proctab_free(&t);
}

static void history_samples_scales_tiers(void **state)
{
	struct history h = {};
	unsigned total = 0;

	history_set_max_samples(48);
	for (int t = 0; t < HIST_TIERS; t++)
		total += hist_tier_cap[t];
	assert_true(total >= 45 && total <= 48);
	for (uint32_t i = 0; i < 100000; i += 7) {
		struct hist_sample s = { .t = 1700000000 + i };
		assert_int_equal(history_add(&h, &s), 0);
	}
	assert_true(history_bytes(&h) <= 48 * sizeof(struct hist_sample));
	history_free(&h);
	history_set_max_samples(16); /* the smallest: one slot per tier at least */
	for (int t = 0; t < HIST_TIERS; t++)
		assert_true(hist_tier_cap[t] >= 1);
	history_set_max_samples(HIST_DEFAULT_SAMPLES);
	assert_int_equal(hist_tier_cap[0], 60);
	assert_int_equal(hist_tier_cap[4], 168);
}

/* Many processes vanishing in one round with a small exited_keep: eviction
 * used to run inside the table iteration and free the next element (ASan
 * saw the use-after-free). */
static void mass_vanish_with_small_keep(void **state)
{
	struct proctab t;

	proctab_init(&t, PS, 0, 3);
	round_range(&t, 0, 1, 2001);
	for (uint32_t s = 1; s <= PROCTAB_VANISH_ROUNDS + 1; s++)
		round_range(&t, s, 0, 0);
	assert_int_equal(t.stats.live, 0);
	assert_int_equal(t.stats.exited, 3);
	assert_int_equal(t.stats.exits_vanished, 2000);
	assert_int_equal(t.stats.exited_evicted, 1997);
	assert_int_equal(t.mem_bytes, recount(&t));
	proctab_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memory_count_is_exact),
		cmocka_unit_test(exited_go_first_oldest_first),
		cmocka_unit_test(then_new_ones_are_counted),
		cmocka_unit_test(histories_stop_growing_at_the_cap),
		cmocka_unit_test(history_samples_scales_tiers),
		cmocka_unit_test(mass_vanish_with_small_keep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
