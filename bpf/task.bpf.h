/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel-side readers shared by the snapshot iterator and the event programs.
 * CO-RE only: struct flavours (___pre62) cover fields that changed type
 * between kernels, never a version #if.
 */
#ifndef FAULTLINE_TASK_BPF_H
#define FAULTLINE_TASK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "faultline.h"

#define PF_KTHREAD 0x00200000

/* Before 6.2 the RSS counters were atomics in struct mm_rss_stat. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/* The same value /proc reads (get_mm_counter): the shared count, without the
 * per-CPU deltas still waiting to be folded in. */
static __always_inline __u64 mm_counter(struct mm_struct *mm, int member)
{
	long v = 0;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62)) {
		struct mm_struct___pre62 *old = (void *)mm;

		switch (member) {
		case 0: v = BPF_CORE_READ(old, rss_stat.count[0].counter); break;
		case 1: v = BPF_CORE_READ(old, rss_stat.count[1].counter); break;
		case 2: v = BPF_CORE_READ(old, rss_stat.count[2].counter); break;
		case 3: v = BPF_CORE_READ(old, rss_stat.count[3].counter); break;
		}
	} else {
		switch (member) {
		case 0: v = BPF_CORE_READ(mm, rss_stat[0].count); break;
		case 1: v = BPF_CORE_READ(mm, rss_stat[1].count); break;
		case 2: v = BPF_CORE_READ(mm, rss_stat[2].count); break;
		case 3: v = BPF_CORE_READ(mm, rss_stat[3].count); break;
		}
	}
	return v > 0 ? (__u64)v : 0;
}

/* Member indexes of mm->rss_stat, stable since they were introduced. */
#define FL_MM_FILEPAGES 0
#define FL_MM_ANONPAGES 1
#define FL_MM_SWAPENTS 2
#define FL_MM_SHMEMPAGES 3

/* kernfs id of the task's memory cgroup: the cgroup directory's inode number
 * on both v1 and v2, which user space maps back to a path. */
static __always_inline __u64 task_memcg_id(struct task_struct *task)
{
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct css_set *cgroups = BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css = NULL;

	if (!cgroups)
		return 0;
	if (id < 0 || id >= 16)
		return 0;
	bpf_core_read(&css, sizeof(css), &cgroups->subsys[id]);
	if (!css)
		return 0;
	return BPF_CORE_READ(css, cgroup, kn, id);
}

static __always_inline __u64 task_start_ns(struct task_struct *task)
{
	return BPF_CORE_READ(task, group_leader, start_boottime);
}

#endif
