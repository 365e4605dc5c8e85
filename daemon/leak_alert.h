/* Leak warnings: when a process first becomes a leak suspect, and when a
 * grower's projected exhaustion falls within the horizon. Each goes to the
 * journal with its own MESSAGE_ID and structured fields, and to `watch`
 * clients as an event; the same warning is not repeated for a process more
 * often than the configured interval. */
#ifndef FAULTLINE_LEAK_ALERT_H
#define FAULTLINE_LEAK_ALERT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgcache.h"
#include "leaks.h"
#include "proctab.h"

/* Stable MESSAGE_IDs (journalctl MESSAGE_ID=...). */
#define LEAK_MSGID_SUSPECT "9d545cad34644e0f842475c3ff2d64e5"
#define LEAK_MSGID_EXHAUSTION "34e77993ccf6463da54a7be0f97bd11a"

enum leak_alert_kind {
	LEAK_ALERT_SUSPECT = 1u << 0,    /* became a leak suspect */
	LEAK_ALERT_EXHAUSTION = 1u << 1, /* runs out within the horizon */
};

struct leak_alert_policy {
	bool enabled;
	uint32_t horizon_s;
	uint32_t interval_s; /* no repeat of one kind for one process sooner */
};

/* Which warnings are due for p now (a mask of leak_alert_kind); pure.
 * prev is the class p had before this interval's analysis. */
unsigned leak_alert_due(const struct proc *p, enum leak_class prev, uint32_t now,
			const struct leak_alert_policy *pol);

/* The event for `watch` and the event log: type "leak_suspect" or
 * "leak_exhaustion", with pid, comm, cgroup and the verdict. */
json_object *leak_alert_event(const struct proc *p, enum leak_alert_kind kind, const struct cgcache *cg);

/* The one-line message of a warning. */
void leak_alert_message(const struct proc *p, enum leak_alert_kind kind, char *msg, size_t len);

/* The journal entry (sd_journal_send; priority warning). 0 or -errno. */
int leak_alert_journal(const struct proc *p, enum leak_alert_kind kind, const struct cgcache *cg);

#endif
