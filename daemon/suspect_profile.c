#include "suspect_profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "daemon.h"
#include "log.h"

static void profile_done(void *ctx, struct trace *t, json_object *result)
{
	struct daemon *d = ctx;
	struct proc *p = proctab_lookup(&d->procs, t->owner_tgid, t->owner_start_ns);
	char *json;

	if (!p) /* evicted meanwhile: nowhere to keep it */
		return;
	if (!result) {
		p->profile_state = PROFILE_FAILED;
		return;
	}
	json_object_object_add(result, "captured_at", json_object_new_uint64(now_wall_s()));
	json = strdup(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN));
	if (!json) {
		p->profile_state = PROFILE_FAILED;
		return;
	}
	proctab_set_growth_profile(&d->procs, p, json);
	p->profile_state = PROFILE_DONE;
	log_info("growth profile of leak suspect %s (pid %u) captured: %zu bytes, in 'faultline show %u'", p->comm,
		 p->key.tgid, strlen(json), p->key.tgid);
}

void suspect_profile_round(struct daemon *d)
{
	struct proc *p, *tmp;

	if (!d->cfg.trace_suspect_profile)
		return;
	HASH_ITER(hh, d->procs.by_key, p, tmp) {
		struct trace_params tp = { .npids = 1, .what = FL_TV_FAULTS | FL_TV_BRK | FL_TV_MMAP, .top = 20 };
		struct trace *t;
		char err[256];
		int r;

		if (p->state != PROC_LIVE || p->leak.cls != LEAK_SUSPECT || p->profile_state != PROFILE_NONE)
			continue;
		/* Traces people asked for come first; the rest waits a round. */
		if (d->traces.running >= TRACE_MAX_RUNNING)
			return;
		tp.pids[0] = (int)p->key.tgid;
		tp.ms = d->cfg.trace_suspect_profile_ms;
		r = trace_start(d, &tp, NULL, profile_done, d, &t, err, sizeof(err));
		if (r) {
			/* Gone, a kernel thread, or the kernel refused: never retried. */
			p->profile_state = PROFILE_FAILED;
			log_warn("no growth profile for leak suspect %s (pid %u): %s", p->comm, p->key.tgid, err);
			continue;
		}
		t->owner_tgid = p->key.tgid;
		t->owner_start_ns = p->key.start_ns;
		p->profile_state = PROFILE_RUNNING;
		log_info("leak suspect %s (pid %u): profiling its growth for %llu ms", p->comm, p->key.tgid,
			 (unsigned long long)tp.ms);
	}
}
