/* oom: the OOM kills faultlined recorded, newest first; `oom show ID` tells
 * one whole story. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "render.h"

static char *fmt_time_ms(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);

	strftime(buf, len, "%Y-%m-%d %H:%M:%S", localtime(&t));
	return buf;
}

/* "exited (SIGKILL)", "pending", "not seen" */
static char *fmt_outcome(json_object *o, char *buf, size_t len)
{
	const char *st = jget_str(o, "state", "?");

	if (!strcmp(st, "exited"))
		snprintf(buf, len, "%s", jget_i64(o, "signal") == 9 ? "killed" : "exited");
	else if (!strcmp(st, "not_seen"))
		snprintf(buf, len, "exit not seen");
	else
		snprintf(buf, len, "%s", st);
	return buf;
}

/* "memcg /a/b (limit 32 MiB)" or "system (MemTotal 8 GiB)" */
static char *fmt_constraint(json_object *k, char *buf, size_t len)
{
	char b[32];

	if (!strcmp(jget_str(k, "kind", "?"), "memcg"))
		snprintf(buf, len, "%s limit %s", jget_str(k, "cgroup", "?"), fmt_bytes(jget_u64(k, "limit"), b, sizeof(b)));
	else
		snprintf(buf, len, "system-wide");
	return buf;
}

