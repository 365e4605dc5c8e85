#include "memcgfs.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int memcgfs_root(const char *mounts_file, char *out, size_t len)
{
	char dev[256], mp[512], type[64], opts[1024], v2[512] = "";
	FILE *f = fopen(mounts_file, "re");
	int found = 0;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %511s %63s %1023s %*d %*d", dev, mp, type, opts) == 4) {
		if (!strcmp(type, "cgroup")) {
			for (char *tok = strtok(opts, ","); tok; tok = strtok(NULL, ","))
				if (!strcmp(tok, "memory")) {
					snprintf(out, len, "%s", mp);
					found = 1;
				}
		} else if (!strcmp(type, "cgroup2") && !v2[0]) {
			snprintf(v2, sizeof(v2), "%s", mp);
		}
		if (found)
			break;
	}
	fclose(f);
	if (found)
		return 0;
	if (v2[0]) {
		snprintf(out, len, "%s", v2);
		return 0;
	}
	return -ENOENT;
}

/* nftw has no user pointer: the walk's state lives here (one walk at a time,
 * the daemon has one thread). */
static struct {
	uint64_t id;
	size_t root_len;
	char *out;
	size_t len;
} want;

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag != FTW_D || (uint64_t)st->st_ino != want.id)
		return FTW_CONTINUE;
	snprintf(want.out, want.len, "%s", path[want.root_len] ? path + want.root_len : "/");
	return FTW_STOP;
}

int memcgfs_path_of(const char *root, uint64_t id, char *out, size_t len)
{
	want.id = id;
	want.root_len = strlen(root);
	while (want.root_len > 1 && root[want.root_len - 1] == '/')
		want.root_len--;
	want.out = out;
	want.len = len;
	/* Directories only matter; FTW_PHYS: never follow a link out. */
	int r = nftw(root, visit, 64, FTW_PHYS | FTW_ACTIONRETVAL);

	return r == FTW_STOP ? 0 : -ENOENT;
}

int meminfo_read(const char *path, int64_t *total, int64_t *available)
{
	char key[64];
	long long kb;
	FILE *f = fopen(path, "re");
	int got = 0;

	if (!f)
		return -errno;
	*total = *available = -1;
	while (got < 2 && fscanf(f, "%63s %lld%*[^\n]", key, &kb) == 2) {
		if (!strcmp(key, "MemTotal:")) {
			*total = kb << 10;
			got++;
		} else if (!strcmp(key, "MemAvailable:")) {
			*available = kb << 10;
			got++;
		}
	}
	fclose(f);
	return *total >= 0 ? 0 : -ENOENT;
}
