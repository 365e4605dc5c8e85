#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "render.h"

/* "memory      12.3M of 160M for records; caps reached: exited_keep" */
static void print_limits(json_object *l)
{
	json_object *hit = jget(l, "caps_reached");
	char a[32], b[32];

	if (!l)
		return;
	printf("memory      %s of %s for process records", fmt_bytes(jget_u64(l, "memory_used"), a, sizeof(a)),
	       fmt_bytes(jget_u64(l, "max_memory"), b, sizeof(b)));
	for (size_t i = 0; hit && i < json_object_array_length(hit); i++)
		printf("%s%s", i ? ", " : "; caps reached: ", json_object_get_string(json_object_array_get_idx(hit, i)));
	printf("\n");
}

/* "state       saved 41s ago (3 saves, 18.2K); restored 212 processes at start" */
static void print_state(json_object *s)
{
	json_object *r = jget(s, "restored");
	const char *aside = jget_str(s, "set_aside", NULL);
	char a[32], b[32];

	if (!s)
		return;
	if (jget_u64(s, "saves"))
		printf("state       saved %s ago (%llu save%s, %s)", fmt_duration(time(NULL) - jget_u64(s, "last_save"), a, sizeof(a)),
		       (unsigned long long)jget_u64(s, "saves"), jget_u64(s, "saves") == 1 ? "" : "s",
		       fmt_bytes(jget_u64(s, "last_save_bytes"), b, sizeof(b)));
	else
		printf("state       not saved yet (every %s, and at stop)",
		       fmt_duration(jget_u64(s, "save_interval_ms") / 1000, a, sizeof(a)));
	if (jget_u64(s, "save_errors"))
		printf(", %llu SAVE ERRORS", (unsigned long long)jget_u64(s, "save_errors"));
	if (r)
		printf("; restored %llu live and %llu exited processes at start",
		       (unsigned long long)jget_u64(r, "live"), (unsigned long long)jget_u64(r, "exited"));
	printf("\n");
	if (aside)
		printf("            a damaged state file was set aside: %s (%s)\n", aside,
		       jget_str(s, "load_error", "?"));
}

int verb_status(struct cli *cli, int argc, char **argv)
{
	json_object *reply, *d, *probes, *procs, *ev, *drops, *snap;
	char a[32], b[32];
	int r;

	if (argc > 1)
		return cli_usage_error(cli, "status takes no arguments");
	if ((r = cli_call(cli, "status", NULL, &reply, &d)))
		return r;
	if (cli->json) {
		cli_print_json(d);
		json_object_put(reply);
		return EXIT_OK;
	}
	procs = jget(d, "processes");
	ev = jget(d, "events");
	drops = jget(d, "drops");
	snap = jget(d, "snapshots");
	printf("faultlined %s, pid %lld, up %s\n", jget_str(d, "version", "?"), (long long)jget_i64(d, "pid"),
	       fmt_duration(jget_u64(d, "uptime_s"), a, sizeof(a)));
	printf("socket      %s\n", jget_str(d, "socket", "?"));
	printf("interval    %llu ms (last snapshot took %llu us)\n", (unsigned long long)jget_u64(d, "interval_ms"),
	       (unsigned long long)jget_u64(snap, "last_us"));
	printf("processes   %llu live, %llu exited kept, %llu seen in all%s\n",
	       (unsigned long long)jget_u64(procs, "live"), (unsigned long long)jget_u64(procs, "exited_kept"),
	       (unsigned long long)jget_u64(procs, "seen_total"),
	       jget_u64(procs, "not_tracked_table_full") ? " (TABLE FULL: some not tracked)" : "");
	printf("events      %s exits, %llu OOM kills, %llu big mappings\n",
	       fmt_count((double)jget_u64(ev, "exit"), a, sizeof(a)), (unsigned long long)jget_u64(ev, "oom"),
	       (unsigned long long)jget_u64(ev, "big_mapping"));
	printf("drops       %llu%s (exits vanished without an event: %s)\n",
	       (unsigned long long)jget_u64(drops, "total"), jget_u64(drops, "total") ? " LOST EVENTS" : "",
	       fmt_count((double)jget_u64(procs, "exits_vanished"), b, sizeof(b)));
	{
		json_object *lk = jget(d, "leaks");

		/* "leaks       2 suspects; analysis took 95 us for 47 processes (cgroup limits: memory.max)" */
		if (lk)
			printf("leaks       %llu suspect%s; analysis took %llu us for %llu processes (cgroup limits: %s)\n",
			       (unsigned long long)jget_u64(lk, "suspects"), jget_u64(lk, "suspects") == 1 ? "" : "s",
			       (unsigned long long)jget_u64(lk, "last_us"), (unsigned long long)jget_u64(lk, "last_processes"),
			       jget_str(lk, "memcg", "none"));
	}
	print_limits(jget(d, "limits"));
	print_state(jget(d, "state"));
	{
		json_object *o = jget(d, "oom"), *st = jget(o, "store"), *h = jget(o, "hooks");

		if (o) {
			printf("oom records %llu in %s", (unsigned long long)jget_u64(st, "records"), jget_str(st, "path", "?"));
			if (jget_u64(st, "torn_tail_bytes") || jget_u64(st, "bad_frames"))
				printf(" (at start: %llu torn bytes cut, %llu damaged records skipped)",
				       (unsigned long long)jget_u64(st, "torn_tail_bytes"),
				       (unsigned long long)jget_u64(st, "bad_frames"));
			if (jget_u64(st, "write_errors"))
				printf(", %llu WRITE ERRORS", (unsigned long long)jget_u64(st, "write_errors"));
			printf("\n");
			if (jget_i64(h, "configured"))
				printf("oom hooks   %lld configured: %llu run, %llu failed, %llu timed out\n",
				       (long long)jget_i64(h, "configured"), (unsigned long long)jget_u64(h, "started"),
				       (unsigned long long)(jget_u64(h, "failed") + jget_u64(h, "start_failed")),
				       (unsigned long long)jget_u64(h, "timed_out"));
		}
	}
	{
		json_object *m = jget(d, "metrics");
		const char *listen = jget_str(m, "listen", NULL), *textfile = jget_str(m, "textfile", NULL);

		if (listen)
			printf("metrics     http://%s/metrics (%llu scrapes, %llu units)\n", listen,
			       (unsigned long long)jget_u64(m, "scrapes"), (unsigned long long)jget_u64(m, "units"));
		if (textfile)
			printf("textfile    %s (%llu written, %llu failed)\n", textfile,
			       (unsigned long long)jget_u64(m, "textfile_writes"),
			       (unsigned long long)jget_u64(m, "textfile_errors"));
	}
	if (jget(d, "traces")) {
		json_object *tr = jget(d, "traces");

		/* On-demand traces: their programs are loaded only while they run. */
		printf("traces      %llu running, %llu started, %llu finished, %llu cancelled\n",
		       (unsigned long long)jget_u64(tr, "running"), (unsigned long long)jget_u64(tr, "started"),
		       (unsigned long long)jget_u64(tr, "finished"), (unsigned long long)jget_u64(tr, "cancelled"));
	}
	printf("probes\n");
	probes = jget(d, "probes");
	for (size_t i = 0; probes && i < json_object_array_length(probes); i++) {
		json_object *p = json_object_array_get_idx(probes, i);

		printf("  %-18s %-8s %s\n", jget_str(p, "name", "?"),
		       json_object_get_boolean(jget(p, "attached")) ? "attached" : "DETACHED", jget_str(p, "how", ""));
	}
	json_object_put(reply);
	return EXIT_OK;
}
