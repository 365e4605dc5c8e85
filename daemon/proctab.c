#include "proctab.h"

#include <stdlib.h>
#include <string.h>
#include <utlist.h>

void proctab_init(struct proctab *t, uint32_t page_size, uint32_t max_live, uint32_t max_exited)
{
	memset(t, 0, sizeof(*t));
	t->page_size = page_size;
	t->max_live = max_live;
	t->max_exited = max_exited;
}

void proctab_set_max_bytes(struct proctab *t, uint64_t max_bytes)
{
	t->max_bytes = max_bytes;
}

size_t proc_cost(const struct proc *p)
{
	return sizeof(*p) + history_bytes(&p->hist) + (p->cmdline ? strlen(p->cmdline) + 1 : 0) +
	       (p->growth_profile ? strlen(p->growth_profile) + 1 : 0);
}

static void proc_free(struct proctab *t, struct proc *p)
{
	t->mem_bytes -= proc_cost(p);
	history_free(&p->hist);
	free(p->cmdline);
	free(p->growth_profile);
	free(p);
}

void proctab_set_growth_profile(struct proctab *t, struct proc *p, char *json)
{
	t->mem_bytes -= proc_cost(p);
	free(p->growth_profile);
	p->growth_profile = json;
	t->mem_bytes += proc_cost(p);
}

void proctab_set_cmdline(struct proctab *t, struct proc *p, char *cmdline)
{
	t->mem_bytes -= proc_cost(p);
	free(p->cmdline);
	p->cmdline = cmdline;
	t->mem_bytes += proc_cost(p);
}

static void evict_oldest_exited(struct proctab *t)
{
	struct proc *old = t->exited_head;

	DL_DELETE2(t->exited_head, old, exit_prev, exit_next);
	HASH_DEL(t->by_key, old);
	proc_free(t, old);
	t->stats.exited--;
}

/* Room for one more record within max_memory: exited records go first,
 * oldest first. False when only live ones are left. */
static bool make_room(struct proctab *t)
{
	while (t->max_bytes && t->mem_bytes + sizeof(struct proc) > t->max_bytes) {
		if (!t->exited_head)
			return false;
		evict_oldest_exited(t);
		t->stats.evicted_memory++;
	}
	return true;
}

void proctab_free(struct proctab *t)
{
	struct proc *p, *tmp;

	HASH_ITER(hh, t->by_key, p, tmp) {
		HASH_DEL(t->by_key, p);
		proc_free(t, p);
	}
	t->exited_head = NULL;
	t->stats.live = t->stats.exited = 0;
}

uint64_t proc_rss(const struct proc *p)
{
	return p->cur.rss_anon + p->cur.rss_file + p->cur.rss_shmem;
}

void proctab_begin_round(struct proctab *t, uint64_t now_ms, uint32_t now_wall)
{
	t->round++;
	t->now_ms = now_ms;
	t->now_wall = now_wall;
	t->stats.rounds++;
}

static struct proc *proc_new(struct proctab *t, uint32_t tgid, uint64_t start_ns)
{
	struct proc *p;

	if (t->max_live && t->stats.live >= t->max_live) {
		t->stats.dropped_new++;
		return NULL;
	}
	if (!make_room(t)) {
		t->stats.dropped_new++;
		t->stats.dropped_new_memory++;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		t->stats.dropped_new++;
		return NULL;
	}
	p->key.tgid = tgid;
	p->key.start_ns = start_ns;
	p->first_seen_ms = t->now_ms;
	p->first_seen_wall = t->now_wall;
	HASH_ADD(hh, t->by_key, key, sizeof(p->key), p);
	t->mem_bytes += sizeof(*p);
	t->stats.live++;
	t->stats.seen_total++;
	return p;
}

static void update_rates(struct proc *p, const struct proc_counters *prev, uint64_t dt_ms)
{
	double dt = dt_ms / 1000.0;
	double rss_now = p->cur.rss_anon + p->cur.rss_file + p->cur.rss_shmem;
	double rss_prev = prev->rss_anon + prev->rss_file + prev->rss_shmem;

	if (dt <= 0)
		return;
	/* Counters only grow; a smaller value would be a kernel-side reset we
	 * must not turn into a huge unsigned rate. */
	p->minflt_rate = p->cur.min_flt >= prev->min_flt ? (p->cur.min_flt - prev->min_flt) / dt : 0;
	p->majflt_rate = p->cur.maj_flt >= prev->maj_flt ? (p->cur.maj_flt - prev->maj_flt) / dt : 0;
	p->rss_rate = (rss_now - rss_prev) / dt;
	p->anon_rate = ((double)p->cur.rss_anon - (double)prev->rss_anon) / dt;
}

