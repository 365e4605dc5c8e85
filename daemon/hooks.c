#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utlist.h>

#include "log.h"
#include "oom_record.h"

extern char **environ;

struct hook_run {
	struct hook_fd pid_fd, out_fd, timer_fd;
	int pidfd, out, timer;
	pid_t pid;
	uint64_t record_id;
	char cmd[HOOK_CMD_MAX]; /* a copy: a reload may change the config's meanwhile */
	uint64_t started_ms;
	char output[HOOK_OUTPUT_MAX + 1];
	size_t outlen;
	bool truncated;
	bool timed_out;
	bool done; /* finished: freed by hooks_reap() after this loop turn */
	struct hook_run *prev, *next;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

void hooks_init(struct hooks *h, int epfd, uint64_t timeout_ms)
{
	memset(h, 0, sizeof(*h));
	h->epfd = epfd;
	h->timeout_ms = timeout_ms;
}

struct env_build {
	char **v;
	size_t n, cap;
	bool failed;
};

static void env_push(struct env_build *b, char *s)
{
	if (!s) {
		b->failed = true;
		return;
	}
	if (b->n + 2 > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		char **nv = realloc(b->v, ncap * sizeof(*nv));

		if (!nv) {
			free(s);
			b->failed = true;
			return;
		}
		b->v = nv;
		b->cap = ncap;
	}
	b->v[b->n++] = s;
	b->v[b->n] = NULL;
}

static void env_field(const char *name, const char *value, void *ctx)
{
	char *s;

	if (asprintf(&s, "%s=%s", name, value) < 0)
		s = NULL;
	env_push(ctx, s);
}

char **hooks_build_env(json_object *rec, char *const *base)
{
	struct env_build b = {};

	for (size_t i = 0; base && base[i]; i++)
		if (strncmp(base[i], "FAULTLINE_", 10))
			env_push(&b, strdup(base[i]));
	oom_record_fields(rec, env_field, &b);
	if (b.failed || !b.v) {
		hooks_free_env(b.v);
		return NULL;
	}
	return b.v;
}

void hooks_free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* The record on the hook's stdin: a sealed-size in-memory file, so a hook
 * that never reads it cannot block the daemon on a full pipe. */
static int record_memfd(json_object *rec)
{
	const char *js = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(js), off = 0;
	int fd = memfd_create("faultline-oom-record", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, js + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		off += w;
	}
	if (write(fd, "\n", 1) != 1 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static void run_free(struct hooks *h, struct hook_run *r)
{
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->out >= 0)
		close(r->out);
	if (r->timer >= 0)
		close(r->timer);
	DL_DELETE(h->running, r);
	h->nrunning--;
	free(r);
}

/* The same epoll batch may still hold events for a run that just finished
 * (its pipe and its pidfd together): its fds are closed at once, its memory
 * only after the batch. */
static void unwatch_close(struct hooks *h, int fd)
{
	/* close() alone leaves the epoll registration alive while any copy of
	 * the open file exists (a hook forked meanwhile holds one until its
	 * exec), and a later batch would hand back a pointer to a freed run. */
	if (fd < 0)
		return;
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

static void run_retire(struct hooks *h, struct hook_run *r)
{
	unwatch_close(h, r->pidfd);
	unwatch_close(h, r->out);
	unwatch_close(h, r->timer);
	r->pidfd = r->out = r->timer = -1;
	r->done = true;
	h->ndone++;
}

void hooks_reap(struct hooks *h)
{
	struct hook_run *r, *tmp;

	if (!h->ndone)
		return;
	DL_FOREACH_SAFE(h->running, r, tmp) {
		if (r->done)
			run_free(h, r);
	}
	h->ndone = 0;
}

static int watch(struct hooks *h, int fd, struct hook_fd *tag, struct hook_run *r)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	tag->tag.kind = EP_HOOK;
	tag->run = r;
	return epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void child(int in, int out, const char *cmd, char **env)
{
	sigset_t none;

	/* Its own session: the time limit kills the whole group it starts. */
	setsid();
	/* The daemon blocks its signals for the signalfd; a hook must not
	 * inherit that, nor an ignored SIGPIPE. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	execve("/bin/sh", (char *[]){ "sh", "-c", (char *)cmd, NULL }, env);
	_exit(127);
}

static int start_one(struct hooks *h, const char *cmd, int memfd, char **env, uint64_t id)
{
	struct hook_run *r = calloc(1, sizeof(*r));
	int pipefd[2], e;
	struct itimerspec its = { .it_value = { h->timeout_ms / 1000, (h->timeout_ms % 1000) * 1000000 } };

	if (!r)
		return -ENOMEM;
	r->pidfd = r->out = r->timer = -1;
	snprintf(r->cmd, sizeof(r->cmd), "%s", cmd);
	r->record_id = id;
	if (pipe2(pipefd, O_CLOEXEC)) {
		free(r);
		return -errno;
	}
	r->started_ms = mono_ms();
	r->pid = fork();
	if (r->pid < 0) {
		e = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		free(r);
		return e;
	}
	if (r->pid == 0)
		child(memfd, pipefd[1], cmd, env); /* each hook has a memfd of its own, at offset 0 */
	close(pipefd[1]);
	r->out = pipefd[0];
	fcntl(r->out, F_SETFL, fcntl(r->out, F_GETFL) | O_NONBLOCK);
	DL_APPEND(h->running, r);
	h->nrunning++;
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	r->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->pidfd < 0 || r->timer < 0 || timerfd_settime(r->timer, 0, &its, NULL) ||
	    watch(h, r->pidfd, &r->pid_fd, r) || watch(h, r->out, &r->out_fd, r) ||
	    watch(h, r->timer, &r->timer_fd, r)) {
		e = -errno;
		/* Cannot watch it: do not leave it running unwatched. */
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		run_free(h, r);
		return e ? e : -EIO;
	}
	log_info("hook started for OOM record %llu: pid %d: %s", (unsigned long long)id, (int)r->pid, cmd);
	return 0;
}

void hooks_run(struct hooks *h, json_object *rec)
{
	json_object *idv;
	uint64_t id = json_object_object_get_ex(rec, "id", &idv) ? json_object_get_uint64(idv) : 0;
	char **env;

	if (!h->ncmds)
		return;
	env = hooks_build_env(rec, environ);
	if (!env) {
		h->stats.start_failed += h->ncmds;
		log_err("cannot build the environment for the OOM hooks of record %llu: out of memory",
			(unsigned long long)id);
		return;
	}
	for (int i = 0; i < h->ncmds; i++) {
		int memfd, r;

		if (h->nrunning >= HOOKS_RUNNING_MAX) {
			h->stats.skipped_busy++;
			log_err("OOM hook not started for record %llu: %u hooks still running (%s)",
				(unsigned long long)id, h->nrunning, h->cmds[i]);
			continue;
		}
		memfd = record_memfd(rec);
		r = memfd < 0 ? memfd : start_one(h, h->cmds[i], memfd, env, id);
		if (memfd >= 0)
			close(memfd);
		if (r) {
			h->stats.start_failed++;
			log_err("cannot start OOM hook '%s' for record %llu: %s", h->cmds[i], (unsigned long long)id,
				strerror(-r));
		} else {
			h->stats.started++;
		}
	}
	hooks_free_env(env);
}

/* Reads what the hook wrote; at EOF the pipe leaves epoll (level-triggered,
 * it would fire forever) and the pidfd alone tells the exit. */
static void drain(struct hooks *h, struct hook_run *r)
{
	char buf[4096];
	ssize_t n;

	if (r->out < 0)
		return;
	while ((n = read(r->out, buf, sizeof(buf))) > 0) {
		size_t room = HOOK_OUTPUT_MAX - r->outlen, take = (size_t)n < room ? (size_t)n : room;

		memcpy(r->output + r->outlen, buf, take);
		r->outlen += take;
		if (take < (size_t)n)
			r->truncated = true;
	}
	if (n == 0) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, r->out, NULL);
		close(r->out);
		r->out = -1;
	}
}

