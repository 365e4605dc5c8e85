#include "trend.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/* k-th smallest of v[0..n-1] (Hoare's selection; reorders v). */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double x = v[i];

				v[i] = v[j];
				v[j] = x;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

static double median_inplace(double *v, size_t n)
{
	double a = select_kth(v, n, n / 2);

	if (n % 2)
		return a;
	/* Even count: the mean of the two middle values. */
	return (a + select_kth(v, n / 2, n / 2 - 1)) / 2;
}

double trend_median(const double *v, size_t n)
{
	double tmp[64];

	if (!n)
		return 0;
	if (n > 64)
		n = 64;
	memcpy(tmp, v, n * sizeof(*v));
	return median_inplace(tmp, n);
}

void trend_theil_sen(const double *t, const double *y, size_t n, struct trend_fit *out)
{
	trend_theil_sen_points(t, y, n, TREND_TS_POINTS, out);
}

void trend_theil_sen_points(const double *t, const double *y, size_t n, size_t max_points, struct trend_fit *out)
{
	double slopes[TREND_TS_POINTS * (TREND_TS_POINTS - 1) / 2];
	size_t idx[TREND_TS_POINTS], m, np = 0, rising = 0;

	memset(out, 0, sizeof(*out));
	if (max_points > TREND_TS_POINTS)
		max_points = TREND_TS_POINTS;
	if (max_points < 2)
		max_points = 2;
	m = n < max_points ? n : max_points;
	if (n < 2)
		return;
	/* Evenly spread picks, always keeping the first and the last point. */
	for (size_t k = 0; k < m; k++)
		idx[k] = m > 1 ? (size_t)((double)k * (n - 1) / (m - 1) + 0.5) : 0;
	for (size_t a = 0; a < m; a++)
		for (size_t b = a + 1; b < m; b++) {
			double dt = t[idx[b]] - t[idx[a]];

			if (dt <= 0)
				continue;
			slopes[np] = (y[idx[b]] - y[idx[a]]) / dt;
			rising += slopes[np] > 0;
			np++;
		}
	if (!np)
		return;
	out->pairs = (int)np;
	out->share_rising = (double)rising / np;
	out->slope = median_inplace(slopes, np);
}

void trend_suffix_floor(const double *lo, size_t n, double *out)
{
	double m1 = INFINITY, m2 = INFINITY; /* smallest, second smallest */

	for (size_t i = n; i-- > 0;) {
		if (lo[i] < m1) {
			m2 = m1;
			m1 = lo[i];
		} else if (lo[i] < m2) {
			m2 = lo[i];
		}
		out[i] = isinf(m2) ? m1 : m2;
	}
}

size_t trend_growth_start(const double *t, const double *floor, size_t n, double flat_min, double tol)
{
	/* floor[] is non-decreasing, so for each end i the longest flat
	 * stretch starts at the first j with floor[j] >= floor[i] - tol; that j
	 * only moves forward with i. Keep the latest i that qualifies.
	 * The stretch is timed from j + 1: a floor that ignores one bad low
	 * may hold at j the value of the sample after it, and across a wide
	 * gap (a coarse sample, the daemon down) that would pass a steady
	 * rise off as a rest as long as the gap. */
	size_t j = 0, start = 0;

	for (size_t i = 0; i < n; i++) {
		while (floor[j] < floor[i] - tol)
			j++;
		if (t[i] - t[j + 1 <= i ? j + 1 : i] >= flat_min)
			start = i;
	}
	return start;
}

void trend_slices(const double *t, const double *lo, const double *y, size_t from, size_t n, int k,
		  struct trend_slices *out)
{
	double t0, span, prev_floor = 0, prev_end = 0;
	bool have_prev = false;
	size_t i = from;

	memset(out, 0, sizeof(*out));
	if (n <= from + 1 || k < 2)
		return;
	t0 = t[from];
	span = t[n - 1] - t0;
	if (span <= 0)
		return;
	for (int s = 0; s < k; s++) {
		double end_t = s == k - 1 ? INFINITY : t0 + span * (s + 1) / k;
		double floor = INFINITY, end = 0;
		bool any = false;

		for (; i < n && t[i] <= end_t; i++) {
			if (lo[i] < floor)
				floor = lo[i];
			end = y[i];
			any = true;
		}
		if (!any)
			continue; /* a gap (daemon down, or coarse tiers) */
		if (have_prev) {
			out->compared++;
			out->floor_rose += floor > prev_floor;
			out->ended_higher += end > prev_end;
		}
		prev_floor = floor;
		prev_end = end;
		have_prev = true;
	}
}

double trend_largest_fall(const double *hi, const double *lo, size_t from, size_t n)
{
	double peak = -INFINITY, fall = 0;

	for (size_t i = from; i < n; i++) {
		if (peak - lo[i] > fall)
			fall = peak - lo[i];
		if (hi[i] > peak)
			peak = hi[i];
	}
	return fall;
}
