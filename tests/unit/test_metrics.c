/* The Prometheus exposition: well-formed (HELP/TYPE before samples, _total
 * counters, no duplicate series), values, label escaping, and the bounds on
 * units and processes that keep the series count flat on a big host. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define PS 4096

struct fx {
	struct proctab t;
	struct units_agg ua;
	struct cgcache cg;
	struct metrics_health h;
	struct metrics_input in;
};

static struct fl_proc_rec rec(uint32_t tgid, uint64_t memcg, uint64_t minflt, uint64_t anon_pages)
{
	struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = tgid, .start_ns = tgid, .min_flt = minflt,
				 .maj_flt = 3, .rss_anon = anon_pages, .rss_file = 1, .nr_threads = 1, .memcg_id = memcg };
	snprintf(r.comm, sizeof(r.comm), "p%u", tgid);
	return r;
}

/* nprocs processes spread over nunits cgroups; two rounds 1 s apart, the
 * second with process 1 growing fastest. */
static void fill(struct fx *fx, int nprocs, int nunits)
{
	bool is_new;

	for (int u = 0; u < nunits; u++) {
		char path[64];

		snprintf(path, sizeof(path), "/system.slice/svc%d.service", u);
		cgcache_put(&fx->cg, 100 + u, path);
	}
	for (int round = 0; round < 2; round++) {
		proctab_begin_round(&fx->t, 1000 + round * 1000, 1700000000 + round);
		for (int i = 1; i <= nprocs; i++) {
			struct fl_proc_rec r = rec(i, 100 + i % nunits, 10 * i, i);

			if (round && i == 1)
				r.rss_anon += 100000; /* the grower */
			proctab_apply(&fx->t, &r, &is_new);
		}
		proctab_end_round(&fx->t);
		units_agg_update(&fx->ua, &fx->t, &fx->cg, 1000 + round * 1000, NULL, NULL);
	}
}

static int setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	proctab_init(&fx.t, PS, 100000, 100);
	units_agg_init(&fx.ua, 100000);
	fx.h.version = "0.1.0-test";
	fx.h.start_time_s = 1700000000;
	fx.h.events[FL_EV_OOM_VICTIM] = 7;
	fx.h.drops[FL_EV_EXIT] = 2;
	fx.h.snapshot_last_us = 1500;
	fx.in = (struct metrics_input){ .health = &fx.h, .units = &fx.ua, .procs = &fx.t, .cgroups = &fx.cg,
					.limits = { .top_processes = 3, .max_units = 100 } };
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	units_agg_free(&fx->ua);
	proctab_free(&fx->t);
	cgcache_free(&fx->cg);
	return 0;
}

static char *render(struct fx *fx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(metrics_render(f, &fx->in), 0);
	fclose(f);
	return text;
}

/* Checks the format rules and returns the number of samples. */
static size_t check_exposition(const char *text)
{
	char *copy = strdup(text), *save = NULL, *line;
	char typed[256][96];
	size_t ntyped = 0, samples = 0;
	char **seen = calloc(100000, sizeof(char *));
	size_t nseen = 0;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[96], type[16], *sp, *end;
		size_t i;

		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (sscanf(line, "# TYPE %95s %15s", name, type) == 2) {
			for (i = 0; i < ntyped; i++)
				assert_string_not_equal(typed[i], name); /* one TYPE per family */
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(name, "_total"));
			else
				assert_string_equal(type, "gauge");
			snprintf(typed[ntyped++], sizeof(typed[0]), "%s", name);
			continue;
		}
		assert_true(line[0] != '#');
		/* the sample belongs to the family declared last */
		assert_true(ntyped > 0);
		assert_int_equal(strncmp(line, typed[ntyped - 1], strlen(typed[ntyped - 1])), 0);
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		if (strcmp(sp + 1, "NaN") && strcmp(sp + 1, "+Inf")) {
			strtod(sp + 1, &end);
			assert_true(*end == 0 && end != sp + 1);
		}
		*sp = 0;
		for (i = 0; i < nseen; i++)
			assert_string_not_equal(seen[i], line); /* no duplicate series */
		seen[nseen++] = line;
		samples++;
	}
	free(seen);
	free(copy);
	return samples;
}

