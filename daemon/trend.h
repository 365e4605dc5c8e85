/* Robust trend measures over a time series (pure code, no allocation).
 *
 * The leak analysis asks: is the floor of this series rising, how fast, since
 * when, and does it ever give back what it took? Least squares answers badly
 * when one sample is an outlier or the series is a sawtooth, so these are
 * rank-based (Theil–Sen), envelope-based (suffix minima) and slice-based. */
#ifndef FAULTLINE_TREND_H
#define FAULTLINE_TREND_H

#include <stddef.h>

/* Theil–Sen uses at most this many points (evenly picked): the cost is
 * quadratic and 32 points already give a breakdown point of 29 %. */
#define TREND_TS_POINTS 32

struct trend_fit {
	double slope;        /* median of pairwise slopes, units of y per unit of t */
	double share_rising; /* pairs with a positive slope / all pairs (0..1) */
	int pairs;
};

/* Theil–Sen slope of y over t (t strictly increasing), n >= 2, from at most
 * TREND_TS_POINTS points. */
void trend_theil_sen(const double *t, const double *y, size_t n, struct trend_fit *out);
/* The same from at most max_points (2..TREND_TS_POINTS) points: cheaper, for
 * figures that are reported but decide nothing. */
void trend_theil_sen_points(const double *t, const double *y, size_t n, size_t max_points, struct trend_fit *out);

/* Suffix floor robust to one bad low: out[i] = the second-smallest of
 * lo[i..n-1] (the smallest when only one value is left). Non-decreasing. */
void trend_suffix_floor(const double *lo, size_t n, double *out);

/* The index where the present run of growth began: the end of the latest
 * stretch, at least flat_min long (in t units), over which floor[] (non-
 * decreasing) rose by no more than tol, timed from the stretch's second
 * sample (floor[j] may be the value of j + 1: trend_suffix_floor()). 0 when
 * the floor never rested. */
size_t trend_growth_start(const double *t, const double *floor, size_t n, double flat_min, double tol);

/* The series cut into k equal time slices over [t[from], t[n-1]]; counts the
 * slices (after the first non-empty one) whose minimum of lo rose above the
 * previous slice's, and whose last y ended above the previous slice's. */
struct trend_slices {
	int compared;    /* slices that had a predecessor */
	int floor_rose;
	int ended_higher;
};
void trend_slices(const double *t, const double *lo, const double *y, size_t from, size_t n, int k,
		  struct trend_slices *out);

/* Largest fall from a running peak of hi to a later lo, over [from, n). */
double trend_largest_fall(const double *hi, const double *lo, size_t from, size_t n);

/* Median of v[0..n-1] (n <= 64), without changing v. */
double trend_median(const double *v, size_t n);

#endif
