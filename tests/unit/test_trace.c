/* The pure parts of growth tracing: /proc/PID/maps and stat parsing, view
 * names, and turning raw kernel aggregates into ranked, named stacks. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "daemon.h"
#include "procmaps.h"
#include "procstat.h"
#include "trace_result.h"

static const char maps[] =
	"55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1234 /opt/app/bin/app\n"
	"55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1234 /opt/app/bin/app\n"
	"55d0c1000000-55d0c1100000 rw-p 00000000 00:00 0 [heap]\n"
	"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	"7f0000200000-7f0000300000 r--s 00000000 fe:01 99 /data/file.db\n"
	"7f1000000000-7f1000028000 r--p 00000000 fe:01 555 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1000028000-7f10001bd000 r-xp 00028000 fe:01 555 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n";

static void maps_lines(void **state)
{
	struct procmap m;

	assert_int_equal(procmaps_parse_line(maps, &m), 0);
	assert_int_equal(m.start, 0x55d0c0a00000ull);
	assert_int_equal(m.end, 0x55d0c0a01000ull);
	assert_false(m.exec);
	assert_string_equal(m.path, "/opt/app/bin/app");
	assert_int_equal(procmaps_parse_line("garbage\n", &m), -EINVAL);
	assert_int_equal(procmaps_parse_line("2000-1000 r-xp 0 00:00 0\n", &m), -EINVAL); /* end < start */
	assert_int_equal(procmaps_find(maps, 0x55d0c0a01800ull, &m), 0);
	assert_true(m.exec);
	assert_int_equal(procmaps_find(maps, 0x1000, &m), -ENOENT);
}

static void maps_kinds(void **state)
{
	char libc[256];

	assert_string_equal(procmaps_kind(maps, 0x55d0c1000010ull), "heap");
	assert_string_equal(procmaps_kind(maps, 0x7f0000000010ull), "anon");
	assert_string_equal(procmaps_kind(maps, 0x7f0000200010ull), "file");
	assert_string_equal(procmaps_kind(maps, 0x7ffc00000010ull), "stack");
	assert_null(procmaps_kind(maps, 0x10));
	assert_int_equal(procmaps_libc(maps, libc, sizeof(libc)), 0);
	assert_string_equal(libc, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(procmaps_libc("1000-2000 r-xp 0 00:00 1 /bin/static\n", libc, sizeof(libc)), -ENOENT);
	/* An old-style name counts too; libcrypto does not. */
	assert_int_equal(procmaps_libc("1000-2000 r-xp 0 00:00 1 /lib/libcrypto.so.3\n"
				       "3000-4000 r-xp 0 00:00 1 /lib/libc-2.31.so\n", libc, sizeof(libc)), 0);
	assert_string_equal(libc, "/lib/libc-2.31.so");
}

static void stat_fields(void **state)
{
	struct procstat st;
	/* A comm with spaces and a ')' must not shift the fields. */
	const char *text = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 777 10000 50";

	assert_int_equal(procstat_parse(text, &st), 0);
	assert_string_equal(st.comm, "a (b) c");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.starttime, 777);
	assert_int_equal(procstat_parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5", &st), 0);
	assert_true(st.flags & PROCSTAT_PF_KTHREAD);
	assert_int_equal(procstat_parse("1 (x) S 1 2", &st), -EINVAL); /* truncated */
	assert_int_equal(procstat_parse("no parens", &st), -EINVAL);
}

static void view_names(void **state)
{
	unsigned m;
	char buf[64];

	assert_int_equal(trace_what_parse("faults,malloc", &m), 0);
	assert_int_equal(m, FL_TV_FAULTS | FL_TV_MALLOC);
	trace_what_format(FL_TV_MMAP | FL_TV_BRK, buf, sizeof(buf));
	assert_string_equal(buf, "brk,mmap");
	assert_int_equal(trace_what_parse("faults,swap", &m), -EINVAL);
	assert_int_equal(trace_what_parse("", &m), -EINVAL);
}

/* Names frames after their address: "f<hex>", the module "mod". */
static void fake_namer(void *ctx, int pid, uint64_t addr, bool ret, struct sym_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->addr = addr;
	f->has_module = true;
	f->has_symbol = true;
	snprintf(f->module, sizeof(f->module), "mod");
	snprintf(f->symbol, sizeof(f->symbol), "f%llx", (unsigned long long)addr);
	snprintf(f->label, sizeof(f->label), "f%llx%s", (unsigned long long)addr, ret ? "" : "!");
}

static struct trace_rec rec(uint32_t tgid, unsigned view, unsigned kind, uint64_t count, uint64_t bytes,
			    uint64_t leaf, uint64_t caller)
{
	struct trace_rec r;

	memset(&r, 0, sizeof(r));
	r.key.tgid = tgid;
	r.key.view = view;
	r.key.kind = kind;
	r.key.stack_id = 1;
	r.val.count = count;
	r.val.bytes = bytes;
	r.frames[0] = leaf;
	r.frames[1] = caller;
	r.nframes = 2;
	return r;
}

static json_object *stack_at(json_object *views, const char *view, size_t i)
{
	json_object *v, *stacks;

	assert_true(json_object_object_get_ex(views, view, &v));
	assert_true(json_object_object_get_ex(v, "stacks", &stacks));
	return json_object_array_get_idx(stacks, i);
}

static const char *str(json_object *o, const char *path)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, path, &v));
	return json_object_get_string(v);
}

