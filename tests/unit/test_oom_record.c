/* OOM records: which limit a kill is blamed on, the record built from an
 * event and the process table, the one-line message, the journal/hook
 * fields, the hook environment, /proc/meminfo. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks.h"
#include "meminfo.h"
#include "oom_record.h"
#include "procfs.h"

#define PS 4096
#define T0 1700000000u

static struct fl_oom_event memcg_event(uint64_t usage, uint64_t limit, uint64_t count)
{
	struct fl_oom_event e = {
		.hdr = { .kind = FL_EV_OOM_VICTIM, .tgid = 100 },
		.victim_start_ns = 5,
		.rss_anon = 1000, .rss_file = 20, .rss_shmem = 3, .swap_ents = 7,
		.pgtables_bytes = 40960, .total_vm = 5000, .memcg_id = 11,
		.victim_uid = 1000, .oom_score_adj = 300,
		.trigger_tgid = 101, .trigger_pid = 102, .trigger_memcg_id = 11,
		.peak_rss_pages = 1100, .victim_tid = 100, .victim_ppid = 1, .nr_threads = 4,
		.flags = FL_OOM_HAS_VICTIM_TASK, .nlevels = 3,
		.levels = {
			{ .id = 11, .usage = usage, .limit = limit, .oom_events = count },
			{ .id = 10, .usage = usage + 500, .limit = 1ull << 40, .oom_events = 0 },
			{ .id = 1, .usage = usage + 9000, .limit = 0, .oom_events = 0 },
		},
	};
	memcpy(e.victim_comm, "java", 5);
	memcpy(e.trigger_comm, "java", 5);
	return e;
}

static void blamed_when_at_limit_and_count_moved(void **state)
{
	struct oom_blame b = {};
	struct fl_oom_event e = memcg_event(8192, 8192, 1);

	assert_int_equal(oom_blame_pick(&b, &e), 0);
	/* The same group, its count unchanged: an old OOM of its own, not this one. */
	assert_int_equal(oom_blame_pick(&b, &e), -1);
	e.levels[0].oom_events = 2;
	assert_int_equal(oom_blame_pick(&b, &e), 0);
	/* Within 64 pages of the limit counts as at it. */
	e.levels[0].usage = 8192 - 64;
	e.levels[0].oom_events = 3;
	assert_int_equal(oom_blame_pick(&b, &e), 0);
	e.levels[0].usage = 8192 - 65;
	e.levels[0].oom_events = 4;
	assert_int_equal(oom_blame_pick(&b, &e), -1);
}

static void the_first_level_up_at_its_limit(void **state)
{
	struct oom_blame b = {};
	struct fl_oom_event e = memcg_event(100, 8192, 0);

	/* The child is far from its limit; its parent hit its own. */
	e.levels[1].usage = 5000;
	e.levels[1].limit = 5000;
	e.levels[1].oom_events = 1;
	assert_int_equal(oom_blame_pick(&b, &e), 1);
	/* No limit (0) or a count of 0 never blames. */
	e.levels[1].oom_events = 0;
	assert_int_equal(oom_blame_pick(&b, &e), -1);
}

static void blame_memory_is_bounded(void **state)
{
	struct oom_blame b = {};
	struct fl_oom_event e = memcg_event(10, 10, 1);

	/* More groups than slots: the least recently blamed is forgotten, so
	 * the first group's same count counts as new again. */
	for (uint64_t id = 1000; id < 1000 + OOM_BLAME_SLOTS + 1; id++) {
		e.levels[0].id = id;
		assert_int_equal(oom_blame_pick(&b, &e), 0);
	}
	e.levels[0].id = 1000;
	assert_int_equal(oom_blame_pick(&b, &e), 0);
	e.levels[0].id = 1000 + OOM_BLAME_SLOTS;
	assert_int_equal(oom_blame_pick(&b, &e), -1);
}

struct world {
	struct proctab t;
	struct cgcache cg;
};

static void add_proc(struct world *w, uint32_t tgid, uint64_t start, uint64_t anon_pages, uint64_t memcg,
		     const char *comm)
{
	struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = tgid, .start_ns = start, .rss_anon = anon_pages,
				 .rss_file = 10, .total_vm = 1000, .nr_threads = 2, .ppid = 7, .memcg_id = memcg };
	bool is_new;

	snprintf(r.comm, sizeof(r.comm), "%s", comm);
	proctab_apply(&w->t, &r, &is_new);
}

