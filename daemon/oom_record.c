#include "oom_record.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "report.h"
#include "units.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)
#define U64(x) json_object_new_uint64(x)
#define I64(x) json_object_new_int64(x)
#define STR(x) json_object_new_string(x)

int oom_blame_pick(struct oom_blame *b, const struct fl_oom_event *e)
{
	uint32_t n = e->nlevels < FL_OOM_LEVELS ? e->nlevels : FL_OOM_LEVELS;

	b->tick++;
	for (uint32_t i = 0; i < n; i++) {
		const struct fl_memcg_level *l = &e->levels[i];
		int slot = -1, lru = 0;

		if (!l->limit || l->usage + OOM_AT_LIMIT_PAGES < l->limit || !l->oom_events)
			continue;
		for (int s = 0; s < OOM_BLAME_SLOTS; s++) {
			if (b->slot[s].used && b->slot[s].id == l->id)
				slot = s;
			if (b->slot[s].used < b->slot[lru].used)
				lru = s;
		}
		/* At its limit, but this group's OOM count has not moved: an
		 * earlier kill of its own, not this one. */
		if (slot >= 0 && b->slot[slot].count >= l->oom_events)
			continue;
		if (slot < 0)
			slot = lru;
		b->slot[slot].id = l->id;
		b->slot[slot].count = l->oom_events;
		b->slot[slot].used = b->tick;
		return (int)i;
	}
	return -1;
}

static void unavailable(json_object *why, const char *field, const char *reason)
{
	ADD(why, field, STR(reason));
}

static struct proc *find_victim(const struct oom_context *c)
{
	const struct fl_oom_event *e = c->ev;
	struct proc *p = NULL;

	if (e->victim_start_ns)
		p = proctab_lookup(c->procs, e->hdr.tgid, e->victim_start_ns);
	else /* classic tracepoint: no start time; the live one with that pid */
		p = proctab_find_pid(c->procs, e->hdr.tgid);
	return p;
}

static json_object *victim_json(const struct oom_context *c, struct proc *p, json_object *why)
{
	const struct fl_oom_event *e = c->ev;
	bool has_task = e->flags & FL_OOM_HAS_VICTIM_TASK;
	uint64_t ps = c->page_size, peak = e->peak_rss_pages * ps;
	json_object *v = json_object_new_object();
	/* Read now if it still can be; the table's copy was read when the
	 * process was first seen, and is stale if it has exec'd since. */
	const char *cmdline = c->victim_cmdline;

	if (!cmdline && p && p->cmdline && !strncmp(p->comm, e->victim_comm, sizeof(p->comm)))
		cmdline = p->cmdline;

	ADD(v, "pid", U64(e->hdr.tgid));
	ADD(v, "tid", U64(e->victim_tid));
	ADD(v, "start_ns", has_task ? U64(e->victim_start_ns) : p ? U64(p->key.start_ns) : NULL);
	ADD(v, "comm", STR(e->victim_comm[0] ? e->victim_comm : p ? p->comm : "?"));
	ADD(v, "cmdline", cmdline ? STR(cmdline) : NULL);
	if (!cmdline)
		unavailable(why, "victim.cmdline", "the process was gone before its command line could be read");
	ADD(v, "uid", U64(e->victim_uid));
	if (has_task) {
		ADD(v, "ppid", U64(e->victim_ppid));
		ADD(v, "threads", U64(e->nr_threads));
	} else {
		ADD(v, "ppid", p ? U64(p->ppid) : NULL);
		ADD(v, "threads", p ? U64(p->nr_threads) : NULL);
		if (!p)
			unavailable(why, "victim.ppid", "classic tracepoint, and faultlined never saw the process");
	}
	ADD(v, "memcg_id", has_task ? U64(e->memcg_id) : p ? U64(p->memcg_id) : NULL);
	ADD(v, "cgroup", c->victim_cgroup ? STR(c->victim_cgroup) : NULL);
	if (!c->victim_cgroup)
		unavailable(why, "victim.cgroup", "the memory cgroup's path could not be found");
	ADD(v, "rss_anon", U64(e->rss_anon * ps));
	ADD(v, "rss_file", U64(e->rss_file * ps));
	ADD(v, "rss_shmem", U64(e->rss_shmem * ps));
	ADD(v, "swap", U64(e->swap_ents * ps));
	ADD(v, "pgtables", U64(e->pgtables_bytes));
	ADD(v, "total_vm", U64(e->total_vm * ps));
	if (p && p->peak_rss > peak)
		peak = p->peak_rss;
	ADD(v, "peak_rss", peak ? U64(peak) : NULL);
	if (!peak)
		unavailable(why, "victim.peak_rss", "classic tracepoint, and faultlined never saw the process");
	ADD(v, "oom_score_adj", I64(e->oom_score_adj));
	return v;
}

