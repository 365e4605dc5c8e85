/* trace: which code paths grow memory in chosen processes, for a while.
 * The daemon answers twice on the connection: a "running" line at once,
 * the result when the trace ends (docs/protocol.md). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "flamegraph.h"
#include "render.h"

#define SHOW_FRAMES 6

static const char *const view_names[] = { "faults", "brk", "mmap", "malloc" };

/* What a view's stacks are weighed by, in flame graphs and folded output. */
static const char *view_weight_key(const char *view)
{
	return !strcmp(view, "faults") ? "pages" : !strcmp(view, "malloc") ? "outstanding" : "bytes";
}

static uint64_t stack_weight(json_object *s, const char *view)
{
	int64_t w = jget_i64(s, view_weight_key(view));

	return w > 0 ? (uint64_t)w : 0;
}

static void frames_line(json_object *frames, char *buf, size_t len)
{
	size_t n = frames ? json_object_array_length(frames) : 0, used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && i < SHOW_FRAMES && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? " <- " : "",
				 jget_str(json_object_array_get_idx(frames, i), "label", "?"));
	if (n > SHOW_FRAMES && used < len)
		snprintf(buf + used, len - used, " <- ...");
	if (!n)
		snprintf(buf, len, "(no stack)");
}

static void print_view(const char *name, json_object *v, long page_size, int show)
{
	json_object *stacks = jget(v, "stacks"), *kinds;
	char a[32], b[32], c[32], chain[1024];
	uint64_t total;

	if (!strcmp(name, "faults")) {
		total = jget_u64(v, "pages");
		printf("  page faults  %llu pages (%s)", (unsigned long long)total,
		       fmt_bytes(jget_u64(v, "bytes"), a, sizeof(a)));
		kinds = jget(v, "by_kind");
		if (total && kinds) {
			const char *sep = ": ";

			json_object_object_foreach(kinds, k, val) {
				printf("%s%s %.0f%%", sep, k, 100.0 * json_object_get_uint64(val) / total);
				sep = ", ";
			}
		}
		printf("\n");
	} else if (!strcmp(name, "malloc")) {
		total = jget_u64(v, "outstanding") > 0 ? jget_u64(v, "outstanding") : 0;
		printf("  malloc       %s allocations, %s, %s still allocated, %s frees (1 in %llu sampled)\n",
		       fmt_count((double)jget_u64(v, "count"), a, sizeof(a)), fmt_bytes(jget_u64(v, "bytes"), b, sizeof(b)),
		       fmt_bytes(total, c, sizeof(c)), fmt_count((double)jget_u64(v, "frees"), chain, sizeof(chain)),
		       (unsigned long long)jget_u64(v, "sample_every"));
	} else {
		total = jget_u64(v, "bytes");
		printf("  %-12s %s in %s calls\n", name, fmt_bytes(total, a, sizeof(a)),
		       fmt_count((double)jget_u64(v, "count"), b, sizeof(b)));
	}
	for (size_t i = 0; stacks && i < json_object_array_length(stacks) && (int)i < show; i++) {
		json_object *s = json_object_array_get_idx(stacks, i);
		uint64_t w = stack_weight(s, name);

		if (!w && strcmp(name, "malloc"))
			continue;
		frames_line(jget(s, "frames"), chain, sizeof(chain));
		if (!strcmp(name, "faults"))
			snprintf(a, sizeof(a), "%llu pages", (unsigned long long)w);
		else if (!strcmp(name, "malloc"))
			snprintf(a, sizeof(a), "%s of %s", fmt_bytes(w, b, sizeof(b)),
				 fmt_bytes(jget_u64(s, "bytes"), c, sizeof(c)));
		else
			fmt_bytes(w, a, sizeof(a));
		printf("    %5.1f%%  %-20s %-6s %s\n", total ? 100.0 * w / total : 0.0, a, jget_str(s, "kind", ""),
		       chain);
	}
	(void)page_size;
}

static void print_text(json_object *d, int show)
{
	json_object *procs = jget(d, "processes"), *warn = jget(d, "warnings");
	long page_size = (long)jget_u64(d, "page_size");

	printf("trace %llu: %.1fs of %s (ended: %s)\n", (unsigned long long)jget_u64(d, "id"),
	       jget_u64(d, "duration_ms") / 1000.0, jget_str(d, "what", "?"), jget_str(d, "ended", "?"));
	for (size_t i = 0; procs && i < json_object_array_length(procs); i++) {
		json_object *p = json_object_array_get_idx(procs, i), *views = jget(p, "views");

		printf("pid %lld %s%s\n", (long long)jget_i64(p, "pid"), jget_str(p, "comm", "?"),
		       json_object_get_boolean(jget(p, "exited")) ? " (exited during the trace)" : "");
		if (strcmp(jget_str(p, "symbols", "ok"), "ok"))
			printf("  symbols: %s\n", jget_str(p, "symbols", ""));
		for (size_t k = 0; k < sizeof(view_names) / sizeof(view_names[0]); k++)
			if (jget(views, view_names[k]))
				print_view(view_names[k], jget(views, view_names[k]), page_size, show);
	}
	for (size_t i = 0; warn && i < json_object_array_length(warn); i++)
		printf("warning: %s\n", json_object_get_string(json_object_array_get_idx(warn, i)));
}

