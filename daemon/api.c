#include "api.h"
#include "leaks_api.h"

#include <errno.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "report.h"
#include "statefile.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)

json_object *api_ok(json_object *data)
{
	json_object *r = json_object_new_object();

	ADD(r, "v", json_object_new_int(FL_PROTOCOL_VERSION));
	ADD(r, "ok", json_object_new_boolean(1));
	ADD(r, "data", data);
	return r;
}

json_object *api_error(const char *code, const char *fmt, ...)
{
	json_object *r = json_object_new_object(), *e = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ADD(r, "v", json_object_new_int(FL_PROTOCOL_VERSION));
	ADD(r, "ok", json_object_new_boolean(0));
	ADD(e, "code", json_object_new_string(code));
	ADD(e, "message", json_object_new_string(msg));
	ADD(r, "error", e);
	return r;
}

json_object *api_arg_int(json_object *args, const char *name, int64_t min, int64_t max, int64_t *out)
{
	json_object *v;
	int64_t x;

	if (!args || !json_object_object_get_ex(args, name, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_int))
		return api_error("bad_argument", "'%s' must be an integer", name);
	errno = 0;
	x = json_object_get_int64(v);
	/* json-c clamps out-of-range numbers and says so in errno. */
	if (errno == ERANGE || x < min || x > max)
		return api_error("bad_argument", "'%s' must be between %lld and %lld", name, (long long)min,
				 (long long)max);
	*out = x;
	return NULL;
}

json_object *api_arg_str(json_object *args, const char *name, const char **out)
{
	json_object *v;

	if (!args || !json_object_object_get_ex(args, name, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string))
		return api_error("bad_argument", "'%s' must be a string", name);
	*out = json_object_get_string(v);
	return NULL;
}

json_object *api_arg_bool(json_object *args, const char *name, int *out)
{
	json_object *v;

	if (!args || !json_object_object_get_ex(args, name, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_boolean))
		return api_error("bad_argument", "'%s' must be true or false", name);
	*out = json_object_get_boolean(v);
	return NULL;
}

static json_object *cmd_ping(struct daemon *d, struct client *c, json_object *args)
{
	return api_ok(json_object_new_string("pong"));
}

/* The caps, what they hold now, and which ones have been hit. */
static json_object *status_limits(struct daemon *d)
{
	json_object *l = json_object_new_object(), *hit = json_object_new_array();
	const struct proctab_stats *st = &d->procs.stats;

	ADD(l, "max_processes", json_object_new_uint64(d->cfg.max_processes));
	ADD(l, "exited_keep", json_object_new_uint64(d->cfg.exited_keep));
	ADD(l, "history_samples", json_object_new_uint64(d->cfg.history_samples));
	ADD(l, "max_memory", json_object_new_uint64(d->cfg.max_memory));
	ADD(l, "memory_used", json_object_new_uint64(d->procs.mem_bytes));
	ADD(l, "evicted_for_memory", json_object_new_uint64(st->evicted_memory));
	ADD(l, "not_tracked_for_memory", json_object_new_uint64(st->dropped_new_memory));
	ADD(l, "history_samples_lost", json_object_new_uint64(st->history_oom));
	ADD(l, "history_growth_capped", json_object_new_uint64(st->history_capped));
	if (st->dropped_new > st->dropped_new_memory)
		json_object_array_add(hit, json_object_new_string("max_processes"));
	if (st->exited_evicted)
		json_object_array_add(hit, json_object_new_string("exited_keep"));
	if (st->evicted_memory || st->dropped_new_memory || st->history_capped)
		json_object_array_add(hit, json_object_new_string("max_memory"));
	ADD(l, "caps_reached", hit);
	return l;
}

