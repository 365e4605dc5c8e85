/* The state payload: everything round-trips (records, history tier by tier,
 * events, cgroups); another boot's records never merge with this boot's; a
 * restored live process is confirmed by the first snapshot or recorded as
 * exited while the daemon was down; damage leaves empty tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define PS 4096
#define BOOT_A "11111111-2222-3333-4444-555555555555"
#define BOOT_B "99999999-2222-3333-4444-555555555555"

struct world {
	struct proctab t;
	struct eventlog ev;
	struct cgcache cg;
};

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	proctab_init(&w->t, PS, 1000, 100);
	eventlog_init(&w->ev, 16);
}

static void world_free(struct world *w)
{
	proctab_free(&w->t);
	eventlog_free(&w->ev);
	cgcache_free(&w->cg);
}

static struct store_parts parts(struct world *w)
{
	return (struct store_parts){ .procs = &w->t, .events = &w->ev, .cgroups = &w->cg };
}

static struct fl_proc_rec rec(uint32_t tgid, uint64_t start, uint64_t minflt, uint64_t anon_pages)
{
	struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = tgid, .start_ns = start, .min_flt = minflt,
				 .rss_anon = anon_pages, .rss_file = 10, .total_vm = 1000, .nr_threads = 3,
				 .oom_score_adj = -500, .memcg_id = 77, .flags = FL_PROC_HAS_MM_STATS };
	r.mm.brk_calls = 12;
	r.mm.mmap_anon_bytes = 1ull << 40;
	snprintf(r.comm, sizeof(r.comm), "p%u", tgid);
	return r;
}

/* n rounds, one second apart, of the given processes with growing RSS. */
static void rounds(struct proctab *t, uint32_t first_s, int n, const uint32_t *pids, int np)
{
	bool is_new;

	for (int i = 0; i < n; i++) {
		proctab_begin_round(t, (first_s + i) * 1000ull, 1700000000 + first_s + i);
		for (int k = 0; k < np; k++) {
			struct fl_proc_rec r = rec(pids[k], pids[k] * 1000ull, 100 + i, 100 + i * 7);
			proctab_apply(t, &r, &is_new);
		}
		proctab_end_round(t);
	}
}

static void encode(struct world *w, const char *boot, void **buf, size_t *len)
{
	struct store_parts sp = parts(w);

	assert_int_equal(store_encode(&sp, boot, 1700009999, buf, len), 0);
}

static void assert_same_history(const struct history *a, const struct history *b)
{
	for (int t = 0; t < HIST_TIERS; t++) {
		assert_int_equal(history_len(a, t), history_len(b, t));
		for (size_t i = 0; i < history_len(a, t); i++)
			assert_memory_equal(history_at(a, t, i), history_at(b, t, i), sizeof(struct hist_sample));
	}
}

