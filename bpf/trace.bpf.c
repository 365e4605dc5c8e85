// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * On-demand growth attribution: loaded by faultlined only while a trace
 * runs (DESIGN.md, the cost rule), one object per trace, destroyed when it
 * ends so nothing stays attached.
 *  - page_fault_user (tp_btf): filtered to the traced tgids in kernel, the
 *    user stack and the kind of memory touched (heap/stack from mm bounds);
 *  - brk/mmap (classic syscall tracepoints): growth in bytes with the stack;
 *  - malloc/calloc/realloc/free (uprobes attached to the traced processes'
 *    libc only): 1-in-N sampled allocations, outstanding bytes per stack.
 * Everything is aggregated in maps that faultlined reads once at the end.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "trace_records.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* 1 in sample_every allocations is recorded (set before load). */
const volatile __u32 sample_every = 1;
/* faultlined's pid namespace when it is not the initial one (a container):
 * the pids it is asked about are numbers in that namespace. */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

/* The traced tgids, fixed for the life of this object (one per trace).
 * Constants rather than a map: the page-fault program runs for every fault
 * on the machine, and comparing a few constants costs less than a hash
 * lookup (make bench: the trace_fault program's run time per fault). */
#define FL_TRACE_MAX_TARGETS 16
const volatile __u32 ntargets = 0;
const volatile __u32 target_tgids[FL_TRACE_MAX_TARGETS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, FL_TRACE_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fl_trace_key);
	__type(value, struct fl_trace_val);
} agg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_TD__MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* A sampled allocation between entry and return, per thread. */
struct pending_alloc {
	__u64 size;
	__u64 sp_word; /* at entry, the return address into the caller */
	__s32 stack_id;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct pending_alloc);
} pending SEC(".maps");

struct alloc_key {
	__u32 tgid;
	__u32 pad;
	__u64 ptr;
};

struct live_alloc {
	__u64 size;
	struct fl_trace_key key;
};

/* Sampled blocks not freed yet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct alloc_key);
	__type(value, struct live_alloc);
} allocs SEC(".maps");

#define MAP_ANONYMOUS 0x20
#define PAGE_ALIGN(x) (((x) + 4095) & ~4095ull)
#define IS_ERR_VALUE(x) ((unsigned long)(x) >= (unsigned long)-4095)
/* The main thread's stack may grow this far below mm->start_stack. */
#define STACK_REACH (8ull << 20)

static __always_inline void count_drop(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &what);

	if (n)
		*n += 1;
}

/* The current process's tgid as faultlined numbers it; 0 when it lives
 * outside faultlined's pid namespace (never traced then). */
static __always_inline __u32 current_tgid(void)
{
	struct bpf_pidns_info ns = {};

	if (!pidns_ino)
		return bpf_get_current_pid_tgid() >> 32;
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return 0;
	return ns.tgid;
}

static __always_inline bool traced(__u32 tgid)
{
	for (int i = 0; i < FL_TRACE_MAX_TARGETS; i++) {
		if (i >= ntargets)
			return false;
		if (target_tgids[i] == tgid)
			return true;
	}
	return false;
}

static __always_inline __s32 user_stack(void *ctx)
{
	long id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

	if (id < 0)
		count_drop(FL_TD_STACK);
	return id;
}

static __always_inline struct fl_trace_val *agg_entry(struct fl_trace_key *k)
{
	struct fl_trace_val *v = bpf_map_lookup_elem(&agg, k);

	if (v)
		return v;
	struct fl_trace_val zero = {};
	/* NOEXIST: another CPU may have added it meanwhile; then use that. */
	bpf_map_update_elem(&agg, k, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&agg, k);
	if (!v)
		count_drop(FL_TD_AGG_FULL);
	return v;
}

static long vma_kind_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(__u32 *)data = vma->vm_file ? FL_TK_FILE : FL_TK_ANON;
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(trace_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u32 tgid = current_tgid();
	struct fl_trace_key k = {};
	struct fl_trace_val *v;
	struct mm_struct *mm;
	__u64 start_brk, brk, start_stack;

	/* The only work done for every other process on the machine. */
	if (!traced(tgid))
		return 0;
	mm = bpf_get_current_task_btf()->mm;
	start_brk = BPF_CORE_READ(mm, start_brk);
	brk = BPF_CORE_READ(mm, brk);
	start_stack = BPF_CORE_READ(mm, start_stack);
	k.tgid = tgid;
	k.view = FL_TV_FAULTS;
	if (address >= start_brk && address < PAGE_ALIGN(brk))
		k.kind = FL_TK_HEAP;
	else if (address < start_stack + 4096 * 64 && address + STACK_REACH >= start_stack)
		k.kind = FL_TK_STACK;
	else
		k.kind = FL_TK_OTHER;
	k.stack_id = user_stack(ctx);
	/* A fault in a frame-less leaf (memset, memcpy, a leaf of the program
	 * itself) hides its caller from the frame-pointer walk; the word at
	 * the stack pointer is that caller's return address then. Kept only
	 * when it points into the executable's code, so that varying data
	 * there cannot multiply the keys; faultlined checks it follows a call
	 * instruction before showing it. */
	{
		__u64 w = 0, start_code = BPF_CORE_READ(mm, start_code), end_code = BPF_CORE_READ(mm, end_code);

		bpf_probe_read_user(&w, sizeof(w), (void *)BPF_CORE_READ(regs, sp));
		if (w >= start_code && w < end_code)
			k.sp_word = w;
	}
	v = agg_entry(&k);
	if (!v)
		return 0;
	/* A VMA lookup costs a lot per fault (it made the traced process
	 * 7-8x slower), so only at a stack's first fault; faultlined falls
	 * back to /proc/PID/maps when the mmap lock was busy. */
	if (k.kind == FL_TK_OTHER && !v->vma_kind && !v->count) {
		__u32 vk = 0;

		bpf_find_vma(bpf_get_current_task_btf(), address, vma_kind_cb, &vk, 0);
		v->vma_kind = vk;
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->bytes, 1);
	v->last_addr = address;
	return 0;
}

