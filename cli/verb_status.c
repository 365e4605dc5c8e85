#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "render.h"

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
