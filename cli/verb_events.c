/* exited, events and watch: lists of what happened. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "render.h"

static int parse_n(struct cli *cli, int argc, char **argv, long *n)
{
	int c;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n' || (*n = strtol(optarg, NULL, 10)) < 1)
			return cli_usage_error(cli, "%s: -n wants a positive number", argv[0]);
	}
	if (optind < argc)
		return cli_usage_error(cli, "%s: unexpected argument '%s'", argv[0], argv[optind]);
	return EXIT_OK;
}

int verb_exited(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { ">PID", "COMMAND", "EXITED", ">STATUS", ">PEAK RSS", ">MINFLT",
					    ">MAJFLT", ">MMAP", ">BRK+" };
	json_object *reply, *d, *args, *list;
	long n = 20;
	struct table t;
	int r;

	if ((r = parse_n(cli, argc, argv, &n)))
		return r;
	args = json_object_new_object();
	json_object_object_add(args, "n", json_object_new_int64(n));
	if ((r = cli_call(cli, "exited", args, &reply, &d)))
		return r;
	if (cli->json) {
		cli_print_json(d);
		json_object_put(reply);
		return EXIT_OK;
	}
	list = jget(d, "processes");
	table_init(&t, 9, head);
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *p = json_object_array_get_idx(list, i), *mm = jget(p, "mapping_syscalls");
		char pid[16], when[16], st[16], peak[16], mn[24], mj[24], mmap[16], brk[16];
		time_t ts = (time_t)jget_u64(p, "exit_time");
		int64_t status = jget_i64(p, "exit_status");
		const char *row[] = { pid, jget_str(p, "comm", "?"), when, st, fmt_bytes(jget_u64(p, "peak_rss"), peak, 16),
				      mn, mj, mm ? fmt_bytes(jget_u64(mm, "mmap_anon_bytes"), mmap, 16) : "-",
				      mm ? fmt_bytes(jget_u64(mm, "brk_grow_bytes"), brk, 16) : "-" };

		snprintf(pid, sizeof(pid), "%llu", (unsigned long long)jget_u64(p, "pid"));
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&ts));
		if (status & 0x7f)
			snprintf(st, sizeof(st), "sig %lld", (long long)(status & 0x7f));
		else
			snprintf(st, sizeof(st), "%lld", (long long)((status >> 8) & 0xff));
		snprintf(mn, sizeof(mn), "%llu", (unsigned long long)jget_u64(p, "minflt"));
		snprintf(mj, sizeof(mj), "%llu", (unsigned long long)jget_u64(p, "majflt"));
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
	json_object_put(reply);
	return EXIT_OK;
}

/* One readable line per event; unknown types print their JSON. */
static void print_event(json_object *e)
{
	time_t ts = (time_t)(jget_u64(e, "time_ms") / 1000);
	const char *type = jget_str(e, "type", "?");
	char when[32], a[32], b[32];

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&ts));
	if (!strcmp(type, "oom_kill")) {
		json_object *v = jget(e, "victim"), *t = jget(e, "trigger"), *k = jget(e, "constraint");
		char lim[48] = "";

		if (!strcmp(jget_str(k, "kind", ""), "memcg"))
			snprintf(lim, sizeof(lim), ", limit %s", fmt_bytes(jget_u64(k, "limit"), b, sizeof(b)));
		else if (k)
			snprintf(lim, sizeof(lim), ", system-wide");
		printf("%s  OOM kill %llu: %s (pid %llu, %s anon) in %s%s, triggered by %s (pid %llu)\n", when,
		       (unsigned long long)jget_u64(e, "id"), jget_str(v, "comm", "?"),
		       (unsigned long long)jget_u64(v, "pid"), fmt_bytes(jget_u64(v, "rss_anon"), a, sizeof(a)),
		       jget_str(k, "cgroup", jget_str(v, "cgroup", "?")), lim, jget_str(t, "comm", "?"),
		       (unsigned long long)jget_u64(t, "pid"));
	} else if (!strcmp(type, "big_mapping")) {
		printf("%s  big mapping: %s (pid %llu) %s %s\n", when, jget_str(e, "comm", "?"),
		       (unsigned long long)jget_u64(e, "pid"), jget_str(e, "kind", "?"),
		       fmt_bytes(jget_u64(e, "bytes"), a, sizeof(a)));
	} else if (jget_str(e, "message", NULL)) {
		printf("%s  %s: %s\n", when, type, jget_str(e, "message", ""));
	} else {
		printf("%s  %s %s\n", when, type, json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
	}
}

int verb_events(struct cli *cli, int argc, char **argv)
{
	json_object *reply, *d, *args;
	long n = 50;
	int r;

	if ((r = parse_n(cli, argc, argv, &n)))
		return r;
	args = json_object_new_object();
	json_object_object_add(args, "n", json_object_new_int64(n));
	if ((r = cli_call(cli, "events", args, &reply, &d)))
		return r;
	if (cli->json)
		cli_print_json(d);
	else
		for (size_t i = 0; i < json_object_array_length(d); i++)
			print_event(json_object_array_get_idx(d, i));
	json_object_put(reply);
	return EXIT_OK;
}

int verb_watch(struct cli *cli, int argc, char **argv)
{
	char *buf = NULL, *line;
	size_t len = 0, cap = 0;
	json_object *reply;
	int fd, r;

	if (argc > 1)
		return cli_usage_error(cli, "watch takes no arguments");
	if ((r = cli_connect(cli, &fd)))
		return r;
	if (cli_send(fd, "watch", NULL)) {
		close(fd);
		return EXIT_NO_DAEMON;
	}
	line = cli_read_line(fd, &buf, &len, &cap);
	reply = line ? json_tokener_parse(line) : NULL;
	free(line);
	if ((r = cli_check_reply(cli, reply, NULL))) {
		json_object_put(reply);
		close(fd);
		return r;
	}
	json_object_put(reply);
	if (!cli->json) {
		fprintf(stderr, "watching faultlined events (Ctrl-C to stop)\n");
	}
	/* Default SIGINT ends us; the daemon drops the connection. */
	while ((line = cli_read_line(fd, &buf, &len, &cap))) {
		json_object *msg = json_tokener_parse(line), *ev = jget(msg, "event");

		if (ev) {
			if (cli->json)
				cli_print_json(ev);
			else
				print_event(ev);
			fflush(stdout);
		}
		json_object_put(msg);
		free(line);
	}
	free(buf);
	close(fd);
	if (!cli->json)
		fprintf(stderr, "faultline: faultlined closed the connection\n");
	return EXIT_NO_DAEMON;
}
