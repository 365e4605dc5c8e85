/*
 * syscall_storm: mapping syscalls as fast as one thread can issue them, for
 * the overhead benchmark of the daemon's syscall hooks. Nothing is touched,
 * so no page faults blur the figure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "wl_common.h"

#define MAP_LEN (64 * 1024)

static void usage(void)
{
	printf("Usage: %s --calls N\n"
	       "\n"
	       "N times: mmap 64 KiB anonymous (untouched) and munmap it, then grow the\n"
	       "heap by one page with brk and shrink it back: four syscalls per call.\n"
	       "Then prints\n"
	       "  RESULT calls=N ns=<elapsed> syscalls=<4N>\n"
	       "and exits. ns covers the N calls only (CLOCK_MONOTONIC).\n"
	       "\n"
	       "  --calls N     iterations (required, >= 1)\n"
	       "  --help        this text\n",
	       wl_prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t calls = 0, t0, t1;
	unsigned long base, up;
	long ps;
	int c;

	wl_init(argv[0], 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': calls = wl_opt_u64("calls", optarg, 1, 1ull << 40); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!calls)
		wl_usage_error("--calls is required");

	ps = wl_page_size();
	/* Raw brk: glibc's sbrk would add a brk(0) of its own on first use. */
	base = (unsigned long)syscall(SYS_brk, 0);
	up = base + (unsigned long)ps;
	t0 = wl_now_ns();
	for (uint64_t i = 0; i < calls; i++) {
		void *p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			wl_die("mmap");
		if (munmap(p, MAP_LEN))
			wl_die("munmap");
		if ((unsigned long)syscall(SYS_brk, up) != up)
			wl_die("brk grow");
		if ((unsigned long)syscall(SYS_brk, base) != base)
			wl_die("brk shrink");
	}
	t1 = wl_now_ns();
	printf("RESULT calls=%llu ns=%llu syscalls=%llu\n", (unsigned long long)calls, (unsigned long long)(t1 - t0),
	       (unsigned long long)(calls * 4));
	fflush(stdout);
	return 0;
}
