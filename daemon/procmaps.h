/* Reading a saved copy of /proc/PID/maps (pure: the text is passed in, so
 * unit tests feed prepared and malformed copies). The tracer keeps the last
 * copy of each traced process, so a process that exited during a trace is
 * still classified and symbolized. */
#ifndef FAULTLINE_PROCMAPS_H
#define FAULTLINE_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct procmap {
	uint64_t start, end, offset;
	uint64_t inode;
	bool exec;
	char path[256]; /* "" for anonymous; "[heap]", "[stack]", ... */
};

/* Parses one line; 0 or -EINVAL. */
int procmaps_parse_line(const char *line, struct procmap *m);

/* The mapping holding addr in the maps text; 0, or -ENOENT. */
int procmaps_find(const char *text, uint64_t addr, struct procmap *out);

/* "anon" or "file" (a path that is a file, or shared memory), or "heap",
 * "stack" for the kernel's named regions; NULL when addr is not mapped. */
const char *procmaps_kind(const char *text, uint64_t addr);

/* The path of the C library mapped in (libc.so.6, libc-2.x.so, libc.so):
 * 0 with the path in out, or -ENOENT (static binary, or another libc). */
int procmaps_libc(const char *text, char *out, size_t len);

/* Reads /proc/PID/maps (under proc_root) into a malloc'd string. */
int procmaps_read(const char *proc_root, int pid, char **text);

#endif