/* Each stack root first: "comm" as the root frame, so several processes
 * share one graph without mixing. */
static size_t root_first(json_object *p, json_object *s, const char **out, size_t max)
{
	json_object *frames = jget(s, "frames");
	size_t n = frames ? json_object_array_length(frames) : 0, k = 0;

	out[k++] = jget_str(p, "comm", "?");
	for (size_t i = n; i > 0 && k < max; i--)
		out[k++] = jget_str(json_object_array_get_idx(frames, i - 1), "label", "?");
	return k;
}

static int for_each_stack(json_object *d, const char *view, FILE *folded, struct flamegraph *fg)
{
	json_object *procs = jget(d, "processes");
	const char *frames[80];
	int found = 0;

	for (size_t i = 0; procs && i < json_object_array_length(procs); i++) {
		json_object *p = json_object_array_get_idx(procs, i), *v = jget(jget(p, "views"), view);
		json_object *stacks = jget(v, "stacks");

		found |= v != NULL;
		for (size_t j = 0; stacks && j < json_object_array_length(stacks); j++) {
			json_object *s = json_object_array_get_idx(stacks, j);
			size_t n = root_first(p, s, frames, 80);
			uint64_t w = stack_weight(s, view);

			if (!w)
				continue;
			if (folded)
				folded_line(folded, frames, n, w);
			if (fg && flamegraph_add(fg, frames, n, w))
				return -ENOMEM;
		}
	}
	return found ? 0 : -ENOENT;
}

static int write_svg(struct cli *cli, json_object *d, const char *view, const char *path)
{
	struct flamegraph fg;
	char title[256];
	FILE *f;
	int r;

	flamegraph_init(&fg);
	if ((r = for_each_stack(d, view, NULL, &fg))) {
		flamegraph_free(&fg);
		return r;
	}
	f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!f) {
		fprintf(stderr, "faultline: cannot write %s: %s\n", path, strerror(errno));
		flamegraph_free(&fg);
		return -errno;
	}
	snprintf(title, sizeof(title), "faultline trace: %s by %s, %.1fs", view, view_weight_key(view),
		 jget_u64(d, "duration_ms") / 1000.0);
	r = flamegraph_svg(&fg, f, title, view_weight_key(view));
	if (f != stdout && fclose(f))
		r = -errno;
	flamegraph_free(&fg);
	if (!r && f != stdout && !cli->json)
		fprintf(stderr, "faultline: flame graph of %s written to %s\n", view, path);
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: faultline trace PID... [--for 10s] [--what faults,brk,mmap,malloc] [--sample N]\n"
			"                      [-n N] [--folded] [--svg FILE] [--view VIEW]\n");
}

/* The countdown on the terminal while the daemon traces. */
static int wait_result(int fd, long for_ms, const char *what, bool tty, char **buf, size_t *len, size_t *cap,
		       char **line)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (tty) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			long left = for_ms - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);

			fprintf(stderr, "\rtracing %s: %lds left  ", what, left > 0 ? (left + 999) / 1000 : 0);
			fflush(stderr);
		}
		int r = poll(&pfd, 1, 1000);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			break;
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	*line = cli_read_line(fd, buf, len, cap);
	return *line ? 0 : -EPIPE;
}

