// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Always-on event programs: what the kernel does not count for us.
 *  - sched_process_exit: the final counters of a process whose last thread
 *    exits, so a process shorter than one interval is still seen;
 *  - brk/mmap/munmap/mremap: totals per tgid in mm_stats, an event only for a
 *    single mapping at or above big_map_bytes;
 *  - oom/mark_victim: the OOM killer's choice, and who was allocating.
 * Syscalls use the per-syscall classic tracepoints: they run only for these
 * four syscalls, where raw sys_enter/sys_exit would run on every syscall.
 */
#include "task.bpf.h"
#include "maps.bpf.h"
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u64 big_map_bytes = 64ull << 20;
/* Wake the reader only once this much is waiting; a timer drains the rest. */
const volatile __u64 wake_bytes = 64 << 10;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Events lost because the ring buffer was full, per kind. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_DROP_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Processes whose mapping totals could not be kept (mm_stats full). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} mm_stats_full SEC(".maps");

#define MAP_ANONYMOUS 0x20
#define PAGE_ALIGN(x) (((x) + 4095) & ~4095ull)
#define IS_ERR_VALUE(x) ((unsigned long)(x) >= (unsigned long)-4095)

static __always_inline void count_drop(__u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &kind);

	if (n)
		*n += 1;
}

/* The last OOM_RESERVE bytes of the ring are for OOM events: an exit storm
 * (thousands of processes ending at once, as an OOM kill of a process tree
 * causes) must not fill the ring just before the one event a person is
 * paged for. Other kinds are dropped, and counted, past that point. */
#define OOM_RESERVE (16 << 10)

static __always_inline void *reserve(__u64 size, __u32 kind)
{
	void *e;

	if (kind != FL_EV_OOM_VICTIM &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size + OOM_RESERVE >
		    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE)) {
		count_drop(kind);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		count_drop(kind);
	return e;
}

/* No wake-up per event (DESIGN.md): the reader is woken when wake_bytes are
 * waiting, or at once for events a person must hear about now. */
static __always_inline void submit(void *e, bool urgent)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (urgent || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wake_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* The caller's totals. The entry is deleted when the process exits, so a
 * tgid found here is this process: its start time is read only to create an
 * entry, which keeps the per-call cost to one hash lookup. */
static __always_inline struct fl_mm_stats *stats_for_current(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct fl_mm_stats *st = bpf_map_lookup_elem(&mm_stats, &tgid);

	if (st)
		return st;
	struct fl_mm_stats fresh = { .start_ns = task_start_ns((void *)bpf_get_current_task()) };
	/* NOEXIST: another thread may have created it meanwhile. */
	bpf_map_update_elem(&mm_stats, &tgid, &fresh, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&mm_stats, &tgid);
	if (!st) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&mm_stats_full, &zero);
		if (n)
			*n += 1;
	}
	return st;
}

static __always_inline void big_map_event(__u64 bytes, __u64 addr, __u32 kind)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fl_big_map_event *e;

	e = reserve(sizeof(*e), FL_EV_BIG_MAP);
	if (!e)
		return;
	e->hdr.kind = FL_EV_BIG_MAP;
	e->hdr.tgid = bpf_get_current_pid_tgid() >> 32;
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->start_ns = task_start_ns(task);
	e->bytes = bytes;
	e->addr = addr;
	e->map_kind = kind;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	submit(e, false);
}

/* brk returns the new break, and the old one is the break after this
 * process's previous brk call (kept in mm_stats), so no entry program is
 * needed. The first call seen for a process (or after an exec, which starts
 * a new heap) only sets the baseline: for a process started under faultlined
 * that is the C library's initial brk(0) query. */
