/* The OOM record file: read back, torn tails, damage in the middle, the
 * bound, ids that only grow, and random damage that must never crash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oomstore.h"

struct fixture {
	char dir[64];
	char file[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/fl-oomstore.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/%s", f->dir, OOMSTORE_FILE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char tmp[128];

	unlink(f->file);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->file);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static json_object *make_rec(int n, size_t pad)
{
	json_object *o = json_object_new_object();
	char *p = malloc(pad + 1);

	memset(p, 'x', pad);
	p[pad] = 0;
	json_object_object_add(o, "n", json_object_new_int(n));
	json_object_object_add(o, "pad", json_object_new_string(p));
	free(p);
	return o;
}

static int rec_n(const struct oomstore *s, size_t i)
{
	json_object *o = oomstore_get(s, i), *v;
	int n;

	assert_true(json_object_object_get_ex(o, "n", &v));
	n = json_object_get_int(v);
	json_object_put(o);
	return n;
}

static uint64_t rec_id(const struct oomstore *s, size_t i)
{
	json_object *o = oomstore_get(s, i), *v;
	uint64_t id;

	assert_true(json_object_object_get_ex(o, "id", &v));
	id = json_object_get_uint64(v);
	assert_int_equal(id, oomstore_id(s, i));
	json_object_put(o);
	return id;
}

static void open_ok(struct oomstore *s, const char *dir, uint64_t max)
{
	char err[256];

	assert_int_equal(oomstore_open(s, dir, max, err, sizeof(err)), 0);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void reads_back_with_ids(void **state)
{
	struct fixture *f = *state;
	struct oomstore s;

	open_ok(&s, f->dir, 1 << 20);
	assert_int_equal(oomstore_count(&s), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(oomstore_append(&s, make_rec(i, 10)), i + 1);
	oomstore_close(&s);
	open_ok(&s, f->dir, 1 << 20);
	assert_int_equal(oomstore_count(&s), 5);
	assert_int_equal(s.stats.loaded, 5);
	assert_int_equal(s.stats.torn_tail_bytes, 0);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(rec_n(&s, i), (int)i);
		assert_int_equal(rec_id(&s, i), i + 1);
	}
	assert_int_equal(oomstore_append(&s, make_rec(5, 10)), 6);
	oomstore_close(&s);
}

static void outcome_update_survives(void **state)
{
	struct fixture *f = *state;
	struct oomstore s;
	json_object *out = json_object_new_object(), *v, *st, *r1, *r2;

	open_ok(&s, f->dir, 1 << 20);
	oomstore_append(&s, make_rec(1, 10));
	oomstore_append(&s, make_rec(2, 10));
	json_object_object_add(out, "state", json_object_new_string("exited"));
	assert_int_equal(oomstore_update_outcome(&s, 1, out), 0);
	assert_int_equal(oomstore_update_outcome(&s, 99, json_object_new_object()), -ENOENT);
	oomstore_close(&s);
	open_ok(&s, f->dir, 1 << 20);
	assert_int_equal(oomstore_count(&s), 2);
	r1 = oomstore_get_id(&s, 1);
	r2 = oomstore_get_id(&s, 2);
	assert_true(json_object_object_get_ex(r1, "outcome", &v));
	assert_true(json_object_object_get_ex(v, "state", &st));
	assert_string_equal(json_object_get_string(st), "exited");
	assert_false(json_object_object_get_ex(r2, "outcome", &v));
	assert_null(oomstore_get_id(&s, 3));
	json_object_put(r1);
	json_object_put(r2);
	oomstore_close(&s);
}

static void torn_tail_cut_and_id_kept(void **state)
{
	struct fixture *f = *state;
	struct oomstore s;
	off_t full;

	open_ok(&s, f->dir, 1 << 20);
	for (int i = 0; i < 3; i++)
		oomstore_append(&s, make_rec(i, 200));
	oomstore_close(&s);
	full = file_size(f->file);
	/* The last write was cut short halfway through its payload. */
	assert_int_equal(truncate(f->file, full - 100), 0);
	open_ok(&s, f->dir, 1 << 20);
	assert_int_equal(oomstore_count(&s), 2);
	assert_true(s.stats.torn_tail_bytes > 0);
	assert_int_equal(file_size(f->file), (off_t)s.size);
	/* Id 3 was in the torn frame: never handed out again. */
	assert_int_equal(oomstore_append(&s, make_rec(9, 10)), 4);
	oomstore_close(&s);
	open_ok(&s, f->dir, 1 << 20);
	assert_int_equal(s.stats.torn_tail_bytes, 0);
	assert_int_equal(oomstore_count(&s), 3);
	assert_int_equal(rec_n(&s, 2), 9);
	oomstore_close(&s);
}

