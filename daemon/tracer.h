/* On-demand growth traces: the BPF side. Each trace loads its own copy of
 * trace.bpf.c, attaches it for the chosen processes only, and destroys it
 * when the trace ends, so between traces nothing of it is in the kernel. */
#ifndef FAULTLINE_TRACER_H
#define FAULTLINE_TRACER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"
#include "trace_records.h"
#include "trace_result.h"

#define TRACE_MAX_PIDS 16
#define TRACE_MAX_RUNNING 4
#define TRACE_MIN_MS 100
#define TRACE_MAX_MS (10 * 60 * 1000)
#define TRACE_MAX_ULINKS 8

struct trace_bpf;
struct bpf_link;

struct trace_proc {
	int pid;
	uint64_t start_ticks; /* /proc/PID/stat starttime: a reused pid is not ours */
	char comm[16];
	char *maps;           /* last copy of /proc/PID/maps; NULL if never readable */
	int maps_err;         /* why it could not be read (-errno), 0 when read */
	bool exited;
	char libc[256];
	int nulinks;
	struct bpf_link *ulinks[TRACE_MAX_ULINKS];
};

struct trace;
/* Where a finished trace's result goes when no client asked for it. */
typedef void (*trace_done_fn)(void *ctx, struct trace *t, json_object *result);

struct trace {
	struct ep_tag tag; /* EP_TRACE: the timerfd */
	int timer_fd;
	unsigned id;
	struct client *client; /* waiting for the result; NULL for the daemon's own */
	trace_done_fn done;
	void *done_ctx;
	struct trace_bpf *skel;
	unsigned what;         /* FL_TV_* */
	unsigned sample_every;
	unsigned top;
	uint64_t started_ms, deadline_ms, requested_ms;
	int nprocs;
	struct trace_proc procs[TRACE_MAX_PIDS];
	json_object *warnings; /* array of strings */
	/* A trace faultlined started itself: the process record it is for. */
	uint32_t owner_tgid;
	uint64_t owner_start_ns;
	struct trace *next;
};

/* Loads and attaches; the malloc uprobes go on each process's own libc
 * (a process where that fails gets a warning, not an error). */
int tracer_attach(struct trace *t, char *err, size_t errlen);
/* Detaches and unloads everything of this trace. */
void tracer_detach(struct trace *t);
/* Reads the aggregates with their stacks. */
int tracer_collect(struct trace *t, struct trace_rec **recs, size_t *n, uint64_t drops[FL_TD__MAX]);

#endif
