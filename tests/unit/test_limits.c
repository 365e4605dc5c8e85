/* Memory limits from prepared cgroup v1 and v2 trees and meminfo files, and
 * when a leak warning is due. */
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

#include "leak_alert.h"
#include "limits.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[512], dir[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = dir + strlen(root) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = 0;
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/fl-test-limits.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void v1_tightest_ancestor(void **state)
{
	char dir[256];
	struct mem_limit l;

	put("cg/memory/memory.limit_in_bytes", "9223372036854771712\n");
	put("cg/memory/memory.usage_in_bytes", "1000000000\n");
	put("cg/memory/app.slice/memory.limit_in_bytes", "104857600\n"); /* 100 MiB */
	put("cg/memory/app.slice/memory.usage_in_bytes", "62914560\n"); /* 60 MiB */
	put("cg/memory/app.slice/memory.stat", "cache 1\ntotal_inactive_file 10485760\n");
	put("cg/memory/app.slice/web.service/memory.limit_in_bytes", "209715200\n"); /* looser */
	put("cg/memory/app.slice/web.service/memory.usage_in_bytes", "52428800\n");
	snprintf(dir, sizeof(dir), "%s/cg", root);
	assert_int_equal(limits_memcg_root(dir, dir, sizeof(dir)), MEM_LIMIT_MEMCG_V1);
	assert_int_equal(limits_memcg(MEM_LIMIT_MEMCG_V1, dir, "/app.slice/web.service", &l), 0);
	assert_string_equal(l.path, "/app.slice");
	assert_int_equal(l.limit, 100 << 20);
	/* inactive page cache does not stand in the way */
	assert_int_equal(l.used, 50 << 20);
	assert_int_equal(l.headroom, 50 << 20);
	assert_string_equal(mem_limit_name(l.kind), "memory.limit_in_bytes");
	/* the root is unlimited */
	assert_int_equal(limits_memcg(MEM_LIMIT_MEMCG_V1, dir, "/", &l), -ENOENT);
}

static void v2_memory_max(void **state)
{
	char dir[256];
	struct mem_limit l;

	put("cg2/cgroup.controllers", "cpuset cpu io memory pids\n");
	put("cg2/system.slice/memory.max", "max\n");
	put("cg2/system.slice/memory.current", "500\n");
	put("cg2/system.slice/db.service/memory.max", "1073741824\n");
	put("cg2/system.slice/db.service/memory.current", "1200000000\n"); /* over: no headroom */
	put("cg2/system.slice/db.service/memory.stat", "anon 1\ninactive_file 0\n");
	snprintf(dir, sizeof(dir), "%s/cg2", root);
	assert_int_equal(limits_memcg_root(dir, dir, sizeof(dir)), MEM_LIMIT_MEMCG_V2);
	assert_int_equal(limits_memcg(MEM_LIMIT_MEMCG_V2, dir, "/system.slice/db.service", &l), 0);
	assert_string_equal(l.path, "/system.slice/db.service");
	assert_int_equal(l.headroom, 0);
	assert_string_equal(mem_limit_name(l.kind), "memory.max");
	assert_int_equal(limits_memcg(MEM_LIMIT_MEMCG_V2, dir, "/system.slice", &l), -ENOENT);
	/* a hybrid host: v2 under unified/ */
	put("cg3/unified/cgroup.controllers", "memory pids\n");
	snprintf(dir, sizeof(dir), "%s/cg3", root);
	assert_int_equal(limits_memcg_root(dir, dir, sizeof(dir)), MEM_LIMIT_MEMCG_V2);
	assert_non_null(strstr(dir, "/cg3/unified"));
	snprintf(dir, sizeof(dir), "%s/nothing", root);
	assert_int_equal(limits_memcg_root(dir, dir, sizeof(dir)), MEM_LIMIT_NONE);
}

static void system_available_plus_free_swap(void **state)
{
	char dir[256];
	struct mem_limit l;

	put("proc/meminfo", "MemTotal:       16000000 kB\nMemFree:         100 kB\nMemAvailable:    4000000 kB\n"
			    "HugePages_Total:       0\nSwapTotal:       2000000 kB\nSwapFree:        1000000 kB\n");
	snprintf(dir, sizeof(dir), "%s/proc", root);
	assert_int_equal(limits_system(dir, &l), 0);
	assert_int_equal(l.headroom, 5000000ull << 10);
	assert_int_equal(l.limit, 18000000ull << 10);
	put("proc2/meminfo", "MemTotal: 100 kB\n"); /* no MemAvailable */
	snprintf(dir, sizeof(dir), "%s/proc2", root);
	assert_int_equal(limits_system(dir, &l), -ENODATA);
	snprintf(dir, sizeof(dir), "%s/none", root);
	assert_int_equal(limits_system(dir, &l), -ENOENT);
}

static void alerts_once_then_rate_limited(void **state)
{
	struct leak_alert_policy pol = { .enabled = true, .horizon_s = 3600, .interval_s = 600 };
	struct proc p = { .state = PROC_LIVE };

	p.leak.cls = LEAK_SUSPECT;
	p.leak.proj.tte_s = 7200;
	/* becoming a suspect: one warning; staying one: none */
	assert_int_equal(leak_alert_due(&p, LEAK_GROWING, 1000, &pol), LEAK_ALERT_SUSPECT);
	p.leak_alerted_suspect = 1000;
	assert_int_equal(leak_alert_due(&p, LEAK_SUSPECT, 1001, &pol), 0);
	/* back and forth within the interval: no repeat; after it: again */
	assert_int_equal(leak_alert_due(&p, LEAK_GROWING, 1300, &pol), 0);
	assert_int_equal(leak_alert_due(&p, LEAK_GROWING, 1600, &pol), LEAK_ALERT_SUSPECT);
	/* exhaustion inside the horizon, repeated at most every interval */
	p.leak.proj.tte_s = 1800;
	assert_int_equal(leak_alert_due(&p, LEAK_SUSPECT, 1700, &pol), LEAK_ALERT_EXHAUSTION);
	p.leak_alerted_exhaustion = 1700;
	assert_int_equal(leak_alert_due(&p, LEAK_SUSPECT, 2000, &pol), 0);
	assert_int_equal(leak_alert_due(&p, LEAK_SUSPECT, 2300, &pol), LEAK_ALERT_EXHAUSTION);
	/* growing only, or alerts off, or gone: nothing */
	p.leak.cls = LEAK_GROWING;
	assert_int_equal(leak_alert_due(&p, LEAK_NEW, 9000, &pol), 0);
	p.leak.cls = LEAK_SUSPECT;
	pol.enabled = false;
	assert_int_equal(leak_alert_due(&p, LEAK_NEW, 9000, &pol), 0);
	pol.enabled = true;
	p.state = PROC_EXITED;
	assert_int_equal(leak_alert_due(&p, LEAK_NEW, 9000, &pol), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v1_tightest_ancestor),
		cmocka_unit_test(v2_memory_max),
		cmocka_unit_test(system_available_plus_free_swap),
		cmocka_unit_test(alerts_once_then_rate_limited),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
