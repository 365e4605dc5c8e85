#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, const char *body,
			       size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, mode);
	enum MHD_Result r;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	static const char index_page[] = "faultlined: the metrics are at /metrics\n";
	static const char not_found[] = "not found: the metrics are at /metrics\n";
	static const char bad_method[] = "only GET and HEAD\n";
	struct metrics_http *h = cls;
	char *copy;
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method, sizeof(bad_method) - 1,
			       MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return respond(conn, MHD_HTTP_OK, "text/plain", index_page, sizeof(index_page) - 1,
			       MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics")) {
		pthread_mutex_lock(&h->lock);
		h->not_found++;
		pthread_mutex_unlock(&h->lock);
		return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1,
			       MHD_RESPMEM_PERSISTENT);
	}
	/* A copy, so the loop may publish the next text while this one is
	 * still being sent. */
	pthread_mutex_lock(&h->lock);
	len = h->len;
	copy = malloc(len ? len : 1);
	if (copy && len)
		memcpy(copy, h->text, len);
	if (copy)
		h->scrapes++;
	pthread_mutex_unlock(&h->lock);
	if (!copy)
		return MHD_NO;
	return respond(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE, copy, len, MHD_RESPMEM_MUST_FREE);
}

static int bind_listen(const char *addr, int *fd_out, char *bound, size_t boundlen, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[128], port[8], nh[64], np[8];
	int fd, one = 1, r;

	if (config_split_listen(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "metrics: listen = '%s' is not ADDRESS:PORT", addr);
		return -EINVAL;
	}
	r = getaddrinfo(host, port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "metrics: cannot resolve '%s': %s; use a numeric address such as 127.0.0.1",
			 host, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "metrics: cannot create a socket for %s: %s (under systemd, install the "
			 "faultlined-metrics.conf drop-in)", addr, strerror(-r));
		freeaddrinfo(res);
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64)) {
		r = -errno;
		snprintf(err, errlen, "metrics: cannot listen on %s: %s (change [metrics] listen, or stop what uses it)",
			 addr, strerror(-r));
		close(fd);
		freeaddrinfo(res);
		return r;
	}
	freeaddrinfo(res);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, nh, sizeof(nh), np, sizeof(np), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(bound, boundlen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", nh, np);
	else
		snprintf(bound, boundlen, "%s", addr);
	*fd_out = fd;
	return 0;
}

int metrics_http_start(struct metrics_http *h, const char *listen_addr, char *err, size_t errlen)
{
	int fd, r;

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	if ((r = bind_listen(listen_addr, &fd, h->bound, sizeof(h->bound), err, errlen)))
		return r;
	/* A few connections at a time is plenty for Prometheus; a stuck client
	 * is dropped after 10 s. MHD owns (and closes) the socket from here. */
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, on_request, h,
				  MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!h->mhd) {
		close(fd);
		snprintf(err, errlen, "metrics: the HTTP server (libmicrohttpd) did not start on %s", h->bound);
		return -EIO;
	}
	return 0;
}

void metrics_http_publish(struct metrics_http *h, char *text, size_t len)
{
	char *old;

	pthread_mutex_lock(&h->lock);
	old = h->text;
	h->text = text;
	h->len = len;
	pthread_mutex_unlock(&h->lock);
	free(old);
}

uint64_t metrics_http_scrapes(struct metrics_http *h)
{
	uint64_t n;

	pthread_mutex_lock(&h->lock);
	n = h->scrapes;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	h->mhd = NULL;
	free(h->text);
	h->text = NULL;
	h->len = 0;
	pthread_mutex_destroy(&h->lock);
}
