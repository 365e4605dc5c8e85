#include "trace_req.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "api.h"
#include "daemon.h"
#include "log.h"
#include "procmaps.h"
#include "procstat.h"
#include "symbolize.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)
#define TICK_MS 250

static json_object *json_stringf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_object *json_stringf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_object_new_string(buf);
}

static void trace_free(struct daemon *d, struct trace *t)
{
	struct trace **pp;

	for (pp = &d->traces.list; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			d->traces.running--;
			break;
		}
	tracer_detach(t);
	if (t->timer_fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, t->timer_fd, NULL);
		close(t->timer_fd);
	}
	for (int i = 0; i < t->nprocs; i++)
		free(t->procs[i].maps);
	json_object_put(t->warnings);
	free(t);
}

/* Keeps the newest maps while the process lives: libraries it loads during
 * the trace must be known at the end, when it may be gone. */
static void refresh_procs(struct trace *t, int *alive)
{
	*alive = 0;
	for (int i = 0; i < t->nprocs; i++) {
		struct trace_proc *p = &t->procs[i];
		char *text;

		if (p->exited)
			continue;
		if (!procstat_same_alive("/proc", p->pid, p->start_ticks)) {
			p->exited = true;
			continue;
		}
		(*alive)++;
		if (procmaps_read("/proc", p->pid, &text) == 0 && text[0]) {
			free(p->maps);
			p->maps = text;
		} else if (text) {
			free(text);
		}
	}
}

static int proc_init(struct trace_proc *p, int pid, char *err, size_t errlen)
{
	struct procstat st;
	int r;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (procstat_read("/proc", pid, &st) || st.state == 'Z' || st.state == 'X') {
		snprintf(err, errlen, "no process %d is running", pid);
		return -ESRCH;
	}
	if (st.flags & PROCSTAT_PF_KTHREAD) {
		snprintf(err, errlen, "pid %d (%s) is a kernel thread: it has no user memory to trace", pid, st.comm);
		return -EINVAL;
	}
	p->start_ticks = st.starttime;
	snprintf(p->comm, sizeof(p->comm), "%s", st.comm);
	r = procmaps_read("/proc", pid, &p->maps);
	if (r) {
		/* Traced all the same; its frames stay addresses. */
		p->maps_err = r;
		p->maps = NULL;
	}
	return 0;
}

int trace_start(struct daemon *d, const struct trace_params *tp, struct client *c, trace_done_fn done,
		void *done_ctx, struct trace **out, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L }, .it_value = { 0, TICK_MS * 1000000L } };
	struct trace *t;
	char what[64];
	int r;

	/* Without the always-on probes this is no running daemon (unit tests,
	 * fuzzing drive the handlers directly): load nothing into the kernel. */
	if (!d->probes.ev) {
		snprintf(err, errlen, "faultlined's probes are not loaded: nothing can be traced");
		return -ENODEV;
	}
	if (d->traces.running >= TRACE_MAX_RUNNING) {
		snprintf(err, errlen, "%d traces are running already (the most at once): wait for one to end",
			 TRACE_MAX_RUNNING);
		return -EBUSY;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->tag.kind = EP_TRACE;
	t->timer_fd = -1;
	t->warnings = json_object_new_array();
	t->what = tp->what;
	t->sample_every = tp->sample_every ? tp->sample_every : 1;
	t->top = tp->top ? tp->top : 50;
	t->requested_ms = tp->ms;
	t->client = c;
	t->done = done;
	t->done_ctx = done_ctx;
	t->id = ++d->traces.next_id;
	for (int i = 0; i < tp->npids; i++) {
		bool dup = false;

		for (int j = 0; j < t->nprocs; j++)
			dup |= t->procs[j].pid == tp->pids[i];
		if (dup)
			continue;
		if ((r = proc_init(&t->procs[t->nprocs], tp->pids[i], err, errlen))) {
			free(t->procs[t->nprocs].maps);
			for (int j = 0; j < t->nprocs; j++)
				free(t->procs[j].maps);
			json_object_put(t->warnings);
			free(t);
			return r;
		}
		t->nprocs++;
	}
	/* Counted as running from here: trace_free() takes it off the list. */
	t->next = d->traces.list;
	d->traces.list = t;
	d->traces.running++;
	for (int i = 0; i < t->nprocs; i++)
		if (!t->procs[i].maps)
			json_object_array_add(t->warnings,
				json_stringf("pid %d: /proc/%d/maps is not readable (%s): its frames will be "
							"addresses (faultlined needs CAP_SYS_PTRACE for other users' processes)",
							t->procs[i].pid, t->procs[i].pid, strerror(-t->procs[i].maps_err)));
	if ((r = tracer_attach(t, err, errlen)))
		goto fail;
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.ptr = &t->tag;
	if (t->timer_fd < 0 || timerfd_settime(t->timer_fd, 0, &its, NULL) ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, t->timer_fd, &ev)) {
		r = -errno;
		snprintf(err, errlen, "trace timer: %s", strerror(-r));
		goto fail;
	}
	t->started_ms = now_mono_ms();
	t->deadline_ms = t->started_ms + t->requested_ms;
	if (c)
		c->tracing = true;
	d->traces.started++;
	trace_what_format(t->what, what, sizeof(what));
	log_info("trace %u started: %d process(es), %s, %llu ms", t->id, t->nprocs, what,
		 (unsigned long long)t->requested_ms);
	*out = t;
	return 0;
