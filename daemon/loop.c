/* The event loop: one epoll over the ring buffer, a timerfd for snapshots, a
 * signalfd and the query socket. Nothing here blocks. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cgfind.h"
#include "daemon.h"
#include "leak_alert.h"
#include "log.h"
#include "procfs.h"
#include "snapshot.h"
#include "suspect_profile.h"

static struct ep_tag timer_tag = { EP_TIMER }, signal_tag = { EP_SIGNAL }, ring_tag = { EP_RING };

uint64_t now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

uint32_t now_wall_s(void)
{
	return (uint32_t)time(NULL);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

void daemon_publish(struct daemon *d, json_object *ev)
{
	json_object *line = json_object_new_object();

	eventlog_add(&d->events, ev);
	json_object_object_add(line, "v", json_object_new_int(FL_PROTOCOL_VERSION));
	json_object_object_add(line, "event", json_object_get(ev));
	server_broadcast(&d->server, line);
	json_object_put(line);
}

static uint64_t boot_to_wall_ms(const struct daemon *d, uint64_t boot_ns)
{
	return (uint64_t)((int64_t)boot_ns + d->boot_to_wall_ns) / 1000000;
}

static void on_big_map(struct daemon *d, const struct fl_big_map_event *e)
{
	static const char *const kinds[] = { "?", "mmap-anon", "mmap-file", "mremap", "brk" };
	json_object *ev = json_object_new_object();

	json_object_object_add(ev, "type", json_object_new_string("big_mapping"));
	json_object_object_add(ev, "time_ms", json_object_new_uint64(boot_to_wall_ms(d, e->hdr.ts_ns)));
	json_object_object_add(ev, "pid", json_object_new_uint64(e->hdr.tgid));
	json_object_object_add(ev, "comm", json_object_new_string(e->comm));
	json_object_object_add(ev, "bytes", json_object_new_uint64(e->bytes));
	json_object_object_add(ev, "kind", json_object_new_string(kinds[e->map_kind < 5 ? e->map_kind : 0]));
	log_info("big mapping: %s (pid %u) mapped %llu MiB (%s)", e->comm, e->hdr.tgid,
		 (unsigned long long)e->bytes >> 20, kinds[e->map_kind < 5 ? e->map_kind : 0]);
	daemon_publish(d, ev);
}

/* Ring-buffer callback: sizes are checked before any field is read. */
static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	struct fl_event_hdr hdr;
	static const size_t want[FL_EV__MAX] = {
		[FL_EV_EXIT] = sizeof(struct fl_exit_event),
		[FL_EV_BIG_MAP] = sizeof(struct fl_big_map_event),
		[FL_EV_OOM_VICTIM] = sizeof(struct fl_oom_event),
	};

	if (size < sizeof(hdr)) {
		d->stats.events_bad++;
		return 0;
	}
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.kind == 0 || hdr.kind >= FL_EV__MAX || size < want[hdr.kind]) {
		d->stats.events_bad++;
		return 0;
	}
	d->stats.events[hdr.kind]++;
	switch (hdr.kind) {
	case FL_EV_EXIT:
		proctab_exit(&d->procs, data, now_mono_ms(), now_wall_s());
		oom_on_exit(d, data);
		break;
	case FL_EV_BIG_MAP:
		on_big_map(d, data);
		break;
	case FL_EV_OOM_VICTIM:
		oom_on_event(d, data);
		break;
	}
	return 0;
}

int daemon_event_fn(void *ctx, void *data, size_t size)
{
	return on_event(ctx, data, size);
}

/* Memory cgroups whose path could not be found, and when: the hierarchy
 * walk below is retried for them at most every CG_RETRY_MS, not per process
 * per snapshot. One loop thread, one daemon per process: file scope. */
#define CG_MISSES 32
#define CG_RETRY_MS 30000
static struct {
	uint64_t id, at_ms;
} cg_missed[CG_MISSES];
static unsigned cg_missed_next;

static bool cg_recently_missed(uint64_t id, uint64_t now)
{
	for (unsigned i = 0; i < CG_MISSES; i++)
		if (cg_missed[i].id == id && now - cg_missed[i].at_ms < CG_RETRY_MS)
			return true;
	return false;
}

/* The path of p's memory cgroup, into the cache. /proc/PID/cgroup is cheap
 * but is trusted only when that directory's inode is the memcg id the kernel
 * reported: a daemon inside a PID namespace (a container, the systemd test
 * harness) reads another process's /proc/PID, or none, for a global pid.
 * Otherwise the hierarchy is searched by id (rare: once per new cgroup). */