static json_object *status_state(struct daemon *d)
{
	const struct persist *ps = &d->persist;
	json_object *s = json_object_new_object(), *ld = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, STATEFILE_NAME);
	ADD(s, "file", json_object_new_string(path));
	ADD(s, "save_interval_ms", json_object_new_uint64(d->cfg.save_interval_ms));
	ADD(s, "saves", json_object_new_uint64(ps->saves));
	ADD(s, "save_errors", json_object_new_uint64(ps->save_errors));
	ADD(s, "last_save", ps->saves ? json_object_new_uint64(ps->last_save_wall) : NULL);
	ADD(s, "last_save_bytes", json_object_new_uint64(ps->last_save_bytes));
	ADD(s, "last_save_raw_bytes", json_object_new_uint64(ps->last_save_raw));
	ADD(s, "last_save_us", json_object_new_uint64(ps->last_save_us));
	if (ps->loaded) {
		ld = json_object_new_object();
		ADD(ld, "saved_at", json_object_new_uint64(ps->load.saved_wall));
		ADD(ld, "same_boot", json_object_new_boolean(ps->load.same_boot));
		ADD(ld, "live", json_object_new_uint64(ps->load.live));
		ADD(ld, "exited", json_object_new_uint64(ps->load.exited));
		ADD(ld, "events", json_object_new_uint64(ps->load.events));
	}
	ADD(s, "restored", ld);
	ADD(s, "set_aside", ps->set_aside[0] ? json_object_new_string(ps->set_aside) : NULL);
	ADD(s, "load_error", ps->load_error[0] ? json_object_new_string(ps->load_error) : NULL);
	return s;
}

