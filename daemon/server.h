/* The query socket: a Unix stream socket speaking newline-delimited JSON
 * (docs/protocol.md). Non-blocking, per-client buffers with limits, so a slow
 * or stuck client never blocks the event loop. */
#ifndef FAULTLINE_SERVER_H
#define FAULTLINE_SERVER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every epoll registration points at a struct starting with this tag. */
enum ep_kind { EP_TIMER = 1, EP_SIGNAL, EP_RING, EP_LISTEN, EP_CLIENT, EP_OTHER, EP_TRACE, EP_HOOK };
struct ep_tag {
	enum ep_kind kind;
};

#define SERVER_MAX_REQUEST (64 << 10)   /* one request line */
#define SERVER_MAX_PENDING (16 << 20)   /* unsent reply bytes per client */
#define SERVER_IDLE_MS (60 * 1000) /* default of idle_ms */
/* Fair turns: per client and turn at most this much read and this many
 * requests or this long; all clients' backlogs together at most
 * SERVER_LOOP_TURN_US per loop turn, so ring-buffer events and snapshots
 * never wait long behind queries. */
#define SERVER_TURN_BYTES (64 << 10)
#define SERVER_TURN_REQUESTS 32
#define SERVER_CLIENT_TURN_US 5000
#define SERVER_LOOP_TURN_US 20000

struct client {
	struct ep_tag tag;
	int fd;
	uid_t uid;
	pid_t pid;
	char *rbuf;
	size_t rlen;
	char *wbuf;
	size_t wlen, woff, wcap;
	bool watching;
	bool closing; /* close once the write buffer drains */
	bool dead;    /* closed; freed by server_reap() */
	bool denied;  /* not allowed (access.h): every request gets "denied" */
	bool tracing; /* waiting for a trace's result (never idle-closed) */
	bool pending; /* complete requests buffered, waiting for their turn */
	uint64_t last_active_ms;
	struct client *prev, *next;
};

struct server;
struct access_policy;
typedef json_object *(*server_request_fn)(void *ctx, struct client *c, json_object *req);

struct server_stats {
	uint64_t accepted;
	uint64_t refused_full;
	uint64_t requests;
	uint64_t bad_requests;
	uint64_t slow_clients_dropped;
	uint64_t idle_closed;
	uint64_t denied;
	uint64_t error_replies; /* requests answered with an error, bad_requests included */
	uint64_t turns_yielded; /* a client's backlog deferred to a later turn */
};

struct server {
	struct ep_tag tag; /* EP_LISTEN */
	int listen_fd;
	int epfd;
	char path[108];
	bool activated; /* handed over by systemd: do not unlink */
	struct client *clients;
	struct client *graveyard;
	unsigned nclients;
	unsigned max_clients;
	uint64_t idle_ms; /* close clients silent this long (not watchers) */
	server_request_fn handler;
	void *ctx;
	const struct access_policy *access; /* NULL: everyone who can connect */
	/* Called when a client goes away (a trace it waits for is cancelled). */
	void (*client_gone)(void *ctx, struct client *c);
	struct server_stats stats;
};

/* Bind path (0660, group faultline when access is set), or take an fd passed
 * by socket activation (fd >= 0). Set s->access after this to check peers. */
int server_open(struct server *s, const char *path, int inherited_fd, int epfd, unsigned max_clients,
		server_request_fn fn, void *ctx, char *err, size_t errlen);
void server_close(struct server *s);

void server_on_listen(struct server *s);
void server_on_client(struct server *s, struct client *c, uint32_t events);
/* Clients with buffered requests left from their last turn: the loop does
 * not sleep while there are any, and serves them within a time budget. */
bool server_has_pending(const struct server *s);
void server_run_pending(struct server *s);
/* Free the clients closed during this loop iteration. */
void server_reap(struct server *s);
/* Close idle clients (not watchers). */
void server_sweep(struct server *s, uint64_t now_ms);

/* One request line -> a JSON object, or NULL with the reason in why
 * (malformed, trailing garbage, not an object, nested too deep, too long). */
json_object *server_parse_request(const char *line, size_t len, char *why, size_t whylen);

/* Queue one JSON line to a client / to every watching client. */
void server_send(struct server *s, struct client *c, json_object *obj);
void server_broadcast(struct server *s, json_object *obj);

#endif
