/* The memory limits a process can run into: its memory cgroup's (v1
 * memory.limit_in_bytes or v2 memory.max, the tightest one walking up the
 * path), else the machine's MemAvailable + SwapFree. Readers take their root
 * directories, so tests feed prepared trees. */
#ifndef FAULTLINE_LIMITS_H
#define FAULTLINE_LIMITS_H

#include <stddef.h>
#include <stdint.h>

enum mem_limit_kind {
	MEM_LIMIT_NONE = 0,
	MEM_LIMIT_MEMCG_V1,  /* memory.limit_in_bytes */
	MEM_LIMIT_MEMCG_V2,  /* memory.max */
	MEM_LIMIT_SYSTEM,    /* MemAvailable + SwapFree */
};

struct mem_limit {
	enum mem_limit_kind kind;
	uint64_t limit;    /* bytes: the cgroup's limit, or for the system what is available now */
	uint64_t used;     /* bytes charged that cannot simply be reclaimed */
	uint64_t headroom; /* limit - used (0 when over) */
	char path[256];    /* the cgroup that sets the limit ("" for the system) */
};

/* "memory.max", "memory.limit_in_bytes", "MemAvailable+SwapFree", "none" */
const char *mem_limit_name(enum mem_limit_kind k);

/* Which cgroup hierarchy holds the memory controller under sys_root
 * (normally /sys/fs/cgroup): fills the directory that cgroup paths from
 * /proc/PID/cgroup are relative to. Returns the kind, or MEM_LIMIT_NONE. */
enum mem_limit_kind limits_memcg_root(const char *sys_root, char *dir, size_t len);

/* The tightest limit (least headroom) set on cgpath or any ancestor under
 * root (a directory limits_memcg_root found). -ENOENT when none is set. */
int limits_memcg(enum mem_limit_kind kind, const char *root, const char *cgpath, struct mem_limit *out);

/* MemAvailable + SwapFree from proc_root/meminfo. */
int limits_system(const char *proc_root, struct mem_limit *out);

#endif
