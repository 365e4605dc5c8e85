/* libFuzzer: the state file reader. The input goes through the container
 * check (header, CRC, zlib) and, since a fuzzer rarely forges a CRC, the
 * same bytes also go straight to the payload decoder, once as this boot's and
 * once as another boot's. Whatever it reads must leave consistent tables. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statefile.h"
#include "store.h"

static void decode(const void *buf, size_t len, const char *boot)
{
	struct proctab t;
	struct eventlog ev;
	struct cgcache cg = {};
	struct store_parts sp = { .procs = &t, .events = &ev, .cgroups = &cg };
	struct store_loaded info;
	char err[256];
	bool is_new;

	proctab_init(&t, 4096, 200, 50);
	proctab_set_max_bytes(&t, 8 << 20);
	eventlog_init(&ev, 32);
	if (store_decode(&sp, buf, len, boot, &info, err, sizeof(err)) == 0) {
		/* A round on top of what was loaded: restored records meet
		 * live ones, exits, eviction. */
		proctab_begin_round(&t, 5000, 1800000000);
		struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = 1, .start_ns = 1 };
		proctab_apply(&t, &r, &is_new);
		proctab_end_round(&t);
		void *out;
		size_t olen;
		if (store_encode(&sp, boot, 1800000000, &out, &olen) == 0)
			free(out);
	}
	proctab_free(&t);
	if (t.mem_bytes != 0)
		abort(); /* the memory count drifted */
	eventlog_free(&ev);
	cgcache_free(&cg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *payload;
	size_t len;
	char err[256];

	if (statefile_decode(data, size, &payload, &len, err, sizeof(err)) == 0) {
		decode(payload, len, "x");
		free(payload);
	}
	decode(data, size, "x");
	decode(data, size, "another-boot");
	return 0;
}
