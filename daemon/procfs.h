/* What only /proc and /sys/fs/cgroup know: command lines and cgroup paths.
 * Every reader takes its root directory so tests can feed prepared files. */
#ifndef FAULTLINE_PROCFS_H
#define FAULTLINE_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* /proc/PID/cmdline with NULs as spaces; NULL if gone or empty. */
char *procfs_cmdline(const char *proc_root, pid_t pid);

/* The memory cgroup path of pid from /proc/PID/cgroup: the v1 "memory"
 * controller line if there is one, else the v2 "0::" line. */
int procfs_memcg_path(const char *proc_root, pid_t pid, char *out, size_t len);

/* The unit-like last component of a cgroup path ("/system.slice/nginx.service"
 * -> "nginx.service"), "-" for the root. */
const char *cgroup_unit_name(const char *path);

#endif