static __always_inline __u64 sp_word(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 w = 0;

	bpf_probe_read_user(&w, sizeof(w), (void *)PT_REGS_SP_CORE(regs));
	return w;
}

static __always_inline void count_mapping(void *ctx, __u32 view, __u32 kind, __u64 bytes)
{
	struct fl_trace_key k = {};
	struct fl_trace_val *v;

	k.tgid = current_tgid();
	k.view = view;
	k.kind = kind;
	k.stack_id = user_stack(ctx);
	k.sp_word = sp_word();
	v = agg_entry(&k);
	if (!v)
		return;
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->bytes, bytes);
}

/* At entry the break has not moved yet: growth = request - current break.
 * brk(0) (a query) and shrinking count as calls with no growth. */
SEC("tracepoint/syscalls/sys_enter_brk")
int trace_brk(struct trace_event_raw_sys_enter *ctx)
{
	__u64 want = ctx->args[0], cur;

	if (!traced(current_tgid()))
		return 0;
	cur = BPF_CORE_READ(bpf_get_current_task_btf(), mm, brk);
	if (!want || PAGE_ALIGN(want) <= PAGE_ALIGN(cur))
		return 0;
	count_mapping(ctx, FL_TV_BRK, FL_TK_HEAP, PAGE_ALIGN(want) - PAGE_ALIGN(cur));
	return 0;
}

/* At exit only successful calls count; the arguments are still in the
 * task's saved user registers (the syscall ABI preserves them). */
SEC("tracepoint/syscalls/sys_exit_mmap")
int trace_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	__u64 len, flags;

	if (IS_ERR_VALUE(ctx->ret) || !traced(current_tgid()))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	len = PAGE_ALIGN(PT_REGS_PARM2_CORE_SYSCALL(regs));
	flags = PT_REGS_PARM4_CORE_SYSCALL(regs);
	count_mapping(ctx, FL_TV_MMAP, (flags & MAP_ANONYMOUS) ? FL_TK_ANON : FL_TK_FILE, len);
	return 0;
}

/* ---- malloc family: uprobes on the traced processes' libc only ---- */

static __always_inline int alloc_enter(struct pt_regs *ctx, __u64 size)
{
	struct pending_alloc p = {};
	__u64 id = bpf_get_current_pid_tgid();

	if (sample_every > 1 && bpf_get_prandom_u32() % sample_every)
		return 0;
	p.size = size;
	p.stack_id = user_stack(ctx);
	/* The frame-pointer walk starts at the caller's frame and so skips the
	 * caller itself; at a function's first instruction the word at the
	 * stack pointer is its return address. */
	bpf_probe_read_user(&p.sp_word, sizeof(p.sp_word), (void *)PT_REGS_SP(ctx));
	bpf_map_update_elem(&pending, &id, &p, BPF_ANY);
	return 0;
}

static __always_inline void forget_block(__u32 tgid, __u64 ptr)
{
	struct alloc_key ak = { .tgid = tgid, .ptr = ptr };
	struct live_alloc *la;
	struct fl_trace_val *v;

	if (!ptr)
		return;
	la = bpf_map_lookup_elem(&allocs, &ak);
	if (!la)
		return;
	v = bpf_map_lookup_elem(&agg, &la->key);
	if (v) {
		__sync_fetch_and_add(&v->outstanding, -(__s64)la->size);
		__sync_fetch_and_add(&v->frees, 1);
	}
	bpf_map_delete_elem(&allocs, &ak);
}

static __always_inline int alloc_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), ptr = PT_REGS_RC(ctx);
	struct pending_alloc *p = bpf_map_lookup_elem(&pending, &id);
	struct live_alloc la = {};
	struct alloc_key ak = {};
	struct fl_trace_val *v;

	if (!p)
		return 0;
	if (!ptr)
		goto out;
	la.size = p->size;
	la.key.tgid = current_tgid();
	la.key.stack_id = p->stack_id;
	la.key.view = FL_TV_MALLOC;
	la.key.sp_word = p->sp_word;
	v = agg_entry(&la.key);
	if (!v)
		goto out;
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->bytes, p->size);
	ak.tgid = la.key.tgid;
	ak.ptr = ptr;
	if (bpf_map_update_elem(&allocs, &ak, &la, BPF_ANY)) {
		count_drop(FL_TD_ALLOCS_FULL);
		goto out;
	}
	__sync_fetch_and_add(&v->outstanding, (__s64)p->size);
out:
	bpf_map_delete_elem(&pending, &id);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(trace_malloc, __u64 size)
{
	return alloc_enter(ctx, size);
}

SEC("uprobe")
int BPF_KPROBE(trace_calloc, __u64 n, __u64 size)
{
	return alloc_enter(ctx, n * size);
}

/* The old block goes away whether or not this call is sampled (realloc
 * frees or moves it; a failed realloc is rare enough to ignore). */
SEC("uprobe")
int BPF_KPROBE(trace_realloc, __u64 ptr, __u64 size)
{
	forget_block(current_tgid(), ptr);
	return alloc_enter(ctx, size);
}

SEC("uretprobe")
int BPF_KRETPROBE(trace_alloc_ret)
{
	return alloc_return(ctx);
}

SEC("uprobe")
int BPF_KPROBE(trace_free, __u64 ptr)
{
	forget_block(current_tgid(), ptr);
	return 0;
}
