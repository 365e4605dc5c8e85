/* Alert hooks: commands from the config run on each OOM kill, with the
 * record in their environment (FAULTLINE_*) and as JSON on stdin.
 *
 * Each runs as `/bin/sh -c COMMAND` in a session of its own, started with
 * fork+exec and then watched from the event loop (a pidfd for its exit, a
 * pipe for its output, a timerfd for its time limit): the daemon never
 * waits for a hook. At the limit the whole process group is killed. Output
 * (first HOOK_OUTPUT_MAX bytes) and exit status are logged. */
#ifndef FAULTLINE_HOOKS_H
#define FAULTLINE_HOOKS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "server.h" /* struct ep_tag */

#define HOOKS_MAX 8
#define HOOK_CMD_MAX 512
#define HOOK_OUTPUT_MAX 4096
#define HOOKS_RUNNING_MAX 32

struct hook_run;

/* Every fd a hook has in epoll points at one of these (kind EP_HOOK). */
struct hook_fd {
	struct ep_tag tag;
	struct hook_run *run;
};

struct hooks_stats {
	uint64_t started;
	uint64_t start_failed;
	uint64_t succeeded;
	uint64_t failed;    /* exited non-zero or by a signal */
	uint64_t timed_out; /* killed at the time limit */
	uint64_t skipped_busy; /* not started: HOOKS_RUNNING_MAX already running */
	uint64_t output_truncated;
};

struct hooks {
	int epfd;
	char cmds[HOOKS_MAX][HOOK_CMD_MAX];
	int ncmds;
	uint64_t timeout_ms;
	struct hook_run *running;
	unsigned nrunning; /* including finished ones not yet reaped */
	unsigned ndone;
	struct hooks_stats stats;
};

void hooks_init(struct hooks *h, int epfd, uint64_t timeout_ms);
/* Starts every configured command for this record; never blocks. */
void hooks_run(struct hooks *h, json_object *rec);
/* The loop calls this for an EP_HOOK tag. */
void hooks_on_event(struct hooks *h, struct hook_fd *fd);
/* Frees the runs that finished during this loop turn (after the batch). */
void hooks_reap(struct hooks *h);
/* Kills whatever still runs (at exit). */
void hooks_close(struct hooks *h);

/* The environment for a hook: the daemon's own (less any FAULTLINE_*), then
 * the record's fields. NULL-terminated; free with hooks_free_env. */
char **hooks_build_env(json_object *rec, char *const *base);
void hooks_free_env(char **env);

#endif
