#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "render.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

static void print_top(json_object *d)
{
	static const char *const head[] = { ">PID", "COMMAND", ">RSS", ">ANON", ">FILE", ">SHMEM", ">SWAP",
					    ">MINFLT/s", ">MAJFLT/s", ">GROWTH", "UNIT" };
	json_object *list = jget(d, "processes");
	struct table t;

	table_init(&t, 11, head);
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *p = json_object_array_get_idx(list, i);
		char pid[16], rss[16], anon[16], file[16], shm[16], swp[16], mn[16], mj[16], gr[24];
		const char *row[] = {
			pid, jget_str(p, "comm", "?"), fmt_bytes(jget_u64(p, "rss"), rss, 16),
			fmt_bytes(jget_u64(p, "rss_anon"), anon, 16), fmt_bytes(jget_u64(p, "rss_file"), file, 16),
			fmt_bytes(jget_u64(p, "rss_shmem"), shm, 16), fmt_bytes(jget_u64(p, "swap"), swp, 16),
			fmt_count(jget_double(p, "minflt_rate"), mn, 16), fmt_count(jget_double(p, "majflt_rate"), mj, 16),
			fmt_byte_rate(jget_double(p, "rss_rate"), gr, sizeof(gr)), jget_str(p, "unit", "-"),
		};

		snprintf(pid, sizeof(pid), "%llu", (unsigned long long)jget_u64(p, "pid"));
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
}

static void print_units(json_object *d)
{
	static const char *const head[] = { "UNIT", "SLICE", ">PROCS", ">RSS", ">ANON", ">FILE", ">SHMEM", ">SWAP",
					    ">MINFLT/s", ">MAJFLT/s", ">GROWTH", ">OOM" };
	json_object *list = jget(d, "units");
	struct table t;

	table_init(&t, 12, head);
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *u = json_object_array_get_idx(list, i), *oom = jget(u, "oom_kills");
		char procs[16], rss[16], anon[16], file[16], shm[16], swp[16], mn[16], mj[16], gr[24], ooms[16];
		const char *slice = jget_str(u, "slice", "");
		uint64_t kills = 0;
		const char *row[] = {
			jget_str(u, "unit", "?"), *slice ? slice : "-", procs, fmt_bytes(jget_u64(u, "rss"), rss, 16),
			fmt_bytes(jget_u64(u, "rss_anon"), anon, 16), fmt_bytes(jget_u64(u, "rss_file"), file, 16),
			fmt_bytes(jget_u64(u, "rss_shmem"), shm, 16), fmt_bytes(jget_u64(u, "swap"), swp, 16),
			fmt_count(jget_double(u, "minflt_rate"), mn, 16), fmt_count(jget_double(u, "majflt_rate"), mj, 16),
			fmt_byte_rate(jget_double(u, "rss_rate"), gr, sizeof(gr)), ooms,
		};

		if (oom) {
			json_object_object_foreach(oom, k, v) {
				(void)k;
				kills += json_object_get_uint64(v);
			}
		}
		snprintf(procs, sizeof(procs), "%llu", (unsigned long long)jget_u64(u, "processes"));
		snprintf(ooms, sizeof(ooms), "%llu", (unsigned long long)kills);
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
}

int verb_top(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sort", required_argument, NULL, 'S' },
		{ "by", required_argument, NULL, 'b' },
		{ "watch", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *sort = "rss";
	bool by_unit = false;
	long n = 20, watch_ms = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "n:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			if (n < 1)
				return cli_usage_error(cli, "-n wants a positive number");
			break;
		case 'S': sort = optarg; break;
		case 'b':
			if (strcmp(optarg, "unit") && strcmp(optarg, "process"))
				return cli_usage_error(cli, "--by wants 'unit' or 'process'");
			by_unit = !strcmp(optarg, "unit");
			break;
		case 'w':
			watch_ms = cli_parse_ms(optarg);
			if (watch_ms < 100)
				return cli_usage_error(cli, "--watch wants a period of at least 0.1 s, e.g. 2 or 500ms");
			break;
		case 'h':
			printf("Usage: faultline top [--by process|unit] [-n N] [--sort rss|minflt-rate|majflt-rate|growth|vm]"
			       " [-w SECONDS]\n"
			       "--by unit sums processes per memory cgroup (service, scope, slice, container);\n"
			       "'vm' sorts processes only.\n");
			return EXIT_OK;
		default:
			return cli_usage_error(cli, "bad option for top");
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "top: unexpected argument '%s'", argv[optind]);
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	do {
		json_object *reply, *d, *args = json_object_new_object();

		json_object_object_add(args, "sort", json_object_new_string(sort));
		json_object_object_add(args, "n", json_object_new_int64(n));
		if ((r = cli_call(cli, by_unit ? "units" : "top", args, &reply, &d)))
			return r;
		if (cli->json) {
			cli_print_json(d);
		} else {
			if (watch_ms && isatty(STDOUT_FILENO))
				printf("\033[H\033[2J");
			if (watch_ms) {
				time_t now = time(NULL);
				char ts[32];

				strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&now));
				if (by_unit)
					printf("%s  %llu units, sorted by %s\n", ts,
					       (unsigned long long)jget_u64(d, "total"), sort);
				else
					printf("%s  %llu processes, sorted by %s\n", ts,
					       (unsigned long long)jget_u64(d, "live"), sort);
			}
			if (by_unit)
				print_units(d);
			else
				print_top(d);
		}
		fflush(stdout);
		json_object_put(reply);
		if (watch_ms) {
			struct timespec ts = { watch_ms / 1000, (watch_ms % 1000) * 1000000 };

			while (!interrupted && nanosleep(&ts, &ts))
				;
		}
	} while (watch_ms && !interrupted);
	return EXIT_OK;
}
