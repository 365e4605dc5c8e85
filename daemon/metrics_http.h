/* The metrics endpoint: GET /metrics over HTTP, served by libmicrohttpd in
 * its own thread. The loop renders the text once per interval and hands it
 * over (metrics_http_publish); a scrape only copies it under a mutex, so a
 * scrape never touches the process table and never waits for the loop. */
#ifndef FAULTLINE_METRICS_HTTP_H
#define FAULTLINE_METRICS_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Daemon;

struct metrics_http {
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock;
	char *text; /* the latest exposition (owned) */
	size_t len;
	uint64_t scrapes;  /* GET /metrics answered */
	uint64_t not_found;
	char bound[80];    /* the address really bound, e.g. 127.0.0.1:9464 */
};

/* Binds listen ("host:port", port 0 = any free port) and starts the thread.
 * 0 or -errno, with "why and what to do" in err. */
int metrics_http_start(struct metrics_http *h, const char *listen, char *err, size_t errlen);
/* Replaces the served text; takes ownership of text (malloc'd). */
void metrics_http_publish(struct metrics_http *h, char *text, size_t len);
uint64_t metrics_http_scrapes(struct metrics_http *h);
void metrics_http_stop(struct metrics_http *h);

#endif
