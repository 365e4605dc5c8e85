#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Series the health section always writes (see render_health). */
#define HEALTH_SERIES 26
/* Series per exported unit and per exported process (see below). */
#define UNIT_SERIES 9
#define PROC_SERIES 5
#define SUSPECT_SERIES 2

void metrics_put_label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': fputs("\\\\", out); break;
		case '"': fputs("\\\"", out); break;
		case '\n': fputs("\\n", out); break;
		default: fputc(*s, out); break;
		}
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_double(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else
		fprintf(f, "%.9g", v);
}

static void u64_line(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void kind_line(FILE *f, const char *name, const char *label, const char *kind, uint64_t v)
{
	fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, kind, (unsigned long long)v);
}

static void render_health(FILE *f, const struct metrics_health *h, const struct units_agg *ua)
{
	static const char *const kinds[FL_EV__MAX] = { NULL, "exit", "big_mapping", "oom" };

	family(f, "faultline_build_info", "gauge", "faultlined's version; always 1.");
	fputs("faultline_build_info{version=\"", f);
	metrics_put_label_value(f, h->version);
	fputs("\"} 1\n", f);
	family(f, "faultline_start_time_seconds", "gauge", "When faultlined started, Unix time.");
	u64_line(f, "faultline_start_time_seconds", h->start_time_s);

	family(f, "faultline_events_total", "counter", "Events received from the kernel, by kind.");
	for (int k = 1; k < FL_EV__MAX; k++)
		kind_line(f, "faultline_events_total", "kind", kinds[k], h->events[k]);
	family(f, "faultline_events_dropped_total", "counter",
	       "Events the kernel side could not deliver (ring buffer full), by kind.");
	for (int k = 1; k < FL_EV__MAX; k++)
		kind_line(f, "faultline_events_dropped_total", "kind", kinds[k], h->drops[k]);
	family(f, "faultline_events_malformed_total", "counter", "Ring-buffer records too short or of an unknown kind.");
	u64_line(f, "faultline_events_malformed_total", h->events_malformed);
	family(f, "faultline_mapping_stats_dropped_total", "counter",
	       "Mapping-syscall totals not kept because the kernel-side table was full.");
	u64_line(f, "faultline_mapping_stats_dropped_total", h->mm_stats_full);

	family(f, "faultline_snapshots_total", "counter", "Process-table snapshots taken.");
	u64_line(f, "faultline_snapshots_total", h->snapshots);
	family(f, "faultline_snapshot_errors_total", "counter", "Snapshots that failed or were malformed.");
	u64_line(f, "faultline_snapshot_errors_total", h->snapshot_errors);
	family(f, "faultline_snapshot_duration_seconds", "gauge", "How long the last snapshot took.");
	fputs("faultline_snapshot_duration_seconds ", f);
	put_double(f, h->snapshot_last_us / 1e6);
	fputc('\n', f);
	family(f, "faultline_snapshot_duration_max_seconds", "gauge", "The longest snapshot since start.");
	fputs("faultline_snapshot_duration_max_seconds ", f);
	put_double(f, h->snapshot_max_us / 1e6);
	fputc('\n', f);

	family(f, "faultline_tracked_processes", "gauge", "Processes in the table: live, and exited ones kept.");
	kind_line(f, "faultline_tracked_processes", "state", "live", h->procs_live);
	kind_line(f, "faultline_tracked_processes", "state", "exited", h->procs_exited);
	family(f, "faultline_processes_not_tracked_total", "counter",
	       "New processes not tracked because the table was full (limits.max_processes).");
	u64_line(f, "faultline_processes_not_tracked_total", h->procs_not_tracked);
	family(f, "faultline_exits_vanished_total", "counter",
	       "Processes gone from the snapshot without an exit event (a dropped event).");
	u64_line(f, "faultline_exits_vanished_total", h->exits_vanished);

	family(f, "faultline_units_tracked", "gauge", "Units (memory cgroups) being summed.");
	u64_line(f, "faultline_units_tracked", ua->stats.units);
	family(f, "faultline_units_not_tracked_total", "counter", "Units not summed because the unit table was full.");
	u64_line(f, "faultline_units_not_tracked_total", ua->stats.not_tracked);
	family(f, "faultline_processes_unattributed", "gauge",
	       "Live processes whose memory cgroup is not known yet (summed in no unit).");
	u64_line(f, "faultline_processes_unattributed", ua->stats.unattributed);
	family(f, "faultline_oom_kills_unattributed_total", "counter",
	       "OOM kills whose victim's memory cgroup could not be found.");
	u64_line(f, "faultline_oom_kills_unattributed_total", ua->stats.oom_unattributed);
	family(f, "faultline_metrics_render_seconds", "gauge", "How long rendering the previous exposition took.");
	fputs("faultline_metrics_render_seconds ", f);
	put_double(f, h->render_last_us / 1e6);
	fputc('\n', f);
	family(f, "faultline_metrics_textfile_errors_total", "counter", "Textfile writes that failed.");
	u64_line(f, "faultline_metrics_textfile_errors_total", h->textfile_errors);
}

