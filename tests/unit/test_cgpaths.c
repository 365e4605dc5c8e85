/* Where a process's unit comes from, on prepared trees: /proc/PID/cgroup in
 * its v1 (memory controller line) and v2 ("0::/path") forms, and a cgroup
 * found by its id (the directory's inode) when /proc no longer knows it. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgfind.h"
#include "procfs.h"
#include "units_agg.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char d[128];

	strcpy(root, "/tmp/fl-test-cg.XXXXXX");
	assert_non_null(mkdtemp(root));
	for (int pid = 1; pid <= 4; pid++) {
		snprintf(d, sizeof(d), "%s/%d", root, pid);
		assert_int_equal(mkdir(d, 0755), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void v1_and_v2_lines(void **state)
{
	char out[256], name[UNIT_NAME_LEN], slice[UNIT_NAME_LEN];

	/* v1 host (this kind of machine): the memory controller's line wins */
	put("1/cgroup", "12:pids:/system.slice/nginx.service\n"
			"7:cpu,cpuacct:/system.slice/nginx.service\n"
			"5:memory:/system.slice/nginx.service\n"
			"0::/system.slice/nginx.service\n");
	assert_int_equal(procfs_memcg_path(root, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/system.slice/nginx.service");
	/* pure v2 (most production hosts) */
	put("2/cgroup", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo.scope\n");
	assert_int_equal(procfs_memcg_path(root, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo.scope");
	unit_names_from_path(out, name, sizeof(name), slice, sizeof(slice));
	assert_string_equal(name, "app-foo.scope");
	assert_string_equal(slice, "app.slice");
	/* hybrid host with the memory controller on v1 at "/" (the root) */
	put("3/cgroup", "4:memory:/\n0::/init.scope\n");
	assert_int_equal(procfs_memcg_path(root, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* no memory line and no v2 line: not invented */
	put("4/cgroup", "3:pids:/x\n");
	assert_int_equal(procfs_memcg_path(root, 4, out, sizeof(out)), -ENOENT);
	assert_int_not_equal(procfs_memcg_path(root, 99, out, sizeof(out)), 0);
}

static void found_by_id(void **state)
{
	char tree[128], dir[192], out[256];
	struct stat st;

	snprintf(tree, sizeof(tree), "%s/cg", root);
	snprintf(dir, sizeof(dir), "%s/system.slice/db.service", tree);
	assert_int_equal(mkdir(tree, 0755), 0);
	snprintf(out, sizeof(out), "%s/system.slice", tree);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(cgfind_path_by_id(tree, st.st_ino, out, sizeof(out)), 0);
	assert_string_equal(out, "/system.slice/db.service");
	assert_int_equal(stat(tree, &st), 0);
	assert_int_equal(cgfind_path_by_id(tree, st.st_ino, out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(cgfind_path_by_id(tree, 1, out, sizeof(out)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v1_and_v2_lines),
		cmocka_unit_test(found_by_id),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
