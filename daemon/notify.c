#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

void notify_init(struct notify *n, uint64_t now_ms)
{
	uint64_t usec = 0;
	const char *hang = getenv("FAULTLINE_TEST_HANG");

	memset(n, 0, sizeof(*n));
	/* Ping at half the period, as sd_watchdog_enabled(3) advises: one late
	 * wake-up must not be taken for a hang. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
		n->watchdog_ms = usec / 2000;
	n->next_ping_ms = now_ms;
	n->last_ms = now_ms;
	n->test_hang = hang && !strcmp(hang, "1");
}

void notify_format_status(char *buf, size_t len, uint64_t live, double events_per_s, uint64_t drops)
{
	snprintf(buf, len, "tracking %llu processes, %.1f events/s, %llu events dropped",
		 (unsigned long long)live, events_per_s, (unsigned long long)drops);
}

static uint64_t events_total(const struct daemon *d)
{
	uint64_t sum = 0;

	for (int k = 1; k < FL_EV__MAX; k++)
		sum += d->stats.events[k];
	return sum;
}

static void status_text(struct daemon *d, char *buf, size_t len)
{
	uint64_t now = now_mono_ms(), total = events_total(d), drops[FL_DROP_SLOTS], dsum = 0;
	double rate = 0;

	if (now > d->notify.last_ms)
		rate = (double)(total - d->notify.last_events) * 1000.0 / (double)(now - d->notify.last_ms);
	d->notify.last_events = total;
	d->notify.last_ms = now;
	probes_drops(&d->probes, drops);
	for (int k = 0; k < FL_DROP_SLOTS; k++)
		dsum += drops[k];
	notify_format_status(buf, len, d->procs.stats.live, rate, dsum);
}

void notify_ready(struct daemon *d)
{
	char st[160];

	status_text(d, st, sizeof(st));
	sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", st, (int)getpid());
}

void notify_status(struct daemon *d)
{
	char st[160];

	status_text(d, st, sizeof(st));
	sd_notifyf(0, "STATUS=%s", st);
}

void notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void notify_watchdog(struct notify *n, uint64_t now_ms)
{
	if (!n->watchdog_ms || now_ms < n->next_ping_ms)
		return;
	sd_notify(0, "WATCHDOG=1");
	n->next_ping_ms = now_ms + n->watchdog_ms;
}

int notify_timeout_ms(const struct notify *n, uint64_t now_ms)
{
	if (!n->watchdog_ms)
		return -1;
	return n->next_ping_ms <= now_ms ? 0 : (int)(n->next_ping_ms - now_ms);
}

void notify_test_hang(void)
{
	log_warn("FAULTLINE_TEST_HANG: SIGUSR2 received, the main loop now hangs (test only)");
	for (;;)
		sleep(3600);
}

int notify_listen_fd(int *fd, char *err, size_t errlen)
{
	int n = sd_listen_fds(1);

	*fd = -1;
	if (n < 0) {
		snprintf(err, errlen, "reading the sockets systemd passed (LISTEN_FDS): %s", strerror(-n));
		return n;
	}
	if (n == 0)
		return 0;
	if (n > 1) {
		snprintf(err, errlen, "systemd passed %d sockets; faultlined.socket must listen on exactly one", n);
		return -EINVAL;
	}
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
		snprintf(err, errlen, "the socket systemd passed is not a listening Unix stream socket (ListenStream= a path)");
		return -EINVAL;
	}
	*fd = SD_LISTEN_FDS_START;
	return 0;
}