static void unit_labels(FILE *f, const struct unit *u)
{
	fputs("unit=\"", f);
	metrics_put_label_value(f, u->name);
	fputs("\",slice=\"", f);
	metrics_put_label_value(f, u->slice);
	fputs("\",cgroup=\"", f);
	metrics_put_label_value(f, u->path);
	fputc('"', f);
}

enum unit_metric { UM_PROCS, UM_RSS, UM_SWAP, UM_MINFLT, UM_MAJFLT, UM_GROWTH, UM_SUSPECTS };

/* units[0..n) are exported in full; OOM counts go out for every unit in
 * units[0..all): a unit whose process was just killed is small, and the
 * kill must not vanish behind the max_units cap. */
static void render_units(FILE *f, struct unit **units, size_t n, size_t all)
{
	static const struct {
		const char *name, *type, *help;
	} fams[] = {
		[UM_PROCS] = { "faultline_unit_processes", "gauge", "Live processes in the unit." },
		[UM_RSS] = { "faultline_unit_rss_bytes", "gauge", "Resident memory of the unit's processes, by kind." },
		[UM_SWAP] = { "faultline_unit_swap_bytes", "gauge", "Swapped-out memory of the unit's processes." },
		[UM_MINFLT] = { "faultline_unit_minor_faults_total", "counter",
				"Minor page faults of the unit's processes, exited ones included." },
		[UM_MAJFLT] = { "faultline_unit_major_faults_total", "counter",
				"Major page faults of the unit's processes, exited ones included." },
		[UM_GROWTH] = { "faultline_unit_rss_growth_bytes_per_second", "gauge",
				"Change of the unit's resident memory over the last interval." },
		[UM_SUSPECTS] = { "faultline_unit_leak_suspects", "gauge", "Leak suspects among the unit's processes." },
	};

	for (size_t m = 0; m < sizeof(fams) / sizeof(fams[0]); m++) {
		family(f, fams[m].name, fams[m].type, fams[m].help);
		for (size_t i = 0; i < n; i++) {
			const struct unit *u = units[i];

			if (m == UM_RSS) {
				static const char *const kinds[] = { "anon", "file", "shmem" };
				const uint64_t v[] = { u->rss_anon, u->rss_file, u->rss_shmem };

				for (int k = 0; k < 3; k++) {
					fprintf(f, "%s{", fams[m].name);
					unit_labels(f, u);
					fprintf(f, ",kind=\"%s\"} %llu\n", kinds[k], (unsigned long long)v[k]);
				}
				continue;
			}
			fprintf(f, "%s{", fams[m].name);
			unit_labels(f, u);
			fputs("} ", f);
			switch ((enum unit_metric)m) {
			case UM_PROCS: fprintf(f, "%u", u->procs); break;
			case UM_SWAP: fprintf(f, "%llu", (unsigned long long)u->swap); break;
			case UM_MINFLT: fprintf(f, "%llu", (unsigned long long)u->minflt); break;
			case UM_MAJFLT: fprintf(f, "%llu", (unsigned long long)u->majflt); break;
			case UM_GROWTH: put_double(f, u->rss_rate); break;
			case UM_SUSPECTS: fprintf(f, "%u", u->leak_suspects); break;
			case UM_RSS: break;
			}
			fputc('\n', f);
		}
	}
	family(f, "faultline_oom_kills_total", "counter",
	       "OOM kills by the victim's unit and the constraint (memcg: a cgroup limit, global: the whole machine).");
	for (size_t i = 0; i < all; i++) {
		for (int k = 0; k < UNIT_OOM_KINDS; k++) {
			if (!units[i]->oom[k].constraint[0])
				continue;
			fputs("faultline_oom_kills_total{", f);
			unit_labels(f, units[i]);
			fputs(",constraint=\"", f);
			metrics_put_label_value(f, units[i]->oom[k].constraint);
			fprintf(f, "\"} %llu\n", (unsigned long long)units[i]->oom[k].kills);
		}
	}
}

