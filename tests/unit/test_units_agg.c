/* The per-unit view: unit names, sums, counters that never go back, exited
 * processes, restarted services, idle units, OOM kills, bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "units_agg.h"

#define PS 4096

static struct fl_proc_rec rec(uint32_t tgid, uint64_t memcg, uint64_t minflt, uint64_t anon_pages)
{
	struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = tgid, .start_ns = tgid * 7, .min_flt = minflt,
				 .maj_flt = minflt / 100, .rss_anon = anon_pages, .rss_file = 10, .rss_shmem = 2,
				 .swap_ents = 3, .total_vm = 1000, .nr_threads = 1, .memcg_id = memcg };
	snprintf(r.comm, sizeof(r.comm), "p%u", tgid);
	return r;
}

static void round_of(struct proctab *t, struct units_agg *ua, struct cgcache *cg, uint64_t now_ms,
		     const struct fl_proc_rec *recs, int n)
{
	bool is_new;

	proctab_begin_round(t, now_ms, (uint32_t)(1700000000 + now_ms / 1000));
	for (int i = 0; i < n; i++)
		proctab_apply(t, &recs[i], &is_new);
	proctab_end_round(t);
	units_agg_update(ua, t, cg, now_ms, NULL, NULL);
}

static void exit_of(struct proctab *t, uint32_t tgid, uint64_t minflt, uint64_t now_ms)
{
	struct fl_exit_event e = { .hdr = { .kind = FL_EV_EXIT, .tgid = tgid }, .start_ns = tgid * 7,
				   .min_flt = minflt, .maj_flt = minflt / 100 };

	proctab_exit(t, &e, now_ms, 1700000000);
}

struct fx {
	struct proctab t;
	struct units_agg ua;
	struct cgcache cg;
};

static int setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	proctab_init(&fx.t, PS, 1000, 100);
	units_agg_init(&fx.ua, 100);
	cgcache_put(&fx.cg, 10, "/system.slice/nginx.service");
	cgcache_put(&fx.cg, 11, "/user.slice/user-1000.slice/user@1000.service");
	cgcache_put(&fx.cg, 12, "/system.slice/nginx.service"); /* the same service, restarted */
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	units_agg_free(&fx->ua);
	proctab_free(&fx->t);
	cgcache_free(&fx->cg);
	return 0;
}

static void names(void **state)
{
	static const char *const cases[][3] = {
		{ "/system.slice/nginx.service", "nginx.service", "system.slice" },
		{ "/user.slice/user-1000.slice/user@1000.service", "user@1000.service", "user-1000.slice" },
		{ "/user.slice/user-1000.slice/user@1000.service/app.slice/x.service", "x.service", "app.slice" },
		{ "/system.slice", "system.slice", "-.slice" },
		{ "/", "-.slice", "" },
		{ "/docker/4f2a9c", "4f2a9c", "" },
		{ "/kubepods.slice/pod1/ctr", "ctr", "kubepods.slice" },
	};
	char name[UNIT_NAME_LEN], slice[UNIT_NAME_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unit_names_from_path(cases[i][0], name, sizeof(name), slice, sizeof(slice));
		assert_string_equal(name, cases[i][1]);
		assert_string_equal(slice, cases[i][2]);
	}
}

static void sums_per_unit(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec a[] = { rec(1, 10, 100, 100), rec(2, 10, 200, 50), rec(3, 11, 1000, 7), rec(4, 99, 5, 5) };
	struct fl_proc_rec b[] = { rec(1, 10, 300, 150), rec(2, 10, 200, 50), rec(3, 11, 1000, 7), rec(4, 99, 5, 5) };
	struct unit *u;

	round_of(&fx->t, &fx->ua, &fx->cg, 1000, a, 4);
	round_of(&fx->t, &fx->ua, &fx->cg, 2000, b, 4);
	u = units_agg_find(&fx->ua, "/system.slice/nginx.service");
	assert_non_null(u);
	assert_string_equal(u->name, "nginx.service");
	assert_int_equal(u->procs, 2);
	assert_int_equal(u->rss_anon, 200 * PS);
	assert_int_equal(u->rss_file, 20 * PS);
	assert_int_equal(u->rss_shmem, 4 * PS);
	assert_int_equal(u->swap, 6 * PS);
	assert_int_equal(unit_rss(u), 224 * PS);
	assert_int_equal(u->minflt, 500);
	assert_int_equal(u->majflt, 5);
	assert_true(u->minflt_rate > 199.9 && u->minflt_rate < 200.1); /* 200 faults in 1 s */
	assert_true(u->rss_rate > 50.0 * PS - 1 && u->rss_rate < 50.0 * PS + 1);
	u = units_agg_find(&fx->ua, "/user.slice/user-1000.slice/user@1000.service");
	assert_non_null(u);
	assert_int_equal(u->procs, 1);
	/* memcg 99 has no known path: counted, not invented */
	assert_int_equal(fx->ua.stats.unattributed, 1);
	assert_int_equal(fx->ua.stats.units, 2);
}