static void record_sample(struct proctab *t, struct proc *p)
{
	struct hist_sample s = {
		.t = t->now_wall,
		.anon_kb = p->cur.rss_anon >> 10,
		.swap_kb = p->cur.swap >> 10,
		.file_kb = p->cur.rss_file >> 10,
		.shmem_kb = p->cur.rss_shmem >> 10,
		.heap_kb = p->cur.heap >> 10,
		.vm_kb = p->cur.vm >> 10,
		.min_flt = p->cur.min_flt,
		.maj_flt = p->cur.maj_flt,
	};

	size_t before = history_bytes(&p->hist);
	bool grow = true;

	/* Over the budget: exited records go first; if that is not enough,
	 * histories stop growing (they keep their newest samples). */
	if (t->max_bytes && t->mem_bytes > t->max_bytes && !make_room(t)) {
		grow = false;
		t->stats.history_capped++;
	}
	if ((grow ? history_add : history_add_no_grow)(&p->hist, &s))
		t->stats.history_oom++;
	t->mem_bytes += history_bytes(&p->hist) - before;
}

struct proc *proctab_apply(struct proctab *t, const struct fl_proc_rec *r, bool *is_new)
{
	struct proc_key key = { .tgid = r->tgid, .start_ns = r->start_ns };
	struct proc_counters prev;
	uint64_t ps = t->page_size;
	struct proc *p;