static void proc_labels(FILE *f, const struct proc *p, const struct cgcache *cg)
{
	const char *path = p->memcg_id ? cgcache_get(cg, p->memcg_id) : NULL;
	char name[UNIT_NAME_LEN] = "", slice[UNIT_NAME_LEN];

	if (path)
		unit_names_from_path(path, name, sizeof(name), slice, sizeof(slice));
	fprintf(f, "pid=\"%u\",comm=\"", p->key.tgid);
	metrics_put_label_value(f, p->comm);
	fputs("\",unit=\"", f);
	metrics_put_label_value(f, name);
	fputc('"', f);
}

static int cmp_pid(const void *a, const void *b)
{
	const struct proc *x = *(struct proc *const *)a, *y = *(struct proc *const *)b;

	return x->key.tgid < y->key.tgid ? -1 : x->key.tgid > y->key.tgid;
}

/* Keeps top[0..*k) as the best n of what it has seen, best first: an
 * insertion into a short array, O(processes * n) instead of sorting the
 * whole table twice per interval. */
static void keep_top(struct proc **top, size_t *k, size_t n, struct proc *p, proc_cmp_fn cmp)
{
	size_t i = *k;

	if (i == n && cmp(&p, &top[n - 1]) >= 0)
		return;
	if (i < n)
		(*k)++;
	else
		i = n - 1;
	while (i > 0 && cmp(&p, &top[i - 1]) < 0) {
		top[i] = top[i - 1];
		i--;
	}
	top[i] = p;
}

/* The top N by RSS and the top N growers, each process once, by pid. */
static size_t pick_processes(struct proctab *pt, uint32_t n, struct proc ***out)
{
	struct proc **by_rss, **by_growth, **sel, *p, *tmp;
	size_t nr = 0, ng = 0, k = 0;

	*out = NULL;
	if (!n)
		return 0;
	by_rss = calloc(n, sizeof(*by_rss));
	by_growth = calloc(n, sizeof(*by_growth));
	sel = calloc(2 * (size_t)n, sizeof(*sel));
	if (!by_rss || !by_growth || !sel) {
		free(by_rss);
		free(by_growth);
		free(sel);
		return 0;
	}
	HASH_ITER(hh, pt->by_key, p, tmp) {
		if (p->state != PROC_LIVE)
			continue;
		keep_top(by_rss, &nr, n, p, proc_cmp_rss);
		if (p->rss_rate > 0)
			keep_top(by_growth, &ng, n, p, proc_cmp_growth);
	}
	for (size_t i = 0; i < nr; i++)
		sel[k++] = by_rss[i];
	for (size_t i = 0; i < ng; i++) {
		bool dup = false;

		for (size_t j = 0; j < nr && !dup; j++)
			dup = by_rss[j] == by_growth[i];
		if (!dup)
			sel[k++] = by_growth[i];
	}
	free(by_rss);
	free(by_growth);
	qsort(sel, k, sizeof(*sel), cmp_pid);
	*out = sel;
	return k;
}

