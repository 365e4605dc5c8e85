/* OOM kills: from the mark_victim event to a record on disk, then the alerts
 * (journald, hooks, `watch` clients), then the victim's exit settling the
 * record's outcome. */
#ifndef FAULTLINE_OOM_H
#define FAULTLINE_OOM_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "faultline.h"
#include "hooks.h"
#include "oom_record.h"
#include "oomstore.h"

/* The journal's MESSAGE_ID of an OOM kill entry (stable: alerting rules
 * select on it). */
#define OOM_MESSAGE_ID "024dfbaec32d4a85a9bd633d92ce81f4"
/* How long the victim's exit is awaited before the outcome reads not_seen. */
#define OOM_SETTLE_MS (30 * 1000)
#define OOM_PENDING_MAX 64

struct oom_pending {
	uint64_t id;
	uint32_t tgid;
	uint64_t start_ns; /* 0: not known (classic tracepoint) */
	uint64_t deadline_ms;
};

struct oom_stats {
	uint64_t kills;
	uint64_t journal_sent;
	uint64_t journal_failed;
	uint64_t settled_exited;
	uint64_t settled_not_seen;
	uint64_t pending_overflow;
	/* The last kill, microseconds after mark_victim: event read, record
	 * on disk, journal entry sent, hooks started. */
	uint64_t last_latency_us[4];
};

struct oom_state {
	struct oomstore store;
	struct oom_blame blame;
	struct hooks hooks;
	struct oom_pending pending[OOM_PENDING_MAX];
	unsigned npending;
	char memcg_root[256]; /* "" when no memory controller is mounted */
	struct oom_stats stats;
};

struct daemon;
struct fl_exit_event;

/* Opens STATE_DIR/oom.log, finds the memory controller, sets up hooks. */
int oom_init(struct daemon *d, char *err, size_t errlen);
void oom_close(struct daemon *d);
/* Applies a reloaded config's hook settings. */
void oom_reconfigure(struct daemon *d);

void oom_on_event(struct daemon *d, const struct fl_oom_event *e);
/* Every exit event, after the process table took it. */
void oom_on_exit(struct daemon *d, const struct fl_exit_event *e);
/* Once per interval: outcomes that waited too long. */
void oom_tick(struct daemon *d);

json_object *oom_status_json(struct daemon *d);

#endif
