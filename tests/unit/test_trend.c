/* Robust trend measures: Theil–Sen, the robust suffix floor, growth start,
 * slices, largest fall, median. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "trend.h"

static void theil_sen_exact_line(void **state)
{
	double t[100], y[100];
	struct trend_fit f;

	for (int i = 0; i < 100; i++) {
		t[i] = i * 2.0;
		y[i] = 1000 + 512.0 * t[i];
	}
	trend_theil_sen(t, y, 100, &f);
	assert_true(fabs(f.slope - 512.0) < 1e-6);
	assert_true(f.share_rising == 1.0);
	assert_int_equal(f.pairs, TREND_TS_POINTS * (TREND_TS_POINTS - 1) / 2);
	trend_theil_sen(t, y, 1, &f);
	assert_int_equal(f.pairs, 0);
}

static void theil_sen_shrugs_off_outliers(void **state)
{
	double t[200], y[200];
	struct trend_fit f;

	srand(7);
	for (int i = 0; i < 200; i++) {
		t[i] = i;
		y[i] = 100.0 * i + (rand() % 50);
		if (i % 7 == 3) /* ~14 % wild values, both ways */
			y[i] = (i % 2) ? 1e9 : 0;
	}
	trend_theil_sen(t, y, 200, &f);
	assert_true(fabs(f.slope - 100.0) < 5.0);
	assert_true(f.share_rising > 0.7);
}

static void floor_ignores_one_bad_low(void **state)
{
	double lo[8] = { 10, 11, 12, 0, 14, 15, 16, 17 }, fl[8];

	trend_suffix_floor(lo, 8, fl);
	/* The dip to 0 is the smallest; the floor is the second smallest. */
	assert_true(fl[0] == 10);
	assert_true(fl[3] == 14);
	assert_true(fl[7] == 17);
	for (int i = 1; i < 8; i++)
		assert_true(fl[i] >= fl[i - 1]);
}

static void growth_start_after_flat_stretch(void **state)
{
	double t[300], lo[300], fl[300];
	size_t s;

	for (int i = 0; i < 300; i++) {
		t[i] = i;
		lo[i] = i < 200 ? 5000 + (i % 3) : 5000 + (i - 200) * 1000.0;
	}
	trend_suffix_floor(lo, 300, fl);
	s = trend_growth_start(t, fl, 300, 50, 10);
	assert_true(s >= 195 && s <= 201);
	/* A steady ramp from the start never rests: growth began at 0. */
	for (int i = 0; i < 300; i++)
		lo[i] = 1000.0 * i;
	trend_suffix_floor(lo, 300, fl);
	assert_int_equal(trend_growth_start(t, fl, 300, 50, 10), 0);
}

/* A steady ramp whose first sample is 10 s before the next (a coarse
 * sample, or the daemon down): the floor, which ignores one bad low, holds
 * the second sample's value at the first, yet the ramp never rested. */
static void growth_start_not_fooled_by_a_gap(void **state)
{
	double t[30], lo[30], fl[30];

	t[0] = 0;
	for (int i = 1; i < 30; i++)
		t[i] = 9 + i;
	for (int i = 0; i < 30; i++)
		lo[i] = 1000.0 * t[i];
	trend_suffix_floor(lo, 30, fl);
	assert_true(fl[0] == lo[1]);
	/* 1.5 s of rise tolerated, a 5 s rest needed: the ramp never rests. */
	assert_int_equal(trend_growth_start(t, fl, 30, 5, 1500), 0);
}

static void slices_count_rises(void **state)
{
	double t[60], y[60], flat[60];
	struct trend_slices sl;

	for (int i = 0; i < 60; i++) {
		t[i] = i;
		y[i] = i * 10.0;
		flat[i] = 7;
	}
	trend_slices(t, y, y, 0, 60, 6, &sl);
	assert_int_equal(sl.compared, 5);
	assert_int_equal(sl.floor_rose, 5);
	assert_int_equal(sl.ended_higher, 5);
	trend_slices(t, flat, flat, 0, 60, 6, &sl);
	assert_int_equal(sl.compared, 5);
	assert_int_equal(sl.floor_rose, 0);
	assert_int_equal(sl.ended_higher, 0);
	/* Gaps: slices without samples are skipped, not counted as flat. */
	double tg[4] = { 0, 1, 50, 59 }, yg[4] = { 1, 2, 3, 4 };
	trend_slices(tg, yg, yg, 0, 4, 6, &sl);
	assert_int_equal(sl.compared, 1);
	assert_int_equal(sl.floor_rose, 1);
}

static void largest_fall_and_median(void **state)
{
	double saw[9] = { 0, 50, 100, 5, 50, 100, 10, 60, 90 }, up[5] = { 1, 2, 3, 4, 5 };
	double v[6] = { 9, 1, 5, 3, 7, 100 };

	assert_true(trend_largest_fall(saw, saw, 0, 9) == 95);
	assert_true(trend_largest_fall(saw, saw, 4, 9) == 90);
	assert_true(trend_largest_fall(up, up, 0, 5) == 0);
	assert_true(trend_median(v, 6) == 6);
	assert_true(trend_median(v, 5) == 5);
	assert_true(v[0] == 9 && v[5] == 100); /* untouched */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(theil_sen_exact_line),
		cmocka_unit_test(theil_sen_shrugs_off_outliers),
		cmocka_unit_test(floor_ignores_one_bad_low),
		cmocka_unit_test(growth_start_after_flat_stretch),
		cmocka_unit_test(growth_start_not_fooled_by_a_gap),
		cmocka_unit_test(slices_count_rises),
		cmocka_unit_test(largest_fall_and_median),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
