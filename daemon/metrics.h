/* The Prometheus text exposition (format 0.0.4) of faultline: the daemon's
 * health, every unit (bounded by max_units) and only the top processes
 * (bounded by top_processes), so the number of series does not grow with
 * the number of processes on the host. Pure code: renders into a FILE. */
#ifndef FAULTLINE_METRICS_H
#define FAULTLINE_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "cgcache.h"
#include "faultline.h"
#include "proctab.h"
#include "units_agg.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The daemon's own state, copied by the caller (fleet.c). */
struct metrics_health {
	const char *version;
	uint64_t start_time_s; /* Unix time */
	uint64_t events[FL_EV__MAX];
	uint64_t drops[FL_EV__MAX];
	uint64_t events_malformed;
	uint64_t mm_stats_full;
	uint64_t snapshots;
	uint64_t snapshot_errors;
	uint64_t snapshot_last_us;
	uint64_t snapshot_max_us;
	uint64_t procs_live;
	uint64_t procs_exited;
	uint64_t procs_not_tracked;
	uint64_t exits_vanished;
	uint64_t render_last_us; /* the previous rendering */
	uint64_t textfile_errors;
};

struct metrics_limits {
	uint32_t top_processes; /* per-process series: top N by RSS, top N growers */
	uint32_t max_units;     /* per-unit series: the largest units by RSS */
};

/* One leak suspect as the leak analysis sees it. */
struct metrics_suspect {
	const struct proc *p;
	double bytes_per_second;
	double seconds_to_exhaustion; /* < 0: not predicted */
};

struct metrics_input {
	const struct metrics_health *health;
	struct units_agg *units;
	struct proctab *procs;
	const struct cgcache *cgroups;
	const struct metrics_suspect *suspects; /* most urgent first */
	size_t nsuspects;
	struct metrics_limits limits;
};

/* Writes the whole exposition; 0 or -errno. */
int metrics_render(FILE *out, const struct metrics_input *in);

/* Writes s as a label value: backslash, double quote and newline escaped. */
void metrics_put_label_value(FILE *out, const char *s);

/* Series bound for given limits and unit/OOM counts (documented figure):
 * health + per unit + OOM series + per process + per suspect. */
uint64_t metrics_series_bound(const struct metrics_limits *l, uint64_t oom_series);

#endif
