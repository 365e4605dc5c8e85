/* Talking to faultlined: one request, one reply line (docs/protocol.md). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

static int fail(struct cli *cli, int code, const char *errcode, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct cli *cli, int code, const char *errcode, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli->json) {
		json_object *o = json_object_new_object(), *e = json_object_new_object();

		json_object_object_add(e, "code", json_object_new_string(errcode));
		json_object_object_add(e, "message", json_object_new_string(msg));
		json_object_object_add(o, "error", e);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		fprintf(stderr, "faultline: %s\n", msg);
	}
	return code;
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail(cli, EXIT_USAGE, "usage", "%s (see faultline --help)", msg);
}

int cli_connect(struct cli *cli, int *out_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(cli->socket_path) >= sizeof(sa.sun_path))
		return fail(cli, EXIT_USAGE, "usage", "socket path too long: %s", cli->socket_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cli->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(cli, EXIT_FAIL, "socket", "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		if (e == EACCES || e == EPERM)
			return fail(cli, EXIT_DENIED, "denied",
				    "permission denied on %s: run as root or as a member of the 'faultline' group",
				    cli->socket_path);
		return fail(cli, EXIT_NO_DAEMON, "no_daemon",
			    "faultlined is not running (%s: %s); start it with 'systemctl start faultlined' or 'make run'",
			    cli->socket_path, strerror(e));
	}
	*out_fd = fd;
	return EXIT_OK;
}

/* Reads one newline-terminated line; NULL on EOF before a full line. */
char *cli_read_line(int fd, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		char *nl = *len ? memchr(*buf, '\n', *len) : NULL;

		if (nl) {
			size_t n = nl - *buf;
			char *line = strndup(*buf, n);

			memmove(*buf, nl + 1, *len - n - 1);
			*len -= n + 1;
			return line;
		}
		if (*cap - *len < 65536) {
			size_t ncap = *cap ? *cap * 2 : 65536 * 2;
			char *nb = realloc(*buf, ncap);

			if (!nb)
				return NULL;
			*buf = nb;
			*cap = ncap;
		}
		ssize_t r = read(fd, *buf + *len, *cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		*len += r;
	}
}

int cli_send(int fd, const char *cmd, json_object *args)
{
	json_object *req = json_object_new_object();
	const char *s;
	size_t len, off = 0;

	json_object_object_add(req, "v", json_object_new_int(1));
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "args", args);
	s = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN, &len);
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			json_object_put(req);
			return -errno;
		}
		off += n;
	}
	json_object_put(req);
	return send(fd, "\n", 1, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/* Checks a reply; prints the daemon's error. */
int cli_check_reply(struct cli *cli, json_object *reply, json_object **data)
{
	json_object *ok, *err;

	if (!reply || !json_object_is_type(reply, json_type_object) || !json_object_object_get_ex(reply, "ok", &ok))
		return fail(cli, EXIT_PROTOCOL, "protocol", "unexpected reply from faultlined");
	if (!json_object_get_boolean(ok)) {
		json_object_object_get_ex(reply, "error", &err);
		if (cli->json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "error", json_object_get(err));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			fprintf(stderr, "faultline: %s\n", jget_str(err, "message", "error"));
		}
		return !strcmp(jget_str(err, "code", ""), "denied") ? EXIT_DENIED : EXIT_FAIL;
	}
	if (data)
		*data = jget(reply, "data");
	return EXIT_OK;
}

int cli_call(struct cli *cli, const char *cmd, json_object *args, json_object **reply, json_object **data)
{
	char *buf = NULL, *line;
	size_t len = 0, cap = 0;
	int fd, r;

	*reply = NULL;
	r = cli_connect(cli, &fd);
	if (r) {
		json_object_put(args);
		return r;
	}
	if (cli_send(fd, cmd, args)) {
		close(fd);
		return fail(cli, EXIT_NO_DAEMON, "no_daemon", "faultlined closed the connection");
	}
	line = cli_read_line(fd, &buf, &len, &cap);
	close(fd);
	free(buf);
	if (!line)
		return fail(cli, EXIT_NO_DAEMON, "no_daemon", "faultlined closed the connection without a reply");
	*reply = json_tokener_parse(line);
	free(line);
	r = cli_check_reply(cli, *reply, data);
	if (r) {
		json_object_put(*reply);
		*reply = NULL;
	}
	return r;
}

void cli_print_json(json_object *data)
{
	printf("%s\n", json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o && json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

uint64_t jget_u64(json_object *o, const char *key)
{
	json_object *v = jget(o, key);
	return v ? json_object_get_uint64(v) : 0;
}

int64_t jget_i64(json_object *o, const char *key)
{
	json_object *v = jget(o, key);
	return v ? json_object_get_int64(v) : 0;
}

double jget_double(json_object *o, const char *key)
{
	json_object *v = jget(o, key);
	return v ? json_object_get_double(v) : 0;
}

const char *jget_str(json_object *o, const char *key, const char *dflt)
{
	json_object *v = jget(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}

long cli_parse_ms(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return (long)(v * 1000);
	if (!strcmp(end, "ms"))
		return (long)v;
	if (!strcmp(end, "m"))
		return (long)(v * 60000);
	return -1;
}
