/* bench_leaks: the cost of one leak analysis (leak_analyse_history), per
 * process, with a week of history (every tier full) and with two minutes
 * (a young process), as the daemon runs it once per interval for every live
 * process. Prints figures, asserts nothing (tests/bench/run.sh reports them).
 *
 *   bench_leaks [PROCESSES] [ROUNDS]      (defaults 200, 15)
 *
 * CPU time of this process, not wall time: on a shared machine the wall
 * clock mostly measures the neighbours. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leaks.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A series sampled every step s over span s, ending now: a leak of 1 MiB/h
 * with a daily 20 MiB sawtooth, or (leak == 0) a steady process; both with
 * 2 MiB of noise. */
static void fill(struct history *h, uint32_t now, uint32_t span, uint32_t step, unsigned seed, int leak)
{
	for (uint32_t t = now - span; t <= now; t += step) {
		double x = t - (now - span);
		struct hist_sample s = {
			.t = t,
			.anon_kb = (uint32_t)(300 * 1024 + (leak ? x / 3600 * 1024 + fmod(x, 86400) / 86400 * 20 * 1024 : 0) +
					      rand_r(&seed) % 2048),
			.vm_kb = 1 << 20,
		};

		history_add(h, &s);
	}
}

/* Median microseconds per process over rounds passes over n histories. */
static double measure(struct history *h, int n, int rounds, const struct leak_params *prm)
{
	double per[64];
	struct leak_verdict v;

	if (rounds > 64)
		rounds = 64;
	for (int r = 0; r < rounds; r++) {
		double t0 = now_us();

		for (int i = 0; i < n; i++)
			leak_analyse_history(&h[i], prm, &v);
		per[r] = (now_us() - t0) / n;
	}
	qsort(per, rounds, sizeof(double), cmp_double);
	return per[rounds / 2];
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, rounds = argc > 2 ? atoi(argv[2]) : 15;
	uint32_t now = 1800000000u;
	struct leak_params prm;
	struct history *week, *steady, *young;
	double us_week, us_steady, us_young;

	if (n < 1 || rounds < 1) {
		fprintf(stderr, "usage: bench_leaks [PROCESSES] [ROUNDS]\n");
		return 2;
	}
	leak_params_defaults(&prm);
	week = calloc(n, sizeof(*week));
	steady = calloc(n, sizeof(*steady));
	young = calloc(n, sizeof(*young));
	if (!week || !steady || !young)
		return 1;
	for (int i = 0; i < n; i++) {
		/* a week at 30 s, then the last 10 minutes at 1 s: every tier full */
		fill(&week[i], now - 600, 7 * 86400, 30, i, 1);
		fill(&week[i], now, 599, 1, i, 1);
		fill(&steady[i], now - 600, 7 * 86400, 30, i, 0);
		fill(&steady[i], now, 599, 1, i, 0);
		fill(&young[i], now, 120, 1, i, 1);
	}
	us_week = measure(week, n, rounds, &prm);
	us_steady = measure(steady, n, rounds, &prm);
	us_young = measure(young, n, rounds, &prm);
	printf("leak analysis, a week of history, leaking: %.2f us per process (%d processes, median of %d rounds)\n",
	       us_week, n, rounds);
	printf("leak analysis, a week of history, steady:  %.2f us per process\n", us_steady);
	printf("leak analysis, two minutes of history:     %.2f us per process\n", us_young);
	printf("RESULT week_leak_us=%.2f week_steady_us=%.2f young_us=%.2f week_vs_young=%.2f\n", us_week, us_steady,
	       us_young, us_week / us_young);
	for (int i = 0; i < n; i++) {
		history_free(&week[i]);
		history_free(&steady[i]);
		history_free(&young[i]);
	}
	free(week);
	free(steady);
	free(young);
	return 0;
}
