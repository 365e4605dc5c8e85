/* faultline leaks: leak suspects ranked by how soon they run out, then by
 * how fast they grow; --all shows every class. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"

/* "in 12m03s", "now", "-" */
static const char *fmt_exhaustion(json_object *ex, char *buf, size_t len)
{
	char d[32];
	double s;

	if (!ex)
		return "-";
	s = jget_double(ex, "seconds");
	if (s < 1)
		return "now";
	snprintf(buf, len, "in %s", fmt_duration((uint64_t)s, d, sizeof(d)));
	return buf;
}

/* Which limit: "cgroup UNIT" or "system". */
static const char *fmt_limit(json_object *ex, char *buf, size_t len)
{
	const char *cg;

	if (!ex)
		return "-";
	cg = jget_str(ex, "cgroup", NULL);
	if (!cg)
		return "system";
	snprintf(buf, len, "%s %s", jget_str(ex, "limit_kind", "?"), cg);
	return buf;
}

static void print_leaks(json_object *d, bool all)
{
	static const char *const head[] = { ">PID", "COMMAND", "UNIT", ">ANON+SWAP", ">RATE", ">GROWING FOR",
					    ">CONFIDENCE", "EXHAUSTION", "LIMIT", "CLASS" };
	json_object *list = jget(d, "processes"), *classes = jget(d, "classes");
	struct table t;

	table_init(&t, all ? 10 : 9, head);
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *p = json_object_array_get_idx(list, i), *lk = jget(p, "leak"), *ex = jget(lk, "exhaustion");
		char pid[16], own[16], rate[24], dur[24], conf[16], exh[40], lim[300];
		const char *row[] = {
			pid,
			jget_str(p, "comm", "?"),
			jget_str(p, "unit", "-"),
			fmt_bytes(jget_u64(lk, "owned"), own, sizeof(own)),
			fmt_byte_rate(jget_double(lk, "slope"), rate, sizeof(rate)),
			fmt_duration(jget_u64(lk, "growing_for_s"), dur, sizeof(dur)),
			conf,
			fmt_exhaustion(ex, exh, sizeof(exh)),
			fmt_limit(ex, lim, sizeof(lim)),
			jget_str(lk, "class", "?"),
		};

		snprintf(pid, sizeof(pid), "%llu", (unsigned long long)jget_u64(p, "pid"));
		snprintf(conf, sizeof(conf), "%.0f%%", jget_double(lk, "confidence") * 100);
		table_add(&t, row);
	}
	if (t.rows)
		table_print(&t, stdout);
	else
		printf("no leak suspects among %llu processes (%llu growing, too early to tell)\n",
		       (unsigned long long)(jget_u64(classes, "leak-suspect") + jget_u64(classes, "growing") +
					    jget_u64(classes, "steady") + jget_u64(classes, "plateau") +
					    jget_u64(classes, "sawtooth") + jget_u64(classes, "reserved-only") +
					    jget_u64(classes, "new")),
		       (unsigned long long)jget_u64(classes, "growing"));
	table_free(&t);
}

int verb_leaks(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	json_object *reply, *d, *args, *pids = NULL;
	bool all = false;
	long n = 50;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "an:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'p':
			/* PID[,PID...], and -p may repeat */
			for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				long pid = strtol(tok, &end, 10);

				if (*end || pid < 1 || pid > 4194304) {
					json_object_put(pids);
					return cli_usage_error(cli, "-p wants pids, got '%s'", tok);
				}
				if (!pids)
					pids = json_object_new_array();
				json_object_array_add(pids, json_object_new_int64(pid));
			}
			break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 1000000)
				return cli_usage_error(cli, "-n wants a positive number, got '%s'", optarg);
			break;
		case 'h':
			printf("Usage: faultline leaks [--all] [-n N] [-p PID[,PID...]]\n"
			       "Leak suspects, soonest to run out of memory first; --all shows every class;\n"
			       "-p only these processes.\n");
			json_object_put(pids);
			return EXIT_OK;
		default:
			json_object_put(pids);
			return cli_usage_error(cli, "bad option for leaks");
		}
	}
	if (optind < argc) {
		json_object_put(pids);
		return cli_usage_error(cli, "leaks: unexpected argument '%s'", argv[optind]);
	}
	args = json_object_new_object();
	if (pids)
		json_object_object_add(args, "pids", pids);
	json_object_object_add(args, "all", json_object_new_boolean(all));
	json_object_object_add(args, "n", json_object_new_int64(n));
	if ((r = cli_call(cli, "leaks", args, &reply, &d)))
		return r;
	if (cli->json)
		cli_print_json(d);
	else
		print_leaks(d, all);
	json_object_put(reply);
	return EXIT_OK;
}