SEC("tracepoint/syscalls/sys_exit_brk")
int sys_exit_brk(struct trace_event_raw_sys_exit *ctx)
{
	struct fl_mm_stats *st;
	__u64 new_brk = ctx->ret, old_brk, mm;

	if (!(st = stats_for_current()))
		return 0;
	__sync_fetch_and_add(&st->brk_calls, 1);
	mm = (__u64)bpf_get_current_task_btf()->mm;
	old_brk = st->last_brk_mm == mm ? st->last_brk : 0;
	st->last_brk = new_brk;
	st->last_brk_mm = mm;
	if (!old_brk)
		return 0;
	if (new_brk > old_brk) {
		__sync_fetch_and_add(&st->brk_grow_bytes, new_brk - old_brk);
		if (new_brk - old_brk >= big_map_bytes) {
			__sync_fetch_and_add(&st->big_maps, 1);
			big_map_event(new_brk - old_brk, old_brk, FL_MAP_BRK);
		}
	} else if (new_brk < old_brk) {
		__sync_fetch_and_add(&st->brk_shrink_bytes, old_brk - new_brk);
	}
	return 0;
}

/* No entry programs: at sys_exit the task's saved user registers still hold
 * the arguments (the syscall ABI preserves them), so one program per call
 * does the work of two, with no pending-arguments map update per call, and
 * the sys_enter tracepoint stays unused. */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int sys_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	struct fl_mm_stats *st;
	__u64 len, flags;

	if (IS_ERR_VALUE(ctx->ret) || !(st = stats_for_current()))
		return 0;
	regs = syscall_regs();
	len = PAGE_ALIGN(PT_REGS_PARM2_SYSCALL(regs));
	flags = PT_REGS_PARM4_SYSCALL(regs);
	__sync_fetch_and_add(&st->mmap_calls, 1);
	if (flags & MAP_ANONYMOUS)
		__sync_fetch_and_add(&st->mmap_anon_bytes, len);
	else
		__sync_fetch_and_add(&st->mmap_file_bytes, len);
	if (len >= big_map_bytes) {
		__sync_fetch_and_add(&st->big_maps, 1);
		big_map_event(len, ctx->ret, (flags & MAP_ANONYMOUS) ? FL_MAP_MMAP_ANON : FL_MAP_MMAP_FILE);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int sys_exit_munmap(struct trace_event_raw_sys_exit *ctx)
{
	struct fl_mm_stats *st;

	if (ctx->ret != 0 || !(st = stats_for_current()))
		return 0;
	__sync_fetch_and_add(&st->munmap_calls, 1);
	__sync_fetch_and_add(&st->munmap_bytes, PAGE_ALIGN(PT_REGS_PARM2_SYSCALL(syscall_regs())));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int sys_exit_mremap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	struct fl_mm_stats *st;
	__u64 old_len, new_len;

	if (IS_ERR_VALUE(ctx->ret) || !(st = stats_for_current()))
		return 0;
	regs = syscall_regs();
	old_len = PAGE_ALIGN(PT_REGS_PARM2_SYSCALL(regs));
	new_len = PAGE_ALIGN(PT_REGS_PARM3_SYSCALL(regs));
	__sync_fetch_and_add(&st->mremap_calls, 1);
	if (new_len > old_len) {
		__sync_fetch_and_add(&st->mremap_grow_bytes, new_len - old_len);
		if (new_len - old_len >= big_map_bytes) {
			__sync_fetch_and_add(&st->big_maps, 1);
			big_map_event(new_len - old_len, ctx->ret, FL_MAP_MREMAP);
		}
	} else if (old_len > new_len) {
		__sync_fetch_and_add(&st->mremap_shrink_bytes, old_len - new_len);
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	struct task_struct *leader;
	struct fl_exit_event *e;
	struct fl_mm_stats *st;
	__u32 tgid;

	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return 0;
	/* Only the last thread: signal->live reached zero before this point. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;

	tgid = BPF_CORE_READ(task, tgid);
	e = reserve(sizeof(*e), FL_EV_EXIT);
	if (!e) {
		/* Counted as dropped; the totals must still go, or a reused
		 * tgid would inherit them. */
		bpf_map_delete_elem(&mm_stats, &tgid);
		return 0;
	}
	leader = BPF_CORE_READ(task, group_leader);
	e->hdr.kind = FL_EV_EXIT;
	e->hdr.tgid = tgid;
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->start_ns = BPF_CORE_READ(leader, start_boottime);
	/* Reaped threads are in signal->*_flt; this task's own counters are
	 * not yet, nor a zombie leader's when another thread exits last. */
	e->min_flt = BPF_CORE_READ(task, signal, min_flt) + BPF_CORE_READ(task, min_flt);
	e->maj_flt = BPF_CORE_READ(task, signal, maj_flt) + BPF_CORE_READ(task, maj_flt);
	if (leader != task) {
		e->min_flt += BPF_CORE_READ(leader, min_flt);
		e->maj_flt += BPF_CORE_READ(leader, maj_flt);
	}
	e->maxrss_pages = BPF_CORE_READ(task, signal, maxrss);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = BPF_CORE_READ(task, cred, uid.val);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), leader->comm);

	e->has_mm_stats = 0;
	__builtin_memset(&e->mm, 0, sizeof(e->mm));
	st = bpf_map_lookup_elem(&mm_stats, &tgid);
	if (st && st->start_ns == e->start_ns) {
		__builtin_memcpy(&e->mm, st, sizeof(e->mm));
		e->has_mm_stats = 1;
	}
	if (st)
		bpf_map_delete_elem(&mm_stats, &tgid);
	submit(e, false);
	return 0;
}