	*is_new = false;
	HASH_FIND(hh, t->by_key, &key, sizeof(key), p);
	if (p && p->state != PROC_LIVE)
		return p; /* its exit event came first; the snapshot is stale */
	if (!p) {
		p = proc_new(t, r->tgid, r->start_ns);
		if (!p)
			return NULL;
		*is_new = true;
	}
	prev = p->cur;
	/* A new name in the same process: an exec (its command line is new). */
	p->comm_changed = !*is_new && strncmp(p->comm, r->comm, sizeof(p->comm) - 1) != 0;
	memcpy(p->comm, r->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = 0;
	p->ppid = r->ppid;
	p->uid = r->uid;
	p->nr_threads = r->nr_threads;
	p->oom_score_adj = r->oom_score_adj;
	p->memcg_id = r->memcg_id;
	p->cur.min_flt = r->min_flt;
	p->cur.maj_flt = r->maj_flt;
	if (!(r->flags & FL_PROC_NO_MM)) {
		p->cur.rss_anon = r->rss_anon * ps;
		p->cur.rss_file = r->rss_file * ps;
		p->cur.rss_shmem = r->rss_shmem * ps;
		p->cur.swap = r->swap_ents * ps;
		p->cur.vm = r->total_vm * ps;
		p->cur.heap = r->heap_bytes;
		p->cur.pgtables = r->pgtables_bytes;
		p->map_count = r->map_count;
		p->rss_known = true;
	}
	if (r->flags & FL_PROC_HAS_MM_STATS) {
		p->mm = r->mm;
		p->has_mm = true;
	}
	if (proc_rss(p) > p->peak_rss)
		p->peak_rss = proc_rss(p);
	/* A restored record's last sighting was before the restart: no rate
	 * over a gap the daemon did not watch. */
	if (!*is_new && !p->restored)
		update_rates(p, &prev, t->now_ms - p->last_seen_ms);
	p->restored = false;
	p->last_seen_ms = t->now_ms;
	p->round = t->round;
	p->missed_rounds = 0;
	record_sample(t, p);
	return p;
}

static void evict_exited(struct proctab *t)
{
	while (t->max_exited && t->stats.exited > t->max_exited && t->exited_head) {
		evict_oldest_exited(t);
		t->stats.exited_evicted++;
	}
}

static void mark_exited(struct proctab *t, struct proc *p, enum proc_exit_how how, uint32_t wall)
{
	p->state = PROC_EXITED;
	p->exit_how = how;
	p->exit_wall = wall;
	p->minflt_rate = p->majflt_rate = p->rss_rate = p->anon_rate = 0;
	t->stats.live--;
	t->stats.exited++;
	DL_APPEND2(t->exited_head, p, exit_prev, exit_next);
}

void proctab_end_round(struct proctab *t)
{
	struct proc *p, *tmp;

	/* Eviction frees records; it must not run inside the iteration, where
	 * the next element (tmp) could be the one freed. */
	HASH_ITER(hh, t->by_key, p, tmp) {
		if (p->state != PROC_LIVE || p->round == t->round)
			continue;
		if (p->restored) {
			/* Its exit happened while no one was watching: no event
			 * will come, and waiting would only blur the record. */
			p->restored = false;
			t->stats.exited_while_down++;
			mark_exited(t, p, EXIT_WHILE_DOWN, t->now_wall);
		} else if (++p->missed_rounds >= PROCTAB_VANISH_ROUNDS) {
			t->stats.exits_vanished++;
			mark_exited(t, p, EXIT_VANISHED, t->now_wall);
		}
	}
	evict_exited(t);
}

struct proc *proctab_exit(struct proctab *t, const struct fl_exit_event *e, uint64_t now_ms,
			  uint32_t now_wall)
{
	struct proc_key key = { .tgid = e->hdr.tgid, .start_ns = e->start_ns };
	struct proc *p;

	HASH_FIND(hh, t->by_key, &key, sizeof(key), p);
	if (p && p->state != PROC_LIVE)
		return p; /* duplicate: two threads saw live == 0 */
	if (!p) {
		/* Lived and died between two snapshots. The exited list has
		 * its own cap, so this never counts against max_live. */
		if (!make_room(t)) {
			t->stats.dropped_new++;
			t->stats.dropped_new_memory++;
			return NULL;
		}
		p = calloc(1, sizeof(*p));
		if (!p) {
			t->stats.dropped_new++;
			return NULL;
		}
		p->key = key;
		p->first_seen_ms = now_ms;
		p->first_seen_wall = now_wall;
		HASH_ADD(hh, t->by_key, key, sizeof(p->key), p);
		t->mem_bytes += sizeof(*p);
		t->stats.seen_total++;
		t->stats.live++; /* mark_exited moves it to exited */
		memcpy(p->comm, e->comm, sizeof(p->comm));
		p->comm[sizeof(p->comm) - 1] = 0;
		p->ppid = e->ppid;
		p->uid = e->uid;
	}
	p->cur.min_flt = e->min_flt;
	p->cur.maj_flt = e->maj_flt;
	if (e->has_mm_stats) {
		p->mm = e->mm;
		p->has_mm = true;
	}
	if (e->maxrss_pages * t->page_size > p->peak_rss)
		p->peak_rss = e->maxrss_pages * t->page_size;
	p->exit_code = e->exit_code;
	p->last_seen_ms = now_ms;
	t->stats.exits_seen++;
	p->restored = false;
	mark_exited(t, p, EXIT_SEEN, now_wall);
	evict_exited(t);
	/* Evicted at once when exited_keep is 0. */
	return proctab_lookup(t, key.tgid, key.start_ns);
}

struct proc *proctab_restore(struct proctab *t, struct proc *tmpl)
{
	struct proc *p;

	HASH_FIND(hh, t->by_key, &tmpl->key, sizeof(tmpl->key), p);
	if (p)
		return NULL;
	if (tmpl->state == PROC_LIVE && t->max_live && t->stats.live >= t->max_live)
		return NULL;
	if (!make_room(t))
		return NULL;
	p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	*p = *tmpl;
	memset(&p->hh, 0, sizeof(p->hh));
	p->exit_prev = p->exit_next = NULL;
	/* Not kept in the state file: a restored process starts without one. */
	p->growth_profile = NULL;
	p->profile_state = PROFILE_NONE;
	p->round = 0;
	p->missed_rounds = 0;
	p->first_seen_ms = p->last_seen_ms = t->now_ms;
	p->minflt_rate = p->majflt_rate = p->rss_rate = p->anon_rate = 0;
	/* Ownership moved to the table. */
	memset(&tmpl->hist, 0, sizeof(tmpl->hist));
	tmpl->cmdline = NULL;
	HASH_ADD(hh, t->by_key, key, sizeof(p->key), p);
	t->mem_bytes += proc_cost(p);
	if (p->state == PROC_LIVE) {
		p->restored = true;
		t->stats.live++;
	} else {
		p->restored = false;
		t->stats.exited++;
		DL_APPEND2(t->exited_head, p, exit_prev, exit_next);
		evict_exited(t);
	}
	return p;
}

struct proc *proctab_lookup(struct proctab *t, uint32_t tgid, uint64_t start_ns)
{
	struct proc_key key = { .tgid = tgid, .start_ns = start_ns };
	struct proc *p;

