/* The state file container: round trip, atomic replacement, and every
 * truncation and single-bit flip of a real file refused, never crashed on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "statefile.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/fl-statefile.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	b = malloc(*len + 1);
	assert_int_equal(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static void make_payload(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = "the quick brown fox "[i % 20] ^ (i / 97);
}

static void round_trip_and_mode(void **state)
{
	char payload[5000], err[256], path[128];
	void *back;
	size_t len;
	struct stat st;

	make_payload(payload, sizeof(payload));
	assert_int_equal(statefile_write(dir, "state", payload, sizeof(payload), err, sizeof(err)), 0);
	assert_int_equal(statefile_read(dir, "state", &back, &len, err, sizeof(err)), 0);
	assert_int_equal(len, sizeof(payload));
	assert_memory_equal(back, payload, len);
	free(back);
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/state.tmp", dir);
	assert_int_equal(access(path, F_OK), -1); /* no temp file left */
}

static void missing_is_enoent(void **state)
{
	char err[256];
	void *back;
	size_t len;

	assert_int_equal(statefile_read(dir, "nothing", &back, &len, err, sizeof(err)), -ENOENT);
}

static void every_truncation_refused(void **state)
{
	char payload[3000], err[256], path[128];
	void *file, *back;
	size_t flen, len;

	make_payload(payload, sizeof(payload));
	assert_int_equal(statefile_write(dir, "state", payload, sizeof(payload), err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	file = read_whole(path, &flen);
	for (size_t n = 0; n < flen; n++) {
		assert_int_equal(statefile_decode(file, n, &back, &len, err, sizeof(err)), -EBADMSG);
		assert_null(back);
	}
	assert_int_equal(statefile_decode(file, flen, &back, &len, err, sizeof(err)), 0);
	free(back);
	free(file);
}

static void every_bit_flip_refused(void **state)
{
	char payload[1500], err[256], path[128];
	unsigned char *file;
	void *back;
	size_t flen, len;

	make_payload(payload, sizeof(payload));
	assert_int_equal(statefile_write(dir, "state", payload, sizeof(payload), err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	file = read_whole(path, &flen);
	for (size_t i = 0; i < flen * 8; i++) {
		int r;

		file[i / 8] ^= 1u << (i % 8);
		r = statefile_decode(file, flen, &back, &len, err, sizeof(err));
		/* A flip in the version field reads as a newer format. */
		assert_true(r == -EBADMSG || r == -EPROTONOSUPPORT);
		file[i / 8] ^= 1u << (i % 8);
	}
	free(file);
}

static void newer_version_is_named(void **state)
{
	char payload[100] = "x", err[256], path[128];
	unsigned char *file;
	void *back;
	size_t flen, len;

	assert_int_equal(statefile_write(dir, "state", payload, sizeof(payload), err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	file = read_whole(path, &flen);
	file[8] = STATEFILE_VERSION + 1;
	/* Without a matching header checksum it is damage… */
	assert_int_equal(statefile_decode(file, flen, &back, &len, err, sizeof(err)), -EBADMSG);
	/* …with one (as a newer writer makes it), a newer format, named. */
	uint32_t c = crc32(crc32(crc32(0L, Z_NULL, 0), file, 12), file + 16, 24);
	for (int i = 0; i < 4; i++)
		file[12 + i] = c >> (8 * i);
	assert_int_equal(statefile_decode(file, flen, &back, &len, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "newer faultlined"));
	free(file);
	assert_int_equal(statefile_decode("", 0, &back, &len, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "empty"));
}

static void set_aside_keeps_the_file(void **state)
{
	char err[256], aside[512], path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "w");
	fputs("garbage", f);
	fclose(f);
	assert_int_equal(statefile_set_aside(dir, "state", 1700000000, aside, sizeof(aside)), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(aside, F_OK), 0);
	assert_non_null(strstr(aside, "state.bad-20231114T221320Z"));
	(void)err;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_is_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(every_truncation_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(every_bit_flip_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_version_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(set_aside_keeps_the_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