static void torn_header_only(void **state)
{
	struct fixture *f = *state;
	struct oomstore s;
	int fd;

	open_ok(&s, f->dir, 1 << 20);
	oomstore_append(&s, make_rec(1, 10));
	oomstore_close(&s);
	fd = open(f->file, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "FLO", 3), 3);
	close(fd);
	open_ok(&s, f->dir, 1 << 20);
	assert_int_equal(oomstore_count(&s), 1);
	assert_int_equal(s.stats.torn_tail_bytes, 3);
	oomstore_close(&s);
}

static void damage_in_the_middle_is_skipped(void **state)
{
	struct fixture *f = *state;
	struct oomstore s;
	off_t one;
	int fd;

	open_ok(&s, f->dir, 1 << 20);
	oomstore_append(&s, make_rec(0, 50));
	one = file_size(f->file);
	for (int i = 1; i < 4; i++)
		oomstore_append(&s, make_rec(i, 50));
	oomstore_close(&s);
	/* One byte of the second record's payload flipped. */
	fd = open(f->file, O_RDWR);
	assert_int_equal(pwrite(fd, "#", 1, one + OOMSTORE_HDR + 20), 1);
	close(fd);
	open_ok(&s, f->dir, 1 << 20);
	assert_int_equal(oomstore_count(&s), 3);
	assert_int_equal(s.stats.bad_frames, 1);
	assert_int_equal(s.stats.torn_tail_bytes, 0);
	assert_int_equal(rec_n(&s, 0), 0);
	assert_int_equal(rec_n(&s, 1), 2);
	assert_int_equal(rec_n(&s, 2), 3);
	assert_int_equal(oomstore_append(&s, make_rec(4, 10)), 5);
	oomstore_close(&s);
}

static void bounded_oldest_dropped(void **state)
{
	struct fixture *f = *state;
	struct oomstore s;
	size_t n;

	open_ok(&s, f->dir, 16 << 10);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(oomstore_append(&s, make_rec(i, 1000)), i + 1);
		assert_true(file_size(f->file) <= 16 << 10);
	}
	n = oomstore_count(&s);
	assert_true(n >= 8 && n < 16);
	assert_true(s.stats.dropped == 100 - n);
	/* In memory: the records' text, about what the file holds. */
	assert_true(s.text_bytes <= 16 << 10 && s.text_bytes >= n * 1000);
	assert_int_equal(rec_n(&s, n - 1), 99);
	oomstore_close(&s);
	open_ok(&s, f->dir, 16 << 10);
	assert_int_equal(oomstore_count(&s), n);
	assert_int_equal(rec_id(&s, n - 1), 100);
	assert_int_equal(rec_id(&s, 0), 100 - n + 1);
	assert_int_equal(oomstore_append(&s, make_rec(100, 10)), 101);
	oomstore_close(&s);
}

static void one_record_bigger_than_the_bound_is_kept(void **state)
{
	struct fixture *f = *state;
	struct oomstore s;

	open_ok(&s, f->dir, 4096);
	assert_int_equal(oomstore_append(&s, make_rec(0, 100)), 1);
	assert_int_equal(oomstore_append(&s, make_rec(1, 8000)), 2);
	assert_int_equal(oomstore_count(&s), 1);
	assert_int_equal(rec_n(&s, 0), 1);
	oomstore_close(&s);
}