static void learn_cgroup_path(struct daemon *d, const struct proc *p)
{
	const char *root = d->oom.memcg_root;
	char path[512], full[1024];
	struct stat st;
	uint64_t now;

	if (procfs_memcg_path("/proc", p->key.tgid, path, sizeof(path)) == 0) {
		if (!root[0]) {
			cgcache_put(&d->cgroups, p->memcg_id, path); /* nothing to check against */
			return;
		}
		snprintf(full, sizeof(full), "%s%s", root, path);
		if (stat(full, &st) == 0 && (uint64_t)st.st_ino == p->memcg_id) {
			cgcache_put(&d->cgroups, p->memcg_id, path);
			return;
		}
	}
	now = now_mono_ms();
	if (!root[0] || cg_recently_missed(p->memcg_id, now))
		return;
	if (cgfind_path_by_id(root, p->memcg_id, path, sizeof(path)) == 0) {
		cgcache_put(&d->cgroups, p->memcg_id, path);
		return;
	}
	cg_missed[cg_missed_next].id = p->memcg_id;
	cg_missed[cg_missed_next].at_ms = now;
	cg_missed_next = (cg_missed_next + 1) % CG_MISSES;
}

static void apply_rec(const struct fl_proc_rec *rec, void *ctx)
{
	struct daemon *d = ctx;
	bool is_new;
	struct proc *p = proctab_apply(&d->procs, rec, &is_new);

	if (!p)
		return;
	/* Once per process and exec, never per snapshot; and only from the
	 * /proc entry of this very process (same start time): inside a PID
	 * namespace /proc/<global pid> belongs to another process, or none. */
	if ((is_new || p->comm_changed) && procfs_is_process("/proc", p->key.tgid, p->key.start_ns))
		proctab_set_cmdline(&d->procs, p, procfs_cmdline("/proc", p->key.tgid));
	/* Once per cgroup: also for a process that moved into a new one. */
	if (p->memcg_id && !cgcache_get(&d->cgroups, p->memcg_id))
		learn_cgroup_path(d, p);
}

/* Warnings for this round's suspects: journal, event log, watch clients. */
static void raise_leak_alerts(struct daemon *d)
{
	struct leak_alert_policy pol = {
		.enabled = d->cfg.leak_alerts,
		.horizon_s = (uint32_t)(d->cfg.leak_horizon_ms / 1000),
		.interval_s = (uint32_t)(d->cfg.leak_alert_interval_ms / 1000),
	};
	uint32_t now = now_wall_s();

	for (size_t i = 0; i < d->leaks.nsuspects; i++) {
		struct proc *p = d->leaks.suspects[i];
		unsigned kinds = leak_alert_due(p, p->leak_prev, now, &pol);

		for (unsigned k = LEAK_ALERT_SUSPECT; k <= LEAK_ALERT_EXHAUSTION; k <<= 1) {
			if (!(kinds & k))
				continue;
			if (k == LEAK_ALERT_SUSPECT)
				p->leak_alerted_suspect = now;
			else
				p->leak_alerted_exhaustion = now;
			daemon_publish(d, leak_alert_event(p, k, &d->cgroups));
			leak_alert_journal(p, k, &d->cgroups);
			if (!log_to_journal()) {
				char msg[512];

				leak_alert_message(p, k, msg, sizeof(msg));
				log_warn("%s", msg);
			}
		}
	}
}

void daemon_snapshot(struct daemon *d)
{
	struct snapshot_counts counts;
	const void *buf;
	size_t len;
	uint64_t t0 = now_us(), dt;
	int r;

	/* Exits first, so a process that ended is not taken for vanished. */
	probes_consume(&d->probes);
	r = probes_snapshot(&d->probes, &buf, &len);
	if (r) {
		d->stats.snapshot_errors++;
		log_warn("snapshot failed: %s", strerror(-r));
		return;
	}
	proctab_begin_round(&d->procs, now_mono_ms(), now_wall_s());
	r = snapshot_parse(buf, len, apply_rec, d, &counts);
	if (r) {
		d->stats.snapshot_errors++;
		log_warn("snapshot stream malformed (%zu bytes): %s", len, strerror(-r));
		return;
	}
	proctab_end_round(&d->procs);
	/* After a storm the table shrinks, but freed chunks stay in the heap:
	 * give them back once a few MiB are free, not after every round. */
	if (d->procs.mem_bytes > d->stats.trim_mark) {
		d->stats.trim_mark = d->procs.mem_bytes;
	} else if (d->stats.trim_mark - d->procs.mem_bytes >= (4u << 20)) {
		malloc_trim(0);
		d->stats.trims++;
		d->stats.trim_mark = d->procs.mem_bytes;
	}
	leak_watch_round(&d->leaks, &d->procs, &d->cgroups);
	raise_leak_alerts(d);
	suspect_profile_round(d);
	d->stats.orphan_threads += counts.orphan_threads;
	d->stats.snapshots++;
	dt = now_us() - t0;
	d->stats.snapshot_last_us = dt;
	if (dt > d->stats.snapshot_max_us)
		d->stats.snapshot_max_us = dt;
	fleet_round(&d->fleet, d);
}

