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

static void metrics_keys(void **state)
{
	struct fl_config c;
	char err[256], host[64], port[8];
	const char *p = write_tmp("[metrics]\nlisten = [::1]:9464\ntextfile = /var/lib/node/faultline.prom\n"
				  "top_processes = 5\nmax_units = 30\n");
	static const char *const bad[] = { "localhost", "127.0.0.1:", "127.0.0.1:70000", "::1:9464", ":9464",
					   "127.0.0.1:94x" };

	config_defaults(&c);
	assert_string_equal(c.metrics_listen, ""); /* off by default */
	assert_string_equal(c.metrics_textfile, "");
	assert_int_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	assert_string_equal(c.metrics_listen, "[::1]:9464");
	assert_string_equal(c.metrics_textfile, "/var/lib/node/faultline.prom");
	assert_int_equal(c.metrics_top_processes, 5);
	assert_int_equal(c.metrics_max_units, 30);
	unlink(p);

	assert_int_equal(config_split_listen("127.0.0.1:9464", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_string_equal(port, "9464");
	assert_int_equal(config_split_listen("[::1]:0", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "::1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(config_split_listen(bad[i], host, sizeof(host), port, sizeof(port)), 0);

	p = write_tmp("[metrics]\nlisten = localhost\n");
	assert_int_not_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	assert_non_null(strstr(err, ":2: listen = 'localhost': expected ADDRESS:PORT"));
	unlink(p);
	p = write_tmp("[metrics]\ntextfile = faultline.prom\n");
	assert_int_not_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not an absolute path"));
	unlink(p);
	/* an empty value turns it off again */
	p = write_tmp("[metrics]\nlisten =\ntextfile =\n");
	assert_int_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	assert_string_equal(c.metrics_listen, "");
	assert_string_equal(c.metrics_textfile, "");
	unlink(p);
}

static void leaks_keys(void **state)
{
	struct fl_config c, next;
	char err[256], keys[256];
	const char *p = write_tmp("[leaks]\nmin_duration = 20s\nmin_growth = 4M\nmin_confidence = 70\n"
				  "windows = 10s, 1m,2h\nhorizon = 30m\nalert_interval = 0\nalerts = no\n");
	static const char *const bad[] = { "windows = ", "windows = 1m, 2m, 3m, 4m, 5m", "windows = 1m, soon",
					   "windows = 500ms", "min_confidence = 101", "alerts = maybe",
					   "min_growth = 1K", "horizon = 0" };

	config_defaults(&c);
	assert_int_equal(c.leak_min_duration_ms, 30 * 60 * 1000);
	assert_int_equal(c.leak_windows_ms[2], 3600 * 1000);
	assert_int_equal(c.leak_alerts, 1);
	assert_int_equal(config_load(&c, p, true, err, sizeof(err)), 0);
	assert_int_equal(c.leak_min_duration_ms, 20000);
	assert_int_equal(c.leak_min_growth, 4 << 20);
	assert_int_equal(c.leak_min_confidence, 70);
	assert_int_equal(c.leak_windows_ms[0], 10000);
	assert_int_equal(c.leak_windows_ms[1], 60000);
	assert_int_equal(c.leak_windows_ms[2], 7200000);
	assert_int_equal(c.leak_windows_ms[3], 0); /* fewer than four: zero-terminated */
	assert_int_equal(c.leak_horizon_ms, 1800000);
	assert_int_equal(c.leak_alert_interval_ms, 0);
	assert_int_equal(c.leak_alerts, 0);
	unlink(p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[leaks]\n%s\n", bad[i]);
		p = write_tmp(text);
		next = c;
		assert_int_not_equal(config_load(&next, p, true, err, sizeof(err)), 0);
		assert_non_null(strstr(err, ":2: "));
		assert_memory_equal(&next, &c, sizeof(c)); /* nothing applied */
		unlink(p);
	}
	/* every [leaks] key is applied by a reload: none waits for a restart */
	config_defaults(&next);
	config_restart_keys(&c, &next, keys, sizeof(keys));
	assert_string_equal(keys, "");
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
		cmocka_unit_test(metrics_keys),
		cmocka_unit_test(leaks_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
