#include "oom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "cgfind.h"
#include "meminfo.h"
#include "procfs.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)

static uint64_t boot_to_wall_ms(const struct daemon *d, uint64_t boot_ns)
{
	return (uint64_t)((int64_t)boot_ns + d->boot_to_wall_ns) / 1000000;
}

int oom_init(struct daemon *d, char *err, size_t errlen)
{
	struct oom_state *o = &d->oom;
	int r;

	if ((r = oomstore_open(&o->store, d->cfg.state_dir, d->cfg.oom_store_max, err, errlen)))
		return r;
	if (o->store.stats.torn_tail_bytes || o->store.stats.bad_frames)
		log_warn("%s: %llu damaged bytes at the end cut off (a write cut short), %llu damaged records "
			 "skipped; %zu records read back",
			 o->store.path, (unsigned long long)o->store.stats.torn_tail_bytes,
			 (unsigned long long)o->store.stats.bad_frames, oomstore_count(&o->store));
	/* Records whose victim's exit was still awaited when the daemon
	 * stopped (or was killed) will never see it now. */
	for (size_t i = 0; i < oomstore_count(&o->store); i++) {
		json_object *rec, *out, *state;

		if (!strstr(oomstore_text(&o->store, i), "\"pending\""))
			continue;
		rec = oomstore_get(&o->store, i);
		if (rec && json_object_object_get_ex(rec, "outcome", &out) &&
		    json_object_object_get_ex(out, "state", &state) && !strcmp(json_object_get_string(state), "pending")) {
			json_object *ns = oom_outcome_not_seen((uint64_t)now_wall_s() * 1000);

			json_object_object_add(ns, "reason", json_object_new_string("faultlined stopped before the exit was seen"));
			oomstore_update_outcome(&o->store, oomstore_id(&o->store, i), ns);
		}
		json_object_put(rec);
	}
	snprintf(o->memcg_root, sizeof(o->memcg_root), "%s", cgfind_memcg_root() ? cgfind_memcg_root() : "");
	hooks_init(&o->hooks, d->epfd, d->cfg.oom_hook_timeout_ms);
	oom_reconfigure(d);
	return 0;
}

void oom_reconfigure(struct daemon *d)
{
	struct hooks *h = &d->oom.hooks;

	h->timeout_ms = d->cfg.oom_hook_timeout_ms;
	h->ncmds = (int)d->cfg.n_oom_hooks;
	for (int i = 0; i < h->ncmds; i++)
		snprintf(h->cmds[i], sizeof(h->cmds[i]), "%s", d->cfg.oom_hooks[i]);
}

void oom_close(struct daemon *d)
{
	hooks_close(&d->oom.hooks);
	oomstore_close(&d->oom.store);
}

/* A memory cgroup's path: learnt from a process in it, else /proc of the
 * pid at hand (often still there: the victim is dying, not gone), else a
 * walk of the hierarchy for the directory with that inode. */
static const char *memcg_path(struct daemon *d, uint64_t id, uint32_t pid)
{
	const char *known = cgcache_get(&d->cgroups, id);
	char path[512];

	if (known || !id)
		return known;
	if (pid && procfs_memcg_path("/proc", (pid_t)pid, path, sizeof(path)) == 0) {
		/* Only if the process is still in that cgroup. */
		char full[1024];
		struct stat st;

		snprintf(full, sizeof(full), "%s%s", d->oom.memcg_root, path);
		if (d->oom.memcg_root[0] && stat(full, &st) == 0 && (uint64_t)st.st_ino == id) {
			cgcache_put(&d->cgroups, id, path);
			return cgcache_get(&d->cgroups, id);
		}
	}
	if (d->oom.memcg_root[0] && cgfind_path_by_id(d->oom.memcg_root, id, path, sizeof(path)) == 0) {
		cgcache_put(&d->cgroups, id, path);
		return cgcache_get(&d->cgroups, id);
	}
	return NULL;
}

struct journal_fields {
	struct iovec *iov;
	size_t n, cap;
};

static void journal_field(const char *name, const char *value, void *ctx)
{
	struct journal_fields *j = ctx;
	char *s;

	if (j->n == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 128;
		struct iovec *n = realloc(j->iov, ncap * sizeof(*n));

		if (!n)
			return;
		j->iov = n;
		j->cap = ncap;
	}
	if (asprintf(&s, "%s=%s", name, value) < 0)
		return;
	j->iov[j->n].iov_base = s;
	j->iov[j->n++].iov_len = strlen(s);
}

