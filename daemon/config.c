#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "units.h"

void config_defaults(struct fl_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", FL_DEFAULT_SOCKET);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", FL_DEFAULT_STATE_DIR);
	c->interval_ms = 1000;
	c->big_map_bytes = 64ull << 20;
	c->ringbuf_bytes = 1ull << 20;
	c->max_processes = 65536;
	c->exited_keep = 4096;
	c->mm_stats_entries = 65536;
	c->max_clients = 64;
	c->client_idle_ms = 60 * 1000;
	c->save_interval_ms = 5 * 60 * 1000;
	c->history_samples = 480;
	/* Below the unit's MemoryMax (256M) with room for BPF maps, buffers
	 * and the allocator's slack. */
	c->max_memory = 160ull << 20;
	c->metrics_top_processes = 10;
	c->metrics_max_units = 100;
	c->leak_min_duration_ms = 30 * 60 * 1000;
	c->leak_min_growth = 32ull << 20;
	c->leak_min_confidence = 80;
	c->leak_windows_ms[0] = 60 * 1000;
	c->leak_windows_ms[1] = 600 * 1000;
	c->leak_windows_ms[2] = 3600 * 1000;
	c->leak_horizon_ms = 3600 * 1000;
	c->leak_alert_interval_ms = 3600 * 1000;
	c->leak_alerts = 1;
	c->oom_hook_timeout_ms = 10 * 1000;
	c->oom_store_max = 4ull << 20;
	c->trace_suspect_profile = 0; /* off until its cost is accepted (make bench) */
	c->trace_suspect_profile_ms = 10000;
}

/* K_CMD: a command; the key may be repeated, each line adds one. */
enum key_type { K_PATH, K_DURATION, K_BYTES, K_UINT, K_OPTPATH, K_LISTEN, K_BOOL, K_DURATIONS, K_CMD };

struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
	size_t size; /* for the string types */
	uint64_t min, max;
};

#define OFF(f) offsetof(struct fl_config, f)
#define SZ(f) sizeof(((struct fl_config *)0)->f)

/* Every key, its type and its range; faultlined.conf(5) documents them. */
static const struct key_def keys[] = {
	{ "daemon", "socket", K_PATH, OFF(socket_path), SZ(socket_path), 0, 0 },
	{ "daemon", "state_dir", K_PATH, OFF(state_dir), SZ(state_dir), 0, 0 },
	{ "daemon", "interval", K_DURATION, OFF(interval_ms), 0, 100, 3600 * 1000 },
	{ "daemon", "max_clients", K_UINT, OFF(max_clients), 0, 1, 4096 },
	{ "daemon", "client_idle_timeout", K_DURATION, OFF(client_idle_ms), 0, 1000, 86400 * 1000 },
	{ "daemon", "save_interval", K_DURATION, OFF(save_interval_ms), 0, 1000, 86400 * 1000 },
	{ "events", "big_mapping", K_BYTES, OFF(big_map_bytes), 0, 4096, 1ull << 50 },
	{ "events", "ring_buffer", K_BYTES, OFF(ringbuf_bytes), 0, 64 << 10, 1ull << 30 },
	{ "limits", "max_processes", K_UINT, OFF(max_processes), 0, 16, 10000000 },
	{ "limits", "exited_keep", K_UINT, OFF(exited_keep), 0, 0, 10000000 },
	{ "limits", "mapping_stats_entries", K_UINT, OFF(mm_stats_entries), 0, 1024, 4194304 },
	{ "limits", "history_samples", K_UINT, OFF(history_samples), 0, 16, 10000 },
	{ "limits", "max_memory", K_BYTES, OFF(max_memory), 0, 1 << 20, 1ull << 40 },
	{ "metrics", "listen", K_LISTEN, OFF(metrics_listen), SZ(metrics_listen), 0, 0 },
	{ "metrics", "textfile", K_OPTPATH, OFF(metrics_textfile), SZ(metrics_textfile), 0, 0 },
	{ "metrics", "top_processes", K_UINT, OFF(metrics_top_processes), 0, 0, 1000 },
	{ "metrics", "max_units", K_UINT, OFF(metrics_max_units), 0, 1, 100000 },
	{ "leaks", "min_duration", K_DURATION, OFF(leak_min_duration_ms), 0, 1000, 30ull * 86400 * 1000 },
	{ "leaks", "min_growth", K_BYTES, OFF(leak_min_growth), 0, 4096, 1ull << 50 },
	{ "leaks", "min_confidence", K_UINT, OFF(leak_min_confidence), 0, 0, 100 },
	{ "leaks", "windows", K_DURATIONS, OFF(leak_windows_ms), SZ(leak_windows_ms), 1000, 30ull * 86400 * 1000 },
	{ "leaks", "horizon", K_DURATION, OFF(leak_horizon_ms), 0, 1000, 365ull * 86400 * 1000 },
	{ "leaks", "alert_interval", K_DURATION, OFF(leak_alert_interval_ms), 0, 0, 365ull * 86400 * 1000 },
	{ "leaks", "alerts", K_BOOL, OFF(leak_alerts), 0, 0, 1 },
	{ "oom", "hook", K_CMD, OFF(oom_hooks), SZ(oom_hooks[0]), 0, 0 },
	{ "oom", "hook_timeout", K_DURATION, OFF(oom_hook_timeout_ms), 0, 100, 3600 * 1000 },
	{ "oom", "store_max", K_BYTES, OFF(oom_store_max), 0, 64 << 10, 1ull << 34 },
	{ "trace", "suspect_profile", K_BOOL, OFF(trace_suspect_profile), 0, 0, 1 },
	{ "trace", "suspect_profile_duration", K_DURATION, OFF(trace_suspect_profile_ms), 0, 100, 600 * 1000 },
};