static void exited_processes_leave_their_faults(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec a[] = { rec(1, 10, 100, 100), rec(2, 10, 200, 50) };
	struct fl_proc_rec b[] = { rec(1, 10, 150, 100) };
	struct unit *u;

	round_of(&fx->t, &fx->ua, &fx->cg, 1000, a, 2);
	exit_of(&fx->t, 2, 260, 1500); /* its last 60 faults came after the snapshot */
	round_of(&fx->t, &fx->ua, &fx->cg, 2000, b, 1);
	u = units_agg_find(&fx->ua, "/system.slice/nginx.service");
	assert_int_equal(u->procs, 1);
	assert_int_equal(u->minflt, 150 + 260);
	/* counted once, not again in later rounds */
	round_of(&fx->t, &fx->ua, &fx->cg, 3000, b, 1);
	round_of(&fx->t, &fx->ua, &fx->cg, 4000, b, 1);
	assert_int_equal(u->minflt, 150 + 260);
	assert_int_equal(u->retired_minflt, 260);
}

static void counters_never_go_back(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec a[] = { rec(1, 10, 100, 100), rec(2, 10, 200, 50) };
	struct fl_proc_rec moved[] = { rec(1, 10, 100, 100), rec(2, 11, 250, 50) };
	struct unit *u;

	round_of(&fx->t, &fx->ua, &fx->cg, 1000, a, 2);
	u = units_agg_find(&fx->ua, "/system.slice/nginx.service");
	assert_int_equal(u->minflt, 300);
	round_of(&fx->t, &fx->ua, &fx->cg, 2000, moved, 2); /* pid 2 moved to user@1000 */
	assert_int_equal(u->procs, 1);
	assert_int_equal(u->minflt, 300);
	assert_int_equal(units_agg_find(&fx->ua, "/user.slice/user-1000.slice/user@1000.service")->minflt, 250);
}

static void restarted_service_keeps_its_series(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec before[] = { rec(1, 10, 100, 100) };
	struct fl_proc_rec after[] = { rec(5, 12, 40, 100) }; /* new cgroup id, same path */
	struct unit *u;

	round_of(&fx->t, &fx->ua, &fx->cg, 1000, before, 1);
	exit_of(&fx->t, 1, 120, 1500);
	round_of(&fx->t, &fx->ua, &fx->cg, 2000, NULL, 0);
	u = units_agg_find(&fx->ua, "/system.slice/nginx.service");
	assert_int_equal(u->procs, 0);
	assert_int_equal(u->minflt, 120);
	round_of(&fx->t, &fx->ua, &fx->cg, 5000, after, 1);
	assert_ptr_equal(units_agg_find(&fx->ua, "/system.slice/nginx.service"), u);
	assert_int_equal(u->procs, 1);
	assert_int_equal(u->minflt, 160);
	assert_int_equal(u->idle_since_ms, 0);
}