static void round_trip_same_boot(void **state)
{
	struct world a, b;
	uint32_t pids[] = { 10, 20, 30 };
	struct fl_exit_event e = { .hdr = { .kind = FL_EV_EXIT, .tgid = 30 }, .start_ns = 30000, .exit_code = 256 };
	struct store_parts sp;
	struct store_loaded info;
	char err[128];
	void *buf;
	size_t len;

	world_init(&a);
	rounds(&a.t, 0, 700, pids, 3); /* fills tiers 0-2 */
	proctab_set_cmdline(&a.t, proctab_lookup(&a.t, 10, 10000), strdup("/bin/p10 --flag"));
	proctab_exit(&a.t, &e, 701000, 1700000701);
	proctab_lookup(&a.t, 20, 20000)->leak_alerted_suspect = 1700000500;
	proctab_lookup(&a.t, 30, 30000)->leak_alerted_exhaustion = 1700000600;
	eventlog_add(&a.ev, json_object_new_object());
	eventlog_add(&a.ev, json_tokener_parse("{\"type\":\"oom_kill\",\"victim\":{\"pid\":5}}"));
	cgcache_put(&a.cg, 77, "/system.slice/x.service");
	encode(&a, BOOT_A, &buf, &len);

	world_init(&b);
	sp = parts(&b);
	assert_int_equal(store_decode(&sp, buf, len, BOOT_A, &info, err, sizeof(err)), 0);
	assert_true(info.same_boot);
	assert_int_equal(info.live, 2);
	assert_int_equal(info.exited, 1);
	assert_int_equal(info.events, 2);
	assert_int_equal(info.saved_wall, 1700009999);
	assert_int_equal(b.t.stats.live, 2);
	assert_int_equal(b.t.stats.exited, 1);
	for (int k = 0; k < 3; k++) {
		struct proc *pa = proctab_lookup(&a.t, pids[k], pids[k] * 1000ull);
		struct proc *pb = proctab_lookup(&b.t, pids[k], pids[k] * 1000ull);

		assert_non_null(pb);
		assert_string_equal(pa->comm, pb->comm);
		assert_memory_equal(&pa->cur, &pb->cur, sizeof(pa->cur));
		assert_memory_equal(&pa->mm, &pb->mm, sizeof(pa->mm));
		assert_int_equal(pa->oom_score_adj, pb->oom_score_adj);
		assert_int_equal(pa->state, pb->state);
		assert_int_equal(pa->exit_code, pb->exit_code);
		assert_int_equal(pa->peak_rss, pb->peak_rss);
		assert_same_history(&pa->hist, &pb->hist);
		assert_true(history_last(&pb->hist)->owned_max_kb > 0); /* the envelope too */
		assert_int_equal(pb->restored, pb->state == PROC_LIVE);
		assert_int_equal(pa->leak_alerted_suspect, pb->leak_alerted_suspect);
		assert_int_equal(pa->leak_alerted_exhaustion, pb->leak_alerted_exhaustion);
	}
	assert_string_equal(proctab_lookup(&b.t, 10, 10000)->cmdline, "/bin/p10 --flag");
	assert_int_equal(proctab_lookup(&b.t, 20, 20000)->leak_alerted_suspect, 1700000500);
	assert_string_equal(cgcache_get(&b.cg, 77), "/system.slice/x.service");
	assert_int_equal(b.t.mem_bytes, a.t.mem_bytes);
	/* Event numbering continues after the restored ones. */
	assert_int_equal(json_object_get_uint64(json_object_object_get(eventlog_add(&b.ev, json_object_new_object()), "seq")), 3);
	free(buf);
	world_free(&a);
	world_free(&b);
}

static void restored_live_confirmed_or_gone(void **state)
{
	struct world a, b;
	uint32_t pids[] = { 10, 20 }, still[] = { 10 };
	struct store_parts sp;
	struct store_loaded info;
	char err[128];
	void *buf;
	size_t len;
	struct proc *p;

	world_init(&a);
	rounds(&a.t, 0, 5, pids, 2);
	encode(&a, BOOT_A, &buf, &len);
	world_init(&b);
	sp = parts(&b);
	assert_int_equal(store_decode(&sp, buf, len, BOOT_A, &info, err, sizeof(err)), 0);
	/* Restart: only pid 10 is still there. */
	rounds(&b.t, 100, 1, still, 1);
	p = proctab_lookup(&b.t, 10, 10000);
	assert_int_equal(p->state, PROC_LIVE);
	assert_false(p->restored);
	assert_int_equal(history_len(&p->hist, 0), 6); /* history continues */
	assert_true(p->minflt_rate == 0); /* no rate across the gap */
	p = proctab_lookup(&b.t, 20, 20000);
	assert_int_equal(p->state, PROC_EXITED);
	assert_int_equal(p->exit_how, EXIT_WHILE_DOWN);
	assert_int_equal(b.t.stats.exited_while_down, 1);
	assert_int_equal(b.t.stats.exits_vanished, 0);
	free(buf);
	world_free(&a);
	world_free(&b);
}