fail:
	trace_free(d, t);
	return r;
}

struct namer_ctx {
	struct trace *t;
	struct symbolizer *syms[TRACE_MAX_PIDS];
};

static void namer(void *ctx, int pid, uint64_t addr, bool ret, struct sym_frame *f)
{
	struct namer_ctx *nc = ctx;

	for (int i = 0; i < nc->t->nprocs; i++)
		if (nc->t->procs[i].pid == pid) {
			symbolizer_frame(nc->syms[i], addr, ret, f);
			return;
		}
	symbolizer_frame_raw(addr, f);
}

static bool follows_call(void *ctx, int pid, uint64_t addr)
{
	struct namer_ctx *nc = ctx;

	for (int i = 0; i < nc->t->nprocs; i++)
		if (nc->t->procs[i].pid == pid)
			return symbolizer_follows_call(nc->syms[i], addr);
	return false;
}

static json_object *build_result(struct trace *t, const struct trace_rec *recs, size_t n,
				 const uint64_t drops[FL_TD__MAX], const char *ended, uint64_t now)
{
	json_object *o = json_object_new_object(), *procs = json_object_new_array(), *dr = json_object_new_object();
	struct namer_ctx nc = { .t = t };
	struct trace_result_opts ro = {
		.what = t->what,
		.sample_every = t->sample_every,
		.top = t->top,
		.page_size = sysconf(_SC_PAGESIZE),
		.namer = namer,
		.follows_call = follows_call,
		.namer_ctx = &nc,
	};
	char what[64];

	trace_what_format(t->what, what, sizeof(what));
	ADD(o, "id", json_object_new_uint64(t->id));
	ADD(o, "what", json_object_new_string(what));
	ADD(o, "requested_ms", json_object_new_uint64(t->requested_ms));
	ADD(o, "duration_ms", json_object_new_uint64(now - t->started_ms));
	ADD(o, "ended", json_object_new_string(ended));
	ADD(o, "sample_every", json_object_new_uint64(t->sample_every));
	ADD(o, "page_size", json_object_new_int64(ro.page_size));
	for (int i = 0; i < t->nprocs; i++) {
		struct trace_proc *p = &t->procs[i];
		struct trace_result_proc rp = { .pid = p->pid, .comm = p->comm, .maps = p->maps };
		json_object *po = json_object_new_object();
		int r = p->maps ? symbolizer_open(&nc.syms[i], p->pid, p->maps) : p->maps_err;

		ADD(po, "pid", json_object_new_int(p->pid));
		ADD(po, "comm", json_object_new_string(p->comm));
		ADD(po, "exited", json_object_new_boolean(p->exited));
		if (r)
			ADD(po, "symbols", json_stringf("addresses only: /proc/%d/maps not readable (%s)",
								   p->pid, strerror(-r)));
		else
			ADD(po, "symbols", json_object_new_string("ok"));
		if (t->what & FL_TV_MALLOC)
			ADD(po, "libc", p->libc[0] ? json_object_new_string(p->libc) : NULL);
		ADD(po, "views", trace_result_views(&ro, &rp, recs, n));
		json_object_array_add(procs, po);
	}
	for (int i = 0; i < t->nprocs; i++)
		symbolizer_close(nc.syms[i]);
	ADD(o, "processes", procs);
	ADD(dr, "no_stack", json_object_new_uint64(drops[FL_TD_STACK]));
	ADD(dr, "table_full", json_object_new_uint64(drops[FL_TD_AGG_FULL]));
	ADD(dr, "allocs_full", json_object_new_uint64(drops[FL_TD_ALLOCS_FULL]));
	ADD(o, "drops", dr);
	ADD(o, "warnings", json_object_get(t->warnings));
	return o;
}

static void trace_finish(struct daemon *d, struct trace *t, const char *ended)
{
	uint64_t drops[FL_TD__MAX] = { 0 }, now = now_mono_ms();
	struct trace_rec *recs = NULL;
	struct client *c = t->client;
	json_object *res;
	size_t n = 0;
	int r;

	r = tracer_collect(t, &recs, &n, drops);
	/* Detach before the slow part (symbolization): the traced processes
	 * stop paying at once. */
	tracer_detach(t);
	if (r) {
		log_warn("trace %u: reading the aggregates failed: %s", t->id, strerror(-r));
		res = api_error("internal", "reading the trace maps failed: %s", strerror(-r));
	} else {
		res = api_ok(build_result(t, recs, n, drops, ended, now));
	}
	free(recs);
	d->traces.finished++;
	log_info("trace %u ended (%s) after %llu ms: %zu stacks", t->id, ended,
		 (unsigned long long)(now - t->started_ms), n);
	/* Off the client before sending: a failed send frees the client, and
	 * its gone-hook must not find this trace. */
	t->client = NULL;
	if (c) {
		c->tracing = false;
		server_send(&d->server, c, res);
	} else if (t->done) {
		t->done(t->done_ctx, t, r ? NULL : json_object_object_get(res, "data"));
	}
	json_object_put(res);
	trace_free(d, t);
}

