/* The protocol: requests decoded, checked and answered, errors as errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "daemon.h"

static struct daemon d;
static struct client cl;

static int setup(void **state)
{
	bool is_new;

	memset(&d, 0, sizeof(d));
	config_defaults(&d.cfg);
	proctab_init(&d.procs, 4096, 100, 10);
	eventlog_init(&d.events, 8);
	proctab_begin_round(&d.procs, 1000, 1700000000);
	for (uint32_t i = 1; i <= 3; i++) {
		struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = 100 + i, .start_ns = i, .rss_anon = i * 100 };
		snprintf(r.comm, sizeof(r.comm), "proc%u", i);
		proctab_apply(&d.procs, &r, &is_new);
	}
	proctab_end_round(&d.procs);
	return 0;
}

static int teardown(void **state)
{
	proctab_free(&d.procs);
	eventlog_free(&d.events);
	return 0;
}

/* Sends one request line, returns the reply. */
static json_object *call(const char *line)
{
	json_object *req = json_tokener_parse(line), *resp;

	assert_non_null(req);
	resp = api_handle(&d, &cl, req);
	json_object_put(req);
	assert_non_null(resp);
	return resp;
}

static const char *error_code(json_object *resp)
{
	json_object *ok, *err, *code;

	assert_true(json_object_object_get_ex(resp, "ok", &ok));
	if (json_object_get_boolean(ok))
		return NULL;
	assert_true(json_object_object_get_ex(resp, "error", &err));
	assert_true(json_object_object_get_ex(err, "code", &code));
	return json_object_get_string(code);
}

static void expect_error(const char *line, const char *code)
{
	json_object *r = call(line);
	const char *got = error_code(r);

	assert_non_null(got);
	assert_string_equal(got, code);
	json_object_put(r);
}

static void top_sorted_by_rss(void **state)
{
	json_object *r = call("{\"v\":1,\"cmd\":\"top\",\"args\":{\"n\":2}}"), *data, *list;

	assert_null(error_code(r));
	json_object_object_get_ex(r, "data", &data);
	json_object_object_get_ex(data, "processes", &list);
	assert_int_equal(json_object_array_length(list), 2);
	json_object *first = json_object_array_get_idx(list, 0), *pid;
	json_object_object_get_ex(first, "pid", &pid);
	assert_int_equal(json_object_get_int(pid), 103);
	json_object_put(r);
}

static void show_known_and_unknown(void **state)
{
	json_object *r = call("{\"cmd\":\"show\",\"args\":{\"pid\":102}}"), *data, *comm;

	assert_null(error_code(r));
	json_object_object_get_ex(r, "data", &data);
	json_object_object_get_ex(data, "comm", &comm);
	assert_string_equal(json_object_get_string(comm), "proc2");
	json_object_put(r);
	expect_error("{\"cmd\":\"show\",\"args\":{\"pid\":4000000}}", "not_found");
}

static void malformed_requests(void **state)
{
	expect_error("{}", "bad_request");
	expect_error("{\"cmd\":42}", "bad_request");
	expect_error("{\"cmd\":\"top\",\"args\":[1]}", "bad_request");
	expect_error("{\"cmd\":\"launch-missiles\"}", "unknown_command");
	expect_error("{\"v\":2,\"cmd\":\"status\"}", "bad_version");
	expect_error("{\"cmd\":\"show\"}", "bad_argument");
	expect_error("{\"cmd\":\"show\",\"args\":{\"pid\":\"1\"}}", "bad_argument");
	expect_error("{\"cmd\":\"show\",\"args\":{\"pid\":-5}}", "bad_argument");
	expect_error("{\"cmd\":\"show\",\"args\":{\"pid\":99999999999999999999999}}", "bad_argument");
	expect_error("{\"cmd\":\"top\",\"args\":{\"sort\":\"colour\"}}", "bad_argument");
	expect_error("{\"cmd\":\"top\",\"args\":{\"n\":0}}", "bad_argument");
}

static void units_request(void **state)
{
	json_object *r, *data, *list, *u, *v;

	/* procs 101..103 in two cgroups: 101, 103 in db.service, 102 in web.service */
	cgcache_put(&d.cgroups, 7, "/system.slice/db.service");
	cgcache_put(&d.cgroups, 8, "/system.slice/web.service");
	proctab_lookup(&d.procs, 101, 1)->memcg_id = 7;
	proctab_lookup(&d.procs, 102, 2)->memcg_id = 8;
	proctab_lookup(&d.procs, 103, 3)->memcg_id = 7;
	units_agg_init(&d.fleet.units, 100);
	units_agg_update(&d.fleet.units, &d.procs, &d.cgroups, 1000, NULL, NULL);
	units_agg_oom(&d.fleet.units, "/system.slice/db.service", "memcg", 1000);

	r = call("{\"cmd\":\"units\",\"args\":{\"n\":5}}");
	assert_null(error_code(r));
	json_object_object_get_ex(r, "data", &data);
	json_object_object_get_ex(data, "units", &list);
	assert_int_equal(json_object_array_length(list), 2);
	u = json_object_array_get_idx(list, 0); /* db: 400 pages of anon, the largest */
	json_object_object_get_ex(u, "unit", &v);
	assert_string_equal(json_object_get_string(v), "db.service");
	json_object_object_get_ex(u, "slice", &v);
	assert_string_equal(json_object_get_string(v), "system.slice");
	json_object_object_get_ex(u, "processes", &v);
	assert_int_equal(json_object_get_int(v), 2);
	json_object_object_get_ex(u, "rss_anon", &v);
	assert_int_equal(json_object_get_int64(v), 400 * 4096);
	json_object_object_get_ex(u, "oom_kills", &v);
	json_object_object_get_ex(v, "memcg", &v);
	assert_int_equal(json_object_get_int(v), 1);
	json_object_put(r);
	expect_error("{\"cmd\":\"units\",\"args\":{\"sort\":\"vm\"}}", "bad_argument");
	expect_error("{\"cmd\":\"units\",\"args\":{\"n\":0}}", "bad_argument");
	units_agg_free(&d.fleet.units);
	cgcache_free(&d.cgroups);
}

static void status_without_probes(void **state)
{
	json_object *r = call("{\"cmd\":\"status\"}"), *data, *procs, *live;

	assert_null(error_code(r));
	json_object_object_get_ex(r, "data", &data);
	json_object_object_get_ex(data, "processes", &procs);
	json_object_object_get_ex(procs, "live", &live);
	assert_int_equal(json_object_get_int(live), 3);
	json_object_put(r);
}

static void events_since(void **state)
{
	json_object *r, *data;

	for (int i = 0; i < 12; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "type", json_object_new_string("test"));
		eventlog_add(&d.events, e);
	}
	r = call("{\"cmd\":\"events\",\"args\":{\"since\":10}}");
	assert_null(error_code(r));
	json_object_object_get_ex(r, "data", &data);
	assert_int_equal(json_object_array_length(data), 2); /* seq 11 and 12; ring holds 8 */
	json_object_put(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(top_sorted_by_rss, setup, teardown),
		cmocka_unit_test_setup_teardown(show_known_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(status_without_probes, setup, teardown),
		cmocka_unit_test_setup_teardown(units_request, setup, teardown),
		cmocka_unit_test_setup_teardown(events_since, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
