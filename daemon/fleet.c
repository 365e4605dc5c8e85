#include "fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgfind.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"

/* Units summed at most; the export is capped lower by metrics.max_units. */
#define FLEET_MAX_UNITS 65536

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

int fleet_start(struct fleet *f, struct daemon *d, char *err, size_t errlen)
{
	int r;

	memset(f, 0, sizeof(*f));
	units_agg_init(&f->units, FLEET_MAX_UNITS);
	f->textfile_on = d->cfg.metrics_textfile[0] != 0;
	if (!d->cfg.metrics_listen[0])
		return 0;
	/* One malloc arena: the HTTP thread's own would reserve 128 MiB of
	 * address space, which faultlined would then report as its own big
	 * mapping. Its few allocations do not need an arena of their own. */
	mallopt(M_ARENA_MAX, 1);
	if ((r = metrics_http_start(&f->http, d->cfg.metrics_listen, err, errlen)))
		return r;
	f->http_on = true;
	log_info("metrics: serving http://%s/metrics", f->http.bound);
	return 0;
}

static void fill_health(struct metrics_health *h, struct fleet *f, struct daemon *d)
{
	memset(h, 0, sizeof(*h));
	h->version = FAULTLINE_VERSION;
	h->start_time_s = d->started_wall;
	memcpy(h->events, d->stats.events, sizeof(h->events));
	probes_drops(&d->probes, h->drops);
	h->events_malformed = d->stats.events_bad;
	h->mm_stats_full = probes_mm_stats_full(&d->probes);
	h->snapshots = d->stats.snapshots;
	h->snapshot_errors = d->stats.snapshot_errors;
	h->snapshot_last_us = d->stats.snapshot_last_us;
	h->snapshot_max_us = d->stats.snapshot_max_us;
	h->procs_live = d->procs.stats.live;
	h->procs_exited = d->procs.stats.exited;
	h->procs_not_tracked = d->procs.stats.dropped_new;
	h->exits_vanished = d->procs.stats.exits_vanished;
	h->render_last_us = f->render_last_us;
	h->textfile_errors = f->textfile_errors;
}

/* path.tmp in the same directory, then rename: node_exporter never reads a
 * half-written file, and the temporary name does not end in .prom. */
static int write_textfile(const char *path, const char *text, size_t len)
{
	char tmp[300];
	size_t off = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* The service runs with UMask=0077; node_exporter runs as another user. */
	if (fchmod(fd, 0644))
		r = -errno;
	while (!r && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static void publish(struct fleet *f, struct daemon *d, char *text, size_t len)
{
	if (f->textfile_on) {
		int r = write_textfile(d->cfg.metrics_textfile, text, len);

		if (r) {
			f->textfile_errors++;
			if (r != f->textfile_last_err)
				log_warn("metrics: cannot write the textfile %s: %s (check that its directory exists "
					 "and is writable; under systemd add it to ReadWritePaths=)",
					 d->cfg.metrics_textfile, strerror(-r));
		} else {
			f->textfile_writes++;
			if (f->textfile_last_err)
				log_info("metrics: writing %s again", d->cfg.metrics_textfile);
		}
		f->textfile_last_err = r;
	}
	if (f->http_on)
		metrics_http_publish(&f->http, text, len); /* takes text */
	else
		free(text);
}

static bool is_leak_suspect(const struct proc *p, void *ctx)
{
	return p->leak.cls == LEAK_SUSPECT;
}

static int cmp_suspect(const void *a, const void *b)
{
	const struct metrics_suspect *x = a, *y = b;

	return leak_cmp_rank(&x->p->leak, &y->p->leak);
}

/* The live leak suspects, most urgent first (as `faultline leaks` ranks
 * them), at most n; *out is malloc'd. */
static size_t collect_suspects(struct proctab *pt, size_t n, struct metrics_suspect **out)
{
	struct metrics_suspect *s = NULL, *grown;
	size_t k = 0, cap = 0;
	struct proc *p, *tmp;

	*out = NULL;
	HASH_ITER(hh, pt->by_key, p, tmp) {
		if (p->state != PROC_LIVE || !is_leak_suspect(p, NULL))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(s, cap * sizeof(*s));
			if (!grown)
				break;
			s = grown;
		}
		s[k].p = p;
		s[k].bytes_per_second = p->leak.slope;
		s[k].seconds_to_exhaustion = p->leak.proj.tte_s;
		k++;
	}
	if (k)
		qsort(s, k, sizeof(*s), cmp_suspect);
	*out = s;
	return k < n ? k : n;
}

void fleet_round(struct fleet *f, struct daemon *d)
{
	struct metrics_health health;
	struct metrics_input in = {
		.health = &health,
		.units = &f->units,
		.procs = &d->procs,
		.cgroups = &d->cgroups,
		.limits = { (uint32_t)d->cfg.metrics_top_processes, (uint32_t)d->cfg.metrics_max_units },
	};
	struct metrics_suspect *suspects = NULL;
	char *text = NULL;
	size_t len = 0;
	uint64_t t0;
	FILE *out;
	int r;

	units_agg_update(&f->units, &d->procs, &d->cgroups, now_mono_ms(), is_leak_suspect, NULL);
	if (!f->http_on && !f->textfile_on)
		return;
	t0 = mono_us();
	fill_health(&health, f, d);
	in.nsuspects = collect_suspects(&d->procs, in.limits.top_processes, &suspects);
	in.suspects = suspects;
	out = open_memstream(&text, &len);
	if (!out) {
		free(suspects);
		log_warn("metrics: out of memory rendering the exposition");
		return;
	}
	r = metrics_render(out, &in);
	fclose(out);
	free(suspects);
	if (r) {
		free(text);
		log_warn("metrics: rendering failed (out of memory)");
		return;
	}
	f->render_last_us = mono_us() - t0;
	publish(f, d, text, len);
}

const char *fleet_oom(struct fleet *f, struct daemon *d, const struct fl_oom_event *e, const char *constraint)
{
	const char *path = cgcache_get(&d->cgroups, e->memcg_id);
	char buf[512];

	/* A victim that lived less than an interval was never seen by a
	 * snapshot; its pid may already be reused, so look for the cgroup by
	 * its id rather than through /proc. */
	if (!path && e->memcg_id) {
		const char *root = cgfind_memcg_root();

		if (root && cgfind_path_by_id(root, e->memcg_id, buf, sizeof(buf)) == 0) {
			cgcache_put(&d->cgroups, e->memcg_id, buf);
			path = cgcache_get(&d->cgroups, e->memcg_id);
		}
	}
	units_agg_oom(&f->units, path, constraint, now_mono_ms());
	return path;
}

void fleet_stop(struct fleet *f)
{
	if (f->http_on)
		metrics_http_stop(&f->http);
	f->http_on = false;
	units_agg_free(&f->units);
}
