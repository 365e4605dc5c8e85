/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records of the on-demand growth tracer (trace.bpf.c), shared with
 * faultlined. Everything is aggregated in kernel maps and read once when the
 * trace ends: no ring buffer, no wake-ups, no per-event cost in user space.
 */
#ifndef FAULTLINE_TRACE_RECORDS_H
#define FAULTLINE_TRACE_RECORDS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* What a trace watches (a bit mask; also the view of an aggregate). */
enum fl_trace_view {
	FL_TV_FAULTS = 1,
	FL_TV_BRK = 2,
	FL_TV_MMAP = 4,
	FL_TV_MALLOC = 8,
};

/* The kind of memory a fault touched, or a mapping call made. The kernel
 * tells heap and stack from the mm's bounds; FL_TK_OTHER is split into
 * anonymous and file-backed by faultlined from /proc/PID/maps. */
enum fl_trace_kind {
	FL_TK_NONE = 0,
	FL_TK_HEAP = 1,
	FL_TK_STACK = 2,
	FL_TK_OTHER = 3,
	FL_TK_ANON = 4, /* mmap: MAP_ANONYMOUS; faults: resolved in user space */
	FL_TK_FILE = 5,
};

#define FL_TRACE_STACK_DEPTH 64

struct fl_trace_key {
	__u32 tgid;
	__s32 stack_id; /* in the stacks map; < 0: no stack (error counted) */
	__u32 view;
	__u32 kind;
	/* Syscall and malloc views: the word at the user stack pointer. The
	 * C library's syscall wrappers are leaves without a frame, and a
	 * uprobe fires before the probed function sets one up, so a
	 * frame-pointer walk skips their caller; this is its return address
	 * (faultlined checks it points into code before using it). */
	__u64 sp_word;
};

struct fl_trace_val {
	__u64 count;       /* faults, calls, or sampled allocations */
	__u64 bytes;       /* pages for faults (x page size in user space) */
	__u64 last_addr;   /* faults: an address touched, to classify it */
	__s64 outstanding; /* malloc: sampled bytes not freed yet */
	__u64 frees;       /* malloc: sampled allocations freed */
	__u32 vma_kind;    /* faults of FL_TK_OTHER: FL_TK_ANON or FL_TK_FILE, read
			    * from the VMA at the first fault of this stack */
	__u32 pad;
};

/* Per-CPU counters of what could not be recorded. */
enum fl_trace_drop {
	FL_TD_STACK = 0,     /* no stack id (map full or collision) */
	FL_TD_AGG_FULL = 1,  /* aggregate map full */
	FL_TD_ALLOCS_FULL = 2, /* live-allocation map full */
	FL_TD__MAX = 3,
};

#endif
