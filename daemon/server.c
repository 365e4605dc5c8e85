#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <utlist.h>

#include "access.h"
#include "log.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* A socket that answers belongs to a running daemon; one that refuses is a
 * leftover from a crash and may be replaced. */
static int claim_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (access(path, F_OK) != 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "%s is in use: another faultlined is running (stop it first, or use --socket)",
			 path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int mkdir_parent(const char *path)
{
	char dir[108];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int server_open(struct server *s, const char *path, int inherited_fd, int epfd, unsigned max_clients,
		server_request_fn fn, void *ctx, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, r;

	memset(s, 0, sizeof(*s));
	s->tag.kind = EP_LISTEN;
	s->epfd = epfd;
	s->max_clients = max_clients;
	s->idle_ms = SERVER_IDLE_MS;
	s->handler = fn;
	s->ctx = ctx;
	snprintf(s->path, sizeof(s->path), "%s", path);

	if (inherited_fd >= 0) {
		fd = inherited_fd;
		s->activated = true;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	} else {
		if (strlen(path) >= sizeof(sa.sun_path)) {
			snprintf(err, errlen, "socket path too long: %s", path);
			return -ENAMETOOLONG;
		}
		if ((r = claim_path(path, err, errlen)))
			return r;
		if ((r = mkdir_parent(path))) {
			snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(-r));
			return r;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		/* Mode 0660 from the start: no window where others could connect. */
		mode_t old = umask(0117);
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
		if (r || listen(fd, 64)) {
			r = -errno;
			snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-r));
			close(fd);
			return r;
		}
	}
	s->listen_fd = fd;
	ev.data.ptr = &s->tag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		r = -errno;
		snprintf(err, errlen, "epoll: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* A closed client stays allocated until server_reap(): later entries of the
 * same epoll_wait batch may still point at it. */
static void client_free(struct server *s, struct client *c)
{
	if (s->client_gone)
		s->client_gone(s->ctx, c);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->dead = true;
	DL_DELETE(s->clients, c);
	s->nclients--;
	free(c->rbuf);
	free(c->wbuf);
	c->rbuf = c->wbuf = NULL;
	c->next = s->graveyard;
	s->graveyard = c;
}

void server_reap(struct server *s)
{
	while (s->graveyard) {
		struct client *c = s->graveyard;

		s->graveyard = c->next;
		free(c);
	}
}

void server_close(struct server *s)
{
	while (s->clients)
		client_free(s, s->clients);
	server_reap(s);
	if (s->listen_fd > 0) {
		close(s->listen_fd);
		if (!s->activated)
			unlink(s->path);
	}
	s->listen_fd = -1;
}

static void client_want_write(struct server *s, struct client *c, bool want)
{
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = &c->tag };

	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Returns -1 when the client is gone (freed). */
static int client_flush(struct server *s, struct client *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				client_want_write(s, c, true);
				return 0;
			}
			client_free(s, c);
			return -1;
		}
		c->woff += n;
	}
	c->woff = c->wlen = 0;
	client_want_write(s, c, false);
	if (c->closing) {
		client_free(s, c);
		return -1;
	}
	return 0;
}

static int client_queue(struct server *s, struct client *c, const char *line, size_t len)
{
	if (c->wlen - c->woff + len + 1 > SERVER_MAX_PENDING) {
		/* It does not read what it asked for: drop it, never block. */
		s->stats.slow_clients_dropped++;
		log_warn("dropping client pid %d: %zu reply bytes unread", (int)c->pid, c->wlen - c->woff);
		client_free(s, c);
		return -1;
	}
	if (c->woff && c->woff == c->wlen)
		c->woff = c->wlen = 0;
	if (c->wlen + len + 1 > c->wcap) {
		size_t ncap = (c->wlen + len + 1) * 2;
		char *nb;

		if (c->woff) { /* compact first */
			memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
			c->wlen -= c->woff;
			c->woff = 0;
		}
		nb = realloc(c->wbuf, ncap);
		if (!nb) {
			client_free(s, c);
			return -1;
		}
		c->wbuf = nb;
		c->wcap = ncap;
	}
	memcpy(c->wbuf + c->wlen, line, len);
	c->wbuf[c->wlen + len] = '\n';
	c->wlen += len + 1;
	return client_flush(s, c);
}

void server_send(struct server *s, struct client *c, json_object *obj)
{
	size_t len;
	const char *line = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);

	client_queue(s, c, line, len);
}

