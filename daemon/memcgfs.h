/* Memory cgroups and system memory as the file system shows them: where the
 * memory controller's hierarchy is mounted, the path of a cgroup known only
 * by its id (the directory's inode), MemTotal/MemAvailable. Every reader
 * takes its root so tests feed prepared trees. */
#ifndef FAULTLINE_MEMCGFS_H
#define FAULTLINE_MEMCGFS_H

#include <stddef.h>
#include <stdint.h>

/* The mount point of the hierarchy that has the memory controller: a cgroup
 * v1 "memory" mount, else a cgroup2 mount (from a mounts file such as
 * /proc/self/mounts). 0, or -ENOENT when neither is mounted. */
int memcgfs_root(const char *mounts_file, char *out, size_t len);

/* The cgroup path ("/a/b", "/" for the root) of the directory under root
 * whose inode is id. Walks at most 64 levels deep. 0 or -ENOENT. */
int memcgfs_path_of(const char *root, uint64_t id, char *out, size_t len);

/* MemTotal and MemAvailable in bytes from a meminfo file. */
int meminfo_read(const char *path, int64_t *total, int64_t *available);

#endif