int verb_trace(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'f' },   { "what", required_argument, NULL, 'w' },
		{ "sample", required_argument, NULL, 'S' }, { "folded", no_argument, NULL, 'F' },
		{ "svg", required_argument, NULL, 'g' },   { "view", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },        {},
	};
	const char *what = "faults,brk,mmap", *svg = NULL, *view = NULL;
	long for_ms = 10000, sample = 1, show = 5;
	bool folded = false;
	json_object *args, *pids, *reply = NULL, *d, *tr;
	char *buf = NULL, *line = NULL, *end;
	size_t len = 0, cap = 0;
	int c, fd, r;

	/* 0, not 1: glibc re-initialises and so permutes again (PIDs may come
	 * before the options; main() parsed its own with '+'). */
	optind = 0;
	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			for_ms = cli_parse_ms(optarg);
			if (for_ms < 100 || for_ms > 600000)
				return cli_usage_error(cli, "--for '%s': expected a duration from 100ms to 10m", optarg);
			break;
		case 'w': what = optarg; break;
		case 'S':
			sample = strtol(optarg, &end, 10);
			if (*end || sample < 1 || sample > 1000000)
				return cli_usage_error(cli, "--sample '%s': expected 1 to 1000000 (record 1 in N)", optarg);
			break;
		case 'n':
			show = strtol(optarg, &end, 10);
			if (*end || show < 1 || show > 10000)
				return cli_usage_error(cli, "-n '%s': expected 1 to 10000", optarg);
			break;
		case 'F': folded = true; break;
		case 'g': svg = optarg; break;
		case 'v': view = optarg; break;
		case 'h': usage(); return EXIT_OK;
		default: return cli_usage_error(cli, "bad option for trace");
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "trace needs at least one PID");
	if (view && strcmp(view, "faults") && strcmp(view, "brk") && strcmp(view, "mmap") && strcmp(view, "malloc"))
		return cli_usage_error(cli, "--view '%s': one of faults, brk, mmap, malloc", view);
	if (!view) /* the first view asked for */
		for (size_t i = 0; i < sizeof(view_names) / sizeof(view_names[0]) && !view; i++)
			if (strstr(what, view_names[i]))
				view = view_names[i];
	pids = json_object_new_array();
	for (int i = optind; i < argc; i++) {
		long pid = strtol(argv[i], &end, 10);

		if (*end || pid < 1 || pid > 4194304) {
			json_object_put(pids);
			return cli_usage_error(cli, "'%s' is not a process id", argv[i]);
		}
		json_object_array_add(pids, json_object_new_int((int)pid));
	}
	if (strstr(what, "malloc") && !cli->json)
		fprintf(stderr, "faultline: note: malloc tracing traps every malloc and free of the traced processes "
				"(a uprobe costs tens of microseconds per call here, sampled or not: --sample %ld only "
				"records fewer); the processes run slower while it lasts\n",
			sample);
	args = json_object_new_object();
	json_object_object_add(args, "pids", pids);
	json_object_object_add(args, "for_ms", json_object_new_int64(for_ms));
	json_object_object_add(args, "what", json_object_new_string(what));
	json_object_object_add(args, "sample_every", json_object_new_int64(sample));
	/* Flame graphs and folded stacks want every stack; text shows a few. */
	json_object_object_add(args, "top", json_object_new_int64(folded || svg || cli->json ? 1000 : show));

	if ((r = cli_connect(cli, &fd))) {
		json_object_put(args);
		return r;
	}
	if (cli_send(fd, "trace", args)) {
		close(fd);
		return cli_check_reply(cli, NULL, NULL);
	}
	line = cli_read_line(fd, &buf, &len, &cap);
	reply = line ? json_tokener_parse(line) : NULL;
	free(line);
	tr = jget(reply, "trace");
	if (!tr) { /* an error at once: no such pid, too many traces, ... */
		r = cli_check_reply(cli, reply, NULL);
		json_object_put(reply);
		free(buf);
		close(fd);
		return r ? r : EXIT_PROTOCOL;
	}
	if (!cli->json) {
		json_object *w = jget(tr, "warnings");

		for (size_t i = 0; w && i < json_object_array_length(w); i++)
			fprintf(stderr, "faultline: warning: %s\n", json_object_get_string(json_object_array_get_idx(w, i)));
	}
	char label[128];
	snprintf(label, sizeof(label), "%s in %d process%s", jget_str(tr, "what", what), (int)json_object_array_length(jget(tr, "pids")),
		 json_object_array_length(jget(tr, "pids")) == 1 ? "" : "es");
	json_object_put(reply);
	r = wait_result(fd, for_ms, label, isatty(STDERR_FILENO) && !cli->json, &buf, &len, &cap, &line);
	close(fd);
	free(buf);
	if (r) {
		fprintf(stderr, "faultline: faultlined closed the connection before the trace ended\n");
		return EXIT_NO_DAEMON;
	}
	reply = json_tokener_parse(line);
	free(line);
	if ((r = cli_check_reply(cli, reply, &d))) {
		json_object_put(reply);
		return r;
	}
	r = EXIT_OK;
	if (svg && write_svg(cli, d, view, svg))
		r = EXIT_FAIL;
	if (folded) {
		if (for_each_stack(d, view, stdout, NULL))
			r = EXIT_FAIL;
	} else if (cli->json) {
		cli_print_json(d);
	} else if (!svg || strcmp(svg, "-")) {
		print_text(d, (int)show);
	}
	json_object_put(reply);
	return r;
}
