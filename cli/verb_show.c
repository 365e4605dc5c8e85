#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "render.h"

static void line_bytes(const char *label, uint64_t v)
{
	char b[32];

	printf("  %-14s %s\n", label, fmt_bytes(v, b, sizeof(b)));
}

static void print_leak(json_object *lk)
{
	json_object *wins = jget(lk, "windows"), *ex = jget(lk, "exhaustion");
	char a[32], b[32], c[32], ts[32];
	time_t start = (time_t)jget_u64(lk, "growth_start");

	if (!lk)
		return;
	printf("leak analysis    %s (confidence %.0f%%)\n", jget_str(lk, "class", "?"), jget_double(lk, "confidence") * 100);
	printf("  %-14s %s\n", "why", jget_str(lk, "reason", ""));
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&start));
	printf("  %-14s %s for %s since %s, +%s", "growth", fmt_byte_rate(jget_double(lk, "slope"), a, sizeof(a)),
	       fmt_duration(jget_u64(lk, "growing_for_s"), b, sizeof(b)), ts, fmt_bytes(jget_u64(lk, "grown"), c, sizeof(c)));
	if (jget_i64(lk, "heap_delta") > 0)
		printf(" (brk heap +%s)", fmt_bytes((uint64_t)jget_i64(lk, "heap_delta"), a, sizeof(a)));
	printf("\n  %-14s %s now\n", "anon+swap", fmt_bytes(jget_u64(lk, "owned"), a, sizeof(a)));
	if (wins && json_object_array_length(wins)) {
		printf("  %-14s", "rate over");
		for (size_t i = 0; i < json_object_array_length(wins); i++) {
			json_object *w = json_object_array_get_idx(wins, i);

			printf("%s%s %s", i ? ", " : " ", fmt_duration(jget_u64(w, "span_s"), a, sizeof(a)),
			       jget_u64(w, "samples") >= 3 ? fmt_byte_rate(jget_double(w, "slope"), b, sizeof(b)) : "-");
			if (jget_u64(w, "covered_s") + 1 < jget_u64(w, "span_s"))
				printf(" (%s seen)", fmt_duration(jget_u64(w, "covered_s"), c, sizeof(c)));
		}
		printf("\n");
	}
	if (ex) {
		const char *cg = jget_str(ex, "cgroup", NULL);

		printf("  %-14s in %s: %s%s%s, %s left", "exhaustion", fmt_duration((uint64_t)jget_double(ex, "seconds"), a, sizeof(a)),
		       jget_str(ex, "limit_kind", "?"), cg ? " of " : "", cg ? cg : "", fmt_bytes(jget_u64(ex, "headroom"), b, sizeof(b)));
		if (jget_u64(ex, "sharers") > 1)
			printf(", %llu growers share it at %s", (unsigned long long)jget_u64(ex, "sharers"),
			       fmt_byte_rate(jget_double(ex, "rate"), c, sizeof(c)));
		printf("\n");
	}
}

static void print_history(json_object *hist)
{
	size_t n = hist ? json_object_array_length(hist) : 0;
	double *anon, *rss, *flt, *floor;
	char spark[512], a[32], b[32];

	if (n < 2)
		return;
	anon = calloc(n, sizeof(double));
	rss = calloc(n, sizeof(double));
	flt = calloc(n, sizeof(double));
	floor = calloc(n, sizeof(double));
	if (!anon || !rss || !flt || !floor)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(hist, i);

		anon[i] = (double)(jget_u64(s, "anon") + jget_u64(s, "swap"));
		floor[i] = (double)jget_u64(s, "owned_min");
		rss[i] = (double)(jget_u64(s, "anon") + jget_u64(s, "file") + jget_u64(s, "shmem"));
		flt[i] = i ? (double)(jget_u64(s, "minflt") - jget_u64(json_object_array_get_idx(hist, i - 1), "minflt"))
			   : 0;
	}
	uint64_t t0 = jget_u64(json_object_array_get_idx(hist, 0), "t");
	uint64_t t1 = jget_u64(json_object_array_get_idx(hist, n - 1), "t");
	printf("history (%zu samples over %s)\n", n, fmt_duration(t1 - t0, a, sizeof(a)));
	printf("  anon+swap  %s  %s → %s\n", fmt_sparkline(anon, n, 60, spark, sizeof(spark)),
	       fmt_bytes((uint64_t)anon[0], a, sizeof(a)), fmt_bytes((uint64_t)anon[n - 1], b, sizeof(b)));
	printf("  its low    %s  (the lowest of what each sample stands for)\n", fmt_sparkline(floor, n, 60, spark, sizeof(spark)));
	printf("  rss        %s  %s → %s\n", fmt_sparkline(rss, n, 60, spark, sizeof(spark)),
	       fmt_bytes((uint64_t)rss[0], a, sizeof(a)), fmt_bytes((uint64_t)rss[n - 1], b, sizeof(b)));
	printf("  minflt     %s\n", fmt_sparkline(flt + 1, n - 1, 60, spark, sizeof(spark)));
out:
	free(anon);
	free(rss);
	free(flt);
	free(floor);
}

/* The trace faultlined took when the process first became a leak suspect
 * ([trace] suspect_profile): the top stack of each view. */