static json_object *cmd_status(struct daemon *d, struct client *c, json_object *args)
{
	json_object *o = json_object_new_object(), *probes = json_object_new_array();
	json_object *procs = json_object_new_object(), *ev = json_object_new_object();
	json_object *drops = json_object_new_object(), *snap = json_object_new_object();
	json_object *cl = json_object_new_object();
	uint64_t dr[FL_DROP_SLOTS], dtotal = 0;
	static const char *const kinds[FL_EV__MAX] = { NULL, "exit", "big_mapping", "oom" };

	ADD(o, "version", json_object_new_string(FAULTLINE_VERSION));
	ADD(o, "protocol", json_object_new_int(FL_PROTOCOL_VERSION));
	ADD(o, "pid", json_object_new_int(getpid()));
	ADD(o, "uptime_s", json_object_new_uint64((now_mono_ms() - d->started_mono_ms) / 1000));
	ADD(o, "interval_ms", json_object_new_uint64(d->cfg.interval_ms));
	ADD(o, "socket", json_object_new_string(d->cfg.socket_path));
	ADD(o, "state_dir", json_object_new_string(d->cfg.state_dir));
	ADD(o, "tracefs", json_object_new_string(d->probes.tracefs));
	for (int i = 0; i < d->probes.ndesc; i++) {
		json_object *p = json_object_new_object();

		ADD(p, "name", json_object_new_string(d->probes.desc[i].name));
		ADD(p, "how", json_object_new_string(d->probes.desc[i].how));
		ADD(p, "attached", json_object_new_boolean(d->probes.desc[i].attached));
		json_object_array_add(probes, p);
	}
	ADD(o, "probes", probes);

	ADD(procs, "live", json_object_new_uint64(d->procs.stats.live));
	ADD(procs, "exited_kept", json_object_new_uint64(d->procs.stats.exited));
	ADD(procs, "seen_total", json_object_new_uint64(d->procs.stats.seen_total));
	ADD(procs, "exits_seen", json_object_new_uint64(d->procs.stats.exits_seen));
	ADD(procs, "exits_vanished", json_object_new_uint64(d->procs.stats.exits_vanished));
	ADD(procs, "exited_evicted", json_object_new_uint64(d->procs.stats.exited_evicted));
	ADD(procs, "not_tracked_table_full", json_object_new_uint64(d->procs.stats.dropped_new));
	ADD(procs, "max_live", json_object_new_uint64(d->procs.max_live));
	ADD(procs, "cap_reached", json_object_new_boolean(d->procs.stats.dropped_new > 0));
	ADD(procs, "exited_while_down", json_object_new_uint64(d->procs.stats.exited_while_down));
	ADD(o, "processes", procs);
	ADD(o, "limits", status_limits(d));
	ADD(o, "state", status_state(d));

	probes_drops(&d->probes, dr);
	for (int k = 1; k < FL_EV__MAX; k++) {
		ADD(ev, kinds[k], json_object_new_uint64(d->stats.events[k]));
		ADD(drops, kinds[k], json_object_new_uint64(dr[k]));
		dtotal += dr[k];
	}
	ADD(ev, "malformed", json_object_new_uint64(d->stats.events_bad));
	ADD(o, "events", ev);
	ADD(drops, "total", json_object_new_uint64(dtotal));
	ADD(drops, "mapping_stats_table_full", json_object_new_uint64(probes_mm_stats_full(&d->probes)));
	ADD(o, "drops", drops);

	ADD(snap, "count", json_object_new_uint64(d->stats.snapshots));
	ADD(snap, "errors", json_object_new_uint64(d->stats.snapshot_errors));
	ADD(snap, "last_us", json_object_new_uint64(d->stats.snapshot_last_us));
	ADD(snap, "max_us", json_object_new_uint64(d->stats.snapshot_max_us));
	ADD(o, "snapshots", snap);

	ADD(cl, "connected", json_object_new_uint64(d->server.nclients));
	ADD(cl, "requests", json_object_new_uint64(d->server.stats.requests));
	ADD(cl, "bad_requests", json_object_new_uint64(d->server.stats.bad_requests));
	ADD(cl, "refused_full", json_object_new_uint64(d->server.stats.refused_full));
	ADD(cl, "slow_dropped", json_object_new_uint64(d->server.stats.slow_clients_dropped));
	ADD(cl, "max", json_object_new_uint64(d->server.max_clients));
	ADD(cl, "idle_timeout_ms", json_object_new_uint64(d->server.idle_ms));
	ADD(cl, "idle_closed", json_object_new_uint64(d->server.stats.idle_closed));
	ADD(cl, "denied", json_object_new_uint64(d->server.stats.denied));
	ADD(cl, "error_replies", json_object_new_uint64(d->server.stats.error_replies));
	ADD(cl, "turns_yielded", json_object_new_uint64(d->server.stats.turns_yielded));
	ADD(o, "clients", cl);

	json_object *m = json_object_new_object();

	ADD(m, "listen", d->fleet.http_on ? json_object_new_string(d->fleet.http.bound) : NULL);
	ADD(m, "scrapes", json_object_new_uint64(d->fleet.http_on ? metrics_http_scrapes(&d->fleet.http) : 0));
	ADD(m, "textfile", d->fleet.textfile_on ? json_object_new_string(d->cfg.metrics_textfile) : NULL);
	ADD(m, "textfile_writes", json_object_new_uint64(d->fleet.textfile_writes));
	ADD(m, "textfile_errors", json_object_new_uint64(d->fleet.textfile_errors));
	ADD(m, "render_us", json_object_new_uint64(d->fleet.render_last_us));
	ADD(m, "units", json_object_new_uint64(d->fleet.units.stats.units));
	ADD(o, "metrics", m);
	{
		json_object *lk = json_object_new_object();

		ADD(lk, "rounds", json_object_new_uint64(d->leaks.stats.rounds));
		ADD(lk, "last_processes", json_object_new_uint64(d->leaks.stats.last_procs));
		ADD(lk, "last_us", json_object_new_uint64(d->leaks.stats.last_us));
		ADD(lk, "suspects", json_object_new_uint64(d->leaks.stats.by_class[LEAK_SUSPECT]));
		ADD(lk, "limit_errors", json_object_new_uint64(d->leaks.stats.limit_errors));
		ADD(lk, "memcg", json_object_new_string(mem_limit_name(d->leaks.memcg_kind)));
		ADD(o, "leaks", lk);
	}
	ADD(o, "traces", trace_status(d));
	ADD(o, "oom", oom_status_json(d));
	return api_ok(o);
}

