/* Hooks run by a small epoll loop of the test's own: exit status and output,
 * the record on stdin and in the environment, the time limit killing the
 * whole process group, and hooks_run() never waiting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"

static uint64_t ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* Runs the loop until nothing runs (or 10 s pass). */
static void loop(struct hooks *h)
{
	uint64_t end = ms() + 10000;

	while (h->nrunning && ms() < end) {
		struct epoll_event ev[8];
		int n = epoll_wait(h->epfd, ev, 8, 100);

		for (int i = 0; i < n; i++)
			hooks_on_event(h, ev[i].data.ptr);
		hooks_reap(h);
	}
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static void status_output_environment_stdin(void **state)
{
	struct hooks h;
	char dir[] = "/tmp/fl-hooks.XXXXXX", cmd[512], path[256];
	json_object *rec = json_tokener_parse("{\"id\":9,\"victim\":{\"pid\":4242,\"comm\":\"java\"}}");
	uint64_t t0;
	char *s;

	assert_non_null(mkdtemp(dir));
	hooks_init(&h, epoll_create1(EPOLL_CLOEXEC), 5000);
	snprintf(cmd, sizeof(cmd), "cat >%s/stdin; echo \"$FAULTLINE_VICTIM_COMM $FAULTLINE_VICTIM_PID\" >%s/env", dir, dir);
	snprintf(h.cmds[0], sizeof(h.cmds[0]), "%s", cmd);
	snprintf(h.cmds[1], sizeof(h.cmds[1]), "echo out; echo err >&2; exit 3");
	snprintf(h.cmds[2], sizeof(h.cmds[2]), "kill -TERM $$");
	h.ncmds = 3;
	t0 = ms();
	hooks_run(&h, rec);
	assert_int_equal(h.stats.started, 3);
	assert_int_equal(h.nrunning, 3);
	loop(&h);
	assert_int_equal(h.nrunning, 0);
	assert_int_equal(h.stats.succeeded, 1);
	assert_int_equal(h.stats.failed, 2); /* status 3, and killed by SIGTERM */
	assert_int_equal(h.stats.timed_out, 0);
	assert_true(ms() - t0 < 5000);
	snprintf(path, sizeof(path), "%s/stdin", dir);
	s = slurp(path);
	assert_non_null(s);
	assert_string_equal(s, "{\"id\":9,\"victim\":{\"pid\":4242,\"comm\":\"java\"}}\n");
	unlink(path);
	snprintf(path, sizeof(path), "%s/env", dir);
	s = slurp(path);
	assert_non_null(s);
	assert_string_equal(s, "java 4242\n");
	unlink(path);
	rmdir(dir);
	close(h.epfd);
	json_object_put(rec);
}

static void time_limit_kills_the_group(void **state)
{
	struct hooks h;
	char dir[] = "/tmp/fl-hooks.XXXXXX", path[256];
	json_object *rec = json_tokener_parse("{\"id\":1}");
	uint64_t t0;
	int child;
	char *s;

	assert_non_null(mkdtemp(dir));
	hooks_init(&h, epoll_create1(EPOLL_CLOEXEC), 300);
	/* The hook starts a grandchild of its own and waits. */
	snprintf(h.cmds[0], sizeof(h.cmds[0]), "sleep 100 & echo $! >%s/child; wait", dir);
	h.ncmds = 1;
	t0 = ms();
	hooks_run(&h, rec);
	/* hooks_run() returned at once: the hook runs on. */
	assert_true(ms() - t0 < 1000);
	assert_int_equal(h.nrunning, 1);
	loop(&h);
	assert_int_equal(h.stats.timed_out, 1);
	assert_true(ms() - t0 >= 300);
	snprintf(path, sizeof(path), "%s/child", dir);
	s = slurp(path);
	assert_non_null(s);
	child = atoi(s);
	assert_true(child > 0);
	/* The grandchild went with the group (a zombie until init reaps it). */
	for (int i = 0; i < 50; i++) {
		char st[64];
		FILE *f;

		snprintf(st, sizeof(st), "/proc/%d/stat", child);
		f = fopen(st, "r");
		if (!f)
			break;
		char buf[256] = "";
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		if (strstr(buf, ") Z "))
			break;
		usleep(100000);
		assert_true(i < 49);
	}
	unlink(path);
	rmdir(dir);
	close(h.epfd);
	json_object_put(rec);
}

static void output_is_bounded(void **state)
{
	struct hooks h;
	json_object *rec = json_tokener_parse("{\"id\":1}");

	hooks_init(&h, epoll_create1(EPOLL_CLOEXEC), 5000);
	snprintf(h.cmds[0], sizeof(h.cmds[0]), "head -c 100000 /dev/zero | tr '\\\\0' x");
	h.ncmds = 1;
	hooks_run(&h, rec);
	loop(&h);
	assert_int_equal(h.stats.succeeded, 1);
	assert_int_equal(h.stats.output_truncated, 1);
	close(h.epfd);
	json_object_put(rec);
}

static void close_kills_what_runs(void **state)
{
	struct hooks h;
	json_object *rec = json_tokener_parse("{\"id\":1}");

	hooks_init(&h, epoll_create1(EPOLL_CLOEXEC), 60000);
	snprintf(h.cmds[0], sizeof(h.cmds[0]), "sleep 100");
	h.ncmds = 1;
	hooks_run(&h, rec);
	assert_int_equal(h.nrunning, 1);
	hooks_close(&h);
	assert_int_equal(h.nrunning, 0);
	close(h.epfd);
	json_object_put(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_output_environment_stdin),
		cmocka_unit_test(time_limit_kills_the_group),
		cmocka_unit_test(output_is_bounded),
		cmocka_unit_test(close_kills_what_runs),
	};
	/* As in the daemon: a hook must not inherit an ignored SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