static size_t count_prefix(const char *text, const char *prefix)
{
	size_t n = 0, k = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, k))
			n++;
	return n;
}

static void well_formed_with_values(void **state)
{
	struct fx *fx = *state;
	char *t;

	fill(fx, 6, 2);
	fx->h.procs_live = fx->t.stats.live;
	units_agg_oom(&fx->ua, "/system.slice/svc1.service", "memcg", 2000);
	t = render(fx);
	check_exposition(t);
	assert_non_null(strstr(t, "faultline_build_info{version=\"0.1.0-test\"} 1\n"));
	assert_non_null(strstr(t, "faultline_events_total{kind=\"oom\"} 7\n"));
	assert_non_null(strstr(t, "faultline_events_dropped_total{kind=\"exit\"} 2\n"));
	assert_non_null(strstr(t, "faultline_snapshot_duration_seconds 0.0015\n"));
	assert_non_null(strstr(t, "faultline_tracked_processes{state=\"live\"} 6\n"));
	/* svc0 holds pids 2, 4, 6: anon 2+4+6 pages, minflt 20+40+60 */
	assert_non_null(strstr(t, "faultline_unit_processes{unit=\"svc0.service\",slice=\"system.slice\","
				  "cgroup=\"/system.slice/svc0.service\"} 3\n"));
	{
		char want[200];

		snprintf(want, sizeof(want),
			 "faultline_unit_rss_bytes{unit=\"svc0.service\",slice=\"system.slice\","
			 "cgroup=\"/system.slice/svc0.service\",kind=\"anon\"} %d\n", 12 * PS);
		assert_non_null(strstr(t, want));
	}
	assert_non_null(strstr(t, "faultline_unit_minor_faults_total{unit=\"svc0.service\",slice=\"system.slice\","
				  "cgroup=\"/system.slice/svc0.service\"} 120\n"));
	assert_non_null(strstr(t, "faultline_unit_major_faults_total{unit=\"svc0.service\",slice=\"system.slice\","
				  "cgroup=\"/system.slice/svc0.service\"} 9\n"));
	assert_non_null(strstr(t, "faultline_oom_kills_total{unit=\"svc1.service\",slice=\"system.slice\","
				  "cgroup=\"/system.slice/svc1.service\",constraint=\"memcg\"} 1\n"));
	free(t);
}

static void units_capped_largest_first(void **state)
{
	struct fx *fx = *state;
	char *t;

	fill(fx, 50, 10);
	/* a unit with no process left, whose kill must still be exported */
	units_agg_oom(&fx->ua, "/system.slice/victim.service", "memcg", 2000);
	fx->in.limits.max_units = 4;
	t = render(fx);
	check_exposition(t);
	assert_int_equal(count_prefix(t, "faultline_unit_processes{"), 4);
	assert_non_null(strstr(t, "faultline_units_not_exported 7\n"));
	assert_non_null(strstr(t, "faultline_units_tracked 11\n"));
	assert_non_null(strstr(t, "faultline_oom_kills_total{unit=\"victim.service\",slice=\"system.slice\","
				  "cgroup=\"/system.slice/victim.service\",constraint=\"memcg\"} 1\n"));
	assert_null(strstr(t, "faultline_unit_processes{unit=\"victim.service\""));
	/* svc1 holds the grower (pid 1): the largest unit by far */
	assert_non_null(strstr(t, "faultline_unit_processes{unit=\"svc1.service\""));
	free(t);
}

static void processes_only_the_top(void **state)
{
	struct fx *fx = *state;
	char *t;

	fill(fx, 200, 5);
	fx->in.limits.top_processes = 3;
	t = render(fx);
	check_exposition(t);
	/* top 3 by RSS (pid 1, 200, 199) and the one grower (pid 1, once) */
	assert_int_equal(count_prefix(t, "faultline_process_rss_bytes{"), 3);
	assert_null(strstr(t, "{pid=\"198\","));
	assert_non_null(strstr(t, "faultline_process_rss_bytes{pid=\"200\",comm=\"p200\",unit=\"svc0.service\"}"));
	assert_non_null(strstr(t, "faultline_process_rss_growth_bytes_per_second{pid=\"1\",comm=\"p1\""));
	assert_null(strstr(t, "{pid=\"100\","));
	free(t);
}

