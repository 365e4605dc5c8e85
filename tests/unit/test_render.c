/* Human units, tables and sparklines as the CLI prints them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

static void bytes(void **state)
{
	char b[32];

	assert_string_equal(fmt_bytes(0, b, sizeof(b)), "0 B");
	assert_string_equal(fmt_bytes(1023, b, sizeof(b)), "1023 B");
	assert_string_equal(fmt_bytes(4096, b, sizeof(b)), "4.0 KiB");
	assert_string_equal(fmt_bytes(200ull << 20, b, sizeof(b)), "200 MiB");
	assert_string_equal(fmt_bytes(3ull << 29, b, sizeof(b)), "1.5 GiB");
}

static void rates(void **state)
{
	char b[32];

	assert_string_equal(fmt_byte_rate(12.0 * (1 << 20) / 3600, b, sizeof(b)), "12 MiB/h");
	assert_string_equal(fmt_byte_rate(2048, b, sizeof(b)), "7.0 MiB/h");
	assert_string_equal(fmt_byte_rate(-2.0 * (1 << 20), b, sizeof(b)), "-2.0 MiB/s");
	assert_string_equal(fmt_byte_rate(20000, b, sizeof(b)), "1.1 MiB/min");
	assert_string_equal(fmt_byte_rate(0, b, sizeof(b)), "0 B/s");
}

static void counts_and_durations(void **state)
{
	char b[32];

	assert_string_equal(fmt_count(950, b, sizeof(b)), "950");
	assert_string_equal(fmt_count(1234, b, sizeof(b)), "1.2k");
	assert_string_equal(fmt_count(3.4e6, b, sizeof(b)), "3.4M");
	assert_string_equal(fmt_duration(45, b, sizeof(b)), "45s");
	assert_string_equal(fmt_duration(723, b, sizeof(b)), "12m03s");
	assert_string_equal(fmt_duration(3 * 3600 + 12 * 60, b, sizeof(b)), "3h12m");
	assert_string_equal(fmt_duration(2 * 86400 + 4 * 3600, b, sizeof(b)), "2d04h");
}

static void sparkline(void **state)
{
	double up[] = { 0, 1, 2, 3, 4, 5, 6, 7 }, flat[] = { 5, 5, 5 };
	char b[256];

	assert_string_equal(fmt_sparkline(up, 8, 60, b, sizeof(b)), "▁▂▃▄▅▆▇█");
	assert_string_equal(fmt_sparkline(flat, 3, 60, b, sizeof(b)), "▁▁▁");
	/* 8 values into 4 cells: the max of each pair (1 3 5 7), scaled
	 * from the lowest cell to the highest */
	assert_string_equal(fmt_sparkline(up, 8, 4, b, sizeof(b)), "▁▃▆█");
	assert_int_equal(utf8_width(fmt_sparkline(up, 8, 60, b, sizeof(b))), 8);
}

static void table_aligns(void **state)
{
	static const char *const head[] = { ">PID", "NAME", ">RSS" };
	const char *r1[] = { "1", "init", "10 MiB" }, *r2[] = { "12345", "x", "1 B" };
	struct table t;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	table_init(&t, 3, head);
	table_add(&t, r1);
	table_add(&t, r2);
	table_print(&t, f);
	fclose(f);
	assert_string_equal(out, "  PID  NAME     RSS\n"
				 "    1  init  10 MiB\n"
				 "12345  x        1 B\n");
	table_free(&t);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bytes),
		cmocka_unit_test(rates),
		cmocka_unit_test(counts_and_durations),
		cmocka_unit_test(sparkline),
		cmocka_unit_test(table_aligns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
