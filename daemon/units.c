#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_scaled(const char *s, const char *const *names, const double *scale,
			int n, int default_idx, uint64_t *out)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	while (*end == ' ')
		end++;
	if (!*end) {
		v *= scale[default_idx];
	} else {
		int i;

		for (i = 0; i < n; i++)
			if (!strcasecmp(end, names[i]))
				break;
		if (i == n)
			return -EINVAL;
		v *= scale[i];
	}
	if (v >= 18446744073709551615.0)
		return -ERANGE;
	*out = (uint64_t)llround(v);
	return 0;
}

int parse_bytes(const char *s, uint64_t *out)
{
	static const char *const names[] = { "b", "k", "kb", "kib", "m", "mb", "mib",
					     "g", "gb", "gib", "t", "tb", "tib" };
	static const double K = 1024.0, M = K * K, G = M * K, T = G * K;
	static const double scale[] = { 1, K, K, K, M, M, M, G, G, G, T, T, T };

	return parse_scaled(s, names, scale, 13, 0, out);
}

int parse_duration_ms(const char *s, uint64_t *out)
{
	static const char *const names[] = { "ms", "s", "sec", "m", "min", "h", "d" };
	static const double scale[] = { 1, 1000, 1000, 60e3, 60e3, 3600e3, 86400e3 };

	return parse_scaled(s, names, scale, 7, 1, out);
}

int parse_uint(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}
