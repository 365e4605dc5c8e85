/*
 * fault_storm: as many minor faults per second as one thread can take, for
 * the overhead benchmark. The figure that matters is ns, compared between
 * runs with and without the daemon in the same benchmark session.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <sys/mman.h>

#include "wl_common.h"

static void usage(void)
{
	printf("Usage: %s --mb M --rounds R\n"
	       "\n"
	       "R times: maps M MiB anonymous, writes one byte per page, unmaps.\n"
	       "Then prints\n"
	       "  RESULT faults=<ru_minflt> ns=<elapsed> pages=<pages per round> rounds=R\n"
	       "and exits. ns covers the R rounds only (CLOCK_MONOTONIC); faults is\n"
	       "the process total from getrusage.\n"
	       "\n"
	       "  --mb M        MiB per round (required, >= 1)\n"
	       "  --rounds R    rounds (required, >= 1)\n"
	       "  --help        this text\n",
	       wl_prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mb", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t mb = 0, rounds = 0, t0, t1, c0, c1;
	long minflt, majflt;
	size_t ps, len;
	int c;

	wl_init(argv[0], 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mb = wl_opt_u64("mb", optarg, 1, 1ull << 20); break;
		case 'r': rounds = wl_opt_u64("rounds", optarg, 1, 1ull << 30); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!mb || !rounds)
		wl_usage_error("--mb and --rounds are both required");

	ps = (size_t)wl_page_size();
	len = (size_t)(mb << 20);
	t0 = wl_now_ns();
	c0 = wl_cpu_ns();
	for (uint64_t r = 0; r < rounds; r++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			wl_die("mmap %zu bytes", len);
		/*
		 * Huge pages would turn 512 faults into one and measure page
		 * zeroing instead of the per-fault path the daemon hooks.
		 */
		madvise(p, len, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < len; off += ps)
			((volatile char *)p)[off] = 1;
		munmap(p, len);
	}
	t1 = wl_now_ns();
	c1 = wl_cpu_ns();
	wl_rusage(&minflt, &majflt);
	/* cpu_ns: this process's CPU time, which waiting for a busy CPU does
	 * not inflate (the BPF programs run in its context, so they are in it). */
	printf("RESULT faults=%ld ns=%llu pages=%zu rounds=%llu cpu_ns=%llu\n", minflt, (unsigned long long)(t1 - t0),
	       len / ps, (unsigned long long)rounds, (unsigned long long)(c1 - c0));
	fflush(stdout);
	return 0;
}
