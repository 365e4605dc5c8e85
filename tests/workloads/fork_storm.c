/*
 * fork_storm: tens of thousands of short-lived processes, as fast as the
 * machine forks them.
 *
 * Keeps --parallel children in flight; each touches --pages pages and exits
 * with status 0. Then prints
 *   DONE <pid> forked=N exited_ok=N failed_forks=F
 * and exits. With pid_max at 32768 the pids wrap around during a storm: the
 * daemon must keep every (pid, start time) apart.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "wl_common.h"

static void usage(void)
{
	printf("Usage: %s --children N [--parallel P] [--pages K]\n"
	       "\n"
	       "Forks N children, P at a time (default 16); each touches K pages\n"
	       "(default 4) and exits 0. Prints\n"
	       "  DONE <pid> forked=N exited_ok=N failed_forks=F\n"
	       "\n"
	       "  --children N   children in all (1 to 1000000)\n"
	       "  --parallel P   in flight at once (1 to 4096)\n"
	       "  --pages K      pages each child touches (0 to 100000)\n"
	       "  --help         this text\n",
	       wl_prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "children", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "pages", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 0, par = 16, pages = 4, forked = 0, ok = 0, failed = 0, inflight = 0;
	long ps;
	int c;

	wl_init(argv[0], 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n = wl_opt_u64("children", optarg, 1, 1000000); break;
		case 'p': par = wl_opt_u64("parallel", optarg, 1, 4096); break;
		case 'k': pages = wl_opt_u64("pages", optarg, 0, 100000); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!n)
		wl_usage_error("--children is required");
	ps = wl_page_size();
	fflush(stdout);
	while (forked < n || inflight) {
		int st;

		while (forked < n && inflight < par) {
			pid_t pid = fork();

			if (pid < 0) {
				failed++;
				break;
			}
			if (pid == 0) {
				if (pages) {
					char *m = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
						       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
					if (m == MAP_FAILED)
						_exit(3);
					for (uint64_t i = 0; i < pages; i++)
						m[i * ps] = 1;
				}
				_exit(0);
			}
			forked++;
			inflight++;
		}
		if (!inflight)
			break; /* fork keeps failing: report what we have */
		if (wait(&st) > 0) {
			inflight--;
			ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
		}
	}
	printf("DONE %d forked=%llu exited_ok=%llu failed_forks=%llu\n", (int)getpid(), (unsigned long long)forked,
	       (unsigned long long)ok, (unsigned long long)failed);
	return forked == n ? 0 : 1;
}
