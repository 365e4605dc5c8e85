#include "leak_alert.h"

#include <math.h>
#include <stdio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "procfs.h"
#include "render.h"
#include "report.h"

static bool due(uint32_t last, uint32_t now, uint32_t interval)
{
	return !last || now - last >= interval;
}

unsigned leak_alert_due(const struct proc *p, enum leak_class prev, uint32_t now,
			const struct leak_alert_policy *pol)
{
	const struct leak_verdict *v = &p->leak;
	unsigned kinds = 0;

	if (!pol->enabled || p->state != PROC_LIVE)
		return 0;
	/* On the way in, not for every interval it stays a suspect. */
	if (v->cls == LEAK_SUSPECT && prev != LEAK_SUSPECT && due(p->leak_alerted_suspect, now, pol->interval_s))
		kinds |= LEAK_ALERT_SUSPECT;
	/* Only a suspect's projection is trusted enough to page someone. */
	if (v->cls == LEAK_SUSPECT && v->proj.tte_s >= 0 && v->proj.tte_s < pol->horizon_s &&
	    due(p->leak_alerted_exhaustion, now, pol->interval_s))
		kinds |= LEAK_ALERT_EXHAUSTION;
	return kinds;
}

json_object *leak_alert_event(const struct proc *p, enum leak_alert_kind kind, const struct cgcache *cg)
{
	json_object *ev = json_object_new_object();
	const char *path = cg ? cgcache_get(cg, p->memcg_id) : NULL;

	json_object_object_add(ev, "type",
			       json_object_new_string(kind == LEAK_ALERT_SUSPECT ? "leak_suspect" : "leak_exhaustion"));
	json_object_object_add(ev, "time_ms", json_object_new_uint64((uint64_t)p->leak.analysed_at * 1000));
	json_object_object_add(ev, "pid", json_object_new_uint64(p->key.tgid));
	json_object_object_add(ev, "start_ns", json_object_new_uint64(p->key.start_ns));
	json_object_object_add(ev, "comm", json_object_new_string(p->comm));
	json_object_object_add(ev, "cgroup", path ? json_object_new_string(path) : NULL);
	json_object_object_add(ev, "leak", report_leak(&p->leak));
	{
		char msg[512];

		leak_alert_message(p, kind, msg, sizeof(msg));
		json_object_object_add(ev, "message", json_object_new_string(msg));
	}
	return ev;
}

/* Per second, as the CLI's tables print rates of storms (cli/render.c). */
static const char *per_second(double b, char *buf, size_t len)
{
	return fmt_bytes(b > 0 ? (uint64_t)llround(b) : 0, buf, len);
}

void leak_alert_message(const struct proc *p, enum leak_alert_kind kind, char *msg, size_t len)
{
	const struct leak_verdict *v = &p->leak;
	char rate[32], own[32];

	if (kind == LEAK_ALERT_SUSPECT)
		snprintf(msg, len, "leak suspect: %s (pid %u) grows %s/s for %us, now %s anon+swap (%s)", p->comm,
			 p->key.tgid, per_second(v->slope, rate, sizeof(rate)), v->growing_for_s,
			 fmt_bytes(v->owned, own, sizeof(own)), v->reason);
	else
		snprintf(msg, len, "leak: %s (pid %u) will exhaust %s%s%s in %.0f s at %s/s", p->comm, p->key.tgid,
			 mem_limit_name(v->proj.kind), v->proj.where[0] ? " of " : "", v->proj.where, v->proj.tte_s,
			 per_second(v->proj.rate, rate, sizeof(rate)));
}

int leak_alert_journal(const struct proc *p, enum leak_alert_kind kind, const struct cgcache *cg)
{
	const struct leak_verdict *v = &p->leak;
	const char *path = cg ? cgcache_get(cg, p->memcg_id) : NULL;
	char msg[512], lim[300];
	int r;

	if (v->proj.tte_s >= 0)
		snprintf(lim, sizeof(lim), "%s%s%s", mem_limit_name(v->proj.kind), v->proj.where[0] ? " of " : "",
			 v->proj.where);
	else
		snprintf(lim, sizeof(lim), "none");
	leak_alert_message(p, kind, msg, sizeof(msg));
	r = sd_journal_send("MESSAGE=%s", msg,
			    "MESSAGE_ID=%s", kind == LEAK_ALERT_SUSPECT ? LEAK_MSGID_SUSPECT : LEAK_MSGID_EXHAUSTION,
			    "PRIORITY=%d", LOG_WARNING,
			    "SYSLOG_IDENTIFIER=faultlined",
			    "FAULTLINE_PID=%u", p->key.tgid,
			    "FAULTLINE_COMM=%s", p->comm,
			    "FAULTLINE_CGROUP=%s", path ? path : "",
			    "FAULTLINE_UNIT=%s", path ? cgroup_unit_name(path) : "",
			    "FAULTLINE_CLASS=%s", leak_class_name(v->cls),
			    "FAULTLINE_SLOPE_BYTES_PER_S=%.0f", v->slope,
			    "FAULTLINE_OWNED_BYTES=%llu", (unsigned long long)v->owned,
			    "FAULTLINE_GROWTH_START=%u", v->growth_start,
			    "FAULTLINE_GROWN_BYTES=%llu", (unsigned long long)v->grown,
			    "FAULTLINE_CONFIDENCE=%.2f", v->confidence,
			    "FAULTLINE_REASON=%s", v->reason,
			    "FAULTLINE_EXHAUSTION_S=%.0f", v->proj.tte_s,
			    "FAULTLINE_LIMIT=%s", lim,
			    NULL);
	return r;
}
