/* libFuzzer: one request line through the parser and every command handler,
 * against a daemon with a few processes, events and cgroups in its tables
 * (no BPF: probes are not loaded, as in the unit tests). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "daemon.h"

static struct daemon d;

static void setup(void)
{
	bool is_new;

	config_defaults(&d.cfg);
	proctab_init(&d.procs, 4096, 1000, 100);
	eventlog_init(&d.events, 64);
	proctab_begin_round(&d.procs, 1000, 1700000000);
	for (uint32_t pid = 1; pid <= 20; pid++) {
		struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = pid, .start_ns = pid, .rss_anon = pid * 100,
					 .min_flt = pid * 7, .memcg_id = pid % 3, .flags = FL_PROC_HAS_MM_STATS };
		memcpy(r.comm, "fuzzed", 7);
		proctab_apply(&d.procs, &r, &is_new);
	}
	proctab_end_round(&d.procs);
	struct fl_exit_event e = { .hdr = { .kind = FL_EV_EXIT, .tgid = 3 }, .start_ns = 3, .exit_code = 137 };
	proctab_exit(&d.procs, &e, 2000, 1700000001);
	cgcache_put(&d.cgroups, 1, "/a.slice");
	eventlog_add(&d.events, json_tokener_parse("{\"type\":\"oom_kill\",\"time_ms\":1}"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct client c;
	char why[160];
	json_object *req, *resp;

	if (!ready) {
		setup();
		ready = true;
	}
	memset(&c, 0, sizeof(c));
	req = server_parse_request((const char *)data, size, why, sizeof(why));
	if (!req)
		return 0;
	resp = api_handle(&d, &c, req);
	/* Every reply must serialise (it goes on the wire as one line). */
	if (resp && !json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN))
		abort();
	json_object_put(resp);
	json_object_put(req);
	return 0;
}