static int set_interval(struct daemon *d)
{
	struct itimerspec its = {
		.it_interval = { d->cfg.interval_ms / 1000, (d->cfg.interval_ms % 1000) * 1000000 },
		.it_value = { d->cfg.interval_ms / 1000, (d->cfg.interval_ms % 1000) * 1000000 },
	};

	return timerfd_settime(d->timer_fd, 0, &its, NULL) ? -errno : 0;
}

static void reload(struct daemon *d)
{
	struct fl_config next = d->cfg;
	char err[512];

	notify_reloading();
	if (config_load(&next, d->config_path, false, err, sizeof(err)) ||
	    config_validate(&next, err, sizeof(err))) {
		log_err("reload refused, keeping the running config: %s", err);
		notify_ready(d);
		return;
	}
	config_restart_keys(&d->cfg, &next, err, sizeof(err));
	if (err[0])
		log_warn("reload: %s changed; that takes effect at the next restart", err);
	d->cfg.save_interval_ms = next.save_interval_ms;
	d->cfg.client_idle_ms = next.client_idle_ms;
	d->server.idle_ms = next.client_idle_ms;
	d->cfg.metrics_top_processes = next.metrics_top_processes;
	d->cfg.metrics_max_units = next.metrics_max_units;
	memcpy(d->cfg.oom_hooks, next.oom_hooks, sizeof(next.oom_hooks));
	d->cfg.n_oom_hooks = next.n_oom_hooks;
	d->cfg.oom_hook_timeout_ms = next.oom_hook_timeout_ms;
	oom_reconfigure(d);
	if (next.interval_ms != d->cfg.interval_ms) {
		d->cfg.interval_ms = next.interval_ms;
		set_interval(d);
	}
	/* [leaks] keys apply from the next interval on. */
	memcpy(d->cfg.leak_windows_ms, next.leak_windows_ms, sizeof(next.leak_windows_ms));
	d->cfg.leak_min_duration_ms = next.leak_min_duration_ms;
	d->cfg.leak_min_growth = next.leak_min_growth;
	d->cfg.leak_min_confidence = next.leak_min_confidence;
	d->cfg.leak_horizon_ms = next.leak_horizon_ms;
	d->cfg.leak_alert_interval_ms = next.leak_alert_interval_ms;
	d->cfg.leak_alerts = next.leak_alerts;
	d->cfg.trace_suspect_profile = next.trace_suspect_profile;
	d->cfg.trace_suspect_profile_ms = next.trace_suspect_profile_ms;
	leak_params_from_config(&d->cfg, &d->leaks.params);
	log_info("reloaded %s: interval %llu ms", d->config_path, (unsigned long long)d->cfg.interval_ms);
	notify_ready(d);
}

int daemon_setup_loop(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (d->notify.test_hang)
		sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->signal_fd < 0 || d->timer_fd < 0)
		return -errno;
	ev.data.ptr = &signal_tag;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->signal_fd, &ev))
		return -errno;
	ev.data.ptr = &timer_tag;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->timer_fd, &ev))
		return -errno;
	return 0;
}

int daemon_run(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ring_tag };
	int r;

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, probes_ring_fd(&d->probes), &ev))
		return -errno;
	if ((r = set_interval(d)))
		return r;
	daemon_snapshot(d); /* a first picture at once, not one interval later */
	/* Ready: probes attached, socket listening, and a first answer to give. */
	notify_ready(d);

	while (!d->stopping) {
		struct epoll_event evs[32];
		int n = epoll_wait(d->epfd, evs, 32,
				   server_has_pending(&d->server) ? 0 : notify_timeout_ms(&d->notify, now_mono_ms()));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct ep_tag *tag = evs[i].data.ptr;

			switch (tag->kind) {
			case EP_TIMER: {
				uint64_t ticks;

				if (read(d->timer_fd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
					daemon_snapshot(d);
					oom_tick(d);
					server_sweep(&d->server, now_mono_ms());
					persist_tick(d, now_mono_ms());
					notify_status(d);
				}
				break;
			}
			case EP_SIGNAL: {
				struct signalfd_siginfo si;

				while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(d);
					else if (si.ssi_signo == SIGUSR2)
						notify_test_hang();
					else
						d->stopping = true;
				}
				break;
			}
			case EP_RING:
				probes_consume(&d->probes);
				break;
			case EP_LISTEN:
				server_on_listen(&d->server);
				break;
			case EP_HOOK:
				hooks_on_event(&d->oom.hooks, (struct hook_fd *)tag);
				break;
			case EP_CLIENT:
				server_on_client(&d->server, (struct client *)tag, evs[i].events);
				break;
			case EP_TRACE:
				trace_on_timer(d, (struct trace *)tag);
				break;
			default:
				break;
			}
		}
		server_run_pending(&d->server);
		server_reap(&d->server);
		hooks_reap(&d->oom.hooks);
		notify_watchdog(&d->notify, now_mono_ms());
	}
	probes_consume(&d->probes);
	return 0;
}
