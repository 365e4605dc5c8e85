/* Tiered history: growth, wrap-around, downsampling, merged series. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "history.h"

static void add(struct history *h, uint32_t t, uint32_t anon)
{
	struct hist_sample s = { .t = t, .anon_kb = anon };
	assert_int_equal(history_add(h, &s), 0);
}

static void starts_small(void **state)
{
	struct history h = {};

	add(&h, 1000, 1);
	assert_int_equal(history_len(&h, 0), 1);
	assert_true(history_bytes(&h) < 5 * 4 * sizeof(struct hist_sample) + 1);
	history_free(&h);
}

static void tier0_keeps_the_newest(void **state)
{
	struct history h = {};

	for (uint32_t i = 0; i < 500; i++)
		add(&h, 1000 + i, i);
	assert_int_equal(history_len(&h, 0), hist_tier_cap[0]);
	assert_int_equal(history_at(&h, 0, 0)->anon_kb, 500 - hist_tier_cap[0]);
	assert_int_equal(history_last(&h)->anon_kb, 499);
	history_free(&h);
}

static void coarse_tiers_one_per_bucket(void **state)
{
	struct history h = {};

	for (uint32_t i = 0; i < 600; i++) /* 10 minutes at 1 s */
		add(&h, 6000 + i, i);
	assert_int_equal(history_len(&h, 1), 60);  /* one per 10 s */
	assert_int_equal(history_len(&h, 2), 10);  /* one per minute */
	assert_int_equal(history_len(&h, 3), 1);   /* one per 10 min */
	for (size_t i = 1; i < history_len(&h, 1); i++)
		assert_int_equal(history_at(&h, 1, i)->t - history_at(&h, 1, i - 1)->t, 10);
	history_free(&h);
}

static void a_week_fits_the_budget(void **state)
{
	struct history h = {};
	size_t max = 0;

	for (int t = 0; t < HIST_TIERS; t++)
		max += hist_tier_cap[t] * sizeof(struct hist_sample);
	for (uint32_t i = 0; i < 7 * 86400; i += 5)
		add(&h, 1000000 + i, i / 3600);
	assert_int_equal(history_bytes(&h), max);
	/* the oldest coarse sample is ~a week old */
	assert_true(history_last(&h)->t - history_at(&h, 4, 0)->t >= 6 * 86400);
	history_free(&h);
}

static void series_is_time_ordered(void **state)
{
	struct history h = {};
	struct hist_sample out[1000];
	size_t n;

	for (uint32_t i = 0; i < 3000; i++)
		add(&h, 100000 + i, i);
	n = history_series(&h, out, 1000);
	assert_true(n > hist_tier_cap[0]);
	for (size_t i = 1; i < n; i++)
		assert_true(out[i].t > out[i - 1].t);
	assert_int_equal(out[n - 1].anon_kb, 2999);
	assert_true(out[0].t <= 100000 + 60); /* reaches back to the start */
	history_free(&h);
}

/* Four samples a second (they share whole seconds): tier 0 spans 15 s, and
 * the 10 s tier's newest bucket reaches into it. In the merged series a
 * rising count must still rise: no sample's high may exceed a later one's
 * low (a fake fall), which an envelope spanning its whole bucket would. */
static void series_of_a_rise_never_falls(void **state)
{
	struct history h = {};
	struct hist_sample out[1000];
	size_t n;

	for (uint32_t q = 0; q < 4 * 200; q++) {
		add(&h, 100000 + q / 4, 1000 + q);
		n = history_series(&h, out, 1000);
		for (size_t i = 1; i < n; i++) {
			assert_true(out[i].t > out[i - 1].t);
			assert_true(out[i - 1].owned_max_kb <= out[i].owned_min_kb);
		}
		assert_int_equal(out[n - 1].anon_kb, 1000 + q);
	}
	history_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(starts_small),
		cmocka_unit_test(tier0_keeps_the_newest),
		cmocka_unit_test(coarse_tiers_one_per_bucket),
		cmocka_unit_test(a_week_fits_the_budget),
		cmocka_unit_test(series_is_time_ordered),
		cmocka_unit_test(series_of_a_rise_never_falls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
