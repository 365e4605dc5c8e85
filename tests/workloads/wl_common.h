/*
 * Shared helpers for the test workloads: argument parsing, the READY/hold
 * protocol the integration tests rely on, and clocks.
 *
 * Header-only on purpose: every workload is built from a single .c file by
 * the Makefile, with no library to link against.
 *
 * Several workloads must not issue any brk/mmap of their own once they start
 * measuring (the daemon's counters are compared with theirs exactly), so
 * nothing here allocates: stdout gets a static buffer and stdin is read with
 * raw read(2) into the stack, never through stdio.
 */
#ifndef WL_COMMON_H
#define WL_COMMON_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Exit status for bad command lines, distinct from runtime failures (1). */
#define WL_EXIT_USAGE 2

static const char *wl_prog = "workload";

static inline void wl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", wl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", wl_prog);
	exit(WL_EXIT_USAGE);
}

static inline void wl_die(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fprintf(stderr, "%s: ", wl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (saved)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	exit(1);
}

/* getopt_long has already said what was wrong with the option. */
static inline void wl_bad_option(void)
{
	fprintf(stderr, "Try '%s --help'.\n", wl_prog);
	exit(WL_EXIT_USAGE);
}

/* Non-negative decimal integer, whole string, with overflow checking. */
static inline int wl_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* strtoull silently negates "-5"; a count must never be negative. */
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

/*
 * Byte count with an optional binary suffix: 4096, 64K, 8M, 1G (case
 * insensitive; "8MiB" and "8MB" are accepted as the same thing since a test
 * writer is more likely to mean binary units here than not).
 */
static inline int wl_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case '\0': break;
	default: return -1;
	}
	if (shift) {
		if (end[0] == 'i' && end[1] == 'B')
			end += 2;
		else if (end[0] == 'B')
			end++;
	}
	if (*end)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Option-argument wrappers: any parse failure is a usage error (exit 2). */
static inline uint64_t wl_opt_u64(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (wl_parse_u64(arg, &v) || v < min || v > max)
		wl_usage_error("--%s: expected an integer in [%llu, %llu], got '%s'", opt,
			       (unsigned long long)min, (unsigned long long)max, arg);
	return v;
}

static inline uint64_t wl_opt_size(const char *opt, const char *arg)
{
	uint64_t v;

	if (wl_parse_size(arg, &v))
		wl_usage_error("--%s: expected a size (bytes, or with K/M/G suffix), got '%s'", opt, arg);
	return v;
}

/* Seconds for --hold; fractions allowed, negative or junk is an error. */
static inline double wl_opt_seconds(const char *opt, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= 0) || v > 1e9)
		wl_usage_error("--%s: expected a non-negative number of seconds, got '%s'", opt, arg);
	return v;
}

static inline long wl_page_size(void)
{
	static long ps;

	if (!ps)
		ps = sysconf(_SC_PAGESIZE);
	return ps;
}

/* CPU time of the whole process (all threads), in ns. */
static inline uint64_t wl_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t wl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void wl_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline void wl_rusage(long *minflt, long *majflt)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*minflt = ru.ru_minflt;
	*majflt = ru.ru_majflt;
}

static volatile sig_atomic_t wl_stop_signal;

static inline void wl_on_stop_signal(int sig)
{
	wl_stop_signal = sig;
}

/*
 * Call first thing in main(). Gives stdout a static buffer so the first
 * printf does not malloc (and so brk) in the middle of a measurement, and
 * catches SIGTERM/SIGINT from the start so that a test stopping us early
 * still sees a clean exit 0 rather than death by signal.
 */
static inline void wl_init(const char *argv0, int catch_signals)
{
	static char outbuf[8192];
	const char *slash = strrchr(argv0, '/');
	struct sigaction sa;

	wl_prog = slash ? slash + 1 : argv0;
	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	if (!catch_signals)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wl_on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the hold loop relies on ppoll() returning EINTR. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Prints the one READY line: "READY <pid> " followed by the caller's facts. */
static inline void wl_ready(const char *fmt, ...)
{
	va_list ap;

	printf("READY %ld ", (long)getpid());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/*
 * Blocks until stdin reaches EOF (or is unusable), SIGTERM/SIGINT arrives, or
 * hold_s seconds pass; hold_s < 0 means no time limit. Input is read and
 * thrown away so a writer on the other end never blocks on a full pipe.
 */
static inline void wl_hold(double hold_s)
{
	sigset_t block, orig;
	uint64_t deadline = 0;
	int stdin_open = 1;

	if (hold_s == 0)
		return;
	if (hold_s > 0)
		deadline = wl_now_ns() + (uint64_t)(hold_s * 1e9);

	/*
	 * Signals stay blocked except inside ppoll() so one arriving between
	 * the flag check and the wait cannot be lost.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);

	while (!wl_stop_signal && stdin_open) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		struct timespec ts, *tsp = NULL;
		int n;

		if (deadline) {
			uint64_t now = wl_now_ns();

			if (now >= deadline)
				break;
			ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
			ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
			tsp = &ts;
		}
		n = ppoll(&pfd, 1, tsp, &orig);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			continue;
		if (pfd.revents & POLLNVAL) {
			stdin_open = 0;
		} else if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[512];
			ssize_t r = read(0, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				stdin_open = 0;
		}
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
}

/*
 * Waits for one line (or EOF) on stdin with raw read(2): stdio would malloc
 * a buffer for stdin, which is exactly the kind of stray brk/mmap the
 * mapping-syscall tests cannot tolerate. Returns 1 for a line, 0 for EOF,
 * -1 when interrupted by SIGTERM/SIGINT.
 */
static inline int wl_wait_line(void)
{
	for (;;) {
		char c;
		ssize_t r;

		if (wl_stop_signal)
			return -1;
		r = read(0, &c, 1);
		if (r == 1 && c == '\n')
			return 1;
		if (r == 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return 0;
	}
}

#endif
