#include "procmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int procmaps_parse_line(const char *line, struct procmap *m)
{
	char perms[8], dev[16];
	int path_at = -1;

	memset(m, 0, sizeof(*m));
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %15s %" SCNu64 " %n", &m->start, &m->end,
		   perms, &m->offset, dev, &m->inode, &path_at) < 6 || m->end <= m->start)
		return -EINVAL;
	m->exec = strlen(perms) >= 3 && perms[2] == 'x';
	if (path_at > 0) {
		size_t n = strcspn(line + path_at, "\n");

		if (n >= sizeof(m->path))
			n = sizeof(m->path) - 1;
		memcpy(m->path, line + path_at, n);
		m->path[n] = 0;
	}
	return 0;
}

int procmaps_find(const char *text, uint64_t addr, struct procmap *out)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');

		if (procmaps_parse_line(line, out) == 0 && addr >= out->start && addr < out->end)
			return 0;
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

const char *procmaps_kind(const char *text, uint64_t addr)
{
	struct procmap m;

	if (procmaps_find(text, addr, &m))
		return NULL;
	if (!strcmp(m.path, "[heap]"))
		return "heap";
	if (!strncmp(m.path, "[stack", 6))
		return "stack";
	/* Shared memory (/dev/zero, memfd:, SYSV) is backed by a file too. */
	if (m.inode || m.path[0] == '/')
		return "file";
	return "anon";
}

static bool is_libc_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) ||
	       (!strncmp(base, "libc-", 5) && strstr(base, ".so"));
}

int procmaps_libc(const char *text, char *out, size_t len)
{
	struct procmap m;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');

		if (procmaps_parse_line(line, &m) == 0 && m.exec && m.path[0] == '/' && is_libc_name(m.path)) {
			snprintf(out, len, "%s", m.path);
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int procmaps_read(const char *proc_root, int pid, char **text)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/maps", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 16384);

			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap = cap ? cap * 2 : 16384;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			free(buf);
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	*text = buf;
	return 0;
}
