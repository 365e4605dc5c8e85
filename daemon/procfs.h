/* What only /proc and /sys/fs/cgroup know: command lines and cgroup paths.
 * Every reader takes its root directory so tests can feed prepared files. */
#ifndef FAULTLINE_PROCFS_H
#define FAULTLINE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* /proc/PID/cmdline with NULs as spaces; NULL if gone or empty. */
char *procfs_cmdline(const char *proc_root, pid_t pid);

/* Whether /proc/PID is the process that started at start_ns (boot clock):
 * field 22 of its stat, in clock ticks, within one tick. A pid seen from
 * BPF is the initial namespace's; in a PID namespace /proc/PID may be
 * another process, and a pid may have been reused. */
bool procfs_is_process(const char *proc_root, pid_t pid, uint64_t start_ns);

/* The memory cgroup path of pid from /proc/PID/cgroup: the v1 "memory"
 * controller line if there is one, else the v2 "0::" line. */
int procfs_memcg_path(const char *proc_root, pid_t pid, char *out, size_t len);

/* The unit-like last component of a cgroup path ("/system.slice/nginx.service"
 * -> "nginx.service"), "-" for the root. */
const char *cgroup_unit_name(const char *path);

#endif