static void print_growth_profile(json_object *gp)
{
	static const char *const views[] = { "faults", "brk", "mmap" };
	json_object *proc = gp ? json_object_array_get_idx(jget(gp, "processes"), 0) : NULL;
	char ts[32];
	time_t t;

	if (!proc)
		return;
	t = (time_t)jget_u64(gp, "captured_at");
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&t));
	printf("growth profile (traced %.1fs when it became a leak suspect, %s)\n", jget_u64(gp, "duration_ms") / 1000.0,
	       ts);
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		json_object *v = jget(jget(proc, "views"), views[i]), *s, *frames;
		char chain[512], a[32];
		size_t used = 0;

		s = v ? json_object_array_get_idx(jget(v, "stacks"), 0) : NULL;
		if (!s)
			continue;
		frames = jget(s, "frames");
		chain[0] = 0;
		for (size_t k = 0; frames && k < json_object_array_length(frames) && k < 4 && used < sizeof(chain); k++)
			used += snprintf(chain + used, sizeof(chain) - used, "%s%s", k ? " <- " : "",
					 jget_str(json_object_array_get_idx(frames, k), "label", "?"));
		if (!strcmp(views[i], "faults"))
			snprintf(a, sizeof(a), "%llu pages", (unsigned long long)jget_u64(s, "pages"));
		else
			fmt_bytes(jget_u64(s, "bytes"), a, sizeof(a));
		printf("  %-14s %s %s\n", views[i], a, chain);
	}
}

int verb_show(struct cli *cli, int argc, char **argv)
{
	json_object *reply, *d, *args, *mm, *ex;
	char a[32], b[32], *end;
	long pid;
	int r;

	if (argc != 2)
		return cli_usage_error(cli, "show wants one PID");
	pid = strtol(argv[1], &end, 10);
	if (*end || pid <= 0 || pid > 4194304)
		return cli_usage_error(cli, "'%s' is not a pid", argv[1]);
	args = json_object_new_object();
	json_object_object_add(args, "pid", json_object_new_int64(pid));
	if ((r = cli_call(cli, "show", args, &reply, &d)))
		return r;
	if (cli->json) {
		cli_print_json(d);
		json_object_put(reply);
		return EXIT_OK;
	}
	printf("%s (pid %lld, ppid %lld, uid %lld) %s\n", jget_str(d, "comm", "?"), (long long)jget_i64(d, "pid"),
	       (long long)jget_i64(d, "ppid"), (long long)jget_i64(d, "uid"), jget_str(d, "state", "?"));
	if (jget_str(d, "cmdline", NULL))
		printf("  cmdline        %s\n", jget_str(d, "cmdline", ""));
	printf("  cgroup         %s\n", jget_str(d, "cgroup", "?"));
	printf("  threads        %lld   oom_score_adj %lld\n", (long long)jget_i64(d, "threads"),
	       (long long)jget_i64(d, "oom_score_adj"));
	printf("memory\n");
	line_bytes("rss", jget_u64(d, "rss"));
	line_bytes("  anon", jget_u64(d, "rss_anon"));
	line_bytes("  file", jget_u64(d, "rss_file"));
	line_bytes("  shmem", jget_u64(d, "rss_shmem"));
	line_bytes("swap", jget_u64(d, "swap"));
	line_bytes("vm", jget_u64(d, "vm"));
	line_bytes("heap", jget_u64(d, "heap"));
	line_bytes("page tables", jget_u64(d, "pgtables"));
	line_bytes("peak rss", jget_u64(d, "peak_rss"));
	printf("  %-14s %lld\n", "mappings", (long long)jget_i64(d, "map_count"));
	printf("  %-14s %s\n", "growth", fmt_byte_rate(jget_double(d, "rss_rate"), a, sizeof(a)));
	printf("faults\n");
	printf("  %-14s %llu (%s/s)\n", "minor", (unsigned long long)jget_u64(d, "minflt"),
	       fmt_count(jget_double(d, "minflt_rate"), a, sizeof(a)));
	printf("  %-14s %llu (%s/s)\n", "major", (unsigned long long)jget_u64(d, "majflt"),
	       fmt_count(jget_double(d, "majflt_rate"), b, sizeof(b)));
	mm = jget(d, "mapping_syscalls");
	if (mm) {
		printf("mapping syscalls\n");
		printf("  %-14s %llu calls, +%s", "brk", (unsigned long long)jget_u64(mm, "brk_calls"),
		       fmt_bytes(jget_u64(mm, "brk_grow_bytes"), a, sizeof(a)));
		printf(" -%s\n", fmt_bytes(jget_u64(mm, "brk_shrink_bytes"), b, sizeof(b)));
		printf("  %-14s %llu calls, %s anon", "mmap", (unsigned long long)jget_u64(mm, "mmap_calls"),
		       fmt_bytes(jget_u64(mm, "mmap_anon_bytes"), a, sizeof(a)));
		printf(", %s file\n", fmt_bytes(jget_u64(mm, "mmap_file_bytes"), b, sizeof(b)));
		printf("  %-14s %llu calls, %s\n", "munmap", (unsigned long long)jget_u64(mm, "munmap_calls"),
		       fmt_bytes(jget_u64(mm, "munmap_bytes"), a, sizeof(a)));
		printf("  %-14s %llu calls, +%s", "mremap", (unsigned long long)jget_u64(mm, "mremap_calls"),
		       fmt_bytes(jget_u64(mm, "mremap_grow_bytes"), a, sizeof(a)));
		printf(" -%s\n", fmt_bytes(jget_u64(mm, "mremap_shrink_bytes"), b, sizeof(b)));
	}
	ex = jget(d, "exit");
	if (ex) {
		time_t t = (time_t)jget_u64(ex, "time");
		char ts[32];

		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&t));
		if (jget_i64(ex, "signal"))
			printf("exited %s: killed by signal %lld (%s)\n", ts, (long long)jget_i64(ex, "signal"),
			       jget_str(ex, "how", ""));
		else
			printf("exited %s: status %lld (%s)\n", ts, (long long)jget_i64(ex, "code"), jget_str(ex, "how", ""));
	}
	print_leak(jget(d, "leak"));
	print_growth_profile(jget(d, "growth_profile"));
	print_history(jget(d, "history"));
	json_object_put(reply);
	return EXIT_OK;
}