/* The memory cgroup css of a task (NULL when memcg is off). */
static __always_inline struct cgroup_subsys_state *task_memcg_css(struct task_struct *task)
{
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct css_set *cgroups = BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css = NULL;

	if (!cgroups || id < 0 || id >= 16)
		return NULL;
	bpf_core_read(&css, sizeof(css), &cgroups->subsys[id]);
	return css;
}

/* From the allocating task's memcg up to the root: usage, limit and the
 * group's own OOM count of each. mem_cgroup_oom() counts MEMCG_OOM on the
 * group whose limit was hit before it picks a victim, so the daemon can tell
 * which level (if any) this kill belongs to. */
static __always_inline void fill_memcg_levels(struct fl_oom_event *e, struct task_struct *task)
{
	struct cgroup_subsys_state *css = task_memcg_css(task);
	int oom_idx = bpf_core_enum_value(enum memcg_memory_event, MEMCG_OOM);
	__u32 n = 0;

	for (int i = 0; i < FL_OOM_LEVELS; i++) {
		struct mem_cgroup *memcg;
		struct fl_memcg_level *l;
		long v = 0;

		if (!css)
			break;
		/* css is the first member of struct mem_cgroup. */
		memcg = (void *)css - bpf_core_field_offset(struct mem_cgroup, css);
		l = &e->levels[i & (FL_OOM_LEVELS - 1)];
		l->id = BPF_CORE_READ(css, cgroup, kn, id);
		l->usage = BPF_CORE_READ(memcg, memory.usage.counter);
		l->limit = BPF_CORE_READ(memcg, memory.max);
		if (oom_idx >= 0 && oom_idx < 16)
			bpf_core_read(&v, sizeof(v), &memcg->memory_events_local[oom_idx]);
		l->oom_events = v > 0 ? v : 0;
		n++;
		css = BPF_CORE_READ(css, parent);
	}
	e->nlevels = n;
}