static void results_ranked_and_named(void **state)
{
	struct trace_rec recs[6];
	struct trace_result_opts o = { .what = FL_TV_FAULTS | FL_TV_MMAP | FL_TV_MALLOC, .sample_every = 10,
				       .top = 2, .page_size = 4096, .namer = fake_namer };
	struct trace_result_proc p = { .pid = 7, .comm = "app", .maps = maps };
	json_object *views, *s, *v;

	recs[0] = rec(7, FL_TV_FAULTS, FL_TK_HEAP, 10, 10, 0x55d0c0a01100, 0x55d0c0a01200);
	recs[1] = rec(7, FL_TV_FAULTS, FL_TK_OTHER, 30, 30, 0x55d0c0a01300, 0x55d0c0a01200);
	recs[1].val.last_addr = 0x7f0000200010; /* the shared file mapping */
	recs[2] = rec(7, FL_TV_FAULTS, FL_TK_STACK, 1, 1, 0x55d0c0a01400, 0x55d0c0a01200);
	recs[3] = rec(8, FL_TV_FAULTS, FL_TK_HEAP, 99, 99, 0x1, 0x2); /* another pid */
	/* mmap from a frame-less libc wrapper: the word at sp is the caller. */
	recs[4] = rec(7, FL_TV_MMAP, FL_TK_ANON, 1, 1 << 20, 0x7f1000030000, 0x55d0c0a01200);
	recs[4].key.sp_word = 0x55d0c0a01500;
	recs[5] = rec(7, FL_TV_MALLOC, 0, 3, 300, 0x7f1000031000, 0x55d0c0a01200);
	recs[5].val.outstanding = 200;
	recs[5].val.frees = 1;

	views = trace_result_views(&o, &p, recs, 6);
	assert_true(json_object_object_get_ex(views, "faults", &v));
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "pages")), 41);
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "bytes")), 41 * 4096);
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "stacks_total")), 3);
	/* top 2, heaviest first; the other kind resolved from the maps */
	s = stack_at(views, "faults", 0);
	assert_string_equal(str(s, "kind"), "file");
	assert_int_equal(json_object_get_int64(json_object_object_get(s, "pages")), 30);
	assert_string_equal(str(json_object_array_get_idx(json_object_object_get(s, "frames"), 0), "label"),
			    "f55d0c0a01300!"); /* the innermost frame is not a return address */
	assert_string_equal(str(json_object_array_get_idx(json_object_object_get(s, "frames"), 1), "label"),
			    "f55d0c0a01200");
	assert_string_equal(str(stack_at(views, "faults", 1), "kind"), "heap");
	assert_null(stack_at(views, "faults", 2));
	assert_int_equal(json_object_get_int64(json_object_object_get(
				 json_object_object_get(v, "by_kind"), "stack")), 1);

	s = stack_at(views, "mmap", 0);
	assert_int_equal(json_object_array_length(json_object_object_get(s, "frames")), 3);
	assert_string_equal(str(json_object_array_get_idx(json_object_object_get(s, "frames"), 1), "label"),
			    "f55d0c0a01500");

	/* malloc: sampled 1 in 10, so scaled by 10 */
	s = stack_at(views, "malloc", 0);
	assert_int_equal(json_object_get_int64(json_object_object_get(s, "outstanding")), 2000);
	assert_int_equal(json_object_get_int64(json_object_object_get(s, "bytes")), 3000);
	assert_int_equal(json_object_get_int64(json_object_object_get(s, "count")), 30);
	assert_false(json_object_object_get_ex(views, "brk", NULL)); /* not asked for */
	json_object_put(views);
}

static bool says_yes(void *ctx, int pid, uint64_t addr)
{
	return addr == 0x55d0c0a01500;
}

