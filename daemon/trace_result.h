/* Turning a trace's raw aggregates into the reply: per process and view, the
 * top stacks by pages or bytes, symbolized, with totals. Pure: frames are
 * named through a callback, so unit tests drive it with made-up records. */
#ifndef FAULTLINE_TRACE_RESULT_H
#define FAULTLINE_TRACE_RESULT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"
#include "trace_records.h"

/* One aggregate read from the kernel, with its stack (innermost first). */
struct trace_rec {
	struct fl_trace_key key;
	struct fl_trace_val val;
	uint32_t nframes;
	uint64_t frames[FL_TRACE_STACK_DEPTH];
};

typedef void (*trace_namer_fn)(void *ctx, int pid, uint64_t addr, bool return_addr, struct sym_frame *f);
/* Is addr right after a call instruction (a return address)? */
typedef bool (*trace_call_check_fn)(void *ctx, int pid, uint64_t addr);

struct trace_result_opts {
	unsigned what;         /* FL_TV_* mask asked for */
	unsigned sample_every; /* malloc sampling */
	unsigned top;          /* stacks per view */
	long page_size;
	trace_namer_fn namer;
	trace_call_check_fn follows_call; /* NULL: cannot tell */
	void *namer_ctx;
};

struct trace_result_proc {
	int pid;
	const char *comm;
	const char *maps; /* last copy of /proc/PID/maps, or NULL */
};

/* {"faults": {...}, "brk": {...}, "mmap": {...}, "malloc": {...}} for one
 * process, only the views asked for; records of other pids are skipped. */
json_object *trace_result_views(const struct trace_result_opts *o, const struct trace_result_proc *p,
				const struct trace_rec *recs, size_t n);

/* Names of the views in a mask: "faults,brk"; parses the same. */
int trace_what_parse(const char *s, unsigned *mask);
void trace_what_format(unsigned mask, char *buf, size_t len);

#endif