/* Two rounds: the victim grows; others in and out of its cgroup. */
static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	proctab_init(&w->t, PS, 100, 10);
	cgcache_put(&w->cg, 11, "/app.slice/web.service");
	cgcache_put(&w->cg, 12, "/app.slice/web.service/worker");
	cgcache_put(&w->cg, 20, "/other.service");
	for (uint32_t i = 0; i < 3; i++) {
		proctab_begin_round(&w->t, 1000 * (i + 1), T0 + i);
		add_proc(w, 100, 5, 500 + 250 * i, 11, "java");
		add_proc(w, 200, 6, 300, 12, "worker");	   /* a sub-cgroup: in scope */
		add_proc(w, 300, 7, 9000, 20, "elsewhere"); /* bigger, another cgroup */
		add_proc(w, 400, 8, 50, 11, "small");
		proctab_end_round(&w->t);
	}
}

static void world_free(struct world *w)
{
	proctab_free(&w->t);
	cgcache_free(&w->cg);
}

static json_object *path(json_object *o, const char *a, const char *b)
{
	json_object *x = NULL, *y = NULL;

	if (!json_object_object_get_ex(o, a, &x))
		return NULL;
	if (!b)
		return x;
	return json_object_object_get_ex(x, b, &y) ? y : NULL;
}

static void memcg_record(void **state)
{
	struct world w;
	struct fl_oom_event e = memcg_event(8192, 8192, 1);
	struct oom_context c;
	struct proc *victim;
	json_object *r, *top;

	world_init(&w);
	/* The leak analysis had called it a suspect. */
	victim = proctab_lookup(&w.t, 100, 5);
	victim->leak.cls = LEAK_SUSPECT;
	victim->leak.analysed_at = T0 + 2;
	victim->leak.confidence = 0.9;
	c = (struct oom_context){ .ev = &e, .procs = &w.t, .cgroups = &w.cg, .page_size = PS,
				  .time_ms = (T0 + 3) * 1000ull, .level = 0,
				  .victim_cgroup = "/app.slice/web.service", .trigger_cgroup = "/app.slice/web.service",
				  .constraint_cgroup = "/app.slice/web.service", .victim_cmdline = "java -jar app.jar",
				  .mem_total = -1, .mem_available = -1 };
	r = oom_record_build(&c);
	assert_string_equal(json_object_get_string(path(r, "probe", NULL)), "tp_btf/mark_victim");
	assert_int_equal(json_object_get_uint64(path(r, "victim", "rss_anon")), 1000 * PS);
	assert_int_equal(json_object_get_uint64(path(r, "victim", "swap")), 7 * PS);
	assert_int_equal(json_object_get_int64(path(r, "victim", "oom_score_adj")), 300);
	assert_int_equal(json_object_get_uint64(path(r, "victim", "threads")), 4);
	assert_int_equal(json_object_get_uint64(path(r, "victim", "peak_rss")), 1100 * PS);
	assert_string_equal(json_object_get_string(path(r, "victim", "cmdline")), "java -jar app.jar");
	assert_false(json_object_get_boolean(path(r, "trigger", "is_victim")));
	assert_string_equal(json_object_get_string(path(r, "constraint", "kind")), "memcg");
	assert_int_equal(json_object_get_uint64(path(r, "constraint", "limit")), 8192 * PS);
	/* Top consumers: the cgroup and its sub-cgroup only, largest first. */
	top = path(r, "top", NULL);
	assert_int_equal(json_object_array_length(top), 3);
	assert_int_equal(json_object_get_uint64(path(json_object_array_get_idx(top, 0), "pid", NULL)), 100);
	assert_int_equal(json_object_get_uint64(path(json_object_array_get_idx(top, 1), "pid", NULL)), 200);
	assert_int_equal(json_object_get_uint64(path(json_object_array_get_idx(top, 2), "pid", NULL)), 400);
	/* History: the three samples, growing. */
	assert_int_equal(json_object_get_uint64(path(r, "history", "samples")), 3);
	assert_int_equal(json_object_get_uint64(json_object_array_get_idx(path(r, "history", "anon"), 2)), 1000 * PS);
	assert_string_equal(json_object_get_string(path(r, "outcome", "state")), "pending");
	assert_string_equal(json_object_get_string(path(r, "leak", "class")), "leak-suspect");
	assert_true(json_object_get_boolean(path(r, "leak", "suspect")));
	assert_int_equal(json_object_object_length(path(r, "unavailable", NULL)), 0);
	json_object_put(r);
	/* Alerted as a suspect once, a plateau now: it had been a suspect. */
	victim->leak.cls = LEAK_PLATEAU;
	victim->leak_alerted_suspect = T0 + 1;
	r = oom_record_build(&c);
	assert_string_equal(json_object_get_string(path(r, "leak", "class")), "plateau");
	assert_true(json_object_get_boolean(path(r, "leak", "suspect")));
	assert_int_equal(json_object_get_uint64(path(r, "leak", "alerted_at")), T0 + 1);
	json_object_put(r);
	victim->leak_alerted_suspect = 0;
	r = oom_record_build(&c);
	assert_false(json_object_get_boolean(path(r, "leak", "suspect")));
	json_object_put(r);
	world_free(&w);
}