static void missing_dir_is_a_clear_error(void **state)
{
	struct oomstore s;
	char err[256] = "";

	assert_int_equal(oomstore_open(&s, "/nonexistent/faultline", 1 << 20, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/faultline/oom.log"));
}

static void crc_covers_length(void **state)
{
	char a[OOMSTORE_HDR + 3], b[OOMSTORE_HDR + 3];

	oomstore_frame(a, "{}x", 2);
	oomstore_frame(b, "{}x", 3);
	assert_memory_not_equal(a + 8, b + 8, 4);
	assert_memory_equal(a, "FLOM", 4);
}

/* Truncations, flipped bytes and garbage, 300 times: the store opens, gives
 * back only records that were written (byte for byte), never an id twice, and
 * the next append reads back cleanly. */
static void random_damage(void **state)
{
	struct fixture *f = *state;
	unsigned seed = 12345;

	for (int round = 0; round < 300; round++) {
		struct oomstore s;
		int nrec = 1 + rand_r(&seed) % 8, fd;
		off_t size;
		uint64_t last_id = 0;

		unlink(f->file);
		open_ok(&s, f->dir, 1 << 20);
		for (int i = 0; i < nrec; i++)
			oomstore_append(&s, make_rec(i, rand_r(&seed) % 300));
		oomstore_close(&s);
		size = file_size(f->file);
		fd = open(f->file, O_RDWR);
		switch (rand_r(&seed) % 3) {
		case 0:
			assert_int_equal(ftruncate(fd, rand_r(&seed) % (size + 1)), 0);
			break;
		case 1:
			for (int k = 0; k < 1 + (int)(rand_r(&seed) % 4); k++) {
				char c = (char)rand_r(&seed);
				assert_int_equal(pwrite(fd, &c, 1, rand_r(&seed) % size), 1);
			}
			break;
		default: {
			char junk[64];
			size_t jl = 1 + rand_r(&seed) % sizeof(junk);
			for (size_t k = 0; k < sizeof(junk); k++)
				junk[k] = "FLOM{}\"id\":12"[rand_r(&seed) % 13];
			assert_int_equal(pwrite(fd, junk, jl, size), (ssize_t)jl);
			break;
		}
		}
		close(fd);
		open_ok(&s, f->dir, 1 << 20);
		assert_true(oomstore_count(&s) <= (size_t)nrec);
		for (size_t i = 0; i < oomstore_count(&s); i++) {
			json_object *pad, *o = oomstore_get(&s, i);
			int n = rec_n(&s, i);

			assert_true(n >= 0 && n < nrec);
			assert_int_equal(rec_id(&s, i), (uint64_t)n + 1);
			assert_true(rec_id(&s, i) > last_id);
			last_id = rec_id(&s, i);
			assert_true(json_object_object_get_ex(o, "pad", &pad));
			json_object_put(o);
		}
		assert_true(oomstore_append(&s, make_rec(100, 5)) > (int64_t)last_id);
		oomstore_close(&s);
		open_ok(&s, f->dir, 1 << 20);
		assert_int_equal(s.stats.torn_tail_bytes, 0);
		assert_int_equal(rec_n(&s, oomstore_count(&s) - 1), 100);
		oomstore_close(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reads_back_with_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(outcome_update_survives, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_tail_cut_and_id_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_header_only, setup, teardown),
		cmocka_unit_test_setup_teardown(damage_in_the_middle_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(bounded_oldest_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(one_record_bigger_than_the_bound_is_kept, setup, teardown),
		cmocka_unit_test(missing_dir_is_a_clear_error),
		cmocka_unit_test(crc_covers_length),
		cmocka_unit_test_setup_teardown(random_damage, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