static json_object *trigger_json(const struct oom_context *c)
{
	const struct fl_oom_event *e = c->ev;
	json_object *t = json_object_new_object();

	ADD(t, "pid", U64(e->trigger_tgid));
	ADD(t, "tid", U64(e->trigger_pid));
	ADD(t, "comm", STR(e->trigger_comm));
	ADD(t, "memcg_id", U64(e->trigger_memcg_id));
	ADD(t, "cgroup", c->trigger_cgroup ? STR(c->trigger_cgroup) : NULL);
	ADD(t, "is_victim", json_object_new_boolean(e->trigger_tgid == e->hdr.tgid));
	return t;
}

static json_object *constraint_json(const struct oom_context *c, json_object *why)
{
	json_object *k = json_object_new_object();

	if (c->level >= 0) {
		const struct fl_memcg_level *l = &c->ev->levels[c->level];

		ADD(k, "kind", STR("memcg"));
		ADD(k, "cgroup", c->constraint_cgroup ? STR(c->constraint_cgroup) : NULL);
		if (!c->constraint_cgroup)
			unavailable(why, "constraint.cgroup", "the memory cgroup's path could not be found");
		ADD(k, "memcg_id", U64(l->id));
		ADD(k, "limit", U64(l->limit * c->page_size));
		ADD(k, "usage", U64(l->usage * c->page_size));
		ADD(k, "oom_events", U64(l->oom_events));
	} else {
		ADD(k, "kind", STR("system"));
		ADD(k, "mem_total", c->mem_total >= 0 ? I64(c->mem_total) : NULL);
		ADD(k, "mem_available", c->mem_available >= 0 ? I64(c->mem_available) : NULL);
		if (c->mem_total < 0)
			unavailable(why, "constraint.mem_total", "/proc/meminfo could not be read");
		else
			/* Read after the kill freed the victim's memory. */
			ADD(k, "mem_available_read", STR("after the kill"));
	}
	return k;
}

static bool in_scope(const struct oom_context *c, const struct proc *p)
{
	const char *path, *root = c->constraint_cgroup;
	size_t n;

	if (c->level < 0)
		return true;
	if (p->memcg_id == c->ev->levels[c->level].id)
		return true;
	path = cgcache_get(c->cgroups, p->memcg_id);
	if (!path || !root)
		return false;
	n = strlen(root);
	if (n == 1 && root[0] == '/')
		return true;
	return !strncmp(path, root, n) && path[n] == '/';
}