static void system_record_and_missing_fields(void **state)
{
	struct world w;
	struct fl_oom_event e = memcg_event(10, 8192, 0);
	struct oom_context c;
	json_object *r, *why;
	char msg[512];

	world_init(&w);
	e.hdr.tgid = 999; /* never seen by a snapshot */
	e.victim_start_ns = 77;
	c = (struct oom_context){ .ev = &e, .procs = &w.t, .cgroups = &w.cg, .page_size = PS,
				  .time_ms = (T0 + 3) * 1000ull, .level = -1, .mem_total = 8ll << 30,
				  .mem_available = 1ll << 30 };
	r = oom_record_build(&c);
	assert_string_equal(json_object_get_string(path(r, "constraint", "kind")), "system");
	assert_int_equal(json_object_get_int64(path(r, "constraint", "mem_total")), 8ll << 30);
	/* Everything in scope: the biggest, in another cgroup, comes first. */
	assert_int_equal(json_object_get_uint64(path(json_object_array_get_idx(path(r, "top", NULL), 0), "pid", NULL)), 300);
	assert_null(path(r, "history", NULL));
	assert_null(path(r, "leak", NULL));
	assert_null(path(r, "victim", "cmdline"));
	why = path(r, "unavailable", NULL);
	assert_non_null(path(why, "victim.cmdline", NULL));
	assert_non_null(path(why, "victim.cgroup", NULL));
	assert_non_null(path(why, "history", NULL));
	assert_non_null(path(why, "leak", NULL));
	oom_record_message(r, msg, sizeof(msg));
	assert_string_equal(msg, "OOM killer: killed java (pid 999, 3.9 MiB anon), system-wide (MemTotal 8.0 GiB), "
				 "triggered by java (pid 101)");
	json_object_put(r);
	world_free(&w);
}

static void classic_tracepoint_fills_from_the_table(void **state)
{
	struct world w;
	struct fl_oom_event e = memcg_event(8192, 8192, 1);
	struct oom_context c;
	json_object *r;

	world_init(&w);
	e.flags = FL_OOM_CLASSIC;
	e.victim_start_ns = 0;
	e.peak_rss_pages = 0;
	e.victim_ppid = e.nr_threads = 0;
	c = (struct oom_context){ .ev = &e, .procs = &w.t, .cgroups = &w.cg, .page_size = PS,
				  .time_ms = (T0 + 3) * 1000ull, .level = 0, .constraint_cgroup = "/app.slice/web.service",
				  .mem_total = -1, .mem_available = -1 };
	r = oom_record_build(&c);
	assert_string_equal(json_object_get_string(path(r, "probe", NULL)), "tracepoint/oom/mark_victim");
	assert_int_equal(json_object_get_uint64(path(r, "victim", "ppid")), 7);
	assert_int_equal(json_object_get_uint64(path(r, "victim", "threads")), 2);
	assert_int_equal(json_object_get_uint64(path(r, "victim", "start_ns")), 5);
	assert_int_equal(json_object_get_uint64(path(r, "victim", "memcg_id")), 11);
	/* The table's peak (what snapshots saw) stands in for the kernel's. */
	assert_int_equal(json_object_get_uint64(path(r, "victim", "peak_rss")), (1000 + 10) * PS);
	json_object_put(r);
	world_free(&w);
}

static void exit_seen_first_settles_at_once(void **state)
{
	struct world w;
	struct fl_oom_event e = memcg_event(8192, 8192, 1);
	struct fl_exit_event x = { .hdr = { .kind = FL_EV_EXIT, .tgid = 100 }, .start_ns = 5, .exit_code = 9 };
	struct oom_context c;
	json_object *r;
	char msg[512];

	world_init(&w);
	proctab_exit(&w.t, &x, 4000, T0 + 3);
	c = (struct oom_context){ .ev = &e, .procs = &w.t, .cgroups = &w.cg, .page_size = PS,
				  .time_ms = (T0 + 3) * 1000ull, .level = 0, .victim_cgroup = "/app.slice/web.service",
				  .constraint_cgroup = "/app.slice/web.service", .mem_total = -1, .mem_available = -1 };
	r = oom_record_build(&c);
	assert_string_equal(json_object_get_string(path(r, "outcome", "state")), "exited");
	assert_true(json_object_get_boolean(path(r, "outcome", "killed")));
	/* It exited after the last snapshot: still among the top consumers. */
	assert_int_equal(json_object_get_uint64(path(json_object_array_get_idx(path(r, "top", NULL), 0), "pid", NULL)), 100);
	oom_record_message(r, msg, sizeof(msg));
	assert_string_equal(msg, "OOM killer: killed java (pid 100, 3.9 MiB anon) in /app.slice/web.service, "
				 "limit 32 MiB, triggered by java (pid 101)");
	json_object_put(r);
	world_free(&w);
}

