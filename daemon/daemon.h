/* The running daemon's state, shared by the loop, the API and the server. */
#ifndef FAULTLINE_DAEMON_H
#define FAULTLINE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "cgcache.h"
#include "config.h"
#include "eventlog.h"
#include "fleet.h"
#include "leak_watch.h"
#include "notify.h"
#include "persist.h"
#include "oom.h"
#include "probes.h"
#include "proctab.h"
#include "server.h"
#include "trace_req.h"

#define FAULTLINE_VERSION "0.1.0"
#define FL_PROTOCOL_VERSION 1

struct daemon_stats {
	uint64_t events[FL_EV__MAX];  /* received from the ring buffer, by kind */
	uint64_t events_bad;          /* malformed ring-buffer records */
	uint64_t snapshots;
	uint64_t snapshot_errors;
	uint64_t snapshot_last_us;    /* duration of the last snapshot */
	uint64_t snapshot_max_us;
	uint64_t orphan_threads;
	uint64_t trim_mark;  /* table bytes at the last malloc_trim or peak since */
	uint64_t trims;
};

struct daemon {
	struct fl_config cfg;
	char config_path[256];
	struct probes probes;
	struct proctab procs;
	struct cgcache cgroups;
	struct leak_watch leaks;     /* verdicts and projections, every interval */
	struct eventlog events;
	struct oom_state oom;        /* OOM records, alerts, hooks */
	struct server server;
	struct daemon_stats stats;
	struct notify notify;        /* systemd: READY, STATUS, WATCHDOG */
	struct access_policy access; /* who may query */
	struct persist persist;      /* the state file */
	struct fleet fleet;          /* per-unit view and metrics */
	struct tracing traces;       /* on-demand growth traces running */
	uint64_t started_mono_ms;
	uint64_t started_wall;
	int64_t boot_to_wall_ns; /* add to a boot-clock time to get wall time */
	int epfd;
	int timer_fd;
	int signal_fd;
	bool stopping;
	bool reload_requested;
};

uint64_t now_mono_ms(void);
uint32_t now_wall_s(void);

/* Create epoll, the timer and the signalfd (before probes and socket). */
int daemon_setup_loop(struct daemon *d);
/* The ring-buffer callback (probes_open takes it). */
int daemon_event_fn(void *ctx, void *data, size_t size);

/* Loop: set up epoll, timer and signals, then run until SIGINT/SIGTERM. */
int daemon_run(struct daemon *d);

/* Take one snapshot now (the timer calls this every interval). */
void daemon_snapshot(struct daemon *d);

/* Publish an event: into the event log, to journald, to `watch` clients. */
void daemon_publish(struct daemon *d, json_object *ev);

#endif
