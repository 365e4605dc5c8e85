/* System memory as /proc/meminfo shows it (the path is an argument so tests
 * feed prepared files). */
#ifndef FAULTLINE_MEMINFO_H
#define FAULTLINE_MEMINFO_H

#include <stdint.h>

/* MemTotal and MemAvailable in bytes (-1 when a line is missing). 0, or
 * -errno / -ENOENT when there is no MemTotal. */
int meminfo_read(const char *path, int64_t *total, int64_t *available);

#endif