struct collected {
	char buf[4096];
	size_t len;
};

static void collect(const char *name, const char *value, void *ctx)
{
	struct collected *c = ctx;

	c->len += snprintf(c->buf + c->len, sizeof(c->buf) - c->len, "%s=%s\n", name, value);
}

static void fields_for_journal_and_hooks(void **state)
{
	json_object *r = json_tokener_parse(
		"{\"id\":7,\"victim\":{\"pid\":100,\"comm\":\"a b\",\"cgroup\":null},"
		"\"top\":[{\"pid\":1},{\"pid\":2}],\"history\":{\"anon\":[1,2,3],\"t\":[]},"
		"\"unavailable\":{\"victim.cgroup\":\"why\"}}");
	struct collected c = {};

	oom_record_fields(r, collect, &c);
	assert_string_equal(c.buf, "FAULTLINE_ID=7\n"
				   "FAULTLINE_VICTIM_PID=100\n"
				   "FAULTLINE_VICTIM_COMM=a b\n"
				   "FAULTLINE_TOP_0_PID=1\n"
				   "FAULTLINE_TOP_1_PID=2\n"
				   "FAULTLINE_HISTORY_ANON=1,2,3\n"
				   "FAULTLINE_HISTORY_T=\n"
				   "FAULTLINE_UNAVAILABLE_VICTIM_CGROUP=why\n");
	json_object_put(r);
}

static void hook_environment(void **state)
{
	json_object *r = json_tokener_parse("{\"id\":3,\"victim\":{\"pid\":42}}");
	char *base[] = { "PATH=/usr/bin", "FAULTLINE_ID=spoofed", "HOME=/", NULL };
	char **env = hooks_build_env(r, base);
	size_t n = 0;

	assert_non_null(env);
	while (env[n])
		n++;
	assert_int_equal(n, 4);
	assert_string_equal(env[0], "PATH=/usr/bin");
	assert_string_equal(env[1], "HOME=/");
	assert_string_equal(env[2], "FAULTLINE_ID=3");
	assert_string_equal(env[3], "FAULTLINE_VICTIM_PID=42");
	hooks_free_env(env);
	json_object_put(r);
}

static void meminfo_prepared(void **state)
{
	char p[] = "/tmp/fl-meminfo.XXXXXX";
	int fd = mkstemp(p);
	FILE *f = fdopen(fd, "w");
	int64_t total, avail;

	fputs("MemTotal:        8000000 kB\nMemFree:  100 kB\nMemAvailable:    2000000 kB\n", f);
	fclose(f);
	assert_int_equal(meminfo_read(p, &total, &avail), 0);
	assert_int_equal(total, 8000000ll << 10);
	assert_int_equal(avail, 2000000ll << 10);
	f = fopen(p, "w");
	fputs("garbage\n", f);
	fclose(f);
	assert_int_equal(meminfo_read(p, &total, &avail), -ENOENT);
	assert_int_equal(total, -1);
	unlink(p);
	assert_true(meminfo_read("/nonexistent", &total, &avail) < 0);
}

/* /proc/PID is the victim only if it started when the victim did. */
static void proc_identity_by_start_time(void **state)
{
	char root[] = "/tmp/fl-proc.XXXXXX", dir[64], file[96];
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t tick_ns = 1000000000ull / (uint64_t)hz;
	FILE *f;

	assert_non_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/123", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(file, sizeof(file), "%s/stat", dir);
	f = fopen(file, "w");
	/* A comm with spaces and a ')' of its own; starttime (field 22) 500. */
	fputs("123 (a) b c) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 500 1000 50 184467\n", f);
	fclose(f);
	assert_true(procfs_is_process(root, 123, 500 * tick_ns));
	assert_true(procfs_is_process(root, 123, 500 * tick_ns + tick_ns / 2));
	assert_false(procfs_is_process(root, 123, 700 * tick_ns));
	assert_false(procfs_is_process(root, 124, 500 * tick_ns));
	unlink(file);
	rmdir(dir);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blamed_when_at_limit_and_count_moved),
		cmocka_unit_test(the_first_level_up_at_its_limit),
		cmocka_unit_test(blame_memory_is_bounded),
		cmocka_unit_test(memcg_record),
		cmocka_unit_test(system_record_and_missing_fields),
		cmocka_unit_test(classic_tracepoint_fills_from_the_table),
		cmocka_unit_test(exit_seen_first_settles_at_once),
		cmocka_unit_test(fields_for_journal_and_hooks),
		cmocka_unit_test(hook_environment),
		cmocka_unit_test(meminfo_prepared),
		cmocka_unit_test(proc_identity_by_start_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