static void finish(struct hooks *h, struct hook_run *r)
{
	siginfo_t si = {};
	uint64_t ms = mono_ms() - r->started_ms;
	int level;

	if (waitid(P_PIDFD, r->pidfd, &si, WEXITED | WNOHANG) || si.si_pid == 0)
		return; /* not yet: the pidfd fires once it has exited */
	drain(h, r);
	while (r->outlen && r->output[r->outlen - 1] == '\n')
		r->outlen--;
	r->output[r->outlen] = 0;
	/* One log line per hook: its lines joined. */
	for (size_t i = 0; i < r->outlen; i++)
		if (r->output[i] == '\n')
			r->output[i] = '|';
	if (r->truncated)
		h->stats.output_truncated++;
	if (r->timed_out) {
		h->stats.timed_out++;
		level = LOG_WARNING;
	} else if (si.si_code == CLD_EXITED && si.si_status == 0) {
		h->stats.succeeded++;
		level = LOG_INFO;
	} else {
		h->stats.failed++;
		level = LOG_WARNING;
	}
	if (r->timed_out)
		log_msg(level, "hook for OOM record %llu (pid %d) killed at its time limit of %llu ms: %s; output: %s%s",
			(unsigned long long)r->record_id, (int)r->pid, (unsigned long long)h->timeout_ms, r->cmd,
			r->outlen ? r->output : "(none)", r->truncated ? " [truncated]" : "");
	else
		log_msg(level, "hook for OOM record %llu (pid %d) %s %d after %llu ms: %s; output: %s%s",
			(unsigned long long)r->record_id, (int)r->pid,
			si.si_code == CLD_EXITED ? "exited with status" : "killed by signal", si.si_status,
			(unsigned long long)ms, r->cmd, r->outlen ? r->output : "(none)",
			r->truncated ? " [truncated]" : "");
	run_retire(h, r);
}

void hooks_on_event(struct hooks *h, struct hook_fd *fd)
{
	struct hook_run *r = fd->run;

	if (r->done)
		return;
	if (fd == &r->out_fd) {
		drain(h, r);
	} else if (fd == &r->timer_fd) {
		uint64_t ticks;

		if (read(r->timer, &ticks, sizeof(ticks)) == sizeof(ticks) && !r->timed_out) {
			r->timed_out = true;
			kill(-r->pid, SIGKILL);
			kill(r->pid, SIGKILL);
		}
	} else if (fd == &r->pid_fd) {
		finish(h, r);
	}
}

void hooks_close(struct hooks *h)
{
	struct hook_run *r, *tmp;

	DL_FOREACH_SAFE(h->running, r, tmp) {
		if (!r->done) {
			kill(-r->pid, SIGKILL);
			kill(r->pid, SIGKILL);
			waitpid(r->pid, NULL, 0);
		}
		run_free(h, r);
	}
	h->ndone = 0;
}
