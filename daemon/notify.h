/* systemd integration: readiness, status, watchdog and socket activation.
 * Every call is a no-op when faultlined does not run under systemd
 * (no NOTIFY_SOCKET / WATCHDOG_USEC / LISTEN_FDS in the environment). */
#ifndef FAULTLINE_NOTIFY_H
#define FAULTLINE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;

struct notify {
	uint64_t watchdog_ms;  /* ping period: half of WatchdogSec=, 0 = off */
	uint64_t next_ping_ms; /* monotonic time of the next WATCHDOG=1 */
	uint64_t last_events;  /* event total at the last STATUS= */
	uint64_t last_ms;      /* and when it was taken */
	bool test_hang;        /* FAULTLINE_TEST_HANG=1: SIGUSR2 hangs the loop */
};

/* Reads the watchdog period and the test switch from the environment. */
void notify_init(struct notify *n, uint64_t now_ms);

/* READY=1 with a first STATUS=; call once the probes are attached and the
 * socket listens. */
void notify_ready(struct daemon *d);
/* STATUS= with processes tracked, events/s and drops since start. */
void notify_status(struct daemon *d);
void notify_reloading(void);
void notify_stopping(void);

/* Sends WATCHDOG=1 when due. Called from the main loop only, so a loop that
 * is stuck stops pinging and systemd restarts it. */
void notify_watchdog(struct notify *n, uint64_t now_ms);
/* The epoll_wait timeout that wakes the loop in time for the next ping
 * (-1 without a watchdog). */
int notify_timeout_ms(const struct notify *n, uint64_t now_ms);

/* The test-only hang (FAULTLINE_TEST_HANG=1 and SIGUSR2): never returns. */
void notify_test_hang(void) __attribute__((noreturn));

/* Formats the STATUS= text (pure, unit-tested). */
void notify_format_status(char *buf, size_t len, uint64_t live, double events_per_s, uint64_t drops);

/* *fd = the listening socket handed over by systemd (faultlined.socket), or
 * -1 when not socket-activated. More than one fd, or one that is not a
 * listening Unix stream socket, is an error (-EINVAL) with a sentence in err. */
int notify_listen_fd(int *fd, char *err, size_t errlen);

#endif
