/* Processes and the daemon's own figures as JSON, for the API and for the
 * records other features keep (pure code: json-c only). */
#ifndef FAULTLINE_REPORT_H
#define FAULTLINE_REPORT_H

#include <json-c/json.h>

#include "cgcache.h"
#include "proctab.h"
#include "units_agg.h"

/* The summary row `top` shows. */
json_object *report_proc(const struct proc *p, const struct cgcache *cg);
/* Everything known about one process, with up to max_hist history samples. */
json_object *report_proc_detail(const struct proc *p, const struct cgcache *cg, size_t max_hist);
json_object *report_mm_stats(const struct fl_mm_stats *mm);
/* One unit (memory cgroup) of the per-unit view. */
json_object *report_unit(const struct unit *u);
json_object *report_history(const struct history *h, size_t max);
/* A leak verdict: class, figures, confidence and reason, windows and the
 * projection (docs/protocol.md, "leaks"). */
json_object *report_leak(const struct leak_verdict *v);

#endif