static void other_boot_never_merges(void **state)
{
	struct world a, b;
	uint32_t pids[] = { 10 };
	struct store_parts sp;
	struct store_loaded info;
	char err[128];
	void *buf;
	size_t len;
	struct proc *p;

	world_init(&a);
	rounds(&a.t, 0, 3, pids, 1);
	cgcache_put(&a.cg, 77, "/old");
	encode(&a, BOOT_A, &buf, &len);
	world_init(&b);
	sp = parts(&b);
	assert_int_equal(store_decode(&sp, buf, len, BOOT_B, &info, err, sizeof(err)), 0);
	assert_false(info.same_boot);
	assert_int_equal(b.t.stats.live, 0);
	assert_int_equal(b.t.stats.exited, 1);
	assert_null(cgcache_get(&b.cg, 77)); /* cgroup ids are per boot */
	/* The same pid and start time in the new boot is a new process. */
	assert_null(proctab_lookup(&b.t, 10, 10000));
	rounds(&b.t, 50, 1, pids, 1);
	p = proctab_lookup(&b.t, 10, 10000);
	assert_non_null(p);
	assert_int_equal(p->state, PROC_LIVE);
	assert_int_equal(history_len(&p->hist, 0), 1);
	assert_int_equal(b.t.stats.live, 1);
	assert_int_equal(b.t.stats.exited, 1);
	/* show PID prefers this boot's process. */
	assert_ptr_equal(proctab_find_pid(&b.t, 10), p);
	free(buf);
	world_free(&a);
	world_free(&b);
}

static void damage_leaves_empty_tables(void **state)
{
	struct world a, b;
	uint32_t pids[] = { 10, 20, 30, 40 };
	struct store_parts sp;
	struct store_loaded info;
	char err[128];
	unsigned char *buf;
	size_t len;
	int ok = 0, bad = 0;

	world_init(&a);
	rounds(&a.t, 0, 20, pids, 4);
	eventlog_add(&a.ev, json_tokener_parse("{\"type\":\"x\"}"));
	encode(&a, BOOT_A, (void **)&buf, &len);
	world_init(&b);
	sp = parts(&b);
	/* Every truncation: refused, or (cut at a section boundary) a clean
	 * subset; never a crash, never a leak (ASan runs this too). */
	for (size_t n = 0; n < len; n++) {
		int r = store_decode(&sp, buf, n, BOOT_A, &info, err, sizeof(err));

		if (r) {
			bad++;
			assert_int_equal(b.t.stats.live + b.t.stats.exited, 0);
			assert_int_equal(b.ev.len, 0);
			assert_int_equal(b.t.mem_bytes, 0);
		} else {
			ok++;
		}
		proctab_free(&b.t);
		eventlog_free(&b.ev);
		eventlog_init(&b.ev, 16);
		cgcache_free(&b.cg);
	}
	assert_true(bad > (int)len - 10);
	/* Random byte damage: decoded or refused, nothing in between. */
	srand(7);
	for (int i = 0; i < 3000; i++) {
		size_t at = rand() % len;
		unsigned char old = buf[at];

		buf[at] = rand();
		store_decode(&sp, buf, len, BOOT_A, &info, err, sizeof(err));
		buf[at] = old;
		proctab_free(&b.t);
		eventlog_free(&b.ev);
		eventlog_init(&b.ev, 16);
		cgcache_free(&b.cg);
	}
	(void)ok;
	free(buf);
	world_free(&a);
	world_free(&b);
}

static void unknown_section_skipped(void **state)
{
	struct world b;
	struct store_parts sp;
	struct store_loaded info;
	char err[128];
	/* meta{boot "x", wall 5}, "later"{3 bytes} */
	const unsigned char buf[] = { 4, 'm', 'e', 't', 'a', 3, 1, 'x', 5,
				      5, 'l', 'a', 't', 'e', 'r', 3, 1, 2, 3 };
	const unsigned char no_meta[] = { 5, 'l', 'a', 't', 'e', 'r', 0 };

	world_init(&b);
	sp = parts(&b);
	assert_int_equal(store_decode(&sp, buf, sizeof(buf), "x", &info, err, sizeof(err)), 0);
	assert_true(info.same_boot);
	assert_int_equal(info.saved_wall, 5);
	assert_int_equal(store_decode(&sp, no_meta, sizeof(no_meta), "x", &info, err, sizeof(err)), -EBADMSG);
	assert_int_equal(store_decode(&sp, buf, 0, "x", &info, err, sizeof(err)), -EBADMSG);
	world_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_same_boot),
		cmocka_unit_test(restored_live_confirmed_or_gone),
		cmocka_unit_test(other_boot_never_merges),
		cmocka_unit_test(damage_leaves_empty_tables),
		cmocka_unit_test(unknown_section_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
