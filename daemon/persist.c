#include "persist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "statefile.h"

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

void persist_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static struct store_parts parts(struct daemon *d)
{
	return (struct store_parts){ .procs = &d->procs, .events = &d->events, .cgroups = &d->cgroups };
}

void persist_load(struct daemon *d)
{
	struct persist *ps = &d->persist;
	struct store_parts sp = parts(d);
	char err[256] = "";
	void *payload = NULL;
	size_t len = 0;
	int r;

	persist_boot_id(ps->boot_id, sizeof(ps->boot_id));
	ps->last_save_ms = now_mono_ms(); /* the first save one interval from now */
	r = statefile_read(d->cfg.state_dir, STATEFILE_NAME, &payload, &len, err, sizeof(err));
	if (r == -ENOENT) {
		log_info("no saved state in %s: starting fresh", d->cfg.state_dir);
		return;
	}
	if (r == 0) {
		r = store_decode(&sp, payload, len, ps->boot_id, &ps->load, err, sizeof(err));
		free(payload);
	}
	if (r == 0) {
		ps->loaded = true;
		log_info("restored state saved %us ago%s: %llu live and %llu exited processes, %llu events",
			 now_wall_s() - ps->load.saved_wall,
			 ps->load.same_boot ? "" : " in an earlier boot (its processes are all gone)",
			 (unsigned long long)ps->load.live, (unsigned long long)ps->load.exited,
			 (unsigned long long)ps->load.events);
		return;
	}
	snprintf(ps->load_error, sizeof(ps->load_error), "%s", err);
	if (r == -ENOMEM) {
		log_err("not enough memory to restore %s/%s; starting fresh, the file is left in place",
			d->cfg.state_dir, STATEFILE_NAME);
		return;
	}
	/* Kept for a post-mortem, out of the way of the next save. */
	if (statefile_set_aside(d->cfg.state_dir, STATEFILE_NAME, time(NULL), ps->set_aside,
				sizeof(ps->set_aside)) == 0)
		log_err("state file %s/%s unusable (%s): moved to %s; starting fresh", d->cfg.state_dir,
			STATEFILE_NAME, err, ps->set_aside);
	else
		log_err("state file %s/%s unusable (%s) and could not be moved aside (%s); starting fresh, "
			"the next save replaces it",
			d->cfg.state_dir, STATEFILE_NAME, err, strerror(errno));
}

int persist_save(struct daemon *d)
{
	struct persist *ps = &d->persist;
	struct store_parts sp = parts(d);
	char err[512];
	uint64_t t0 = mono_us();
	void *payload;
	size_t len;
	int r;

	ps->last_save_ms = now_mono_ms();
	r = store_encode(&sp, ps->boot_id, now_wall_s(), &payload, &len);
	if (r) {
		ps->save_errors++;
		log_err("saving state: out of memory encoding %llu processes; the previous save stays",
			(unsigned long long)(d->procs.stats.live + d->procs.stats.exited));
		return r;
	}
	r = statefile_write(d->cfg.state_dir, STATEFILE_NAME, payload, len, err, sizeof(err));
	free(payload);
	if (r) {
		ps->save_errors++;
		log_err("saving state: %s; the previous save stays", err);
		return r;
	}
	ps->saves++;
	ps->last_save_wall = now_wall_s();
	ps->last_save_raw = len;
	ps->last_save_us = mono_us() - t0;
	{
		char path[512];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, STATEFILE_NAME);
		if (stat(path, &st) == 0)
			ps->last_save_bytes = st.st_size;
	}
	log_debug("state saved: %zu bytes before compression, %llu on disk, %llu us", len,
		  (unsigned long long)ps->last_save_bytes, (unsigned long long)ps->last_save_us);
	return 0;
}

void persist_tick(struct daemon *d, uint64_t now_ms)
{
	if (now_ms - d->persist.last_save_ms >= d->cfg.save_interval_ms)
		persist_save(d);
}
