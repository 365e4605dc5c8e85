/*
 * short_lived: a process that is gone before the daemon's next snapshot.
 *
 * Touches N pages, stays alive M milliseconds in all and exits 0 without
 * holding, so the only record the daemon can have of it is the one it takes
 * at exit. DONE carries the final fault counts to compare that record with.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <sys/mman.h>

#include "wl_common.h"

static void usage(void)
{
	printf("Usage: %s --ms M --pages N\n"
	       "\n"
	       "Touches N anonymous pages (one minor fault each), sleeps until M ms\n"
	       "have passed since it started, prints\n"
	       "  DONE <pid> minflt=.. majflt=.. pages=N ms=M\n"
	       "(getrusage taken just before printing) and exits 0 at once; it does\n"
	       "not hold. The pages stay mapped until exit.\n"
	       "\n"
	       "  --ms M        total lifetime in milliseconds (required)\n"
	       "  --pages N     pages to touch (required, may be 0)\n"
	       "  --help        this text\n",
	       wl_prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ms", required_argument, NULL, 'm' },
		{ "pages", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Taken first so --ms measures (nearly) the whole life of the process. */
	uint64_t start = wl_now_ns();
	uint64_t ms = 0, pages = 0, now, end;
	int have_ms = 0, have_pages = 0, c;
	long ps, minflt, majflt;

	wl_init(argv[0], 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': ms = wl_opt_u64("ms", optarg, 0, 86400000); have_ms = 1; break;
		case 'p': pages = wl_opt_u64("pages", optarg, 0, UINT64_MAX); have_pages = 1; break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!have_ms || !have_pages)
		wl_usage_error("--ms and --pages are both required");

	ps = wl_page_size();
	if (pages > SIZE_MAX / (uint64_t)ps)
		wl_usage_error("--pages %llu is too large", (unsigned long long)pages);
	if (pages) {
		size_t len = (size_t)pages * (size_t)ps;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			wl_die("mmap %zu bytes", len);
		/* One fault per page, as with touch_pages: no huge pages. */
		madvise(p, len, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < len; off += (size_t)ps)
			((volatile char *)p)[off] = 1;
	}

	end = start + ms * 1000000ull;
	now = wl_now_ns();
	if (now < end)
		wl_sleep_ns(end - now);

	/* As late as possible: exit() itself is all that may fault afterwards. */
	wl_rusage(&minflt, &majflt);
	printf("DONE %ld minflt=%ld majflt=%ld pages=%llu ms=%llu\n", (long)getpid(), minflt, majflt,
	       (unsigned long long)pages, (unsigned long long)ms);
	fflush(stdout);
	return 0;
}