static int list(struct cli *cli, long n)
{
	static const char *const head[] = { ">ID", "TIME", ">PID", "VICTIM", ">ANON", ">PEAK", "CONSTRAINT",
					    "TRIGGER", "OUTCOME" };
	json_object *reply, *d, *args, *kills;
	struct table t;
	int r;

	args = json_object_new_object();
	json_object_object_add(args, "n", json_object_new_int64(n));
	if ((r = cli_call(cli, "oom", args, &reply, &d)))
		return r;
	if (cli->json) {
		cli_print_json(d);
		json_object_put(reply);
		return EXIT_OK;
	}
	kills = jget(d, "kills");
	if (!kills || !json_object_array_length(kills)) {
		printf("no OOM kills recorded (%s)\n", jget_str(d, "path", "?"));
		json_object_put(reply);
		return EXIT_OK;
	}
	table_init(&t, 9, head);
	for (size_t i = 0; i < json_object_array_length(kills); i++) {
		json_object *k = json_object_array_get_idx(kills, i), *v = jget(k, "victim"), *tr = jget(k, "trigger");
		char id[24], when[32], pid[24], anon[32], peak[32], cons[300], trig[64], out[32];
		const char *row[] = { id, when, pid, jget_str(v, "comm", "?"), anon, peak, cons, trig, out };

		snprintf(id, sizeof(id), "%llu", (unsigned long long)jget_u64(k, "id"));
		fmt_time_ms(jget_u64(k, "time_ms"), when, sizeof(when));
		snprintf(pid, sizeof(pid), "%llu", (unsigned long long)jget_u64(v, "pid"));
		fmt_bytes(jget_u64(v, "rss_anon"), anon, sizeof(anon));
		if (jget(v, "peak_rss"))
			fmt_bytes(jget_u64(v, "peak_rss"), peak, sizeof(peak));
		else
			snprintf(peak, sizeof(peak), "-");
		fmt_constraint(jget(k, "constraint"), cons, sizeof(cons));
		if (jget(tr, "is_victim") && json_object_get_boolean(jget(tr, "is_victim")))
			snprintf(trig, sizeof(trig), "itself");
		else
			snprintf(trig, sizeof(trig), "%s (%llu)", jget_str(tr, "comm", "?"),
				 (unsigned long long)jget_u64(tr, "pid"));
		fmt_outcome(jget(k, "outcome"), out, sizeof(out));
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
	json_object_put(reply);
	return EXIT_OK;
}

static void print_history(json_object *h)
{
	json_object *t = jget(h, "t"), *rss = jget(h, "rss"), *anon = jget(h, "anon");
	size_t n = t ? json_object_array_length(t) : 0;
	double *r, *a;
	char spark[512], x[32], y[32], dur[32];

	if (!h) {
		printf("history        none (faultlined never saw the victim in a snapshot)\n");
		return;
	}
	r = calloc(n ? n : 1, sizeof(double));
	a = calloc(n ? n : 1, sizeof(double));
	if (!r || !a)
		goto out;
	for (size_t i = 0; i < n; i++) {
		r[i] = (double)json_object_get_uint64(json_object_array_get_idx(rss, i));
		a[i] = (double)json_object_get_uint64(json_object_array_get_idx(anon, i));
	}
	if (n == 0)
		goto out;
	fmt_duration(json_object_get_uint64(json_object_array_get_idx(t, n - 1)) -
			     json_object_get_uint64(json_object_array_get_idx(t, 0)),
		     dur, sizeof(dur));
	printf("history (%zu samples over %s before the kill)\n", n, dur);
	printf("  rss          %s  %s → %s\n", fmt_sparkline(r, n, 60, spark, sizeof(spark)),
	       fmt_bytes((uint64_t)r[0], x, sizeof(x)), fmt_bytes((uint64_t)r[n - 1], y, sizeof(y)));
	printf("  anon         %s  %s → %s\n", fmt_sparkline(a, n, 60, spark, sizeof(spark)),
	       fmt_bytes((uint64_t)a[0], x, sizeof(x)), fmt_bytes((uint64_t)a[n - 1], y, sizeof(y)));
out:
	free(r);
	free(a);
}

static void line_bytes(const char *label, json_object *o, const char *key)
{
	char b[32];
	json_object *v = jget(o, key);

	if (v)
		printf("  %-12s %s\n", label, fmt_bytes(json_object_get_uint64(v), b, sizeof(b)));
	else
		printf("  %-12s unknown\n", label);
}

static void print_record(json_object *d)
{
	json_object *v = jget(d, "victim"), *tr = jget(d, "trigger"), *k = jget(d, "constraint");
	json_object *top = jget(d, "top"), *o = jget(d, "outcome"), *why = jget(d, "unavailable"), *leak = jget(d, "leak");
	char when[32], a[32], b[32];

	printf("OOM kill %llu at %s (%s)\n", (unsigned long long)jget_u64(d, "id"),
	       fmt_time_ms(jget_u64(d, "time_ms"), when, sizeof(when)), jget_str(d, "probe", "?"));
	printf("victim         %s (pid %llu, ppid %llu, uid %llu, %llu threads)\n", jget_str(v, "comm", "?"),
	       (unsigned long long)jget_u64(v, "pid"), (unsigned long long)jget_u64(v, "ppid"),
	       (unsigned long long)jget_u64(v, "uid"), (unsigned long long)jget_u64(v, "threads"));
	printf("  cmdline      %s\n", jget_str(v, "cmdline", "unknown"));
	printf("  cgroup       %s\n", jget_str(v, "cgroup", "unknown"));
	line_bytes("anon", v, "rss_anon");
	line_bytes("file", v, "rss_file");
	line_bytes("shmem", v, "rss_shmem");
	line_bytes("swap", v, "swap");
	line_bytes("page tables", v, "pgtables");
	line_bytes("peak rss", v, "peak_rss");
	printf("  %-12s %lld\n", "oom_score_adj", (long long)jget_i64(v, "oom_score_adj"));
	if (jget(tr, "is_victim") && json_object_get_boolean(jget(tr, "is_victim")))
		printf("trigger        the victim itself was allocating\n");
	else
		printf("trigger        %s (pid %llu) in %s\n", jget_str(tr, "comm", "?"),
		       (unsigned long long)jget_u64(tr, "pid"), jget_str(tr, "cgroup", "unknown"));
	if (!strcmp(jget_str(k, "kind", "?"), "memcg"))
		printf("constraint     memory cgroup %s: limit %s, usage %s\n", jget_str(k, "cgroup", "unknown"),
		       fmt_bytes(jget_u64(k, "limit"), a, sizeof(a)), fmt_bytes(jget_u64(k, "usage"), b, sizeof(b)));
	else
		printf("constraint     system-wide: MemTotal %s, MemAvailable %s (%s)\n",
		       fmt_bytes(jget_u64(k, "mem_total"), a, sizeof(a)),
		       fmt_bytes(jget_u64(k, "mem_available"), b, sizeof(b)), jget_str(k, "mem_available_read", ""));
	printf("outcome        %s", fmt_outcome(o, a, sizeof(a)));
	if (jget(o, "time_ms") && jget_u64(o, "time_ms") >= jget_u64(d, "time_ms"))
		printf(", %llu ms after the kill", (unsigned long long)(jget_u64(o, "time_ms") - jget_u64(d, "time_ms")));
	printf("\n");
	if (leak) {
		json_object *v = jget(leak, "verdict");

		printf("leak suspect   %s: %s, confidence %.0f%% (%s)\n",
		       json_object_get_boolean(jget(leak, "suspect")) ? "yes" : "no", jget_str(leak, "class", "?"),
		       jget_double(v, "confidence") * 100, jget_str(v, "reason", ""));
	}
	if (top && json_object_array_length(top)) {
		static const char *const head[] = { ">PID", "COMMAND", ">RSS", ">ANON", ">SWAP", "CGROUP" };
		struct table t;

		printf("largest in scope at the last snapshot\n");
		table_init(&t, 6, head);
		for (size_t i = 0; i < json_object_array_length(top); i++) {
			json_object *p = json_object_array_get_idx(top, i);
			char pid[24], rss[32], an[32], sw[32];
			const char *row[] = { pid, jget_str(p, "comm", "?"), rss, an, sw, jget_str(p, "cgroup", "?") };

			snprintf(pid, sizeof(pid), "%llu", (unsigned long long)jget_u64(p, "pid"));
			fmt_bytes(jget_u64(p, "rss"), rss, sizeof(rss));
			fmt_bytes(jget_u64(p, "rss_anon"), an, sizeof(an));
			fmt_bytes(jget_u64(p, "swap"), sw, sizeof(sw));
			table_add(&t, row);
		}
		table_print(&t, stdout);
		table_free(&t);
	}
	print_history(jget(d, "history"));
	if (why && json_object_object_length(why)) {
		printf("not known\n");
		json_object_object_foreach(why, key, val)
			printf("  %-12s %s\n", key, json_object_get_string(val));
	}
}

static int show(struct cli *cli, const char *arg)
{
	json_object *reply, *d, *args;
	char *end;
	long long id = strtoll(arg, &end, 10);
	int r;

	if (*end || id <= 0)
		return cli_usage_error(cli, "oom show: '%s' is not a record id (see `faultline oom`)", arg);
	args = json_object_new_object();
	json_object_object_add(args, "id", json_object_new_int64(id));
	if ((r = cli_call(cli, "oom_show", args, &reply, &d)))
		return r;
	if (cli->json)
		cli_print_json(d);
	else
		print_record(d);
	json_object_put(reply);
	return EXIT_OK;
}

int verb_oom(struct cli *cli, int argc, char **argv)
{
	long n = 50;
	int c;

	if (argc >= 2 && !strcmp(argv[1], "show")) {
		if (argc != 3)
			return cli_usage_error(cli, "oom show wants one record id");
		return show(cli, argv[2]);
	}
	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n' || (n = strtol(optarg, NULL, 10)) < 1)
			return cli_usage_error(cli, "oom: -n wants a positive number");
	}
	if (optind < argc)
		return cli_usage_error(cli, "oom: unexpected argument '%s' (oom [-n N] | oom show ID)", argv[optind]);
	return list(cli, n);
}
