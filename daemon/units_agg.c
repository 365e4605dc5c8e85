#include "units_agg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void units_agg_init(struct units_agg *ua, uint32_t max_units)
{
	memset(ua, 0, sizeof(*ua));
	ua->max_units = max_units;
}

static void unit_free(struct unit *u)
{
	free(u->path);
	free(u);
}

void units_agg_free(struct units_agg *ua)
{
	struct unit *u, *tmp;

	HASH_ITER(hh, ua->by_path, u, tmp) {
		HASH_DEL(ua->by_path, u);
		unit_free(u);
	}
	ua->stats.units = 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && !memcmp(s + n - k, suffix, k);
}

void unit_names_from_path(const char *path, char *name, size_t nlen, char *slice, size_t slen)
{
	const char *last = strrchr(path, '/'), *p, *seg;
	size_t len;

	slice[0] = 0;
	if (!last || !last[1]) {
		/* The root cgroup is what systemd calls the root slice. */
		snprintf(name, nlen, "-.slice");
		return;
	}
	snprintf(name, nlen, "%s", last + 1);
	/* The nearest enclosing slice: the last *.slice component before the
	 * unit's own. */
	for (seg = path; seg < last; seg = p) {
		while (*seg == '/')
			seg++;
		p = strchr(seg, '/');
		if (!p || p > last)
			p = last;
		len = (size_t)(p - seg);
		if (ends_with(seg, len, ".slice"))
			snprintf(slice, slen, "%.*s", (int)len, seg);
		if (p == last)
			break;
	}
	if (!slice[0] && last == path)
		snprintf(slice, slen, "-.slice"); /* a top-level unit sits in the root slice */
}

struct unit *units_agg_find(struct units_agg *ua, const char *path)
{
	struct unit *u;

	HASH_FIND_STR(ua->by_path, path, u);
	return u;
}

static struct unit *unit_get(struct units_agg *ua, const char *path)
{
	struct unit *u = units_agg_find(ua, path);

	if (u)
		return u;
	if (ua->max_units && ua->stats.units >= ua->max_units) {
		ua->stats.not_tracked++;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u || !(u->path = strdup(path))) {
		free(u);
		ua->stats.not_tracked++;
		return NULL;
	}
	unit_names_from_path(path, u->name, sizeof(u->name), u->slice, sizeof(u->slice));
	HASH_ADD_KEYPTR(hh, ua->by_path, u->path, strlen(u->path), u);
	ua->stats.units++;
	return u;
}

uint64_t unit_rss(const struct unit *u)
{
	return u->rss_anon + u->rss_file + u->rss_shmem;
}

uint64_t unit_oom_kills(const struct unit *u)
{
	uint64_t n = 0;

	for (int i = 0; i < UNIT_OOM_KINDS; i++)
		n += u->oom[i].kills;
	return n;
}

static void clear_round(struct unit *u)
{
	u->procs = 0;
	u->leak_suspects = 0;
	u->rss_anon = u->rss_file = u->rss_shmem = u->swap = 0;
	u->minflt_rate = u->majflt_rate = u->rss_rate = 0;
}

