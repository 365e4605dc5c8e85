/* Sizes, durations and the config file: good values, bad values, file:line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "units.h"

static void sizes(void **state)
{
	uint64_t v;

	assert_int_equal(parse_bytes("64M", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(parse_bytes("1.5GiB", &v), 0);
	assert_int_equal(v, 3ull << 29);
	assert_int_equal(parse_bytes("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_bytes("12 kb", &v), 0);
	assert_int_equal(v, 12288);
	assert_int_not_equal(parse_bytes("-1M", &v), 0);
	assert_int_not_equal(parse_bytes("M", &v), 0);
	assert_int_not_equal(parse_bytes("10X", &v), 0);
	assert_int_not_equal(parse_bytes("", &v), 0);
	assert_int_not_equal(parse_bytes("1e30T", &v), 0);
}

static void durations(void **state)
{
	uint64_t v;

	assert_int_equal(parse_duration_ms("500ms", &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(parse_duration_ms("2", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(parse_duration_ms("1.5m", &v), 0);
	assert_int_equal(v, 90000);
	assert_int_equal(parse_duration_ms("1h", &v), 0);
	assert_int_equal(v, 3600000);
	assert_int_not_equal(parse_duration_ms("soon", &v), 0);
	assert_int_not_equal(parse_duration_ms("5 fortnights", &v), 0);
}

static const char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/fl-test-conf.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void good_file(void **state)
{
	struct fl_config c;
	char err[256];
	const char *p = write_tmp("[daemon]\ninterval = 250ms\nsocket = /tmp/x.sock\n"
				  "; a comment\n[events]\nbig_mapping = 128M\n");

	config_defaults(&c);
	assert_int_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	assert_int_equal(c.interval_ms, 250);
	assert_string_equal(c.socket_path, "/tmp/x.sock");
	assert_int_equal(c.big_map_bytes, 128ull << 20);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	unlink(p);
}

static void bad_key_names_file_and_line(void **state)
{
	struct fl_config c, before;
	char err[256], want[128];
	const char *p = write_tmp("[daemon]\ninterval = 2s\n\nintervall = 3s\n");

	config_defaults(&c);
	before = c;
	assert_int_not_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s:4: unknown key 'intervall'", p);
	assert_non_null(strstr(err, want));
	/* nothing of a bad file is applied, not even its good lines */
	assert_int_equal(c.interval_ms, before.interval_ms);
	unlink(p);
}

static void bad_value_is_refused(void **state)
{
	struct fl_config c;
	char err[256];
	const char *p = write_tmp("[daemon]\ninterval = 1ms\n");

	config_defaults(&c);
	assert_int_not_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	assert_non_null(strstr(err, ":2: interval = '1ms'"));
	unlink(p);
	p = write_tmp("[events]\nring_buffer = 96K\n");
	config_defaults(&c);
	assert_int_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	assert_int_not_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "power of two"));
	unlink(p);
}

static void missing_file(void **state)
{
	struct fl_config c;
	char err[256];

	config_defaults(&c);
	assert_int_equal(config_load(&c, "/nonexistent/faultlined.conf", false, err, sizeof(err)), 0);
	assert_int_not_equal(config_load(&c, "/nonexistent/faultlined.conf", true, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(durations),
		cmocka_unit_test(good_file),
		cmocka_unit_test(bad_key_names_file_and_line),
		cmocka_unit_test(bad_value_is_refused),
		cmocka_unit_test(missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