void server_broadcast(struct server *s, json_object *obj)
{
	struct client *c, *tmp;
	size_t len;
	const char *line = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);

	DL_FOREACH_SAFE(s->clients, c, tmp) {
		if (c->watching && !c->dead)
			client_queue(s, c, line, len);
	}
}

static json_object *error_reply(const char *code, const char *msg)
{
	json_object *r = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(r, "v", json_object_new_int(1));
	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(r, "error", e);
	return r;
}

json_object *server_parse_request(const char *line, size_t len, char *why, size_t whylen)
{
	enum json_tokener_error jerr;
	json_object *req;
	json_tokener *tok;

	if (len > SERVER_MAX_REQUEST) {
		snprintf(why, whylen, "request longer than %d bytes", SERVER_MAX_REQUEST);
		return NULL;
	}
	tok = json_tokener_new_ex(32);
	if (!tok) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	req = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	/* Trailing garbage after a complete object is an error too. */
	if (req && jerr == json_tokener_success && json_tokener_get_parse_end(tok) < len) {
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && (line[end] == ' ' || line[end] == '\t' || line[end] == '\r'))
			end++;
		if (end < len) {
			json_object_put(req);
			req = NULL;
			jerr = json_tokener_error_parse_unexpected;
		}
	}
	json_tokener_free(tok);
	if (!req || !json_object_is_type(req, json_type_object)) {
		snprintf(why, whylen, "request is not a JSON object: %s",
			 req ? "wrong type" : json_tokener_error_desc(jerr == json_tokener_continue ? json_tokener_error_parse_eof : jerr));
		json_object_put(req);
		return NULL;
	}
	return req;
}

/* Returns -1 when the client is gone. */
static int handle_line(struct server *s, struct client *c, const char *line, size_t len)
{
	json_object *req, *resp;
	char msg[160];
	int r;

	s->stats.requests++;
	req = server_parse_request(line, len, msg, sizeof(msg));
	if (!req) {
		s->stats.bad_requests++;
		resp = error_reply("bad_request", msg);
	} else {
		resp = s->handler(s->ctx, c, req);
		json_object_put(req);
	}
	if (!resp)
		return 0;
	json_object *ok;
	if (json_object_object_get_ex(resp, "ok", &ok) && !json_object_get_boolean(ok))
		s->stats.error_replies++;
	server_send(s, c, resp);
	json_object_put(resp);
	r = c->dead ? -1 : 0;
	return r;
}

/* A refused peer still gets an answer to each request, so the CLI can say
 * why instead of reporting a closed connection. */
static int deny_line(struct server *s, struct client *c)
{
	char msg[200];
	json_object *resp;

	snprintf(msg, sizeof(msg),
		 "uid %u may not query faultlined: run as root or as a member of the '%s' group "
		 "(usermod -aG %s USER, then log in again)",
		 (unsigned)c->uid, FL_GROUP, FL_GROUP);
	resp = error_reply("denied", msg);
	server_send(s, c, resp);
	json_object_put(resp);
	return c->dead ? -1 : 0;
}

void server_on_listen(struct server *s)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct client *c;
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN, or a transient error: try at the next wake-up */
		if (s->nclients >= s->max_clients) {
			static const char full[] =
				"{\"v\":1,\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"too many clients connected\"}}\n";
			s->stats.refused_full++;
			if (send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* nothing more to do for a client we refuse */
			}
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->tag.kind = EP_CLIENT;
		c->fd = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			c->uid = cred.uid;
			c->pid = cred.pid;
		}
		if (s->access && !access_peer_allowed(s->access, fd)) {
			c->denied = true;
			s->stats.denied++;
			log_info("refusing queries from uid %u (pid %d): not root, not in group %s", (unsigned)c->uid,
				 (int)c->pid, FL_GROUP);
		}
		c->last_active_ms = mono_ms();
		ev.data.ptr = &c->tag;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		DL_APPEND(s->clients, c);
		s->nclients++;
		s->stats.accepted++;
	}
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

/* The request that no line may exceed: answered, then the connection closes
 * and what the client still sends is refused (its writes fail). */
static void refuse_too_large(struct server *s, struct client *c)
{
	json_object *e = error_reply("too_large", "request longer than 65536 bytes");

	s->stats.bad_requests++;
	c->closing = true;
	c->pending = false;
	free(c->rbuf);
	c->rbuf = NULL;
	c->rlen = 0;
	shutdown(c->fd, SHUT_RD);
	server_send(s, c, e);
	json_object_put(e);
}

