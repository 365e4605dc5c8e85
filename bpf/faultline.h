/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records shared by the BPF programs and faultlined. Fixed-width fields and
 * no pointers: the same bytes are read on both sides. Every struct is a
 * multiple of 8 bytes so arrays of them stay aligned in the iterator stream.
 */
#ifndef FAULTLINE_H
#define FAULTLINE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FL_COMM_LEN 16

/* What the snapshot iterator writes: one FL_REC_PROC per thread-group leader,
 * one small FL_REC_THREAD per other live thread (its own fault counters, which
 * the kernel folds into the process totals only when the thread is reaped). */
enum fl_rec_kind {
	FL_REC_PROC = 1,
	FL_REC_THREAD = 2,
};

/* Mapping-syscall totals of one process, kept in kernel per tgid. */
struct fl_mm_stats {
	__u64 start_ns; /* owner's start time: a reused tgid starts afresh */
	__u64 brk_calls;
	__u64 brk_grow_bytes;
	__u64 brk_shrink_bytes;
	__u64 mmap_calls;
	__u64 mmap_anon_bytes;
	__u64 mmap_file_bytes;
	__u64 munmap_calls;
	__u64 munmap_bytes;
	__u64 mremap_calls;
	__u64 mremap_grow_bytes;
	__u64 mremap_shrink_bytes;
	__u64 big_maps; /* single mappings at or above the threshold */
	__u64 last_brk; /* kernel side only: the break after the last brk call… */
	__u64 last_brk_mm; /* …and the mm it belongs to (exec starts a new heap) */
};

struct fl_proc_rec {
	__u32 kind; /* FL_REC_PROC */
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u64 start_ns; /* task->start_boottime of the leader */
	__u64 min_flt;  /* live leader + totals of reaped threads */
	__u64 maj_flt;
	__u64 rss_anon; /* pages */
	__u64 rss_file;
	__u64 rss_shmem;
	__u64 swap_ents;
	__u64 total_vm; /* pages */
	__u64 heap_bytes; /* brk - start_brk */
	__u64 pgtables_bytes;
	__u64 memcg_id; /* kernfs id (= inode) of the memory cgroup */
	__u32 map_count;
	__s32 oom_score_adj;
	__u32 nr_threads;
	__u32 flags; /* FL_PROC_* */
	char comm[FL_COMM_LEN];
	struct fl_mm_stats mm;
};

#define FL_PROC_HAS_MM_STATS (1u << 0) /* mm holds this process's totals */
#define FL_PROC_NO_MM (1u << 1) /* leader exited before its threads: no RSS */

struct fl_thread_rec {
	__u32 kind; /* FL_REC_THREAD */
	__u32 tgid;
	__u64 min_flt;
	__u64 maj_flt;
};

/* Ring-buffer events. */
enum fl_event_kind {
	FL_EV_EXIT = 1,
	FL_EV_BIG_MAP = 2,
	FL_EV_OOM_VICTIM = 3,
	FL_EV__MAX,
};

struct fl_event_hdr {
	__u32 kind;
	__u32 tgid;
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
};

/* The last thread of a process exited: its final counters. The mm is gone
 * by the time sched_process_exit fires, so RSS is the peak (signal->maxrss). */
struct fl_exit_event {
	struct fl_event_hdr hdr;
	__u64 start_ns;
	__u64 min_flt;
	__u64 maj_flt;
	__u64 maxrss_pages;
	__u32 ppid;
	__u32 uid;
	__s32 exit_code;
	__u32 has_mm_stats;
	char comm[FL_COMM_LEN];
	struct fl_mm_stats mm;
};

enum fl_map_kind {
	FL_MAP_MMAP_ANON = 1,
	FL_MAP_MMAP_FILE = 2,
	FL_MAP_MREMAP = 3,
	FL_MAP_BRK = 4,
};

/* One mapping at or above the big-mapping threshold. */
struct fl_big_map_event {
	struct fl_event_hdr hdr;
	__u64 start_ns;
	__u64 bytes;
	__u64 addr;
	__u32 map_kind;
	__u32 pad;
	char comm[FL_COMM_LEN];
};

/* One memory cgroup on the way from the allocating task's memcg to the root,
 * as the OOM killer saw it. oom_control (which says what was constrained) is
 * not reachable from the tracepoint, so the daemon infers it from these. */
struct fl_memcg_level {
	__u64 id;	  /* kernfs id (= inode of the cgroup directory) */
	__u64 usage;	  /* pages charged (memory page_counter) */
	__u64 limit;	  /* pages (memory.max / memory.limit_in_bytes) */
	__u64 oom_events; /* this group's own OOM count (memory_events_local) */
};

#define FL_OOM_LEVELS 8

#define FL_OOM_CLASSIC (1u << 0) /* from the classic tracepoint: fewer fields */
#define FL_OOM_HAS_VICTIM_TASK (1u << 1) /* the victim's task_struct was read */

/* oom/mark_victim: the victim, and the task that was allocating (current). */
struct fl_oom_event {
	struct fl_event_hdr hdr; /* hdr.tgid is the victim */
	__u64 victim_start_ns;
	__u64 rss_anon; /* pages */
	__u64 rss_file;
	__u64 rss_shmem;
	__u64 swap_ents;
	__u64 pgtables_bytes;
	__u64 total_vm;
	__u64 memcg_id; /* victim's memory cgroup */
	__u32 victim_uid;
	__s32 oom_score_adj;
	__u32 trigger_tgid;
	__u32 trigger_pid;
	__u64 trigger_memcg_id;
	char victim_comm[FL_COMM_LEN];
	char trigger_comm[FL_COMM_LEN];
	__u64 peak_rss_pages; /* max(hiwater_rss, rss, signal->maxrss) */
	__u64 trigger_start_ns;
	__u32 victim_tid; /* the thread mark_victim was given */
	__u32 victim_ppid;
	__u32 nr_threads;
	__u32 flags; /* FL_OOM_* */
	__u32 nlevels;
	__u32 pad;
	struct fl_memcg_level levels[FL_OOM_LEVELS]; /* trigger's memcg first */
};

/* Index of the per-CPU drop counters (one per event kind, 0 unused). */
#define FL_DROP_SLOTS FL_EV__MAX

#endif /* FAULTLINE_H */
