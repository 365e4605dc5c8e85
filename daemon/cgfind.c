#include "cgfind.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const char *cgfind_memcg_root(void)
{
	static const char *const v2[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;

	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0)
		return "/sys/fs/cgroup/memory";
	for (size_t i = 0; i < sizeof(v2) / sizeof(v2[0]); i++)
		if (statfs(v2[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			return v2[i];
	return NULL;
}

/* nftw has no user pointer: the search is one at a time (the loop thread). */
static struct {
	uint64_t id;
	char *out;
	size_t len, rootlen;
	int found;
} search;

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag != FTW_D || (uint64_t)st->st_ino != search.id)
		return 0;
	snprintf(search.out, search.len, "%s", path[search.rootlen] ? path + search.rootlen : "/");
	search.found = 1;
	return 1; /* stop the walk */
}

int cgfind_path_by_id(const char *root, uint64_t id, char *out, size_t len)
{
	int r;

	search.id = id;
	search.out = out;
	search.len = len;
	search.rootlen = strlen(root);
	search.found = 0;
	r = nftw(root, visit, 16, FTW_PHYS | FTW_MOUNT);
	if (r < 0)
		return -errno;
	return search.found ? 0 : -ENOENT;
}