	HASH_FIND(hh, t->by_key, &key, sizeof(key), p);
	return p;
}

struct proc *proctab_find_pid(struct proctab *t, uint32_t tgid)
{
	struct proc *p, *tmp, *best = NULL;

	/* Linear: only for one-off queries (show PID), never per event. */
	HASH_ITER(hh, t->by_key, p, tmp) {
		if (p->key.tgid != tgid)
			continue;
		if (p->state == PROC_LIVE)
			return p;
		/* This boot's records first (gen 0), then the newest start. */
		if (!best || p->key.gen < best->key.gen ||
		    (p->key.gen == best->key.gen && p->key.start_ns > best->key.start_ns))
			best = p;
	}
	return best;
}

size_t proctab_sorted(struct proctab *t, bool exited, proc_cmp_fn cmp, struct proc **out, size_t max)
{
	struct proc *p, *tmp;
	size_t n = 0;

	HASH_ITER(hh, t->by_key, p, tmp) {
		if ((p->state == PROC_EXITED) != exited)
			continue;
		if (n == max)
			break;
		out[n++] = p;
	}
	if (cmp)
		qsort(out, n, sizeof(*out), cmp);
	return n;
}

#define DESC(a, b) ((a) < (b) ? 1 : (a) > (b) ? -1 : 0)
#define PROC_A (*(const struct proc *const *)a)
#define PROC_B (*(const struct proc *const *)b)

static int tiebreak(const struct proc *a, const struct proc *b)
{
	return a->key.tgid < b->key.tgid ? -1 : a->key.tgid > b->key.tgid;
}

int proc_cmp_rss(const void *a, const void *b)
{
	int c = DESC(proc_rss(PROC_A), proc_rss(PROC_B));
	return c ? c : tiebreak(PROC_A, PROC_B);
}

int proc_cmp_minflt_rate(const void *a, const void *b)
{
	int c = DESC(PROC_A->minflt_rate, PROC_B->minflt_rate);
	return c ? c : proc_cmp_rss(a, b);
}

int proc_cmp_majflt_rate(const void *a, const void *b)
{
	int c = DESC(PROC_A->majflt_rate, PROC_B->majflt_rate);
	return c ? c : proc_cmp_rss(a, b);
}

int proc_cmp_growth(const void *a, const void *b)
{
	int c = DESC(PROC_A->rss_rate, PROC_B->rss_rate);
	return c ? c : proc_cmp_rss(a, b);
}

int proc_cmp_vm(const void *a, const void *b)
{
	int c = DESC(PROC_A->cur.vm, PROC_B->cur.vm);
	return c ? c : tiebreak(PROC_A, PROC_B);
}

int proc_cmp_exit_newest(const void *a, const void *b)
{
	int c = DESC(PROC_A->exit_wall, PROC_B->exit_wall);
	return c ? c : DESC(PROC_A->last_seen_ms, PROC_B->last_seen_ms);
}

proc_cmp_fn proc_cmp_by_name(const char *name)
{
	static const struct {
		const char *name;
		proc_cmp_fn fn;
	} keys[] = {
		{ "rss", proc_cmp_rss },
		{ "minflt-rate", proc_cmp_minflt_rate },
		{ "majflt-rate", proc_cmp_majflt_rate },
		{ "growth", proc_cmp_growth },
		{ "vm", proc_cmp_vm },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(name, keys[i].name))
			return keys[i].fn;
	return NULL;
}