#define MAX_HOOKS (sizeof(((struct fl_config *)0)->oom_hooks) / sizeof(((struct fl_config *)0)->oom_hooks[0]))

static bool is_string_key(const struct key_def *k)
{
	return k->type == K_PATH || k->type == K_OPTPATH || k->type == K_LISTEN;
}

int config_split_listen(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long pn;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL; /* an IPv6 address needs its brackets */
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen)
		return -EINVAL;
	errno = 0;
	pn = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || pn > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = 0;
	snprintf(port, portlen, "%lu", pn);
	return 0;
}

/* The whole field, so two configs with equal settings compare equal. */
static void set_string(struct fl_config *c, const struct key_def *k, const char *value)
{
	memset((char *)c + k->off, 0, k->size);
	memcpy((char *)c + k->off, value, strlen(value));
}

struct parse_ctx {
	struct fl_config *cfg;
	bool hooks_seen; /* the file's hook lines replace the ones in force */
	char *err;
	size_t errlen;
};

/* A comma-separated list of durations, at most the array's length. */
static int parse_durations(struct parse_ctx *ctx, const struct key_def *k, const char *value)
{
	uint64_t out[FL_LEAK_WINDOWS] = { 0 };
	size_t max = k->size / sizeof(uint64_t), n = 0;
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", value);
	for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		uint64_t v;

		if (n == max || parse_duration_ms(tok, &v) || v < k->min || v > k->max) {
			snprintf(ctx->err, ctx->errlen,
				 "%s = '%s': expected 1 to %zu comma-separated durations (e.g. 1m, 10m, 1h) between %llu ms and %llu ms",
				 k->name, value, max, (unsigned long long)k->min, (unsigned long long)k->max);
			return 0;
		}
		out[n++] = v;
	}
	if (!n) {
		snprintf(ctx->err, ctx->errlen, "%s: at least one duration is needed", k->name);
		return 0;
	}
	memcpy((char *)ctx->cfg + k->off, out, k->size);
	return 1;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	const struct key_def *k = NULL;
	uint64_t v;
	int r;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(section, keys[i].section) && !strcmp(name, keys[i].name))
			k = &keys[i];
	if (!k) {
		snprintf(ctx->err, ctx->errlen, "unknown key '%s' in section [%s]", name, section);
		return 0;
	}
	if (k->type == K_CMD) {
		if (!ctx->hooks_seen) {
			memset(ctx->cfg->oom_hooks, 0, sizeof(ctx->cfg->oom_hooks));
			ctx->cfg->n_oom_hooks = 0;
			ctx->hooks_seen = true;
		}
		if (!value[0]) /* "hook =": none */
			return 1;
		if (strlen(value) >= k->size || ctx->cfg->n_oom_hooks >= MAX_HOOKS) {
			snprintf(ctx->err, ctx->errlen, "%s: at most %zu commands, each shorter than %zu bytes", name,
				 MAX_HOOKS, k->size);
			return 0;
		}
		snprintf(ctx->cfg->oom_hooks[ctx->cfg->n_oom_hooks++], k->size, "%s", value);
		return 1;
	}
	if (k->type == K_LISTEN) {
		char host[128], port[8];

		if (value[0] && (strlen(value) >= k->size ||
				 config_split_listen(value, host, sizeof(host), port, sizeof(port)))) {
			snprintf(ctx->err, ctx->errlen,
				 "%s = '%s': expected ADDRESS:PORT (e.g. %s or [::1]:9464), or nothing to turn it off",
				 name, value, FL_METRICS_DEFAULT_LISTEN);
			return 0;
		}
		set_string(ctx->cfg, k, value);
		return 1;
	}
	if (k->type == K_OPTPATH && !value[0]) {
		set_string(ctx->cfg, k, "");
		return 1;
	}
	if (k->type == K_PATH || k->type == K_OPTPATH) {
		if (value[0] != '/' || strlen(value) >= k->size) {
			snprintf(ctx->err, ctx->errlen, "%s: '%s' is not an absolute path shorter than %zu bytes",
				 name, value, k->size);
			return 0;
		}
		set_string(ctx->cfg, k, value);
		return 1;
	}
	if (k->type == K_DURATIONS)
		return parse_durations(ctx, k, value);
	if (k->type == K_BOOL) {
		int b;

		if (parse_bool(value, &b)) {
			snprintf(ctx->err, ctx->errlen, "%s = '%s': expected yes or no", name, value);
			return 0;
		}
		v = (uint64_t)b;
		memcpy((char *)ctx->cfg + k->off, &v, sizeof(v));
		return 1;
	}
	r = k->type == K_DURATION ? parse_duration_ms(value, &v)
	  : k->type == K_BYTES	  ? parse_bytes(value, &v)
				  : parse_uint(value, &v);
	if (r || v < k->min || v > k->max) {
		static const char *const what[] = { "", "a duration (e.g. 500ms, 2s, 1m)",
						    "a size (e.g. 64M, 1G)", "a whole number", "", "" };
		snprintf(ctx->err, ctx->errlen, "%s = '%s': expected %s between %llu and %llu", name,
			 value, what[k->type], (unsigned long long)k->min, (unsigned long long)k->max);
		return 0;
	}
	memcpy((char *)ctx->cfg + k->off, &v, sizeof(v));
	return 1;
}