void trace_on_timer(struct daemon *d, struct trace *t)
{
	uint64_t ticks;
	int alive;

	if (read(t->timer_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	refresh_procs(t, &alive);
	if (!alive)
		trace_finish(d, t, "all_exited");
	else if (now_mono_ms() >= t->deadline_ms)
		trace_finish(d, t, "time");
}

void trace_client_gone(void *daemon, struct client *c)
{
	struct daemon *d = daemon;

	for (struct trace *t = d->traces.list; t; t = t->next)
		if (t->client == c) {
			log_info("trace %u cancelled: its client left", t->id);
			d->traces.cancelled++;
			t->client = NULL;
			trace_free(d, t);
			return;
		}
}

void trace_stop_all(struct daemon *d)
{
	while (d->traces.list)
		trace_free(d, d->traces.list);
}

json_object *trace_status(const struct daemon *d)
{
	json_object *o = json_object_new_object();

	ADD(o, "running", json_object_new_uint64(d->traces.running));
	ADD(o, "started", json_object_new_uint64(d->traces.started));
	ADD(o, "finished", json_object_new_uint64(d->traces.finished));
	ADD(o, "cancelled", json_object_new_uint64(d->traces.cancelled));
	return o;
}

json_object *api_trace(struct daemon *d, struct client *c, json_object *args)
{
	struct trace_params tp = { .what = FL_TV_FAULTS | FL_TV_BRK | FL_TV_MMAP, .ms = 10000 };
	int64_t ms = 10000, sample = 1, top = 50;
	const char *what = NULL;
	json_object *err, *pids, *o, *line, *pa;
	struct trace *t;
	char msg[512], wbuf[64];
	int r;

	if ((err = api_arg_int(args, "for_ms", TRACE_MIN_MS, TRACE_MAX_MS, &ms)) ||
	    (err = api_arg_int(args, "sample_every", 1, 1000000, &sample)) ||
	    (err = api_arg_int(args, "top", 1, 10000, &top)) || (err = api_arg_str(args, "what", &what)))
		return err;
	if (what && trace_what_parse(what, &tp.what))
		return api_error("bad_argument", "'what' must list some of faults, brk, mmap, malloc (got '%s')",
				 what);
	if (!args || !json_object_object_get_ex(args, "pids", &pids) || !json_object_is_type(pids, json_type_array) ||
	    json_object_array_length(pids) == 0)
		return api_error("bad_argument", "'pids' (an array of 1 to %d process ids) is required", TRACE_MAX_PIDS);
	if (json_object_array_length(pids) > TRACE_MAX_PIDS)
		return api_error("bad_argument", "at most %d pids per trace", TRACE_MAX_PIDS);
	for (size_t i = 0; i < json_object_array_length(pids); i++) {
		json_object *p = json_object_array_get_idx(pids, i);
		int64_t v = json_object_get_int64(p);

		if (!json_object_is_type(p, json_type_int) || v < 1 || v > 4194304)
			return api_error("bad_argument", "'pids' must hold process ids (1 to 4194304)");
		tp.pids[tp.npids++] = (int)v;
	}
	tp.ms = ms;
	tp.sample_every = sample;
	tp.top = top;
	r = trace_start(d, &tp, c, NULL, NULL, &t, msg, sizeof(msg));
	if (r == -ESRCH)
		return api_error("not_found", "%s", msg);
	if (r == -EINVAL)
		return api_error("bad_argument", "%s", msg);
	if (r == -EBUSY)
		return api_error("busy", "%s", msg);
	if (r)
		return api_error("failed", "%s", msg);
	/* Deferred reply: this progress line now, the result when it ends. */
	line = json_object_new_object();
	o = json_object_new_object();
	pa = json_object_new_array();
	for (int i = 0; i < t->nprocs; i++)
		json_object_array_add(pa, json_object_new_int(t->procs[i].pid));
	trace_what_format(t->what, wbuf, sizeof(wbuf));
	ADD(o, "state", json_object_new_string("running"));
	ADD(o, "id", json_object_new_uint64(t->id));
	ADD(o, "pids", pa);
	ADD(o, "what", json_object_new_string(wbuf));
	ADD(o, "for_ms", json_object_new_uint64(t->requested_ms));
	ADD(o, "sample_every", json_object_new_uint64(t->sample_every));
	ADD(o, "warnings", json_object_get(t->warnings));
	ADD(line, "v", json_object_new_int(FL_PROTOCOL_VERSION));
	ADD(line, "trace", o);
	return line;
}