/* A fault's word at sp is used only when it is known to follow a call. */
static void sp_word_of_faults_needs_a_call(void **state)
{
	struct trace_result_opts o = { .what = FL_TV_FAULTS, .top = 5, .page_size = 4096, .namer = fake_namer };
	struct trace_result_proc p = { .pid = 7, .comm = "app", .maps = maps };
	struct trace_rec r[2];
	json_object *views;

	r[0] = rec(7, FL_TV_FAULTS, FL_TK_HEAP, 2, 2, 0x7f1000030000, 0x55d0c0a01200);
	r[0].key.sp_word = 0x55d0c0a01500;
	r[1] = rec(7, FL_TV_FAULTS, FL_TK_HEAP, 1, 1, 0x7f1000030000, 0x55d0c0a01200);
	r[1].key.sp_word = 0x55d0c0a01600; /* code, but not after a call */
	views = trace_result_views(&o, &p, r, 2); /* no way to tell: left out */
	assert_int_equal(json_object_array_length(json_object_object_get(stack_at(views, "faults", 0), "frames")), 2);
	json_object_put(views);
	o.follows_call = says_yes;
	views = trace_result_views(&o, &p, r, 2);
	assert_int_equal(json_object_array_length(json_object_object_get(stack_at(views, "faults", 0), "frames")), 3);
	assert_int_equal(json_object_array_length(json_object_object_get(stack_at(views, "faults", 1), "frames")), 2);
	json_object_put(views);
}

static void sp_word_only_when_it_is_code(void **state)
{
	struct trace_result_opts o = { .what = FL_TV_MMAP, .top = 5, .page_size = 4096, .namer = fake_namer };
	struct trace_result_proc p = { .pid = 7, .comm = "app", .maps = maps };
	struct trace_rec r[2];
	json_object *views;

	r[0] = rec(7, FL_TV_MMAP, FL_TK_ANON, 1, 8192, 0x7f1000030000, 0x55d0c0a01200);
	r[0].key.sp_word = 0x7ffc00000100; /* a stack address, not code */
	r[1] = rec(7, FL_TV_MMAP, FL_TK_FILE, 1, 4096, 0x7f1000030000, 0x55d0c0a01200);
	r[1].key.sp_word = 0x55d0c0a01200; /* already the next frame */
	views = trace_result_views(&o, &p, r, 2);
	assert_int_equal(json_object_array_length(json_object_object_get(stack_at(views, "mmap", 0), "frames")), 2);
	assert_int_equal(json_object_array_length(json_object_object_get(stack_at(views, "mmap", 1), "frames")), 2);
	json_object_put(views);
}

/* The request's checks, through the real handler, with no probes loaded:
 * bad arguments are named, and nothing is ever loaded into the kernel. */
static const char *trace_error(const char *args)
{
	static char msg[512];
	static struct daemon d;
	struct client c;
	json_object *req, *resp, *e;
	char line[600];

	memset(&c, 0, sizeof(c));
	snprintf(line, sizeof(line), "{\"cmd\":\"trace\",\"args\":%s}", args);
	req = json_tokener_parse(line);
	assert_non_null(req);
	resp = api_handle(&d, &c, req);
	assert_false(json_object_get_boolean(json_object_object_get(resp, "ok")));
	e = json_object_object_get(resp, "error");
	snprintf(msg, sizeof(msg), "%s %s", json_object_get_string(json_object_object_get(e, "code")),
		 json_object_get_string(json_object_object_get(e, "message")));
	json_object_put(resp);
	json_object_put(req);
	assert_false(c.tracing);
	assert_int_equal(d.traces.running, 0);
	return msg;
}

static void trace_request_checks(void **state)
{
	assert_non_null(strstr(trace_error("{}"), "bad_argument 'pids'"));
	assert_non_null(strstr(trace_error("{\"pids\":[]}"), "bad_argument 'pids'"));
	assert_non_null(strstr(trace_error("{\"pids\":[\"1\"]}"), "bad_argument 'pids' must hold"));
	assert_non_null(strstr(trace_error("{\"pids\":[0]}"), "bad_argument"));
	assert_non_null(strstr(trace_error("{\"pids\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}"),
			       "at most 16 pids"));
	assert_non_null(strstr(trace_error("{\"pids\":[1],\"what\":\"swap\"}"), "faults, brk, mmap, malloc"));
	assert_non_null(strstr(trace_error("{\"pids\":[1],\"for_ms\":5}"), "'for_ms' must be between 100"));
	assert_non_null(strstr(trace_error("{\"pids\":[1],\"for_ms\":600001}"), "'for_ms'"));
	assert_non_null(strstr(trace_error("{\"pids\":[1],\"sample_every\":0}"), "'sample_every'"));
	/* Valid, but no probes: refused before anything is loaded. */
	assert_non_null(strstr(trace_error("{\"pids\":[1]}"), "failed faultlined's probes are not loaded"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(maps_lines),
		cmocka_unit_test(maps_kinds),
		cmocka_unit_test(stat_fields),
		cmocka_unit_test(view_names),
		cmocka_unit_test(results_ranked_and_named),
		cmocka_unit_test(sp_word_only_when_it_is_code),
		cmocka_unit_test(sp_word_of_faults_needs_a_call),
		cmocka_unit_test(trace_request_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