static void idle_units_are_forgotten(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec a[] = { rec(1, 10, 100, 100) };

	round_of(&fx->t, &fx->ua, &fx->cg, 1000, a, 1);
	exit_of(&fx->t, 1, 120, 1500);
	round_of(&fx->t, &fx->ua, &fx->cg, 2000, NULL, 0);
	round_of(&fx->t, &fx->ua, &fx->cg, 2000 + UNIT_IDLE_FORGET_MS - 1, NULL, 0);
	assert_non_null(units_agg_find(&fx->ua, "/system.slice/nginx.service"));
	round_of(&fx->t, &fx->ua, &fx->cg, 2000 + UNIT_IDLE_FORGET_MS, NULL, 0);
	assert_null(units_agg_find(&fx->ua, "/system.slice/nginx.service"));
	assert_int_equal(fx->ua.stats.forgotten, 1);
	assert_int_equal(fx->ua.stats.units, 0);
}

static void oom_kills_by_constraint(void **state)
{
	struct fx *fx = *state;
	struct unit *u;

	units_agg_oom(&fx->ua, "/system.slice/db.service", "memcg", 1000);
	units_agg_oom(&fx->ua, "/system.slice/db.service", "memcg", 1000);
	units_agg_oom(&fx->ua, "/system.slice/db.service", "global", 1000);
	units_agg_oom(&fx->ua, "/system.slice/db.service", NULL, 1000);
	units_agg_oom(&fx->ua, NULL, "memcg", 1000);
	u = units_agg_find(&fx->ua, "/system.slice/db.service");
	assert_non_null(u); /* a unit made for its victim, with no process left */
	assert_string_equal(u->oom[0].constraint, "memcg");
	assert_int_equal(u->oom[0].kills, 2);
	assert_string_equal(u->oom[1].constraint, "global");
	assert_int_equal(u->oom[1].kills, 1);
	assert_string_equal(u->oom[2].constraint, "unknown");
	assert_int_equal(unit_oom_kills(u), 4);
	assert_int_equal(fx->ua.stats.oom_unattributed, 1);
	/* the counts survive rounds without processes */
	round_of(&fx->t, &fx->ua, &fx->cg, 2000, NULL, 0);
	assert_int_equal(unit_oom_kills(units_agg_find(&fx->ua, "/system.slice/db.service")), 4);
}

static void table_is_bounded(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec a[] = { rec(1, 10, 1, 1), rec(2, 11, 1, 1) };

	fx->ua.max_units = 1;
	round_of(&fx->t, &fx->ua, &fx->cg, 1000, a, 2);
	assert_int_equal(fx->ua.stats.units, 1);
	assert_true(fx->ua.stats.not_tracked >= 1);
}

static bool big_is_suspect(const struct proc *p, void *ctx)
{
	return p->cur.rss_anon >= *(uint64_t *)ctx;
}

static void suspects_are_counted(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec a[] = { rec(1, 10, 1, 1000), rec(2, 10, 1, 5), rec(3, 10, 1, 2000) };
	uint64_t threshold = 1000 * PS;
	bool is_new;

	proctab_begin_round(&fx->t, 1000, 1700000000);
	for (int i = 0; i < 3; i++)
		proctab_apply(&fx->t, &a[i], &is_new);
	proctab_end_round(&fx->t);
	units_agg_update(&fx->ua, &fx->t, &fx->cg, 1000, big_is_suspect, &threshold);
	assert_int_equal(units_agg_find(&fx->ua, "/system.slice/nginx.service")->leak_suspects, 2);
}

static void sorted_by_rss(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec a[] = { rec(1, 10, 1, 10), rec(2, 11, 1, 500) };
	struct unit *arr[4];

	round_of(&fx->t, &fx->ua, &fx->cg, 1000, a, 2);
	assert_int_equal(units_agg_sorted(&fx->ua, arr, 4), 2);
	assert_string_equal(arr[0]->name, "user@1000.service");
	assert_string_equal(arr[1]->name, "nginx.service");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test_setup_teardown(sums_per_unit, setup, teardown),
		cmocka_unit_test_setup_teardown(exited_processes_leave_their_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(counters_never_go_back, setup, teardown),
		cmocka_unit_test_setup_teardown(restarted_service_keeps_its_series, setup, teardown),
		cmocka_unit_test_setup_teardown(idle_units_are_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(oom_kills_by_constraint, setup, teardown),
		cmocka_unit_test_setup_teardown(table_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(suspects_are_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(sorted_by_rss, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