static int by_rss_desc(const void *a, const void *b)
{
	uint64_t x = proc_rss(*(struct proc *const *)a), y = proc_rss(*(struct proc *const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The largest in scope as of the latest snapshot: a process in it that has
 * exited since (the victim, often) still counts. */
static json_object *top_json(const struct oom_context *c)
{
	struct proc *p, *tmp, *best[OOM_TOP_N + 1];
	json_object *arr = json_object_new_array();
	size_t n = 0;

	HASH_ITER(hh, c->procs->by_key, p, tmp) {
		if (p->round != c->procs->round || !p->rss_known || !in_scope(c, p))
			continue;
		/* Keep the N largest: insert, sort, drop the smallest. */
		best[n++] = p;
		qsort(best, n, sizeof(*best), by_rss_desc);
		if (n > OOM_TOP_N)
			n = OOM_TOP_N;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		const char *path = cgcache_get(c->cgroups, best[i]->memcg_id);

		ADD(o, "pid", U64(best[i]->key.tgid));
		ADD(o, "comm", STR(best[i]->comm));
		ADD(o, "rss", U64(proc_rss(best[i])));
		ADD(o, "rss_anon", U64(best[i]->cur.rss_anon));
		ADD(o, "swap", U64(best[i]->cur.swap));
		ADD(o, "cgroup", path ? STR(path) : NULL);
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *history_json(const struct oom_context *c, const struct proc *p, json_object *why)
{
	json_object *h, *t, *rss, *anon, *swap;
	struct hist_sample *s;
	size_t total = 0, n, first, picked = 0;
	uint32_t since = (uint32_t)(c->time_ms / 1000) - OOM_HISTORY_WINDOW_S;

	if (!p) {
		unavailable(why, "history", "faultlined never saw the victim in a snapshot");
		return NULL;
	}
	for (int i = 0; i < HIST_TIERS; i++)
		total += history_len(&p->hist, i);
	s = calloc(total ? total : 1, sizeof(*s));
	if (!s) {
		unavailable(why, "history", "out of memory");
		return NULL;
	}
	n = history_series(&p->hist, s, total);
	for (first = 0; first < n && s[first].t < since; first++)
		;
	h = json_object_new_object();
	t = json_object_new_array();
	rss = json_object_new_array();
	anon = json_object_new_array();
	swap = json_object_new_array();
	/* At most OOM_HISTORY_MAX_SAMPLES, evenly spread, the newest always. */
	for (size_t k = 0; k < OOM_HISTORY_MAX_SAMPLES && first < n; k++) {
		size_t span = n - first, i;

		if (span <= OOM_HISTORY_MAX_SAMPLES)
			i = first + k;
		else
			i = first + (k * (span - 1)) / (OOM_HISTORY_MAX_SAMPLES - 1);
		if (i >= n)
			break;
		json_object_array_add(t, U64(s[i].t));
		json_object_array_add(rss, U64(((uint64_t)s[i].anon_kb + s[i].file_kb + s[i].shmem_kb) << 10));
		json_object_array_add(anon, U64((uint64_t)s[i].anon_kb << 10));
		json_object_array_add(swap, U64((uint64_t)s[i].swap_kb << 10));
		picked++;
	}
	free(s);
	ADD(h, "window_s", U64(OOM_HISTORY_WINDOW_S));
	ADD(h, "first_seen", U64(p->first_seen_wall));
	ADD(h, "samples", U64(picked));
	ADD(h, "t", t);
	ADD(h, "rss", rss);
	ADD(h, "anon", anon);
	ADD(h, "swap", swap);
	return h;
}

/* Whether the victim had been a leak suspect: its last verdict before the
 * kill, and whether a suspect alert was ever raised for it (the verdict may
 * have changed since). */
static json_object *leak_json(const struct proc *p, json_object *why)
{
	json_object *l;

	if (!p) {
		unavailable(why, "leak", "faultlined never saw the victim in a snapshot");
		return NULL;
	}
	if (!p->leak.analysed_at) {
		unavailable(why, "leak", "the victim was not analysed yet (too young for a verdict)");
		return NULL;
	}
	l = json_object_new_object();
	ADD(l, "suspect", json_object_new_boolean(p->leak.cls == LEAK_SUSPECT || p->leak_alerted_suspect));
	ADD(l, "class", STR(leak_class_name(p->leak.cls)));
	ADD(l, "alerted_at", p->leak_alerted_suspect ? U64(p->leak_alerted_suspect) : NULL);
	ADD(l, "verdict", report_leak(&p->leak));
	return l;
}

json_object *oom_outcome_exited(uint64_t time_ms, int32_t exit_code)
{
	json_object *o = json_object_new_object();

	ADD(o, "state", STR("exited"));
	ADD(o, "time_ms", U64(time_ms));
	ADD(o, "signal", I64(exit_code & 0x7f));
	ADD(o, "killed", json_object_new_boolean((exit_code & 0x7f) == 9));
	return o;
}

json_object *oom_outcome_not_seen(uint64_t time_ms)
{
	json_object *o = json_object_new_object();

	ADD(o, "state", STR("not_seen"));
	ADD(o, "time_ms", U64(time_ms));
	return o;
}

json_object *oom_record_build(const struct oom_context *c)
{
	json_object *r = json_object_new_object(), *why = json_object_new_object(), *out;
	struct proc *p = find_victim(c);

	ADD(r, "time_ms", U64(c->time_ms));
	ADD(r, "probe", STR(c->ev->flags & FL_OOM_CLASSIC ? "tracepoint/oom/mark_victim" : "tp_btf/mark_victim"));
	ADD(r, "victim", victim_json(c, p, why));
	ADD(r, "trigger", trigger_json(c));
	ADD(r, "constraint", constraint_json(c, why));
	ADD(r, "top", top_json(c));
	ADD(r, "history", history_json(c, p, why));
	ADD(r, "leak", leak_json(p, why));
	/* The exit event can overtake mark_victim in the ring buffer (the kill
	 * signal is sent first): then the outcome is known at once. */
	if (p && p->state == PROC_EXITED && p->exit_how == EXIT_SEEN)
		out = oom_outcome_exited((uint64_t)p->exit_wall * 1000, p->exit_code);
	else {
		out = json_object_new_object();
		ADD(out, "state", STR("pending"));
	}
	ADD(r, "outcome", out);
	ADD(r, "unavailable", why);
	return r;
}

static const char *sget(json_object *o, const char *k, const char *dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : dflt;
}

static uint64_t uget(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_uint64(v) : 0;
}

void oom_record_message(json_object *rec, char *buf, size_t len)
{
	json_object *v = NULL, *t = NULL, *k = NULL;
	char anon[32], lim[32];
	const char *kind, *where;

	json_object_object_get_ex(rec, "victim", &v);
	json_object_object_get_ex(rec, "trigger", &t);
	json_object_object_get_ex(rec, "constraint", &k);
	kind = sget(k, "kind", "system");
	fmt_bytes(uget(v, "rss_anon"), anon, sizeof(anon));
	if (!strcmp(kind, "memcg")) {
		where = sget(k, "cgroup", sget(v, "cgroup", "an unknown memory cgroup"));
		fmt_bytes(uget(k, "limit"), lim, sizeof(lim));
		snprintf(buf, len, "OOM killer: killed %s (pid %llu, %s anon) in %s, limit %s, triggered by %s (pid %llu)",
			 sget(v, "comm", "?"), (unsigned long long)uget(v, "pid"), anon, where, lim,
			 sget(t, "comm", "?"), (unsigned long long)uget(t, "pid"));
	} else {
		where = sget(v, "cgroup", NULL);
		fmt_bytes(uget(k, "mem_total"), lim, sizeof(lim));
		snprintf(buf, len,
			 "OOM killer: killed %s (pid %llu, %s anon)%s%s, system-wide (MemTotal %s), triggered by %s (pid %llu)",
			 sget(v, "comm", "?"), (unsigned long long)uget(v, "pid"), anon, where ? " in " : "",
			 where ? where : "", lim, sget(t, "comm", "?"), (unsigned long long)uget(t, "pid"));
	}
}

static void field_name(char *out, size_t len, const char *prefix, const char *key)
{
	size_t n = (size_t)snprintf(out, len, "%s_%s", prefix, key);

	/* Journal field names: upper case, digits and '_' only. */
	for (size_t i = 0; i < n && i < len; i++)
		out[i] = isalnum((unsigned char)out[i]) ? (char)toupper((unsigned char)out[i]) : '_';
}

static bool scalar(json_object *v)
{
	return !v || (!json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array));
}

static void walk(json_object *o, const char *prefix, oom_field_fn fn, void *ctx)
{
	char name[128];

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			field_name(name, sizeof(name), prefix, k);
			if (scalar(v)) {
				if (v) /* null fields are named under UNAVAILABLE */
					fn(name, json_object_get_string(v), ctx);
			} else {
				walk(v, name, fn, ctx);
			}
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		bool all_scalar = true;

		for (size_t i = 0; i < n; i++)
			all_scalar &= scalar(json_object_array_get_idx(o, i));
		if (all_scalar) {
			/* One field: the values comma-joined. */
			size_t cap = 64, used = 0;
			char *buf = malloc(cap);

			if (!buf)
				return;
			buf[0] = 0;
			for (size_t i = 0; i < n; i++) {
				json_object *x = json_object_array_get_idx(o, i);
				const char *s = x ? json_object_get_string(x) : "";
				size_t sl = strlen(s);

				if (used + sl + 2 > cap) {
					char *nb = realloc(buf, cap = (used + sl + 2) * 2);
					if (!nb) {
						free(buf);
						return;
					}
					buf = nb;
				}
				used += (size_t)sprintf(buf + used, "%s%s", i ? "," : "", s);
			}
			fn(prefix, buf, ctx);
			free(buf);
		} else {
			for (size_t i = 0; i < n; i++) {
				char idx[24];

				snprintf(idx, sizeof(idx), "%zu", i);
				field_name(name, sizeof(name), prefix, idx);
				walk(json_object_array_get_idx(o, i), name, fn, ctx);
			}
		}
	}
}

void oom_record_fields(json_object *rec, oom_field_fn fn, void *ctx)
{
	walk(rec, "FAULTLINE", fn, ctx);
}
