/* Turns the task iterator's byte stream into one record per process, with
 * the faults of its live non-leader threads added in (pure code). */
#ifndef FAULTLINE_SNAPSHOT_H
#define FAULTLINE_SNAPSHOT_H

#include <stddef.h>
#include "faultline.h"

typedef void (*snapshot_proc_fn)(const struct fl_proc_rec *rec, void *ctx);

struct snapshot_counts {
	size_t procs;
	size_t threads;
	size_t orphan_threads; /* thread records whose leader was not listed */
};

/* Returns 0, or -EINVAL when the stream is malformed (unknown kind or a
 * truncated record): nothing is reported for a malformed stream. */
int snapshot_parse(const void *buf, size_t len, snapshot_proc_fn fn, void *ctx,
		   struct snapshot_counts *counts);

#endif
