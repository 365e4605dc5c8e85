// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The snapshot: a task iterator faultlined reads once per interval. Faults and
 * RSS come from the counters the kernel already keeps, so tracing costs
 * nothing per page fault (DESIGN.md, the cost rule).
 */
#include "task.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task")
int snapshot(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct fl_proc_rec rec = {};
	struct fl_mm_stats *st;
	struct mm_struct *mm;
	__u32 tgid;

	if (!task || (BPF_CORE_READ(task, flags) & PF_KTHREAD))
		return 0;

	tgid = BPF_CORE_READ(task, tgid);
	if (BPF_CORE_READ(task, pid) != tgid) {
		/* A live non-leader thread: its own counters join the sum in
		 * user space; the kernel adds them to signal->min_flt only
		 * once the thread is reaped. */
		struct fl_thread_rec t = {
			.kind = FL_REC_THREAD,
			.tgid = tgid,
			.min_flt = BPF_CORE_READ(task, min_flt),
			.maj_flt = BPF_CORE_READ(task, maj_flt),
		};
		bpf_seq_write(seq, &t, sizeof(t));
		return 0;
	}

	rec.kind = FL_REC_PROC;
	rec.tgid = tgid;
	rec.ppid = BPF_CORE_READ(task, real_parent, tgid);
	rec.uid = BPF_CORE_READ(task, cred, uid.val);
	rec.start_ns = BPF_CORE_READ(task, start_boottime);
	rec.min_flt = BPF_CORE_READ(task, min_flt) + BPF_CORE_READ(task, signal, min_flt);
	rec.maj_flt = BPF_CORE_READ(task, maj_flt) + BPF_CORE_READ(task, signal, maj_flt);
	rec.oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	rec.nr_threads = BPF_CORE_READ(task, signal, nr_threads);
	rec.memcg_id = task_memcg_id(task);
	bpf_probe_read_kernel_str(rec.comm, sizeof(rec.comm), task->comm);

	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		rec.rss_file = mm_counter(mm, FL_MM_FILEPAGES);
		rec.rss_anon = mm_counter(mm, FL_MM_ANONPAGES);
		rec.swap_ents = mm_counter(mm, FL_MM_SWAPENTS);
		rec.rss_shmem = mm_counter(mm, FL_MM_SHMEMPAGES);
		rec.total_vm = BPF_CORE_READ(mm, total_vm);
		rec.heap_bytes = BPF_CORE_READ(mm, brk) - BPF_CORE_READ(mm, start_brk);
		rec.pgtables_bytes = BPF_CORE_READ(mm, pgtables_bytes.counter);
		rec.map_count = BPF_CORE_READ(mm, map_count);
	} else {
		rec.flags |= FL_PROC_NO_MM;
	}

	st = bpf_map_lookup_elem(&mm_stats, &tgid);
	if (st && st->start_ns == rec.start_ns) {
		__builtin_memcpy(&rec.mm, st, sizeof(rec.mm));
		rec.flags |= FL_PROC_HAS_MM_STATS;
	}

	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
