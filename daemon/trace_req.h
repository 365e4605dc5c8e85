/* The `trace` request: validation, the running traces, their timers, the
 * deferred reply, and the end of a trace (time up, every traced process
 * gone, or the client left). */
#ifndef FAULTLINE_TRACE_REQ_H
#define FAULTLINE_TRACE_REQ_H

#include <json-c/json.h>

#include "tracer.h"

struct tracing {
	struct trace *list;
	unsigned running;
	unsigned next_id;
	uint64_t started;  /* since faultlined started */
	uint64_t finished; /* with a result */
	uint64_t cancelled;/* the client left */
};

struct daemon;
struct client;

struct trace_params {
	int pids[TRACE_MAX_PIDS];
	int npids;
	unsigned what;
	uint64_t ms;
	unsigned sample_every;
	unsigned top;
};

json_object *api_trace(struct daemon *d, struct client *c, json_object *args);

/* Starts a trace; the result goes to c (deferred reply) or to done(). */
int trace_start(struct daemon *d, const struct trace_params *tp, struct client *c, trace_done_fn done,
		void *done_ctx, struct trace **out, char *err, size_t errlen);
void trace_on_timer(struct daemon *d, struct trace *t);
/* The server's hook: a client waiting for a trace went away. */
void trace_client_gone(void *daemon, struct client *c);
void trace_stop_all(struct daemon *d);
json_object *trace_status(const struct daemon *d);

#endif
