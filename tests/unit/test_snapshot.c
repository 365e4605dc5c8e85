/* The iterator stream parser: thread sums, malformed streams. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "snapshot.h"

struct seen {
	struct fl_proc_rec recs[8];
	int n;
};

static void collect(const struct fl_proc_rec *r, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->recs[s->n++] = *r;
}

static size_t put_proc(char *buf, size_t off, uint32_t tgid, uint64_t minflt, uint64_t majflt)
{
	struct fl_proc_rec r = { .kind = FL_REC_PROC, .tgid = tgid, .min_flt = minflt, .maj_flt = majflt };

	memcpy(buf + off, &r, sizeof(r));
	return off + sizeof(r);
}

static size_t put_thread(char *buf, size_t off, uint32_t tgid, uint64_t minflt, uint64_t majflt)
{
	struct fl_thread_rec t = { .kind = FL_REC_THREAD, .tgid = tgid, .min_flt = minflt, .maj_flt = majflt };

	memcpy(buf + off, &t, sizeof(t));
	return off + sizeof(t);
}

static void threads_are_summed_in_either_order(void **state)
{
	char buf[4096];
	size_t off = 0;
	struct seen s = {};
	struct snapshot_counts c;

	off = put_thread(buf, off, 10, 5, 1); /* before its leader */
	off = put_proc(buf, off, 10, 100, 2);
	off = put_thread(buf, off, 10, 7, 0); /* after */
	off = put_proc(buf, off, 20, 1, 0);
	off = put_thread(buf, off, 30, 9, 9); /* leader not listed */
	assert_int_equal(snapshot_parse(buf, off, collect, &s, &c), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.recs[0].min_flt, 112);
	assert_int_equal(s.recs[0].maj_flt, 3);
	assert_int_equal(s.recs[1].min_flt, 1);
	assert_int_equal(c.procs, 2);
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.orphan_threads, 1);
}

static void truncated_or_unknown_is_rejected_whole(void **state)
{
	char buf[4096];
	size_t off = put_proc(buf, 0, 1, 1, 1);
	struct seen s = {};
	struct snapshot_counts c;
	uint32_t bogus = 77;

	assert_int_equal(snapshot_parse(buf, off - 1, collect, &s, &c), -EINVAL);
	assert_int_equal(s.n, 0);
	memcpy(buf + off, &bogus, sizeof(bogus));
	assert_int_equal(snapshot_parse(buf, off + 8, collect, &s, &c), -EINVAL);
	assert_int_equal(s.n, 0);
	assert_int_equal(snapshot_parse(buf, 0, collect, &s, &c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_are_summed_in_either_order),
		cmocka_unit_test(truncated_or_unknown_is_rejected_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