int config_load(struct fl_config *c, const char *path, bool required, char *err, size_t errlen)
{
	FILE *f;
	int r;

	f = fopen(path, "r");
	if (!f) {
		int e = errno;

		if (e == ENOENT && !required)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	r = config_load_file(c, f, path, err, errlen);
	fclose(f);
	return r;
}

int config_load_file(struct fl_config *c, FILE *f, const char *path, char *err, size_t errlen)
{
	struct fl_config tmp = *c;
	struct parse_ctx ctx = { .cfg = &tmp };
	char why[256] = "";
	int line;

	ctx.err = why;
	ctx.errlen = sizeof(why);
	line = ini_parse_file(f, handle_key, &ctx);
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line, why[0] ? why : "syntax error");
		return -EINVAL;
	}
	/* Hooks come from the file alone: one without hook lines has none. */
	if (!ctx.hooks_seen) {
		memset(tmp.oom_hooks, 0, sizeof(tmp.oom_hooks));
		tmp.n_oom_hooks = 0;
	}
	/* Only a wholly valid file replaces the settings in force. */
	*c = tmp;
	return 0;
}

int config_validate(const struct fl_config *c, char *err, size_t errlen)
{
	if (c->ringbuf_bytes & (c->ringbuf_bytes - 1)) {
		snprintf(err, errlen, "ring_buffer must be a power of two (got %llu)",
			 (unsigned long long)c->ringbuf_bytes);
		return -EINVAL;
	}
	if (c->ringbuf_bytes % (uint64_t)sysconf(_SC_PAGESIZE)) {
		snprintf(err, errlen, "ring_buffer must be a multiple of the page size");
		return -EINVAL;
	}
	return 0;
}

/* The keys a reload applies to the running daemon (loop.c reload()); every
 * other key is read at start only. */
static const char *const live_keys[] = { "interval", "save_interval", "client_idle_timeout", "top_processes",
					  "max_units", "min_duration", "min_growth", "min_confidence",
					  "windows", "horizon", "alert_interval", "alerts", "hook", "hook_timeout",
					  "suspect_profile", "suspect_profile_duration" };

static bool is_live(const char *name)
{
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (!strcmp(name, live_keys[i]))
			return true;
	return false;
}

void config_restart_keys(const struct fl_config *running, const struct fl_config *next, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key_def *k = &keys[i];
		const char *a = (const char *)running + k->off, *b = (const char *)next + k->off;
		bool differs;

		if (is_live(k->name))
			continue;
		if (is_string_key(k))
			differs = strncmp(a, b, k->size) != 0;
		else
			differs = memcmp(a, b, k->type == K_DURATIONS ? k->size : sizeof(uint64_t)) != 0;
		if (differs && used < len)
			used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "", k->name);
	}
}