void units_agg_update(struct units_agg *ua, struct proctab *pt, const struct cgcache *cg, uint64_t now_ms,
		      unit_suspect_fn is_suspect, void *ctx)
{
	struct unit *u, *tmp;
	struct proc *p, *ptmp;
	/* The live counters summed this round, per unit (kept apart from the
	 * exported totals, which must never go back). */
	struct live_sum {
		UT_hash_handle hh;
		struct unit *u;
		uint64_t minflt, majflt;
	} *sums = NULL, *s, *stmp;

	ua->stats.unattributed = 0;
	HASH_ITER(hh, ua->by_path, u, tmp)
		clear_round(u);

	HASH_ITER(hh, pt->by_key, p, ptmp) {
		const char *path;

		if (p->state != PROC_LIVE && p->unit_retired)
			continue;
		path = p->memcg_id ? cgcache_get(cg, p->memcg_id) : NULL;
		u = path ? unit_get(ua, path) : NULL;
		if (!u) {
			if (p->state == PROC_LIVE)
				ua->stats.unattributed++;
			p->unit_retired = p->state != PROC_LIVE;
			continue;
		}
		if (p->state != PROC_LIVE) {
			u->retired_minflt += p->cur.min_flt;
			u->retired_majflt += p->cur.maj_flt;
			p->unit_retired = true;
			continue;
		}
		u->procs++;
		u->rss_anon += p->cur.rss_anon;
		u->rss_file += p->cur.rss_file;
		u->rss_shmem += p->cur.rss_shmem;
		u->swap += p->cur.swap;
		u->minflt_rate += p->minflt_rate;
		u->majflt_rate += p->majflt_rate;
		u->rss_rate += p->rss_rate;
		if (is_suspect && is_suspect(p, ctx))
			u->leak_suspects++;
		HASH_FIND_PTR(sums, &u, s);
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s)
				continue; /* this round's totals stay where they were */
			s->u = u;
			HASH_ADD_PTR(sums, u, s);
		}
		s->minflt += p->cur.min_flt;
		s->majflt += p->cur.maj_flt;
	}

	HASH_ITER(hh, ua->by_path, u, tmp) {
		uint64_t mn = u->retired_minflt, mj = u->retired_majflt;

		HASH_FIND_PTR(sums, &u, s);
		if (s) {
			mn += s->minflt;
			mj += s->majflt;
		}
		/* A process that moved to another cgroup takes its counts with
		 * it; the unit it left keeps the total it had shown. */
		if (mn > u->minflt)
			u->minflt = mn;
		if (mj > u->majflt)
			u->majflt = mj;
		if (u->procs) {
			u->idle_since_ms = 0;
		} else if (!u->idle_since_ms) {
			u->idle_since_ms = now_ms ? now_ms : 1;
		} else if (now_ms - u->idle_since_ms >= UNIT_IDLE_FORGET_MS) {
			HASH_DEL(ua->by_path, u);
			unit_free(u);
			ua->stats.units--;
			ua->stats.forgotten++;
		}
	}
	HASH_ITER(hh, sums, s, stmp) {
		HASH_DEL(sums, s);
		free(s);
	}
}

void units_agg_oom(struct units_agg *ua, const char *path, const char *constraint, uint64_t now_ms)
{
	struct unit *u = path ? unit_get(ua, path) : NULL;
	int free_slot = -1, i;

	if (!u) {
		ua->stats.oom_unattributed++;
		return;
	}
	if (!constraint || !*constraint)
		constraint = "unknown";
	for (i = 0; i < UNIT_OOM_KINDS; i++) {
		if (!strcmp(u->oom[i].constraint, constraint))
			break;
		if (!u->oom[i].constraint[0] && free_slot < 0)
			free_slot = i;
	}
	if (i == UNIT_OOM_KINDS) {
		/* More kinds than slots cannot happen with the kernel's four
		 * constraints; fold a fifth into the last slot rather than lose it. */
		i = free_slot >= 0 ? free_slot : UNIT_OOM_KINDS - 1;
		if (!u->oom[i].constraint[0])
			snprintf(u->oom[i].constraint, sizeof(u->oom[i].constraint), "%s", constraint);
	}
	u->oom[i].kills++;
	/* A unit whose only process was just killed is idle from now. */
	if (!u->procs && !u->idle_since_ms)
		u->idle_since_ms = now_ms ? now_ms : 1;
}

static int cmp_unit_rss(const void *a, const void *b)
{
	const struct unit *x = *(struct unit *const *)a, *y = *(struct unit *const *)b;
	uint64_t rx = unit_rss(x), ry = unit_rss(y);

	if (rx != ry)
		return rx > ry ? -1 : 1;
	return strcmp(x->path, y->path);
}

size_t units_agg_sorted(struct units_agg *ua, struct unit **out, size_t max)
{
	struct unit *u, *tmp;
	size_t n = 0;

	HASH_ITER(hh, ua->by_path, u, tmp) {
		if (n == max)
			break;
		out[n++] = u;
	}
	qsort(out, n, sizeof(*out), cmp_unit_rss);
	return n;
}
