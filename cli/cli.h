/* The faultline CLI: shared state, exit codes, and the verbs. Each verb lives
 * in cli/verb_<name>.c and is listed in the table in cli/main.c. */
#ifndef FAULTLINE_CLI_H
#define FAULTLINE_CLI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes, documented in `faultline --help`. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,        /* the daemon answered with an error (e.g. no such pid) */
	EXIT_USAGE = 2,       /* bad command line */
	EXIT_NO_DAEMON = 3,   /* faultlined is not running / socket unreachable */
	EXIT_DENIED = 4,      /* not allowed to talk to faultlined */
	EXIT_PROTOCOL = 5,    /* unexpected reply */
};

struct cli {
	const char *socket_path;
	bool json;
	bool color;
};

struct verb {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *args;
	const char *help;
};

/* Sends {"v":1,"cmd":cmd,"args":args} (takes args) and waits for the reply.
 * On success *data is the reply's data (owned by *reply; put *reply after).
 * On failure prints one sentence (or {"error":…} with --json) and returns
 * the exit code. */
int cli_call(struct cli *cli, const char *cmd, json_object *args, json_object **reply, json_object **data);

/* Lower-level pieces for verbs that stream (watch). */
int cli_connect(struct cli *cli, int *fd);
int cli_send(int fd, const char *cmd, json_object *args);
char *cli_read_line(int fd, char **buf, size_t *len, size_t *cap);
int cli_check_reply(struct cli *cli, json_object *reply, json_object **data);

/* Prints a reply's data as JSON (for --json). */
void cli_print_json(json_object *data);

/* Reports a usage problem the bpftool way, honouring --json. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads "TIME" like 2, 1.5s, 500ms into milliseconds; -1 if malformed. */
long cli_parse_ms(const char *s);

int verb_status(struct cli *cli, int argc, char **argv);
int verb_top(struct cli *cli, int argc, char **argv);
int verb_show(struct cli *cli, int argc, char **argv);
int verb_leaks(struct cli *cli, int argc, char **argv);
int verb_exited(struct cli *cli, int argc, char **argv);
int verb_events(struct cli *cli, int argc, char **argv);
int verb_watch(struct cli *cli, int argc, char **argv);
int verb_trace(struct cli *cli, int argc, char **argv);
int verb_oom(struct cli *cli, int argc, char **argv);

/* Helpers for reading reply fields without crashing on a missing one. */
uint64_t jget_u64(json_object *o, const char *key);
int64_t jget_i64(json_object *o, const char *key);
double jget_double(json_object *o, const char *key);
const char *jget_str(json_object *o, const char *key, const char *dflt);
json_object *jget(json_object *o, const char *key);

#endif
