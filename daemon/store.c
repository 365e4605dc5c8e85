#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

/* ---- encoding ---------------------------------------------------------- */

struct enc {
	unsigned char *b;
	size_t len, cap;
	bool oom;
};

static void enc_reserve(struct enc *e, size_t n)
{
	if (e->oom || e->len + n <= e->cap)
		return;
	size_t ncap = e->cap ? e->cap : 1 << 16;
	while (ncap < e->len + n)
		ncap *= 2;
	unsigned char *nb = realloc(e->b, ncap);
	if (!nb) {
		e->oom = true;
		return;
	}
	e->b = nb;
	e->cap = ncap;
}

static void put_u(struct enc *e, uint64_t v)
{
	enc_reserve(e, 10);
	if (e->oom)
		return;
	do {
		unsigned char c = v & 0x7f;
		v >>= 7;
		e->b[e->len++] = c | (v ? 0x80 : 0);
	} while (v);
}

static void put_s(struct enc *e, int64_t v)
{
	put_u(e, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_bytes(struct enc *e, const void *p, size_t n)
{
	put_u(e, n);
	enc_reserve(e, n);
	if (e->oom)
		return;
	memcpy(e->b + e->len, p, n);
	e->len += n;
}

static void put_str(struct enc *e, const char *s)
{
	put_bytes(e, s, strlen(s));
}

/* A section's length is known only at its end: reserve a fixed 5-byte
 * varint for it and patch it in. */
static size_t section_begin(struct enc *e, const char *name)
{
	put_str(e, name);
	enc_reserve(e, 5);
	if (e->oom)
		return 0;
	e->len += 5;
	return e->len;
}

static void section_end(struct enc *e, size_t start)
{
	uint64_t n = e->len - start;

	if (e->oom)
		return;
	for (int i = 0; i < 5; i++) {
		e->b[start - 5 + i] = (n & 0x7f) | (i < 4 ? 0x80 : 0);
		n >>= 7;
	}
}

#define MM_FIELDS (sizeof(struct fl_mm_stats) / sizeof(uint64_t))
#define CUR_FIELDS (sizeof(struct proc_counters) / sizeof(uint64_t))

enum { PF_HAS_MM = 1, PF_RSS_KNOWN = 2, PF_CMDLINE = 4 };

static void put_history(struct enc *e, const struct history *h)
{
	for (int t = 0; t < HIST_TIERS; t++) {
		size_t n = history_len(h, t);
		uint32_t prev_t = 0;

		put_u(e, n);
		for (size_t i = 0; i < n; i++) {
			const struct hist_sample *s = history_at(h, t, i);

			put_s(e, (int64_t)s->t - prev_t);
			prev_t = s->t;
			put_u(e, s->anon_kb);
			put_u(e, s->swap_kb);
			put_u(e, s->file_kb);
			put_u(e, s->shmem_kb);
			put_u(e, s->heap_kb);
			put_u(e, s->vm_kb);
			put_u(e, s->min_flt);
			put_u(e, s->maj_flt);
			put_u(e, s->owned_min_kb);
			put_u(e, s->owned_max_kb);
			put_u(e, s->owned_min_kb);
			put_u(e, s->owned_max_kb);
		}
	}
}

static void put_proc(struct enc *e, const struct proc *p)
{
	uint64_t v[MM_FIELDS > CUR_FIELDS ? MM_FIELDS : CUR_FIELDS];
	unsigned flags = (p->has_mm ? PF_HAS_MM : 0) | (p->rss_known ? PF_RSS_KNOWN : 0) |
			 (p->cmdline ? PF_CMDLINE : 0);

	put_u(e, p->key.tgid);
	put_u(e, p->key.gen);
	put_u(e, p->key.start_ns);
	put_bytes(e, p->comm, strnlen(p->comm, sizeof(p->comm) - 1));
	put_u(e, p->ppid);
	put_u(e, p->uid);
	put_u(e, p->nr_threads);
	put_u(e, p->map_count);
	put_s(e, p->oom_score_adj);
	put_u(e, p->memcg_id);
	put_u(e, flags);
	memcpy(v, &p->cur, sizeof(p->cur));
	for (size_t i = 0; i < CUR_FIELDS; i++)
		put_u(e, v[i]);
	if (p->has_mm) {
		memcpy(v, &p->mm, sizeof(p->mm));
		for (size_t i = 0; i < MM_FIELDS; i++)
			put_u(e, v[i]);
	}
	if (p->cmdline)
		put_str(e, p->cmdline);
	put_u(e, p->first_seen_wall);
	put_u(e, p->state);
	put_u(e, p->exit_how);
	put_s(e, p->exit_code);
	put_u(e, p->exit_wall);
	put_u(e, p->peak_rss);
	put_history(e, &p->hist);
}

int store_encode(const struct store_parts *s, const char *boot_id, uint32_t now_wall, void **out, size_t *len)
{
	struct enc e = {};
	struct proc *p, *tmp;
	size_t sec;

	sec = section_begin(&e, "meta");
	put_str(&e, boot_id);
	put_u(&e, now_wall);
	section_end(&e, sec);

	/* Exited ones in eviction order (oldest first), so the restored list
	 * evicts in the same order; then the live ones. */
	sec = section_begin(&e, "procs");
	put_u(&e, s->procs->stats.live + s->procs->stats.exited);
	DL_FOREACH2(s->procs->exited_head, p, exit_next)
		put_proc(&e, p);
	HASH_ITER(hh, s->procs->by_key, p, tmp) {
		if (p->state == PROC_LIVE)
			put_proc(&e, p);
	}
	section_end(&e, sec);

	/* When each process's leak alerts last fired: a restart must not fire
	 * them again for a leak already reported. */
	sec = section_begin(&e, "leak_alerts");
	{
		uint64_t n = 0;

		HASH_ITER(hh, s->procs->by_key, p, tmp)
			n += p->leak_alerted_suspect || p->leak_alerted_exhaustion;
		put_u(&e, n);
		HASH_ITER(hh, s->procs->by_key, p, tmp) {
			if (!p->leak_alerted_suspect && !p->leak_alerted_exhaustion)
				continue;
			put_u(&e, p->key.tgid);
			put_u(&e, p->key.gen);
			put_u(&e, p->key.start_ns);
			put_u(&e, p->leak_alerted_suspect);
			put_u(&e, p->leak_alerted_exhaustion);
		}
	}
	section_end(&e, sec);

	sec = section_begin(&e, "events");
	put_u(&e, s->events->next_seq);
	put_u(&e, s->events->len);
	for (size_t i = 0; i < s->events->len; i++) {
		json_object *ev = eventlog_at(s->events, i), *seq;

		put_u(&e, json_object_object_get_ex(ev, "seq", &seq) ? json_object_get_uint64(seq) : 0);
		put_str(&e, json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
	}
	section_end(&e, sec);

	if (s->cgroups) {
		struct cg_entry *c, *ctmp;

		sec = section_begin(&e, "cgroups");
		put_u(&e, s->cgroups->count);
		HASH_ITER(hh, s->cgroups->by_id, c, ctmp) {
			put_u(&e, c->id);
			put_str(&e, c->path);
		}
		section_end(&e, sec);
	}

	if (e.oom) {
		free(e.b);
		return -ENOMEM;
	}
	*out = e.b;
	*len = e.len;
	return 0;
}

/* ---- decoding ---------------------------------------------------------- */

struct dec {
	const unsigned char *p, *end;
	const char *why; /* first failure */
};

static void fail(struct dec *d, const char *why)
{
	if (!d->why)
		d->why = why;
	d->p = d->end;
}

static uint64_t get_u(struct dec *d)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (d->p >= d->end) {
			fail(d, "truncated number");
			return 0;
		}
		unsigned char c = *d->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	fail(d, "number longer than 64 bits");
	return 0;
}

static uint64_t get_max(struct dec *d, uint64_t max, const char *what)
{
	uint64_t v = get_u(d);

	if (v > max) {
		fail(d, what);
		return 0;
	}
	return v;
}

static int64_t get_s(struct dec *d)
{
	uint64_t v = get_u(d);

	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* A pointer into the buffer and its length (not NUL-terminated). */
static const unsigned char *get_bytes(struct dec *d, size_t max, size_t *n)
{
	const unsigned char *b;

	*n = get_u(d);
	if (*n > max || *n > (size_t)(d->end - d->p)) {
		fail(d, "string longer than allowed or than the file");
		*n = 0;
		return d->p; /* empty, but a valid pointer (no arithmetic on NULL) */
	}
	b = d->p;
	d->p += *n;
	return b;
}

/* A malloc'd NUL-terminated copy, NULL on failure. */
static char *get_str(struct dec *d, size_t max)
{
	size_t n;
	const unsigned char *b = get_bytes(d, max, &n);
	char *s;

	if (d->why)
		return NULL;
	if (memchr(b, 0, n)) {
		fail(d, "NUL inside a string");
		return NULL;
	}
	s = malloc(n + 1);
	if (!s) {
		fail(d, "out of memory");
		return NULL;
	}
	memcpy(s, b, n);
	s[n] = 0;
	return s;
}

static void get_history(struct dec *d, struct history *h)
{
	for (int t = 0; t < HIST_TIERS && !d->why; t++) {
		/* Each sample takes at least 11 bytes: a count beyond what is
		 * left is damage, found before any loop runs long. */
		uint64_t n = get_max(d, (d->end - d->p) / 11, "history longer than the file");
		uint32_t prev_t = 0;

		for (uint64_t i = 0; i < n && !d->why; i++) {
			struct hist_sample s;

			s.t = prev_t + (uint32_t)get_s(d);
			prev_t = s.t;
			s.anon_kb = get_max(d, UINT32_MAX, "sample field out of range");
			s.swap_kb = get_max(d, UINT32_MAX, "sample field out of range");
			s.file_kb = get_max(d, UINT32_MAX, "sample field out of range");
			s.shmem_kb = get_max(d, UINT32_MAX, "sample field out of range");
			s.heap_kb = get_max(d, UINT32_MAX, "sample field out of range");
			s.vm_kb = get_u(d);
			s.min_flt = get_u(d);
			s.maj_flt = get_u(d);
			s.owned_min_kb = get_max(d, UINT32_MAX, "sample field out of range");
			s.owned_max_kb = get_max(d, UINT32_MAX, "sample field out of range");
			s.owned_min_kb = get_max(d, UINT32_MAX, "sample field out of range");
			s.owned_max_kb = get_max(d, UINT32_MAX, "sample field out of range");
			if (!d->why && history_push_tier(h, t, &s))
				fail(d, "out of memory");
		}
	}
}

/* Fills *p (zeroed by the caller); the caller frees p->hist and p->cmdline. */
static void get_proc(struct dec *d, struct proc *p)
{
	uint64_t v[MM_FIELDS > CUR_FIELDS ? MM_FIELDS : CUR_FIELDS];
	const unsigned char *comm;
	size_t n;
	unsigned flags;

	p->key.tgid = get_max(d, UINT32_MAX, "pid out of range");
	p->key.gen = get_max(d, UINT32_MAX - 1, "boot generation out of range");
	p->key.start_ns = get_u(d);
	comm = get_bytes(d, sizeof(p->comm) - 1, &n);
	if (comm)
		memcpy(p->comm, comm, n);
	p->ppid = get_max(d, UINT32_MAX, "ppid out of range");
	p->uid = get_max(d, UINT32_MAX, "uid out of range");
	p->nr_threads = get_max(d, UINT32_MAX, "thread count out of range");
	p->map_count = get_max(d, UINT32_MAX, "map count out of range");
	p->oom_score_adj = (int32_t)get_s(d);
	p->memcg_id = get_u(d);
	flags = get_max(d, PF_HAS_MM | PF_RSS_KNOWN | PF_CMDLINE, "unknown process flags");
	for (size_t i = 0; i < CUR_FIELDS; i++)
		v[i] = get_u(d);
	memcpy(&p->cur, v, sizeof(p->cur));
	p->rss_known = flags & PF_RSS_KNOWN;
	p->has_mm = flags & PF_HAS_MM;
	if (p->has_mm) {
		for (size_t i = 0; i < MM_FIELDS; i++)
			v[i] = get_u(d);
		memcpy(&p->mm, v, sizeof(p->mm));
	}
	if (flags & PF_CMDLINE)
		p->cmdline = get_str(d, 1 << 16);
	p->first_seen_wall = get_max(d, UINT32_MAX, "time out of range");
	p->state = get_max(d, PROC_EXITED, "unknown process state");
	p->exit_how = get_max(d, EXIT_WHILE_DOWN, "unknown exit kind");
	p->exit_code = (int32_t)get_s(d);
	p->exit_wall = get_max(d, UINT32_MAX, "time out of range");
	p->peak_rss = get_u(d);
	get_history(d, &p->hist);
}

static void load_procs(struct dec *d, const struct store_parts *s, const struct store_loaded *info,
		       struct store_loaded *out)
{
	/* A process record takes at least 30 bytes. */
	uint64_t n = get_max(d, (d->end - d->p) / 30, "more processes than the file holds");

	for (uint64_t i = 0; i < n && !d->why; i++) {
		struct proc tmpl;

		memset(&tmpl, 0, sizeof(tmpl));
		get_proc(d, &tmpl);
		if (!d->why && !info->same_boot) {
			/* Another boot: its pids and start times mean nothing now. */
			tmpl.key.gen++;
			if (tmpl.state == PROC_LIVE) {
				tmpl.state = PROC_EXITED;
				tmpl.exit_how = EXIT_WHILE_DOWN;
				tmpl.exit_wall = info->saved_wall;
				s->procs->stats.exited_while_down++;
			}
		}
		if (!d->why) {
			bool live = tmpl.state == PROC_LIVE;

			/* A duplicate or a full table skips one record; it does
			 * not make the rest of the file unreadable. */
			if (proctab_restore(s->procs, &tmpl))
				live ? out->live++ : out->exited++;
		}
		history_free(&tmpl.hist);
		free(tmpl.cmdline);
	}
}

static void load_leak_alerts(struct dec *d, const struct store_parts *s, const struct store_loaded *info)
{
	uint64_t n = get_max(d, (d->end - d->p) / 5, "more leak alerts than the file holds");

	for (uint64_t i = 0; i < n && !d->why; i++) {
		struct proc_key key = { 0 };
		uint32_t suspect, exhaustion;
		struct proc *p;

		key.tgid = get_max(d, UINT32_MAX, "pid out of range");
		key.gen = get_max(d, UINT32_MAX - 1, "boot generation out of range");
		key.start_ns = get_u(d);
		suspect = get_max(d, UINT32_MAX, "time out of range");
		exhaustion = get_max(d, UINT32_MAX, "time out of range");
		if (d->why)
			break;
		if (!info->same_boot)
			key.gen++; /* as load_procs renamed them */
		HASH_FIND(hh, s->procs->by_key, &key, sizeof(key), p);
		if (p) {
			p->leak_alerted_suspect = suspect;
			p->leak_alerted_exhaustion = exhaustion;
		}
	}
}

static void load_events(struct dec *d, const struct store_parts *s, struct store_loaded *out)
{
	uint64_t next_seq = get_u(d);
	uint64_t n = get_max(d, d->end - d->p, "more events than the file holds");

	for (uint64_t i = 0; i < n && !d->why; i++) {
		uint64_t seq = get_u(d);
		char *text = get_str(d, 1 << 20);
		json_tokener *tok;
		json_object *ev;

		if (!text)
			break;
		tok = json_tokener_new_ex(16);
		ev = tok ? json_tokener_parse_ex(tok, text, (int)strlen(text)) : NULL;
		if (ev && (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(ev, json_type_object))) {
			json_object_put(ev);
			ev = NULL;
		}
		if (tok)
			json_tokener_free(tok);
		free(text);
		if (!ev) {
			fail(d, "an event is not a JSON object");
			break;
		}
		eventlog_restore(s->events, ev, seq);
		out->events++;
	}
	if (!d->why && next_seq > s->events->next_seq)
		s->events->next_seq = next_seq;
}

static void load_cgroups(struct dec *d, const struct store_parts *s, struct store_loaded *out)
{
	uint64_t n = get_max(d, d->end - d->p, "more cgroups than the file holds");

	for (uint64_t i = 0; i < n && !d->why; i++) {
		uint64_t id = get_u(d);
		char *path = get_str(d, 4096);

		if (path && cgcache_put(s->cgroups, id, path) == 0)
			out->cgroups++;
		free(path);
	}
}

static void reset(const struct store_parts *s)
{
	uint32_t ps = s->procs->page_size, ml = s->procs->max_live, me = s->procs->max_exited;
	uint64_t mb = s->procs->max_bytes;
	size_t cap = s->events->cap;

	proctab_free(s->procs);
	proctab_init(s->procs, ps, ml, me);
	proctab_set_max_bytes(s->procs, mb);
	eventlog_free(s->events);
	eventlog_init(s->events, cap);
	if (s->cgroups)
		cgcache_free(s->cgroups);
}

int store_decode(const struct store_parts *s, const void *buf, size_t len, const char *boot_id,
		 struct store_loaded *info, char *err, size_t errlen)
{
	struct dec d = { .p = buf, .end = (const unsigned char *)buf + len };
	bool have_meta = false;

	memset(info, 0, sizeof(*info));
	while (d.p < d.end && !d.why) {
		size_t nlen, slen;
		const unsigned char *name = get_bytes(&d, 32, &nlen);
		const unsigned char *body = get_bytes(&d, d.end - d.p, &slen);
		struct dec sd = { .p = body, .end = body + slen };

		if (d.why)
			break;
#define IS(n) (nlen == sizeof(n) - 1 && !memcmp(name, n, nlen))
		bool known = true;

		if (IS("meta")) {
			char *id = get_str(&sd, sizeof(info->boot_id) - 1);

			if (id) {
				snprintf(info->boot_id, sizeof(info->boot_id), "%s", id);
				info->same_boot = !strcmp(id, boot_id);
			}
			free(id);
			info->saved_wall = get_max(&sd, UINT32_MAX, "time out of range");
			have_meta = !sd.why;
		} else if (!have_meta) {
			fail(&d, "the meta section is not first");
		} else if (IS("procs")) {
			load_procs(&sd, s, info, info);
		} else if (IS("leak_alerts")) {
			load_leak_alerts(&sd, s, info);
		} else if (IS("events")) {
			load_events(&sd, s, info);
		} else if (IS("cgroups") && info->same_boot && s->cgroups) {
			/* Cgroup ids are kernfs inode numbers: per boot. */
			load_cgroups(&sd, s, info);
		} else {
			/* Written by a later minor revision, or not wanted: skipped. */
			known = false;
		}
#undef IS
		if (sd.why)
			fail(&d, sd.why);
		else if (known && sd.p != sd.end)
			fail(&d, "a section is longer than its contents");
	}
	if (!d.why && !have_meta)
		fail(&d, "no meta section");
	if (d.why) {
		snprintf(err, errlen, "%s", d.why);
		reset(s);
		memset(info, 0, sizeof(*info));
		return -EBADMSG;
	}
	return 0;
}
