/*
 * touch_pages: a known number of minor faults.
 *
 * Maps N anonymous pages and writes one byte to each, so the touching costs
 * exactly N minor faults; the READY line carries the process's own getrusage
 * figures for comparison with the daemon and /proc/PID/stat.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <sys/mman.h>

#include "wl_common.h"

static void usage(void)
{
	printf("Usage: %s --pages N [--repeat R --interval-ms MS] [--hold SECONDS]\n"
	       "\n"
	       "Maps N anonymous private pages, writes one byte to each (one minor\n"
	       "fault per page), then prints\n"
	       "  READY <pid> pages=N rounds=R touch_minflt=F minflt=M majflt=J\n"
	       "and holds until stdin reaches EOF, SIGTERM/SIGINT, or --hold elapses.\n"
	       "\n"
	       "  --pages N          pages to touch per round (required, >= 1)\n"
	       "  --repeat R         map/touch/unmap R times (default 1); the last\n"
	       "                     round's mapping stays mapped while holding\n"
	       "  --interval-ms MS   pause between rounds (default 0)\n"
	       "  --hold SECONDS     hold at most this long; 0 exits right after READY\n"
	       "  --help             this text\n"
	       "\n"
	       "touch_minflt is the minor faults counted across the touching alone;\n"
	       "minflt/majflt are the process totals from getrusage(RUSAGE_SELF).\n",
	       wl_prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pages", required_argument, NULL, 'p' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t pages = 0, repeat = 1, interval_ms = 0;
	double hold = -1;
	long ps, min0, maj0, min1, maj1, touch_minflt = 0;
	size_t len;
	char *p = NULL;
	int c;

	wl_init(argv[0], 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pages = wl_opt_u64("pages", optarg, 1, UINT64_MAX); break;
		case 'r': repeat = wl_opt_u64("repeat", optarg, 1, 1000000000); break;
		case 'i': interval_ms = wl_opt_u64("interval-ms", optarg, 0, 86400000); break;
		case 'H': hold = wl_opt_seconds("hold", optarg); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!pages)
		wl_usage_error("--pages is required");

	ps = wl_page_size();
	if (pages > SIZE_MAX / (uint64_t)ps)
		wl_usage_error("--pages %llu is too large", (unsigned long long)pages);
	len = (size_t)pages * (size_t)ps;

	for (uint64_t round = 0; round < repeat; round++) {
		if (round && interval_ms)
			wl_sleep_ns(interval_ms * 1000000ull);
		if (p)
			munmap(p, len);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			wl_die("mmap %zu bytes", len);
		/*
		 * A huge page (PMD or multi-size THP) would satisfy many pages
		 * with one fault and break the one-fault-per-page promise.
		 */
		madvise(p, len, MADV_NOHUGEPAGE);
		wl_rusage(&min0, &maj0);
		for (size_t off = 0; off < len; off += (size_t)ps)
			((volatile char *)p)[off] = 1;
		wl_rusage(&min1, &maj1);
		touch_minflt += min1 - min0;
	}

	wl_rusage(&min1, &maj1);
	wl_ready("pages=%llu rounds=%llu touch_minflt=%ld minflt=%ld majflt=%ld", (unsigned long long)pages,
		 (unsigned long long)repeat, touch_minflt, min1, maj1);
	wl_hold(hold);
	return 0;
}
