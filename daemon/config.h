/* faultlined's settings: defaults, the config file (INI, parsed by inih),
 * then command-line options on top. */
#ifndef FAULTLINE_CONFIG_H
#define FAULTLINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FL_DEFAULT_CONFIG "/etc/faultline/faultlined.conf"
#define FL_DEFAULT_SOCKET "/run/faultline/faultline.sock"
#define FL_DEFAULT_STATE_DIR "/var/lib/faultline"

struct fl_config {
	char socket_path[108]; /* sun_path */
	char state_dir[256];
	uint64_t interval_ms;
	uint64_t big_map_bytes;
	uint64_t ringbuf_bytes;
	uint64_t max_processes;
	uint64_t exited_keep;
	uint64_t mm_stats_entries;
	uint64_t max_clients;
	uint64_t client_idle_ms;
	uint64_t save_interval_ms;
	uint64_t history_samples;
	uint64_t max_memory;
	/* [metrics]: both off when empty */
	char metrics_listen[128]; /* "127.0.0.1:9464", "[::1]:9464" */
	char metrics_textfile[256];
	uint64_t metrics_top_processes; /* per-process series: top N of each kind */
	uint64_t metrics_max_units;     /* per-unit series: at most this many units */
	/* [leaks]: all applied on reload */
	uint64_t leak_min_duration_ms;
	uint64_t leak_min_growth;
	uint64_t leak_min_confidence; /* percent */
	uint64_t leak_windows_ms[4];  /* 0-terminated when fewer */
	uint64_t leak_horizon_ms;
	uint64_t leak_alert_interval_ms;
	uint64_t leak_alerts;         /* 0 or 1 */
	/* [oom] */
	char oom_hooks[8][512]; /* commands run on each kill (sh -c) */
	uint64_t n_oom_hooks;
	uint64_t oom_hook_timeout_ms;
	uint64_t oom_store_max; /* bytes of STATE_DIR/oom.log */
	/* [trace]: applied on reload */
	uint64_t trace_suspect_profile;    /* 0 or 1 */
	uint64_t trace_suspect_profile_ms; /* how long each profile traces */
};

#define FL_LEAK_WINDOWS 4


#define FL_METRICS_DEFAULT_LISTEN "127.0.0.1:9464"

/* Splits "host:port" / "[v6]:port" into its parts; 0 or -EINVAL. */
int config_split_listen(const char *s, char *host, size_t hostlen, char *port, size_t portlen);

void config_defaults(struct fl_config *c);

/* Reads an INI file over *c. A missing file is fine when !required.
 * On error returns -errno / -EINVAL and writes "path:line: why" to err. */
int config_load(struct fl_config *c, const char *path, bool required, char *err, size_t errlen);

/* The same from an open stream; path names it in messages. */
int config_load_file(struct fl_config *c, FILE *f, const char *path, char *err, size_t errlen);

/* Lists (comma-separated, into buf) the keys that differ between the running
 * config and a re-read one but are read at start only; "" when none. */
void config_restart_keys(const struct fl_config *running, const struct fl_config *next, char *buf, size_t len);

/* Checks that hold across keys; "why" into err. */
int config_validate(const struct fl_config *c, char *err, size_t errlen);

#endif
