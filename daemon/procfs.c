#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *procfs_cmdline(const char *proc_root, pid_t pid)
{
	char path[128], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/cmdline", proc_root, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	while (n > 0 && buf[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = ' ';
	buf[n] = 0;
	return n ? strdup(buf) : NULL;
}

int procfs_memcg_path(const char *proc_root, pid_t pid, char *out, size_t len)
{
	char path[128], line[1024], v2[1024] = "";
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *p;

		line[strcspn(line, "\n")] = 0;
		if (!ctrl || !(p = strchr(ctrl + 1, ':')))
			continue;
		*p++ = 0;
		*ctrl++ = 0; /* line is now the hierarchy id alone ("0" for v2) */
		if (!strcmp(line, "0") && !*ctrl) {
			snprintf(v2, sizeof(v2), "%s", p);
			continue;
		}
		/* v1: a comma-separated controller list */
		for (char *tok = strtok(ctrl, ","); tok; tok = strtok(NULL, ",")) {
			if (!strcmp(tok, "memory")) {
				snprintf(out, len, "%s", p);
				found = 1;
			}
		}
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

const char *cgroup_unit_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return "-";
	return slash + 1;
}

bool procfs_is_process(const char *proc_root, pid_t pid, uint64_t start_ns)
{
	char path[128], buf[1024], *p;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return false;
	buf[n] = 0;
	/* After the comm (which may hold spaces and parentheses). */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
		return false;
	uint64_t want = start_ns / (1000000000ull / (uint64_t)hz);

	return ticks + 1 >= want && ticks <= want + 1;
}
