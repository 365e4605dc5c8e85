/* faultline: ask faultlined what is happening to memory on this machine. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_SOCKET "/run/faultline/faultline.sock"

static const struct verb verbs[] = {
	{ "status", verb_status, "", "the daemon: version, uptime, probes, processes tracked, events, drops" },
	{ "top", verb_top, "[--by unit] [-n N] [--sort KEY] [-w S]",
	  "processes (or units: --by unit) by RSS (or minflt-rate, majflt-rate, growth, vm)" },
	{ "leaks", verb_leaks, "[--all] [-n N] [-p PID,...]", "leak suspects, soonest to run out first (--all: every class)" },
	{ "show", verb_show, "PID", "everything known about one process, with its history" },
	{ "exited", verb_exited, "[-n N]", "recently exited processes with their final counters" },
	{ "events", verb_events, "[-n N]", "recent events: OOM kills, big mappings, alerts" },
	{ "oom", verb_oom, "[-n N] | show ID", "OOM kills, newest first; one whole record with show" },
	{ "watch", verb_watch, "", "stream events as they happen, until interrupted" },
	{ "trace", verb_trace, "PID... [--for T] [--what V] [--svg F]", "which code paths grow memory: stacks of faults, brk, mmap, malloc" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: faultline [--json] [--socket PATH] COMMAND [ARGS]\n\n"
		   "Ask faultlined about page faults, memory growth, leaks and OOM kills.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s %s", verbs[i].name, verbs[i].args);
		fprintf(f, "  %-36s %s\n", left, verbs[i].help);
	}
	fprintf(f, "\nOptions:\n"
		   "  -j, --json          machine-readable output (errors as {\"error\": ...})\n"
		   "  -s, --socket PATH   faultlined's socket (default %s, or $FAULTLINE_SOCKET)\n"
		   "  -V, --version\n"
		   "  -h, --help\n\n"
		   "Exit status:\n"
		   "  0  success\n"
		   "  1  faultlined answered with an error (e.g. unknown pid)\n"
		   "  2  bad command line\n"
		   "  3  faultlined is not running or its socket cannot be reached\n"
		   "  4  permission denied (join the 'faultline' group, or run as root)\n"
		   "  5  unexpected reply from faultlined\n",
		DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct cli cli = { .socket_path = getenv("FAULTLINE_SOCKET") };
	int c;

	if (!cli.socket_path || !*cli.socket_path)
		cli.socket_path = DEFAULT_SOCKET;
	/* '+': stop at the verb, so each verb parses its own options. */
	while ((c = getopt_long(argc, argv, "+js:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': cli.json = true; break;
		case 's': cli.socket_path = optarg; break;
		case 'V': printf("faultline 0.1.0\n"); return EXIT_OK;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	cli.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!strcmp(argv[optind], verbs[i].name)) {
			argc -= optind;
			argv += optind;
			optind = 1; /* restart getopt for the verb's options */
			return verbs[i].run(&cli, argc, argv);
		}
	}
	return cli_usage_error(&cli, "unknown command '%s'", argv[optind]);
}
