/* A memory cgroup's path from its id (the kernfs id, which is the inode
 * number of its directory): for an OOM victim that died before any
 * snapshot saw it, so /proc no longer knows it. Walks the hierarchy, so it
 * is for rare events only. */
#ifndef FAULTLINE_CGFIND_H
#define FAULTLINE_CGFIND_H

#include <stddef.h>
#include <stdint.h>

/* The mounted memory hierarchy: the v1 memory controller, else cgroup2. */
const char *cgfind_memcg_root(void);

/* Searches root for the directory whose inode is id; writes its path
 * relative to root ("/" for root itself). 0, -ENOENT, or -errno. */
int cgfind_path_by_id(const char *root, uint64_t id, char *out, size_t len);

#endif
