/* The BPF side of faultlined: requirement checks, load, attach, the snapshot
 * iterator, the event ring buffer and its drop counters. */
#ifndef FAULTLINE_PROBES_H
#define FAULTLINE_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "faultline.h"

struct events_bpf;
struct snapshot_bpf;
struct ring_buffer;
struct bpf_link;

/* One line of `faultline status`: what is attached and how. */
struct probe_desc {
	const char *name;  /* "exit", "oom", "brk", ... */
	const char *how;   /* "tp_btf/sched_process_exit", ... */
	bool attached;
};

#define PROBES_MAX_DESC 8

typedef int (*probes_event_fn)(void *ctx, void *data, size_t size);

struct probes {
	struct events_bpf *ev;
	struct snapshot_bpf *snap;
	struct ring_buffer *rb;
	struct bpf_link *iter_link;
	char *iter_buf;
	size_t iter_cap;
	char tracefs[64];
	struct probe_desc desc[PROBES_MAX_DESC];
	int ndesc;
	int ncpus;
};

/* Start-up checks with a message that says what to do: privileges, BTF,
 * tracefs (mounted here if it is not). */
int probes_check(char *err, size_t errlen);

/* Use the classic oom/mark_victim tracepoint even where tp_btf works (the
 * fallback, for comparison and its tests). Set before probes_open. */
extern bool probes_oom_tracepoint;

int probes_open(struct probes *p, const struct fl_config *c, probes_event_fn fn, void *ctx,
		char *err, size_t errlen);
void probes_close(struct probes *p);

/* Runs the task iterator; *buf stays valid until the next call. */
int probes_snapshot(struct probes *p, const void **buf, size_t *len);

int probes_ring_fd(const struct probes *p);
/* Drains the ring buffer; returns the number of events or -errno. */
int probes_consume(struct probes *p);

/* Events lost because the ring buffer was full, per event kind. */
void probes_drops(const struct probes *p, uint64_t drops[FL_DROP_SLOTS]);
/* Processes whose mapping totals could not be kept (mm_stats map full). */
uint64_t probes_mm_stats_full(const struct probes *p);

#endif
