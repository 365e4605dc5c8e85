#include "report.h"

#include <stdlib.h>

#include "procfs.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)
#define U64(x) json_object_new_uint64(x)
#define I64(x) json_object_new_int64(x)
#define DBL(x) json_object_new_double(x)
#define STR(x) json_object_new_string(x)

static void add_cgroup(json_object *o, const struct proc *p, const struct cgcache *cg)
{
	const char *path = cg ? cgcache_get(cg, p->memcg_id) : NULL;

	ADD(o, "memcg_id", U64(p->memcg_id));
	ADD(o, "cgroup", path ? STR(path) : NULL);
	ADD(o, "unit", path ? STR(cgroup_unit_name(path)) : NULL);
}

json_object *report_proc(const struct proc *p, const struct cgcache *cg)
{
	json_object *o = json_object_new_object();

	ADD(o, "pid", U64(p->key.tgid));
	ADD(o, "start_ns", U64(p->key.start_ns));
	ADD(o, "comm", STR(p->comm));
	ADD(o, "state", STR(p->state == PROC_LIVE ? "live" : "exited"));
	ADD(o, "ppid", U64(p->ppid));
	ADD(o, "uid", U64(p->uid));
	ADD(o, "threads", U64(p->nr_threads));
	ADD(o, "rss_known", json_object_new_boolean(p->rss_known));
	ADD(o, "rss", U64(proc_rss(p)));
	ADD(o, "rss_anon", U64(p->cur.rss_anon));
	ADD(o, "rss_file", U64(p->cur.rss_file));
	ADD(o, "rss_shmem", U64(p->cur.rss_shmem));
	ADD(o, "swap", U64(p->cur.swap));
	ADD(o, "vm", U64(p->cur.vm));
	ADD(o, "heap", U64(p->cur.heap));
	ADD(o, "minflt", U64(p->cur.min_flt));
	ADD(o, "majflt", U64(p->cur.maj_flt));
	ADD(o, "minflt_rate", DBL(p->minflt_rate));
	ADD(o, "majflt_rate", DBL(p->majflt_rate));
	ADD(o, "rss_rate", DBL(p->rss_rate));
	ADD(o, "anon_rate", DBL(p->anon_rate));
	ADD(o, "leak_class", STR(leak_class_name(p->leak.cls)));
	add_cgroup(o, p, cg);
	return o;
}

json_object *report_mm_stats(const struct fl_mm_stats *mm)
{
	json_object *o = json_object_new_object();

	ADD(o, "brk_calls", U64(mm->brk_calls));
	ADD(o, "brk_grow_bytes", U64(mm->brk_grow_bytes));
	ADD(o, "brk_shrink_bytes", U64(mm->brk_shrink_bytes));
	ADD(o, "mmap_calls", U64(mm->mmap_calls));
	ADD(o, "mmap_anon_bytes", U64(mm->mmap_anon_bytes));
	ADD(o, "mmap_file_bytes", U64(mm->mmap_file_bytes));
	ADD(o, "munmap_calls", U64(mm->munmap_calls));
	ADD(o, "munmap_bytes", U64(mm->munmap_bytes));
	ADD(o, "mremap_calls", U64(mm->mremap_calls));
	ADD(o, "mremap_grow_bytes", U64(mm->mremap_grow_bytes));
	ADD(o, "mremap_shrink_bytes", U64(mm->mremap_shrink_bytes));
	ADD(o, "big_mappings", U64(mm->big_maps));
	return o;
}

json_object *report_history(const struct history *h, size_t max)
{
	json_object *arr = json_object_new_array();
	size_t total = 0, n, first;
	struct hist_sample *s;

	for (int t = 0; t < HIST_TIERS; t++)
		total += history_len(h, t);
	s = calloc(total ? total : 1, sizeof(*s));
	n = s ? history_series(h, s, total) : 0;
	/* The newest max samples, oldest first. */
	first = n > max ? n - max : 0;
	for (size_t i = first; i < n; i++) {
		json_object *o = json_object_new_object();

		ADD(o, "t", U64(s[i].t));
		ADD(o, "anon", U64((uint64_t)s[i].anon_kb << 10));
		ADD(o, "swap", U64((uint64_t)s[i].swap_kb << 10));
		ADD(o, "file", U64((uint64_t)s[i].file_kb << 10));
		ADD(o, "shmem", U64((uint64_t)s[i].shmem_kb << 10));
		ADD(o, "heap", U64((uint64_t)s[i].heap_kb << 10));
		ADD(o, "vm", U64(s[i].vm_kb << 10));
		ADD(o, "owned_min", U64((uint64_t)s[i].owned_min_kb << 10));
		ADD(o, "owned_max", U64((uint64_t)s[i].owned_max_kb << 10));
		ADD(o, "minflt", U64(s[i].min_flt));
		ADD(o, "majflt", U64(s[i].maj_flt));
		json_object_array_add(arr, o);
	}
	free(s);
	return arr;
}

