#include "meminfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int meminfo_read(const char *path, int64_t *total, int64_t *available)
{
	char key[64];
	long long kb;
	FILE *f = fopen(path, "re");
	int got = 0;

	*total = *available = -1;
	if (!f)
		return -errno;
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