static void series_stay_bounded(void **state)
{
	struct fx *fx = *state;
	char *t;
	size_t small, big;

	fill(fx, 20, 3);
	fx->in.limits = (struct metrics_limits){ .top_processes = 5, .max_units = 30 };
	t = render(fx);
	small = check_exposition(t);
	free(t);
	teardown(state);
	setup(state);
	fx = *state;
	fill(fx, 5000, 300);
	fx->in.limits = (struct metrics_limits){ .top_processes = 5, .max_units = 30 };
	t = render(fx);
	big = check_exposition(t);
	free(t);
	assert_true(big <= metrics_series_bound(&fx->in.limits, 0));
	/* 250 times the processes, 100 times the units: at most 10 times the series */
	assert_true(big < small * 10);
	print_message("series: %zu for 20 processes in 3 units, %zu for 5000 in 300 (bound %llu)\n", small, big,
		      (unsigned long long)metrics_series_bound(&fx->in.limits, 0));
}

static void label_values_escaped(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	metrics_put_label_value(f, "a\"b\\c\nd");
	fclose(f);
	assert_string_equal(text, "a\\\"b\\\\c\\nd");
	free(text);
}

static void comm_with_quotes_stays_valid(void **state)
{
	struct fx *fx = *state;
	struct fl_proc_rec r = rec(42, 0, 1, 999999);
	bool is_new;
	char *t;

	snprintf(r.comm, sizeof(r.comm), "we\"ird\\na");
	proctab_begin_round(&fx->t, 1000, 1700000000);
	proctab_apply(&fx->t, &r, &is_new);
	proctab_end_round(&fx->t);
	t = render(fx);
	check_exposition(t);
	assert_non_null(strstr(t, "faultline_process_rss_bytes{pid=\"42\",comm=\"we\\\"ird\\\\na\",unit=\"\"}"));
	free(t);
}

static void leak_suspects(void **state)
{
	struct fx *fx = *state;
	struct metrics_suspect s[2];
	char *t;

	fill(fx, 4, 1);
	s[0] = (struct metrics_suspect){ proctab_lookup(&fx->t, 1, 1), 1048576.0, 1800.0 };
	s[1] = (struct metrics_suspect){ proctab_lookup(&fx->t, 2, 2), 4096.0, -1 };
	fx->in.suspects = s;
	fx->in.nsuspects = 2;
	t = render(fx);
	check_exposition(t);
	assert_non_null(strstr(t, "faultline_leak_suspect_bytes_per_second{pid=\"1\",comm=\"p1\",unit=\"svc0.service\"} 1048576\n"));
	assert_non_null(strstr(t, "faultline_leak_suspect_seconds_to_exhaustion{pid=\"1\",comm=\"p1\",unit=\"svc0.service\"} 1800\n"));
	assert_non_null(strstr(t, "faultline_leak_suspect_bytes_per_second{pid=\"2\","));
	/* no prediction, no series */
	assert_null(strstr(t, "faultline_leak_suspect_seconds_to_exhaustion{pid=\"2\","));
	free(t);
}

static void empty_table(void **state)
{
	struct fx *fx = *state;
	char *t = render(fx);

	check_exposition(t);
	assert_non_null(strstr(t, "faultline_units_tracked 0\n"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(well_formed_with_values, setup, teardown),
		cmocka_unit_test_setup_teardown(units_capped_largest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(processes_only_the_top, setup, teardown),
		cmocka_unit_test_setup_teardown(series_stay_bounded, setup, teardown),
		cmocka_unit_test(label_values_escaped),
		cmocka_unit_test_setup_teardown(comm_with_quotes_stays_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(leak_suspects, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
