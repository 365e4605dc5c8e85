#include "limits.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* v1 reports "no limit" as a huge page-aligned number (PAGE_COUNTER_MAX
 * pages); anything from 2^60 up is taken for unlimited. */
#define V1_UNLIMITED (1ull << 60)

const char *mem_limit_name(enum mem_limit_kind k)
{
	switch (k) {
	case MEM_LIMIT_MEMCG_V1: return "memory.limit_in_bytes";
	case MEM_LIMIT_MEMCG_V2: return "memory.max";
	case MEM_LIMIT_SYSTEM: return "MemAvailable+SwapFree";
	default: return "none";
	}
}

static bool has_memory_controller(const char *dir)
{
	char path[512], line[512];
	bool yes = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f))
		for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n"))
			yes |= !strcmp(tok, "memory");
	fclose(f);
	return yes;
}

enum mem_limit_kind limits_memcg_root(const char *sys_root_in, char *dir, size_t len)
{
	char path[512], sys_root[256];

	snprintf(sys_root, sizeof(sys_root), "%s", sys_root_in); /* dir may be the same buffer */

	snprintf(path, sizeof(path), "%s/memory/memory.limit_in_bytes", sys_root);
	if (access(path, R_OK) == 0) {
		snprintf(dir, len, "%s/memory", sys_root);
		return MEM_LIMIT_MEMCG_V1;
	}
	if (has_memory_controller(sys_root)) {
		snprintf(dir, len, "%s", sys_root);
		return MEM_LIMIT_MEMCG_V2;
	}
	snprintf(path, sizeof(path), "%s/unified", sys_root);
	if (has_memory_controller(path)) {
		snprintf(dir, len, "%s", path);
		return MEM_LIMIT_MEMCG_V2;
	}
	return MEM_LIMIT_NONE;
}

/* One number (or "max") from a cgroup file; -ENOENT when absent. */
static int read_u64(const char *dir, const char *file, uint64_t *out)
{
	char path[768], buf[64];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		r = -EIO;
	else if (!strncmp(buf, "max", 3))
		*out = UINT64_MAX;
	else if (sscanf(buf, "%" SCNu64, out) != 1)
		r = -EINVAL;
	fclose(f);
	return r;
}

/* A "key value" line of memory.stat; 0 when missing (older kernels). */
static uint64_t stat_value(const char *dir, const char *key)
{
	char path[768], k[64];
	uint64_t v, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%63s %" SCNu64, k, &v) == 2)
		if (!strcmp(k, key)) {
			found = v;
			break;
		}
	fclose(f);
	return found;
}

int limits_memcg(enum mem_limit_kind kind, const char *root, const char *cgpath, struct mem_limit *out)
{
	char rel[256], dir[512];
	bool found = false;

	if (kind != MEM_LIMIT_MEMCG_V1 && kind != MEM_LIMIT_MEMCG_V2)
		return -EINVAL;
	snprintf(rel, sizeof(rel), "%s", cgpath && *cgpath ? cgpath : "/");
	for (;;) {
		uint64_t limit, usage;
		char *slash;

		snprintf(dir, sizeof(dir), "%s%s", root, strcmp(rel, "/") ? rel : "");
		if (read_u64(dir, kind == MEM_LIMIT_MEMCG_V1 ? "memory.limit_in_bytes" : "memory.max", &limit) == 0 &&
		    limit < V1_UNLIMITED &&
		    read_u64(dir, kind == MEM_LIMIT_MEMCG_V1 ? "memory.usage_in_bytes" : "memory.current", &usage) == 0) {
			/* Inactive page cache is reclaimed before the OOM killer
			 * runs: it is not in the way. */
			uint64_t cache = stat_value(dir, kind == MEM_LIMIT_MEMCG_V1 ? "total_inactive_file" : "inactive_file");
			uint64_t used = usage > cache ? usage - cache : 0;
			uint64_t headroom = limit > used ? limit - used : 0;

			if (!found || headroom < out->headroom) {
				out->kind = kind;
				out->limit = limit;
				out->used = used;
				out->headroom = headroom;
				snprintf(out->path, sizeof(out->path), "%s", rel);
				found = true;
			}
		}
		if (!strcmp(rel, "/"))
			break;
		slash = strrchr(rel, '/');
		if (slash == rel)
			slash[1] = 0;
		else if (slash)
			*slash = 0;
		else
			break;
	}
	return found ? 0 : -ENOENT;
}

int limits_system(const char *proc_root, struct mem_limit *out)
{
	char path[512], key[64];
	uint64_t v, avail = 0, swapfree = 0, total = 0, swaptotal = 0;
	int seen = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/meminfo", proc_root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %" SCNu64 " kB\n", key, &v) == 2) {
		if (!strcmp(key, "MemAvailable:"))
			avail = v << 10, seen |= 1;
		else if (!strcmp(key, "SwapFree:"))
			swapfree = v << 10;
		else if (!strcmp(key, "MemTotal:"))
			total = v << 10;
		else if (!strcmp(key, "SwapTotal:"))
			swaptotal = v << 10;
	}
	fclose(f);
	if (!seen)
		return -ENODATA; /* kernels before 3.14 */
	memset(out, 0, sizeof(*out));
	out->kind = MEM_LIMIT_SYSTEM;
	out->limit = total + swaptotal;
	out->headroom = avail + swapfree;
	out->used = out->limit > out->headroom ? out->limit - out->headroom : 0;
	return 0;
}