json_object *report_leak(const struct leak_verdict *v)
{
	json_object *o = json_object_new_object(), *wins = json_object_new_array(), *proj = NULL;

	ADD(o, "class", STR(leak_class_name(v->cls)));
	ADD(o, "analysed_at", U64(v->analysed_at));
	ADD(o, "samples", U64(v->samples));
	ADD(o, "span_s", U64(v->span_s));
	ADD(o, "owned", U64(v->owned));
	ADD(o, "slope", DBL(v->slope));
	ADD(o, "growth_start", U64(v->growth_start));
	ADD(o, "growing_for_s", U64(v->growing_for_s));
	ADD(o, "grown", U64(v->grown));
	ADD(o, "heap_delta", I64(v->heap_delta));
	ADD(o, "vm_delta", I64(v->vm_delta));
	ADD(o, "confidence", DBL(v->confidence));
	ADD(o, "reason", STR(v->reason));
	for (int i = 0; i < v->nwin; i++) {
		json_object *w = json_object_new_object();

		ADD(w, "span_s", U64(v->win[i].span_s));
		ADD(w, "covered_s", U64(v->win[i].covered_s));
		ADD(w, "samples", U64(v->win[i].samples));
		ADD(w, "slope", DBL(v->win[i].slope));
		json_object_array_add(wins, w);
	}
	ADD(o, "windows", wins);
	if (v->proj.tte_s >= 0) {
		proj = json_object_new_object();
		ADD(proj, "seconds", DBL(v->proj.tte_s));
		ADD(proj, "at", U64(v->analysed_at + (uint64_t)v->proj.tte_s));
		ADD(proj, "limit_kind", STR(mem_limit_name(v->proj.kind)));
		ADD(proj, "limit", U64(v->proj.limit));
		ADD(proj, "headroom", U64(v->proj.headroom));
		ADD(proj, "rate", DBL(v->proj.rate));
		ADD(proj, "sharers", U64(v->proj.sharers));
		ADD(proj, "cgroup", v->proj.kind == MEM_LIMIT_SYSTEM ? NULL : STR(v->proj.where));
	}
	ADD(o, "exhaustion", proj);
	return o;
}

json_object *report_proc_detail(const struct proc *p, const struct cgcache *cg, size_t max_hist)
{
	json_object *o = report_proc(p, cg);

	ADD(o, "cmdline", p->cmdline ? STR(p->cmdline) : NULL);
	ADD(o, "oom_score_adj", I64(p->oom_score_adj));
	ADD(o, "map_count", U64(p->map_count));
	ADD(o, "pgtables", U64(p->cur.pgtables));
	ADD(o, "peak_rss", U64(p->peak_rss));
	ADD(o, "first_seen", U64(p->first_seen_wall));
	ADD(o, "mapping_syscalls", p->has_mm ? report_mm_stats(&p->mm) : NULL);
	ADD(o, "growth_profile", p->growth_profile ? json_tokener_parse(p->growth_profile) : NULL);
	if (p->state == PROC_EXITED) {
		json_object *e = json_object_new_object();

		ADD(e, "time", U64(p->exit_wall));
		ADD(e, "how", STR(p->exit_how == EXIT_SEEN ? "exit-event" : p->exit_how == EXIT_VANISHED ? "vanished" : "while-daemon-down"));
		/* task->exit_code is a wait status: signal low, code high. */
		ADD(e, "status", I64(p->exit_code));
		ADD(e, "code", I64((p->exit_code >> 8) & 0xff));
		ADD(e, "signal", I64(p->exit_code & 0x7f));
		ADD(o, "exit", e);
	}
	ADD(o, "leak", p->leak.analysed_at ? report_leak(&p->leak) : NULL);
	ADD(o, "history", report_history(&p->hist, max_hist));
	return o;
}

json_object *report_unit(const struct unit *u)
{
	json_object *o = json_object_new_object(), *oom = json_object_new_object();

	ADD(o, "unit", STR(u->name));
	ADD(o, "slice", STR(u->slice));
	ADD(o, "cgroup", STR(u->path));
	ADD(o, "processes", U64(u->procs));
	ADD(o, "rss", U64(unit_rss(u)));
	ADD(o, "rss_anon", U64(u->rss_anon));
	ADD(o, "rss_file", U64(u->rss_file));
	ADD(o, "rss_shmem", U64(u->rss_shmem));
	ADD(o, "swap", U64(u->swap));
	ADD(o, "minflt", U64(u->minflt));
	ADD(o, "majflt", U64(u->majflt));
	ADD(o, "minflt_rate", DBL(u->minflt_rate));
	ADD(o, "majflt_rate", DBL(u->majflt_rate));
	ADD(o, "rss_rate", DBL(u->rss_rate));
	ADD(o, "leak_suspects", U64(u->leak_suspects));
	for (int i = 0; i < UNIT_OOM_KINDS; i++)
		if (u->oom[i].constraint[0])
			ADD(oom, u->oom[i].constraint, U64(u->oom[i].kills));
	ADD(o, "oom_kills", oom);
	return o;
}
