/*
 * many_procs: N live processes at once, for the metrics cardinality test.
 * The children share the parent's pages (fork, copy-on-write) and sleep, so
 * 5,000 of them cost little memory and no CPU.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "wl_common.h"

static void usage(void)
{
	printf("Usage: %s --procs N [--hold SECONDS]\n"
	       "\n"
	       "Forks N children that sleep until killed, then prints\n"
	       "  READY <pid> children=N\n"
	       "and holds until stdin reaches EOF, SIGTERM/SIGINT, or --hold elapses;\n"
	       "then kills and reaps every child. A child also dies with its parent\n"
	       "(PR_SET_PDEATHSIG), so none is left behind.\n"
	       "\n"
	       "  --procs N       children to start (1 to 100000)\n"
	       "  --hold SECONDS  hold at most this long (default: until EOF)\n"
	       "  --help          this text\n",
	       wl_prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "procs", required_argument, NULL, 'p' },
		{ "hold", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 0, started = 0;
	double hold = -1;
	pid_t parent = getpid(), *kids;
	int c;

	wl_init(argv[0], 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': n = wl_opt_u64("procs", optarg, 1, 100000); break;
		case 'H': hold = wl_opt_seconds("hold", optarg); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!n)
		wl_usage_error("--procs is required");
	kids = calloc(n, sizeof(*kids));
	if (!kids)
		wl_die("calloc");
	fflush(stdout);
	for (; started < n; started++) {
		pid_t pid = fork();

		if (pid < 0)
			break;
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		kids[started] = pid;
	}
	if (started < n) {
		fprintf(stderr, "%s: fork failed after %llu children: %s\n", wl_prog, (unsigned long long)started,
			strerror(errno));
		for (uint64_t i = 0; i < started; i++)
			kill(kids[i], SIGKILL);
		while (wait(NULL) > 0)
			;
		return 1;
	}
	wl_ready("children=%llu", (unsigned long long)started);
	wl_hold(hold);
	for (uint64_t i = 0; i < started; i++)
		kill(kids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}