static json_object *list_procs(struct daemon *d, bool exited, proc_cmp_fn cmp, int64_t n)
{
	size_t cap = exited ? d->procs.stats.exited : d->procs.stats.live;
	struct proc **arr = calloc(cap ? cap : 1, sizeof(*arr));
	json_object *list = json_object_new_array();
	size_t got;

	if (!arr)
		return list;
	got = proctab_sorted(&d->procs, exited, cmp, arr, cap);
	for (size_t i = 0; i < got && (int64_t)i < n; i++) {
		json_object *o = report_proc(arr[i], &d->cgroups);

		if (exited) {
			ADD(o, "exit_time", json_object_new_uint64(arr[i]->exit_wall));
			ADD(o, "peak_rss", json_object_new_uint64(arr[i]->peak_rss));
			ADD(o, "exit_status", json_object_new_int64(arr[i]->exit_code));
			ADD(o, "mapping_syscalls", arr[i]->has_mm ? report_mm_stats(&arr[i]->mm) : NULL);
		}
		json_object_array_add(list, o);
	}
	free(arr);
	return list;
}

static json_object *cmd_top(struct daemon *d, struct client *c, json_object *args)
{
	const char *sort = "rss";
	int64_t n = 20;
	proc_cmp_fn cmp;
	json_object *err, *o;

	if ((err = api_arg_str(args, "sort", &sort)) || (err = api_arg_int(args, "n", 1, 1000000, &n)))
		return err;
	cmp = proc_cmp_by_name(sort);
	if (!cmp)
		return api_error("bad_argument", "unknown sort key '%s' (rss, minflt-rate, majflt-rate, growth, vm)",
				 sort);
	o = json_object_new_object();
	ADD(o, "sort", json_object_new_string(sort));
	ADD(o, "live", json_object_new_uint64(d->procs.stats.live));
	ADD(o, "processes", list_procs(d, false, cmp, n));
	return api_ok(o);
}

static json_object *cmd_exited(struct daemon *d, struct client *c, json_object *args)
{
	int64_t n = 20;
	json_object *err, *o;

	if ((err = api_arg_int(args, "n", 1, 1000000, &n)))
		return err;
	o = json_object_new_object();
	ADD(o, "processes", list_procs(d, true, proc_cmp_exit_newest, n));
	return api_ok(o);
}

static json_object *cmd_show(struct daemon *d, struct client *c, json_object *args)
{
	int64_t pid = -1, hist = 600;
	json_object *err;
	struct proc *p;

	if ((err = api_arg_int(args, "pid", 1, 4194304, &pid)) ||
	    (err = api_arg_int(args, "history", 0, 10000, &hist)))
		return err;
	if (pid < 0)
		return api_error("bad_argument", "'pid' is required");
	p = proctab_find_pid(&d->procs, (uint32_t)pid);
	if (!p)
		return api_error("not_found", "no process %lld is known (not running, or exited before faultlined saw it, or evicted)",
				 (long long)pid);
	return api_ok(report_proc_detail(p, &d->cgroups, (size_t)hist));
}

static json_object *cmd_events(struct daemon *d, struct client *c, json_object *args)
{
	int64_t n = 100, since = 0;
	json_object *err, *list = json_object_new_array();

	if ((err = api_arg_int(args, "n", 1, 100000, &n)) || (err = api_arg_int(args, "since", 0, INT64_MAX, &since))) {
		json_object_put(list);
		return err;
	}
	size_t len = d->events.len, first = len > (size_t)n ? len - n : 0;
	for (size_t i = first; i < len; i++) {
		json_object *e = eventlog_at(&d->events, i), *seq;

		if (json_object_object_get_ex(e, "seq", &seq) && json_object_get_uint64(seq) <= (uint64_t)since)
			continue;
		json_object_array_add(list, json_object_get(e));
	}
	return api_ok(list);
}

static int unit_cmp_minflt_rate(const void *a, const void *b)
{
	const struct unit *x = *(struct unit *const *)a, *y = *(struct unit *const *)b;

	return (x->minflt_rate < y->minflt_rate) - (x->minflt_rate > y->minflt_rate);
}

static int unit_cmp_majflt_rate(const void *a, const void *b)
{
	const struct unit *x = *(struct unit *const *)a, *y = *(struct unit *const *)b;

	return (x->majflt_rate < y->majflt_rate) - (x->majflt_rate > y->majflt_rate);
}

static int unit_cmp_growth(const void *a, const void *b)
{
	const struct unit *x = *(struct unit *const *)a, *y = *(struct unit *const *)b;

	return (x->rss_rate < y->rss_rate) - (x->rss_rate > y->rss_rate);
}