/* Handles the complete lines in the buffer, at most SERVER_TURN_REQUESTS or
 * until deadline_us: one client's pipeline never holds the loop. What is left
 * waits for the next turn (c->pending). Returns -1 when the client is gone. */
static int client_process(struct server *s, struct client *c, uint64_t deadline_us)
{
	char *start = c->rbuf, *nl = NULL;
	unsigned done = 0;

	c->pending = false;
	while (c->rlen - (start - c->rbuf) &&
	       (nl = memchr(start, '\n', c->rlen - (start - c->rbuf)))) {
		size_t len = nl - start;

		if (len > SERVER_MAX_REQUEST) {
			refuse_too_large(s, c);
			return c->dead ? -1 : 0;
		}
		if (done == SERVER_TURN_REQUESTS || (done && mono_us() >= deadline_us)) {
			c->pending = true;
			s->stats.turns_yielded++;
			break;
		}
		if (len && (c->denied ? deny_line(s, c) : handle_line(s, c, start, len)) < 0)
			return -1;
		done++;
		start = nl + 1;
	}
	size_t left = c->rlen - (start - c->rbuf);
	if (!c->pending && left > SERVER_MAX_REQUEST) {
		refuse_too_large(s, c);
		return c->dead ? -1 : 0;
	}
	if (left && start != c->rbuf)
		memmove(c->rbuf, start, left);
	c->rlen = left;
	return 0;
}

void server_on_client(struct server *s, struct client *c, uint32_t events)
{
	size_t got = 0;

	if (c->dead)
		return;
	c->last_active_ms = mono_ms();
	if (events & EPOLLOUT) {
		if (client_flush(s, c) < 0)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	/* A backlog still waiting for its turn: read nothing more, so a
	 * client that pipelines faster than it is served blocks on its own
	 * socket, not the daemon. */
	if (c->pending && !(events & (EPOLLHUP | EPOLLERR)))
		return;
	/* At most SERVER_TURN_BYTES per turn: a client that sends without
	 * pause (100 MiB, or forever) cannot keep the loop in this function;
	 * epoll reports the rest on the next turn. */
	while (got < SERVER_TURN_BYTES) {
		char chunk[16384];
		ssize_t n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_free(s, c);
			return;
		}
		got += n;
		if (c->closing)
			continue; /* discard input once we decided to close */
		char *nb = realloc(c->rbuf, c->rlen + n + 1);
		if (!nb) {
			client_free(s, c);
			return;
		}
		c->rbuf = nb;
		memcpy(c->rbuf + c->rlen, chunk, n);
		c->rlen += n;
		if (c->rlen > SERVER_MAX_REQUEST && !memchr(c->rbuf, '\n', c->rlen)) {
			refuse_too_large(s, c);
			return;
		}
	}
	if (!c->closing)
		client_process(s, c, mono_us() + SERVER_CLIENT_TURN_US);
}

bool server_has_pending(const struct server *s)
{
	const struct client *c;

	DL_FOREACH(s->clients, c)
		if (c->pending && !c->dead)
			return true;
	return false;
}

void server_run_pending(struct server *s)
{
	uint64_t deadline = mono_us() + SERVER_LOOP_TURN_US;
	unsigned n = s->nclients;

	/* Round robin over the list: each client visited goes to the back,
	 * so one whose every request takes the whole budget cannot starve the
	 * others; those not reached before the deadline are first next turn. */
	for (unsigned i = 0; i < n && s->clients; i++) {
		struct client *c = s->clients;
		uint64_t now = mono_us();

		if (c->pending && now >= deadline)
			break;
		DL_DELETE(s->clients, c);
		DL_APPEND(s->clients, c);
		if (!c->pending)
			continue;
		c->last_active_ms = now / 1000;
		client_process(s, c, now + SERVER_CLIENT_TURN_US < deadline ? now + SERVER_CLIENT_TURN_US : deadline);
	}
}

void server_sweep(struct server *s, uint64_t now_ms)
{
	struct client *c, *tmp;

	DL_FOREACH_SAFE(s->clients, c, tmp) {
		char b;

		/* A client with requests waiting for their turn, or with input
		 * the loop has not read yet (a busy turn), is waiting on us. */
		if (!c->watching && !c->tracing && !c->pending && now_ms - c->last_active_ms > s->idle_ms &&
		    recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
			s->stats.idle_closed++;
			client_free(s, c);
		}
	}
}