/* One entry at priority crit with every field of the record. */
static void journal_send(struct daemon *d, json_object *rec, const char *msg)
{
	struct journal_fields j = {};
	char m[1100];
	int r;

	snprintf(m, sizeof(m), "MESSAGE=%s", msg);
	journal_field("MESSAGE_ID", OOM_MESSAGE_ID, &j);
	journal_field("PRIORITY", "2", &j);
	journal_field("SYSLOG_IDENTIFIER", "faultlined", &j);
	journal_field("MESSAGE", msg, &j);
	oom_record_fields(rec, journal_field, &j);
	/* libsystemd reports success when journald is absent: look first. */
	if (access("/run/systemd/journal/socket", F_OK))
		r = -ENOENT;
	else
		r = j.n ? sd_journal_sendv(j.iov, (int)j.n) : -ENOMEM;
	if (r == 0) {
		d->oom.stats.journal_sent++;
	} else {
		/* No journald here (not a systemd host): the log line is the alert. */
		if (!d->oom.stats.journal_failed++)
			log_info("OOM records are not sent to journald: %s", strerror(-r));
	}
	for (size_t i = 0; i < j.n; i++)
		free(j.iov[i].iov_base);
	free(j.iov);
}

static void add_pending(struct daemon *d, uint64_t id, const struct fl_oom_event *e, uint64_t start_ns)
{
	struct oom_state *o = &d->oom;

	if (o->npending == OOM_PENDING_MAX) {
		/* The oldest waits no longer. */
		o->stats.pending_overflow++;
		memmove(o->pending, o->pending + 1, (OOM_PENDING_MAX - 1) * sizeof(o->pending[0]));
		o->npending--;
	}
	o->pending[o->npending++] = (struct oom_pending){
		.id = id, .tgid = e->hdr.tgid, .start_ns = start_ns, .deadline_ms = now_mono_ms() + OOM_SETTLE_MS,
	};
}

/* What `watch` and `events` carry: the record's head, not its history. */
static json_object *summary_event(json_object *rec)
{
	json_object *ev = json_object_new_object(), *v;
	static const char *const keys[] = { "id", "time_ms", "victim", "trigger", "constraint" };

	ADD(ev, "type", json_object_new_string("oom_kill"));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(rec, keys[i], &v))
			ADD(ev, keys[i], json_object_get(v));
	return ev;
}

/* Microseconds since the kernel's mark_victim (both on the boot clock). */
static uint64_t since_kill_us(const struct fl_oom_event *e)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	return now > e->hdr.ts_ns ? (now - e->hdr.ts_ns) / 1000 : 0;
}

void oom_on_event(struct daemon *d, const struct fl_oom_event *e)
{
	uint64_t t_read = since_kill_us(e), t_stored, t_journal, t_hooks;
	struct oom_state *o = &d->oom;
	struct oom_context c = {
		.ev = e,
		.procs = &d->procs,
		.cgroups = &d->cgroups,
		.page_size = d->procs.page_size,
		.time_ms = boot_to_wall_ms(d, e->hdr.ts_ns),
		.mem_total = -1,
		.mem_available = -1,
	};
	struct proc *victim;
	char *cmdline = NULL, msg[1024];
	json_object *rec, *stored, *outcome, *state;
	int64_t id;

	o->stats.kills++;
	c.level = oom_blame_pick(&o->blame, e);
	/* Per-unit OOM counts for the metrics (it learns the victim's cgroup). */
	fleet_oom(&d->fleet, d, e, c.level >= 0 ? "memcg" : "global");
	victim = e->victim_start_ns ? proctab_lookup(&d->procs, e->hdr.tgid, e->victim_start_ns)
				    : proctab_find_pid(&d->procs, e->hdr.tgid);
	c.victim_cgroup = memcg_path(d, e->memcg_id ? e->memcg_id : victim ? victim->memcg_id : 0, e->hdr.tgid);
	c.trigger_cgroup = memcg_path(d, e->trigger_memcg_id, e->trigger_tgid);
	if (c.level >= 0)
		c.constraint_cgroup = memcg_path(d, e->levels[c.level].id, 0);
	else
		meminfo_read("/proc/meminfo", &c.mem_total, &c.mem_available);
	/* Only if /proc/PID is this process (see procfs_is_process). */
	if (procfs_is_process("/proc", e->hdr.tgid, e->victim_start_ns ? e->victim_start_ns
									: victim ? victim->key.start_ns : 0))
		c.victim_cmdline = cmdline = procfs_cmdline("/proc", e->hdr.tgid);

	rec = oom_record_build(&c);
	free(cmdline);
	/* The kernel's own timestamp, for latency measurements against it. */
	json_object_object_add(rec, "boot_ns", json_object_new_uint64(e->hdr.ts_ns));
	/* On disk before anyone is told. */
	id = oomstore_append(&o->store, rec);
	/* Even when the write failed, the record is kept in memory. */
	stored = oomstore_get_id(&o->store, id > 0 ? (uint64_t)id : o->store.next_id - 1);
	if (!stored) {
		log_err("OOM kill of %s (pid %u) could not be recorded: out of memory", e->victim_comm, e->hdr.tgid);
		return;
	}
	if (json_object_object_get_ex(stored, "outcome", &outcome) && json_object_object_get_ex(outcome, "state", &state) &&
	    !strcmp(json_object_get_string(state), "pending") && id > 0)
		add_pending(d, (uint64_t)id, e, e->victim_start_ns ? e->victim_start_ns : victim ? victim->key.start_ns : 0);
	else if (id > 0)
		o->stats.settled_exited++;

	t_stored = since_kill_us(e);
	oom_record_message(stored, msg, sizeof(msg));
	journal_send(d, stored, msg);
	t_journal = since_kill_us(e);
	if (!log_to_journal())
		log_msg(LOG_CRIT, "%s (record %lld)", msg, (long long)id);
	hooks_run(&o->hooks, stored);
	t_hooks = since_kill_us(e);
	daemon_publish(d, summary_event(stored));
	json_object_put(stored);
	o->stats.last_latency_us[0] = t_read;
	o->stats.last_latency_us[1] = t_stored;
	o->stats.last_latency_us[2] = t_journal;
	o->stats.last_latency_us[3] = t_hooks;
	log_info("OOM record %lld, after mark_victim: read %llu us, on disk %llu us, journal sent %llu us, "
		 "hooks started %llu us",
		 (long long)id, (unsigned long long)t_read, (unsigned long long)t_stored, (unsigned long long)t_journal,
		 (unsigned long long)t_hooks);
}

