/* The [oom] keys: repeated hook lines, an empty one, too many, a reloaded
 * file without hooks, the ranges, which keys wait for a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static int load(struct fl_config *c, const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/fl-oomconf.XXXXXX";
	int fd = mkstemp(path), r;
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	r = config_load(c, path, true, err, errlen);
	unlink(path);
	return r;
}

static void defaults(void **state)
{
	struct fl_config c;

	config_defaults(&c);
	assert_int_equal(c.n_oom_hooks, 0);
	assert_int_equal(c.oom_hook_timeout_ms, 10000);
	assert_int_equal(c.oom_store_max, 4 << 20);
}

static void repeated_hooks_in_order(void **state)
{
	struct fl_config c;
	char err[256] = "";

	config_defaults(&c);
	assert_int_equal(load(&c, "[oom]\nhook = logger \"OOM $FAULTLINE_ID\"\nhook = /usr/local/bin/page\n"
				  "hook_timeout = 2s\nstore_max = 1M\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.n_oom_hooks, 2);
	assert_string_equal(c.oom_hooks[0], "logger \"OOM $FAULTLINE_ID\"");
	assert_string_equal(c.oom_hooks[1], "/usr/local/bin/page");
	assert_int_equal(c.oom_hook_timeout_ms, 2000);
	assert_int_equal(c.oom_store_max, 1 << 20);
}

static void reload_replaces_hooks(void **state)
{
	struct fl_config c, fresh;
	char err[256] = "";

	config_defaults(&c);
	assert_int_equal(load(&c, "[oom]\nhook = a\nhook = b\n", err, sizeof(err)), 0);
	/* A re-read file's hooks replace the ones in force, never add to them. */
	assert_int_equal(load(&c, "[oom]\nhook = c\n", err, sizeof(err)), 0);
	assert_int_equal(c.n_oom_hooks, 1);
	assert_string_equal(c.oom_hooks[0], "c");
	/* A file without hook lines has none, byte for byte as the defaults. */
	assert_int_equal(load(&c, "[daemon]\ninterval = 2s\n", err, sizeof(err)), 0);
	assert_int_equal(c.n_oom_hooks, 0);
	config_defaults(&fresh);
	assert_memory_equal(c.oom_hooks, fresh.oom_hooks, sizeof(c.oom_hooks));
	/* "hook =" means none. */
	assert_int_equal(load(&c, "[oom]\nhook = x\n", err, sizeof(err)), 0);
	assert_int_equal(load(&c, "[oom]\nhook =\n", err, sizeof(err)), 0);
	assert_int_equal(c.n_oom_hooks, 0);
}

static void bad_values_refused_with_file_line(void **state)
{
	struct fl_config c;
	char err[256] = "", text[4096] = "[oom]\n";

	config_defaults(&c);
	for (int i = 0; i < 9; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "hook = h%d\n", i);
	assert_int_equal(load(&c, text, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":10: hook: at most 8 commands"));
	/* Nothing of a refused file is applied. */
	assert_int_equal(c.n_oom_hooks, 0);
	assert_int_equal(load(&c, "[oom]\nhook_timeout = 50ms\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hook_timeout"));
	assert_int_equal(load(&c, "[oom]\nstore_max = 1K\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "store_max"));
}

static void only_store_max_waits_for_a_restart(void **state)
{
	struct fl_config a, b;
	char buf[256];

	config_defaults(&a);
	b = a;
	b.n_oom_hooks = 1;
	snprintf(b.oom_hooks[0], sizeof(b.oom_hooks[0]), "x");
	b.oom_hook_timeout_ms = 5000;
	config_restart_keys(&a, &b, buf, sizeof(buf));
	assert_string_equal(buf, "");
	b.oom_store_max = 8 << 20;
	config_restart_keys(&a, &b, buf, sizeof(buf));
	assert_string_equal(buf, "store_max");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(repeated_hooks_in_order),
		cmocka_unit_test(reload_replaces_hooks),
		cmocka_unit_test(bad_values_refused_with_file_line),
		cmocka_unit_test(only_store_max_waits_for_a_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
