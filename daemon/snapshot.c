#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct thread_sum {
	UT_hash_handle hh;
	__u32 tgid;
	__u64 min_flt;
	__u64 maj_flt;
	int used;
};

static int record_size(const void *p, size_t left)
{
	__u32 kind;

	if (left < sizeof(kind))
		return -EINVAL;
	memcpy(&kind, p, sizeof(kind));
	switch (kind) {
	case FL_REC_PROC:
		return left >= sizeof(struct fl_proc_rec) ? (int)sizeof(struct fl_proc_rec) : -EINVAL;
	case FL_REC_THREAD:
		return left >= sizeof(struct fl_thread_rec) ? (int)sizeof(struct fl_thread_rec) : -EINVAL;
	default:
		return -EINVAL;
	}
}

int snapshot_parse(const void *buf, size_t len, snapshot_proc_fn fn, void *ctx,
		   struct snapshot_counts *counts)
{
	struct thread_sum *sums = NULL, *s, *tmp;
	const char *p = buf;
	size_t off;
	int sz, err = 0;

	memset(counts, 0, sizeof(*counts));
	/* Pass 1: validate, and sum the threads of each tgid (the iterator
	 * walks tasks in pid order, so threads and leaders interleave). */
	for (off = 0; off < len; off += sz) {
		struct fl_thread_rec t;

		sz = record_size(p + off, len - off);
		if (sz < 0) {
			err = sz;
			goto out;
		}
		if (sz != sizeof(t))
			continue;
		memcpy(&t, p + off, sizeof(t));
		HASH_FIND(hh, sums, &t.tgid, sizeof(t.tgid), s);
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s) {
				err = -ENOMEM;
				goto out;
			}
			s->tgid = t.tgid;
			HASH_ADD(hh, sums, tgid, sizeof(s->tgid), s);
		}
		s->min_flt += t.min_flt;
		s->maj_flt += t.maj_flt;
		counts->threads++;
	}
	/* Pass 2: one callback per process. */
	for (off = 0; off < len; off += sz) {
		struct fl_proc_rec r;

		sz = record_size(p + off, len - off);
		if (sz != sizeof(r))
			continue;
		memcpy(&r, p + off, sizeof(r));
		HASH_FIND(hh, sums, &r.tgid, sizeof(r.tgid), s);
		if (s) {
			r.min_flt += s->min_flt;
			r.maj_flt += s->maj_flt;
			s->used = 1;
		}
		counts->procs++;
		fn(&r, ctx);
	}
	HASH_ITER(hh, sums, s, tmp) {
		if (!s->used)
			counts->orphan_threads++;
	}
out:
	HASH_ITER(hh, sums, s, tmp) {
		HASH_DEL(sums, s);
		free(s);
	}
	return err;
}