/* Units (memory cgroups) summed from the process table, largest first. */
static json_object *cmd_units(struct daemon *d, struct client *c, json_object *args)
{
	static const struct {
		const char *name;
		int (*cmp)(const void *, const void *);
	} sorts[] = { { "rss", NULL },
		      { "minflt-rate", unit_cmp_minflt_rate },
		      { "majflt-rate", unit_cmp_majflt_rate },
		      { "growth", unit_cmp_growth } };
	const char *sort = "rss";
	int64_t n = 20;
	int (*cmp)(const void *, const void *) = NULL;
	size_t total = d->fleet.units.stats.units, got, si;
	struct unit **arr;
	json_object *err, *o, *list;

	if ((err = api_arg_str(args, "sort", &sort)) || (err = api_arg_int(args, "n", 1, 1000000, &n)))
		return err;
	for (si = 0; si < sizeof(sorts) / sizeof(sorts[0]); si++)
		if (!strcmp(sort, sorts[si].name))
			break;
	if (si == sizeof(sorts) / sizeof(sorts[0]))
		return api_error("bad_argument", "unknown sort key '%s' (rss, minflt-rate, majflt-rate, growth)", sort);
	cmp = sorts[si].cmp;
	arr = calloc(total ? total : 1, sizeof(*arr));
	if (!arr)
		return api_error("busy", "out of memory");
	got = units_agg_sorted(&d->fleet.units, arr, total);
	if (cmp)
		qsort(arr, got, sizeof(*arr), cmp);
	list = json_object_new_array();
	for (size_t i = 0; i < got && (int64_t)i < n; i++)
		json_object_array_add(list, report_unit(arr[i]));
	free(arr);
	o = json_object_new_object();
	ADD(o, "sort", json_object_new_string(sort));
	ADD(o, "total", json_object_new_uint64(total));
	ADD(o, "unattributed", json_object_new_uint64(d->fleet.units.stats.unattributed));
	ADD(o, "units", list);
	return api_ok(o);
}

static json_object *cmd_watch(struct daemon *d, struct client *c, json_object *args)
{
	c->watching = true;
	return api_ok(json_object_new_string("watching"));
}

typedef json_object *(*cmd_fn)(struct daemon *d, struct client *c, json_object *args);

static const struct {
	const char *name;
	cmd_fn fn;
} commands[] = {
	{ "ping", cmd_ping },
	{ "status", cmd_status },
	{ "top", cmd_top },
	{ "units", cmd_units },
	{ "show", cmd_show },
	{ "exited", cmd_exited },
	{ "events", cmd_events },
	{ "watch", cmd_watch },
	{ "leaks", api_cmd_leaks },
	{ "trace", api_trace },
	{ "oom", api_cmd_oom },
	{ "oom_show", api_cmd_oom_show },
};

json_object *api_handle(void *daemon, struct client *c, json_object *req)
{
	struct daemon *d = daemon;
	json_object *cmd, *args = NULL, *v;

	if (json_object_object_get_ex(req, "v", &v) &&
	    (!json_object_is_type(v, json_type_int) || json_object_get_int(v) != FL_PROTOCOL_VERSION))
		return api_error("bad_version", "this faultlined speaks protocol version %d", FL_PROTOCOL_VERSION);
	if (!json_object_object_get_ex(req, "cmd", &cmd) || !json_object_is_type(cmd, json_type_string))
		return api_error("bad_request", "'cmd' (a string) is required");
	if (json_object_object_get_ex(req, "args", &args) && !json_object_is_type(args, json_type_object) &&
	    !json_object_is_type(args, json_type_null))
		return api_error("bad_request", "'args' must be an object");
	/* The result of a trace is still to come on this connection. */
	if (c && c->tracing)
		return api_error("busy", "this connection is waiting for a trace to end; use another connection");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(json_object_get_string(cmd), commands[i].name))
			return commands[i].fn(d, c, args);
	return api_error("unknown_command", "unknown command '%.64s'", json_object_get_string(cmd));
}