void oom_on_exit(struct daemon *d, const struct fl_exit_event *e)
{
	struct oom_state *o = &d->oom;

	for (unsigned i = 0; i < o->npending; i++) {
		struct oom_pending *p = &o->pending[i];

		if (p->tgid != e->hdr.tgid || (p->start_ns && p->start_ns != e->start_ns))
			continue;
		oomstore_update_outcome(&o->store, p->id, oom_outcome_exited(boot_to_wall_ms(d, e->hdr.ts_ns), e->exit_code));
		o->stats.settled_exited++;
		memmove(p, p + 1, (o->npending - i - 1) * sizeof(*p));
		o->npending--;
		i--;
	}
}

void oom_tick(struct daemon *d)
{
	struct oom_state *o = &d->oom;
	uint64_t now = now_mono_ms();

	for (unsigned i = 0; i < o->npending; i++) {
		struct oom_pending *p = &o->pending[i];

		if (p->deadline_ms > now)
			continue;
		log_warn("OOM record %llu: the exit of pid %u was not seen within %d s", (unsigned long long)p->id,
			 p->tgid, OOM_SETTLE_MS / 1000);
		oomstore_update_outcome(&o->store, p->id, oom_outcome_not_seen((uint64_t)now_wall_s() * 1000));
		o->stats.settled_not_seen++;
		memmove(p, p + 1, (o->npending - i - 1) * sizeof(*p));
		o->npending--;
		i--;
	}
}

json_object *oom_status_json(struct daemon *d)
{
	struct oom_state *o = &d->oom;
	json_object *j = json_object_new_object(), *s = json_object_new_object(), *h = json_object_new_object();

	ADD(j, "kills", json_object_new_uint64(o->stats.kills));
	ADD(j, "pending_outcome", json_object_new_uint64(o->npending));
	ADD(j, "journal_sent", json_object_new_uint64(o->stats.journal_sent));
	ADD(j, "journal_failed", json_object_new_uint64(o->stats.journal_failed));
	{
		json_object *l = json_object_new_object();
		static const char *const k[] = { "read", "on_disk", "journal_sent", "hooks_started" };

		for (int i = 0; i < 4; i++)
			ADD(l, k[i], json_object_new_uint64(o->stats.last_latency_us[i]));
		ADD(j, "last_latency_us", l);
	}
	ADD(j, "memcg_root", o->memcg_root[0] ? json_object_new_string(o->memcg_root) : NULL);
	ADD(s, "path", json_object_new_string(o->store.path));
	ADD(s, "records", json_object_new_uint64(oomstore_count(&o->store)));
	ADD(s, "memory_bytes", json_object_new_uint64(o->store.text_bytes));
	ADD(s, "bytes", json_object_new_uint64(o->store.size));
	ADD(s, "max_bytes", json_object_new_uint64(o->store.max_bytes));
	ADD(s, "next_id", json_object_new_uint64(o->store.next_id));
	ADD(s, "loaded", json_object_new_uint64(o->store.stats.loaded));
	ADD(s, "torn_tail_bytes", json_object_new_uint64(o->store.stats.torn_tail_bytes));
	ADD(s, "bad_frames", json_object_new_uint64(o->store.stats.bad_frames));
	ADD(s, "dropped", json_object_new_uint64(o->store.stats.dropped));
	ADD(s, "write_errors", json_object_new_uint64(o->store.stats.write_errors));
	ADD(j, "store", s);
	ADD(h, "configured", json_object_new_int(o->hooks.ncmds));
	ADD(h, "running", json_object_new_uint64(o->hooks.nrunning));
	ADD(h, "started", json_object_new_uint64(o->hooks.stats.started));
	ADD(h, "start_failed", json_object_new_uint64(o->hooks.stats.start_failed));
	ADD(h, "succeeded", json_object_new_uint64(o->hooks.stats.succeeded));
	ADD(h, "failed", json_object_new_uint64(o->hooks.stats.failed));
	ADD(h, "timed_out", json_object_new_uint64(o->hooks.stats.timed_out));
	ADD(h, "skipped_busy", json_object_new_uint64(o->hooks.stats.skipped_busy));
	ADD(j, "hooks", h);
	return j;
}
