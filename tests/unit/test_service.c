/* The service's pure pieces: who may query, the STATUS= text, and the
 * shipped default config (every key listed there, with the real default). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "config.h"
#include "notify.h"

static const struct access_policy with_group = { .own_uid = 998, .group = 997, .group_exists = true };
static const struct access_policy no_group = { .own_uid = 998, .group = (gid_t)-1, .group_exists = false };

static void root_and_own_user_allowed(void **state)
{
	assert_true(access_allowed(&with_group, 0, 0, NULL, 0));
	assert_true(access_allowed(&with_group, 998, 998, NULL, 0));
	assert_true(access_allowed(&no_group, 0, 1000, NULL, 0));
	assert_true(access_allowed(&no_group, 998, 1000, NULL, 0));
}

static void group_members_allowed(void **state)
{
	gid_t groups[] = { 100, 27, 997 };

	assert_true(access_allowed(&with_group, 1000, 997, NULL, 0)); /* primary group */
	assert_true(access_allowed(&with_group, 1000, 1000, groups, 3)); /* supplementary */
	/* (gid_t)-1 must never match a group that does not exist */
	gid_t minus1[] = { (gid_t)-1 };
	assert_false(access_allowed(&no_group, 1000, (gid_t)-1, minus1, 1));
}

static void others_refused(void **state)
{
	gid_t groups[] = { 100, 27 };

	assert_false(access_allowed(&with_group, 1000, 1000, groups, 2));
	assert_false(access_allowed(&with_group, 65534, 65534, NULL, 0));
	assert_false(access_allowed(&no_group, 1000, 997, NULL, 0));
}

static void status_text(void **state)
{
	char buf[160];

	notify_format_status(buf, sizeof(buf), 123, 4.56, 7);
	assert_string_equal(buf, "tracking 123 processes, 4.6 events/s, 7 events dropped");
	notify_format_status(buf, 20, 123, 4.56, 7); /* truncated, terminated */
	assert_int_equal(strlen(buf), 19);
}

static void watchdog_timeout(void **state)
{
	struct notify n = { .watchdog_ms = 0 };

	assert_int_equal(notify_timeout_ms(&n, 1000), -1);
	n.watchdog_ms = 1500;
	n.next_ping_ms = 2500;
	assert_int_equal(notify_timeout_ms(&n, 1000), 1500);
	assert_int_equal(notify_timeout_ms(&n, 3000), 0);
}

/* systemd/faultlined.conf lists every key commented out with its default:
 * uncommented, it must parse and give exactly the built-in defaults. */
static void shipped_config_documents_the_defaults(void **state)
{
	FILE *in = fopen("systemd/faultlined.conf", "r"), *out;
	char path[] = "/tmp/fl-test-shipped.XXXXXX", line[512], err[256];
	struct fl_config dflt, c;
	int fd;

	assert_non_null(in);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	out = fdopen(fd, "w");
	while (fgets(line, sizeof(line), in)) {
		/* "#key = value" lines are the settings; "# text" lines are prose */
		if (line[0] == '#' && line[1] != ' ' && line[1] != '#' && line[1] != '\n' && strchr(line, '=')) {
			fputs(line + 1, out);
		} else if (line[0] == '[') {
			fputs(line, out);
		}
	}
	fclose(in);
	fclose(out);
	config_defaults(&dflt);
	config_defaults(&c);
	memset(&c.interval_ms, 0xff, sizeof(c) - offsetof(struct fl_config, interval_ms));
	c.socket_path[0] = c.state_dir[0] = 0;
	assert_int_equal(config_load(&c, path, true, err, sizeof(err)), 0);
	assert_memory_equal(&c, &dflt, sizeof(c));
	unlink(path);
}

static void reload_names_restart_only_keys(void **state)
{
	struct fl_config a, b;
	char buf[128];

	config_defaults(&a);
	b = a;
	config_restart_keys(&a, &b, buf, sizeof(buf));
	assert_string_equal(buf, "");
	b.interval_ms = 250; /* applied live: not listed */
	config_restart_keys(&a, &b, buf, sizeof(buf));
	assert_string_equal(buf, "");
	b.max_clients = 8;
	snprintf(b.socket_path, sizeof(b.socket_path), "/tmp/other.sock");
	config_restart_keys(&a, &b, buf, sizeof(buf));
	assert_string_equal(buf, "socket, max_clients");
	config_restart_keys(&a, &b, buf, 10); /* bounded */
	assert_true(strlen(buf) < 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_and_own_user_allowed),
		cmocka_unit_test(group_members_allowed),
		cmocka_unit_test(others_refused),
		cmocka_unit_test(status_text),
		cmocka_unit_test(watchdog_timeout),
		cmocka_unit_test(shipped_config_documents_the_defaults),
		cmocka_unit_test(reload_names_restart_only_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