static __always_inline void fill_oom_trigger(struct fl_oom_event *e)
{
	struct task_struct *cur = (void *)bpf_get_current_task();

	e->hdr.kind = FL_EV_OOM_VICTIM;
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->trigger_tgid = bpf_get_current_pid_tgid() >> 32;
	e->trigger_pid = (__u32)bpf_get_current_pid_tgid();
	e->trigger_memcg_id = task_memcg_id(cur);
	e->trigger_start_ns = task_start_ns(cur);
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	fill_memcg_levels(e, cur);
}

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim_btf, struct task_struct *victim)
{
	struct task_struct *leader;
	struct fl_oom_event *e;
	struct mm_struct *mm;
	__u64 rss, hiwater, maxrss;

	e = reserve(sizeof(*e), FL_EV_OOM_VICTIM);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_oom_trigger(e);
	leader = BPF_CORE_READ(victim, group_leader);
	e->flags = FL_OOM_HAS_VICTIM_TASK;
	e->hdr.tgid = BPF_CORE_READ(victim, tgid);
	e->victim_tid = BPF_CORE_READ(victim, pid);
	e->victim_ppid = BPF_CORE_READ(victim, real_parent, tgid);
	e->nr_threads = BPF_CORE_READ(victim, signal, nr_threads);
	e->victim_start_ns = task_start_ns(victim);
	e->victim_uid = BPF_CORE_READ(victim, cred, uid.val);
	e->oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
	e->memcg_id = task_memcg_id(victim);
	/* The process's name, as the kernel's "Killed process" line gives it. */
	bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm), leader->comm);
	mm = BPF_CORE_READ(victim, mm);
	if (mm) {
		e->rss_file = mm_counter(mm, FL_MM_FILEPAGES);
		e->rss_anon = mm_counter(mm, FL_MM_ANONPAGES);
		e->swap_ents = mm_counter(mm, FL_MM_SWAPENTS);
		e->rss_shmem = mm_counter(mm, FL_MM_SHMEMPAGES);
		e->pgtables_bytes = BPF_CORE_READ(mm, pgtables_bytes.counter);
		e->total_vm = BPF_CORE_READ(mm, total_vm);
		rss = e->rss_file + e->rss_anon + e->rss_shmem;
		hiwater = BPF_CORE_READ(mm, hiwater_rss);
		e->peak_rss_pages = hiwater > rss ? hiwater : rss;
	}
	maxrss = BPF_CORE_READ(victim, signal, maxrss);
	if (maxrss > e->peak_rss_pages)
		e->peak_rss_pages = maxrss;
	submit(e, true);
	return 0;
}

/* Fallback where tp_btf is not available: the classic tracepoint's record.
 * Its RSS fields are in KiB (and absent on old kernels); the victim's task is
 * not at hand, so its start time, parent and threads come from the daemon's
 * process table. */
SEC("tracepoint/oom/mark_victim")
int mark_victim_tp(struct trace_event_raw_mark_victim *ctx)
{
	struct fl_oom_event *e;

	e = reserve(sizeof(*e), FL_EV_OOM_VICTIM);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_oom_trigger(e);
	e->flags = FL_OOM_CLASSIC;
	e->hdr.tgid = BPF_CORE_READ(ctx, pid);
	e->victim_tid = e->hdr.tgid;
	if (bpf_core_field_exists(ctx->anon_rss)) {
		e->rss_anon = BPF_CORE_READ(ctx, anon_rss) >> 2;
		e->rss_file = BPF_CORE_READ(ctx, file_rss) >> 2;
		e->rss_shmem = BPF_CORE_READ(ctx, shmem_rss) >> 2;
		e->total_vm = BPF_CORE_READ(ctx, total_vm) >> 2;
		e->pgtables_bytes = BPF_CORE_READ(ctx, pgtables) << 10;
		e->oom_score_adj = BPF_CORE_READ(ctx, oom_score_adj);
		e->victim_uid = BPF_CORE_READ(ctx, uid);
	}
	/* The name, where the record has it (a __data_loc string: offset in
	 * the low 16 bits, from the start of the record). */
	if (bpf_core_field_exists(ctx->__data_loc_comm)) {
		__u32 loc = BPF_CORE_READ(ctx, __data_loc_comm);

		bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm), (void *)ctx + (loc & 0xffff));
	}
	submit(e, true);
	return 0;
}
