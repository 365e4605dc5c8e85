#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int procstat_parse(const char *text, struct procstat *st)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')'), *p;
	size_t n;
	int field;

	memset(st, 0, sizeof(*st));
	if (!open || !close || close < open || close[1] != ' ')
		return -EINVAL;
	n = close - open - 1;
	if (n >= sizeof(st->comm))
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, n);
	st->state = close[2];
	/* Field 3 is the state; flags is field 9, starttime field 22. */
	p = close + 2;
	for (field = 3; p && field <= 22; field++) {
		if (field == 9)
			st->flags = (uint32_t)strtoul(p, NULL, 10);
		if (field == 22) {
			char *end;

			errno = 0;
			st->starttime = strtoull(p, &end, 10);
			if (errno || end == p)
				return -EINVAL;
			return 0;
		}
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return -EINVAL;
}

int procstat_read(const char *proc_root, int pid, struct procstat *st)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = 0;
	return procstat_parse(buf, st);
}

bool procstat_same_alive(const char *proc_root, int pid, uint64_t starttime)
{
	struct procstat st;

	return procstat_read(proc_root, pid, &st) == 0 && st.starttime == starttime && st.state != 'Z' &&
	       st.state != 'X' && st.state != 'x';
}
