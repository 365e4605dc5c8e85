#include "leak_watch.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

void leak_params_from_config(const struct fl_config *c, struct leak_params *p)
{
	leak_params_defaults(p);
	p->min_duration_s = (uint32_t)(c->leak_min_duration_ms / 1000);
	p->min_growth = c->leak_min_growth;
	p->min_confidence = c->leak_min_confidence / 100.0;
	p->nwindows = 0;
	for (int i = 0; i < FL_LEAK_WINDOWS && i < LEAK_MAX_WINDOWS && c->leak_windows_ms[i]; i++)
		p->window_s[p->nwindows++] = (uint32_t)(c->leak_windows_ms[i] / 1000);
}

void leak_watch_init(struct leak_watch *w, const struct leak_params *prm, const char *sys_cgroup_root,
		     const char *proc_root)
{
	memset(w, 0, sizeof(*w));
	w->params = *prm;
	w->memcg_kind = limits_memcg_root(sys_cgroup_root, w->memcg_root, sizeof(w->memcg_root));
	snprintf(w->proc_root, sizeof(w->proc_root), "%s", proc_root);
	if (w->memcg_kind == MEM_LIMIT_NONE)
		log_info("no memory cgroup controller under %s: leak projections use the system's memory only",
			 sys_cgroup_root);
}

void leak_watch_free(struct leak_watch *w)
{
	free(w->growers);
	free(w->grower_limits);
	free(w->grower_limit_idx);
	free(w->limits);
	free(w->limit_ids);
	free(w->suspects);
	memset(w, 0, sizeof(*w));
}

static int reserve(struct leak_watch *w, size_t n)
{
	size_t cap = w->cap ? w->cap : 16;
	void *a, *b, *c, *d, *e;

	if (n <= w->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	a = realloc(w->growers, cap * sizeof(*w->growers));
	if (a)
		w->growers = a;
	b = realloc(w->grower_limits, cap * sizeof(*w->grower_limits));
	if (b)
		w->grower_limits = b;
	c = realloc(w->limits, cap * sizeof(*w->limits));
	if (c)
		w->limits = c;
	d = realloc(w->limit_ids, cap * sizeof(*w->limit_ids));
	if (d)
		w->limit_ids = d;
	e = realloc(w->grower_limit_idx, cap * sizeof(*w->grower_limit_idx));
	if (e)
		w->grower_limit_idx = e;
	if (!a || !b || !c || !d || !e)
		return -ENOMEM;
	w->cap = cap;
	return 0;
}

static void add_suspect(struct leak_watch *w, struct proc *p)
{
	if (w->nsuspects == w->suspects_cap) {
		size_t cap = w->suspects_cap ? w->suspects_cap * 2 : 16;
		struct proc **n = realloc(w->suspects, cap * sizeof(*n));

		if (!n)
			return; /* listed next round; alerts wait, nothing else */
		w->suspects = n;
		w->suspects_cap = cap;
	}
	w->suspects[w->nsuspects++] = p;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

/* The index in limits[] of memcg id's tightest limit, read once per round
 * per cgroup; SIZE_MAX when it has none. (Indices, not pointers: limits[]
 * may move while the round grows it.) */
static size_t memcg_limit(struct leak_watch *w, size_t *nlimits, uint64_t id, const struct cgcache *cg)
{
	const char *path;
	struct mem_limit *l;
	int r;

	for (size_t i = 0; i < *nlimits; i++)
		if (w->limit_ids[i] == id)
			return w->limits[i].kind == MEM_LIMIT_NONE ? SIZE_MAX : i;
	path = cgcache_get(cg, id);
	if (!path || w->memcg_kind == MEM_LIMIT_NONE)
		return SIZE_MAX;
	l = &w->limits[*nlimits];
	w->limit_ids[(*nlimits)++] = id;
	memset(l, 0, sizeof(*l));
	r = limits_memcg(w->memcg_kind, w->memcg_root, path, l);
	if (r && r != -ENOENT) {
		w->stats.limit_errors++;
		log_debug("memory limit of cgroup %s: %s", path, strerror(-r));
	}
	if (r)
		l->kind = MEM_LIMIT_NONE;
	return r ? SIZE_MAX : *nlimits - 1;
}

void leak_watch_round(struct leak_watch *w, struct proctab *t, const struct cgcache *cg)
{
	uint64_t t0 = mono_us();
	size_t ng = 0, nl = 0, nprocs = 0;
	struct proc *p, *tmp;
	int r;

	memset(w->stats.by_class, 0, sizeof(w->stats.by_class));
	w->nsuspects = 0;
	HASH_ITER(hh, t->by_key, p, tmp) {
		if (p->state != PROC_LIVE || !p->rss_known)
			continue;
		p->leak_prev = p->leak.cls;
		leak_analyse_history(&p->hist, &w->params, &p->leak);
		w->stats.by_class[p->leak.cls]++;
		nprocs++;
		if (p->leak.cls == LEAK_SUSPECT)
			add_suspect(w, p);
		if (!leak_is_grower(&p->leak))
			continue;
		if (reserve(w, ng + 1))
			break; /* out of memory: the rest go unprojected this round */
		w->growers[ng] = &p->leak;
		w->grower_limit_idx[ng] = p->memcg_id ? memcg_limit(w, &nl, p->memcg_id, cg) : SIZE_MAX;
		ng++;
	}
	for (size_t i = 0; i < ng; i++)
		w->grower_limits[i] = w->grower_limit_idx[i] == SIZE_MAX ? NULL : &w->limits[w->grower_limit_idx[i]];
	if (ng) {
		r = limits_system(w->proc_root, &w->system);
		if (r) {
			w->stats.limit_errors++;
			w->system.kind = MEM_LIMIT_NONE;
		}
		leak_project(w->growers, w->grower_limits, ng, &w->system);
	}
	w->stats.rounds++;
	w->stats.analysed += nprocs;
	w->stats.last_procs = nprocs;
	w->stats.last_us = mono_us() - t0;
}