static void render_processes(FILE *f, struct proc **sel, size_t n, const struct cgcache *cg)
{
	static const struct {
		const char *name, *type, *help;
	} fams[PROC_SERIES] = {
		{ "faultline_process_rss_bytes", "gauge", "Resident memory of a top process (by RSS or growth)." },
		{ "faultline_process_swap_bytes", "gauge", "Swapped-out memory of a top process." },
		{ "faultline_process_rss_growth_bytes_per_second", "gauge",
		  "Change of a top process's resident memory over the last interval." },
		{ "faultline_process_minor_faults_total", "counter", "Minor page faults of a top process since it started." },
		{ "faultline_process_major_faults_total", "counter", "Major page faults of a top process since it started." },
	};

	for (int m = 0; m < PROC_SERIES; m++) {
		family(f, fams[m].name, fams[m].type, fams[m].help);
		for (size_t i = 0; i < n; i++) {
			const struct proc *p = sel[i];

			fprintf(f, "%s{", fams[m].name);
			proc_labels(f, p, cg);
			fputs("} ", f);
			switch (m) {
			case 0: fprintf(f, "%llu", (unsigned long long)proc_rss(p)); break;
			case 1: fprintf(f, "%llu", (unsigned long long)p->cur.swap); break;
			case 2: put_double(f, p->rss_rate); break;
			case 3: fprintf(f, "%llu", (unsigned long long)p->cur.min_flt); break;
			case 4: fprintf(f, "%llu", (unsigned long long)p->cur.maj_flt); break;
			}
			fputc('\n', f);
		}
	}
}

static void render_suspects(FILE *f, const struct metrics_input *in)
{
	size_t n = in->nsuspects < in->limits.top_processes ? in->nsuspects : in->limits.top_processes;

	family(f, "faultline_leak_suspect_bytes_per_second", "gauge",
	       "How fast a leak suspect's memory grows (the leak analysis's fitted rate).");
	for (size_t i = 0; i < n; i++) {
		fputs("faultline_leak_suspect_bytes_per_second{", f);
		proc_labels(f, in->suspects[i].p, in->cgroups);
		fputs("} ", f);
		put_double(f, in->suspects[i].bytes_per_second);
		fputc('\n', f);
	}
	family(f, "faultline_leak_suspect_seconds_to_exhaustion", "gauge",
	       "Predicted seconds until a leak suspect exhausts its limit (cgroup limit or the machine's memory).");
	for (size_t i = 0; i < n; i++) {
		if (in->suspects[i].seconds_to_exhaustion < 0)
			continue;
		fputs("faultline_leak_suspect_seconds_to_exhaustion{", f);
		proc_labels(f, in->suspects[i].p, in->cgroups);
		fputs("} ", f);
		put_double(f, in->suspects[i].seconds_to_exhaustion);
		fputc('\n', f);
	}
}

int metrics_render(FILE *f, const struct metrics_input *in)
{
	size_t nunits = in->units->stats.units, shown;
	struct unit **units = calloc(nunits ? nunits : 1, sizeof(*units));
	struct proc **procs = NULL;
	size_t nprocs;

	if (!units)
		return -ENOMEM;
	render_health(f, in->health, in->units);
	nunits = units_agg_sorted(in->units, units, nunits);
	shown = nunits < in->limits.max_units ? nunits : in->limits.max_units;
	family(f, "faultline_units_not_exported", "gauge",
	       "Units left out of the per-unit series (the smallest by RSS beyond metrics.max_units).");
	u64_line(f, "faultline_units_not_exported", nunits - shown);
	render_units(f, units, shown, nunits);
	free(units);

	nprocs = pick_processes(in->procs, in->limits.top_processes, &procs);
	render_processes(f, procs, nprocs, in->cgroups);
	free(procs);
	render_suspects(f, in);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

uint64_t metrics_series_bound(const struct metrics_limits *l, uint64_t oom_series)
{
	return HEALTH_SERIES + (uint64_t)UNIT_SERIES * l->max_units + oom_series +
	       (uint64_t)PROC_SERIES * 2 * l->top_processes + (uint64_t)SUSPECT_SERIES * l->top_processes;
}
