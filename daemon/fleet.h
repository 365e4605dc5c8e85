/* The fleet view's glue: per interval, sum the units, render the metrics
 * once, hand the text to the HTTP endpoint and write the node_exporter
 * textfile atomically. The pieces it joins are pure (units_agg.c,
 * metrics.c) or self-contained (metrics_http.c). */
#ifndef FAULTLINE_FLEET_H
#define FAULTLINE_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline.h"
#include "metrics_http.h"
#include "units_agg.h"

struct daemon;

struct fleet {
	struct units_agg units;
	struct metrics_http http;
	bool http_on;
	bool textfile_on;
	uint64_t render_last_us;
	uint64_t textfile_writes;
	uint64_t textfile_errors;
	int textfile_last_err; /* logged once per change, not every interval */
};

/* Starts the endpoint when [metrics] listen is set. 0 or -errno (err says why). */
int fleet_start(struct fleet *f, struct daemon *d, char *err, size_t errlen);
/* After each snapshot. */
void fleet_round(struct fleet *f, struct daemon *d);
/* An OOM kill: counted in the victim's unit. Returns the victim's cgroup
 * path (for the event record) or NULL when it cannot be found. */
const char *fleet_oom(struct fleet *f, struct daemon *d, const struct fl_oom_event *e, const char *constraint);
void fleet_stop(struct fleet *f);

#endif
