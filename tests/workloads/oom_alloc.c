/*
 * oom_alloc: grows until a memory cgroup limit kills it.
 *
 * Memory is mapped and touched step by step, with a progress line after
 * each step, so a test knows the pid early and how far it got before the
 * OOM killer struck. Reaching the target is the unexpected outcome: it
 * prints READY and holds like the other workloads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <sys/mman.h>

#include "wl_common.h"

static void usage(void)
{
	printf("Usage: %s --mb M [--step-mb S] [--delay-ms D] [--hold SECONDS]\n"
	       "\n"
	       "Maps and touches anonymous memory S MiB at a time up to M MiB, printing\n"
	       "  ALLOC <pid> mb=<total so far>\n"
	       "after each step and sleeping D ms between steps. Meant to run inside a\n"
	       "memory cgroup and be OOM-killed; if it does reach M MiB it prints\n"
	       "  READY <pid> mb=M\n"
	       "and holds until stdin reaches EOF, SIGTERM/SIGINT, or --hold elapses.\n"
	       "\n"
	       "  --mb M          total MiB to allocate (required, >= 1)\n"
	       "  --step-mb S     MiB per step (default 1; the last step may be smaller)\n"
	       "  --delay-ms D    pause between steps (default 0)\n"
	       "  --hold SECONDS  hold at most this long; 0 exits right after READY\n"
	       "  --help          this text\n",
	       wl_prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mb", required_argument, NULL, 'm' },
		{ "step-mb", required_argument, NULL, 's' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "hold", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t mb = 0, step_mb = 1, delay_ms = 0, done_mb = 0;
	double hold = -1;
	size_t ps;
	int c;

	wl_init(argv[0], 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mb = wl_opt_u64("mb", optarg, 1, 1ull << 30); break;
		case 's': step_mb = wl_opt_u64("step-mb", optarg, 1, 1ull << 30); break;
		case 'd': delay_ms = wl_opt_u64("delay-ms", optarg, 0, 86400000); break;
		case 'H': hold = wl_opt_seconds("hold", optarg); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!mb)
		wl_usage_error("--mb is required");

	ps = (size_t)wl_page_size();
	while (done_mb < mb) {
		uint64_t this_mb = mb - done_mb < step_mb ? mb - done_mb : step_mb;
		size_t len = (size_t)(this_mb << 20);
		char *p;

		if (done_mb && delay_ms)
			wl_sleep_ns(delay_ms * 1000000ull);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			wl_die("mmap %zu bytes after %llu MiB", len, (unsigned long long)done_mb);
		/*
		 * Non-zero writes to every page: the memory must really be
		 * charged to the cgroup, not left to the shared zero page.
		 */
		for (size_t off = 0; off < len; off += ps)
			((volatile char *)p)[off] = 1;
		done_mb += this_mb;
		printf("ALLOC %ld mb=%llu\n", (long)getpid(), (unsigned long long)done_mb);
		fflush(stdout);
	}
	wl_ready("mb=%llu", (unsigned long long)done_mb);
	wl_hold(hold);
	return 0;
}
