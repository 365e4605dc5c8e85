/* faultlined: options, config, start-up checks, then the loop. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "daemon.h"
#include "log.h"
#include "units.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: faultlined [OPTIONS]\n"
		"Trace page faults, memory growth and OOM kills; answer `faultline` queries.\n\n"
		"  -c, --config PATH     config file (default %s; missing is fine)\n"
		"  -s, --socket PATH     query socket (default %s)\n"
		"  -i, --interval TIME   snapshot interval, e.g. 1s, 500ms (default 1s)\n"
		"  -d, --state-dir DIR   where records are kept (default %s)\n"
		"  -f, --foreground      stay in the foreground (systemd runs it this way)\n"
		"  -v, --verbose         debug logging\n"
		"      --check-config    read the config, report problems, exit\n"
		"      --oom-tracepoint  OOM kills from the classic tracepoint, not tp_btf\n"
		"  -V, --version\n"
		"  -h, --help\n\n"
		"Exit status: 0 stopped cleanly, 1 start-up failed (the message says why),\n"
		"2 bad options or config.\n",
		FL_DEFAULT_CONFIG, FL_DEFAULT_SOCKET, FL_DEFAULT_STATE_DIR);
}

static void fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fatal(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s", msg);
	exit(code);
}

/* The state file names every user's processes and command lines: no one
 * else may read the directory, nor write into it (a planted file would be
 * restored). An existing directory with looser modes is tightened. */
static int make_state_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_mode & 0027) {
		if (chmod(dir, st.st_mode & 07750 & ~0027))
			return -errno;
		log_warn("state directory %s was open to other users (mode %04o): now %04o", dir,
			 st.st_mode & 07777, st.st_mode & 07750 & ~0027);
	}
	return 0;
}

static int64_t boot_to_wall_ns(void)
{
	struct timespec b, r;

	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - b.tv_sec) * 1000000000ll + (r.tv_nsec - b.tv_nsec);
}

/* Under socket activation the path is the socket unit's, not the config's. */
static void socket_name(int fd, char *path, size_t len)
{
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0 && sa.sun_family == AF_UNIX && sa.sun_path[0])
		snprintf(path, len, "%.*s", (int)sizeof(sa.sun_path), sa.sun_path);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "oom-tracepoint", no_argument, NULL, 'O' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static struct daemon d;
	const char *opt_socket = NULL, *opt_state = NULL, *opt_interval = NULL;
	int listen_fd;
	bool foreground = false, check_only = false, config_given = false;
	char err[1024];
	int c, r;

	log_init();
	snprintf(d.config_path, sizeof(d.config_path), "%s", FL_DEFAULT_CONFIG);
	while ((c = getopt_long(argc, argv, "c:s:i:d:fvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(d.config_path, sizeof(d.config_path), "%s", optarg);
			config_given = true;
			break;
		case 's': opt_socket = optarg; break;
		case 'i': opt_interval = optarg; break;
		case 'd': opt_state = optarg; break;
		case 'f': foreground = true; break;
		case 'v': log_max_level = LOG_DEBUG; break;
		case 'C': check_only = true; break;
		case 'O': probes_oom_tracepoint = true; break;
		case 'V': printf("faultlined %s\n", FAULTLINE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "faultlined: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	config_defaults(&d.cfg);
	if (config_load(&d.cfg, d.config_path, config_given, err, sizeof(err)))
		fatal(2, "config: %s", err);
	if (opt_socket) {
		if (strlen(opt_socket) >= sizeof(d.cfg.socket_path))
			fatal(2, "--socket: path too long (at most %zu bytes)", sizeof(d.cfg.socket_path) - 1);
		snprintf(d.cfg.socket_path, sizeof(d.cfg.socket_path), "%s", opt_socket);
	}
	if (opt_state)
		snprintf(d.cfg.state_dir, sizeof(d.cfg.state_dir), "%s", opt_state);
	if (opt_interval && (parse_duration_ms(opt_interval, &d.cfg.interval_ms) || d.cfg.interval_ms < 100 ||
			     d.cfg.interval_ms > 3600 * 1000))
		fatal(2, "--interval '%s': expected a duration between 100ms and 1h", opt_interval);
	if (config_validate(&d.cfg, err, sizeof(err)))
		fatal(2, "config: %s", err);
	if (check_only) {
		printf("%s: ok\n", d.config_path);
		return 0;
	}

	if ((r = probes_check(err, sizeof(err))))
		fatal(1, "%s", err);
	if ((r = make_state_dir(d.cfg.state_dir)))
		fatal(1, "cannot create state directory %s: %s", d.cfg.state_dir, strerror(-r));
	notify_init(&d.notify, now_mono_ms());
	access_init(&d.access);
	if ((r = notify_listen_fd(&listen_fd, err, sizeof(err))))
		fatal(1, "%s", err);
	if ((r = daemon_setup_loop(&d)))
		fatal(1, "event loop setup failed: %s", strerror(-r));
	if (eventlog_init(&d.events, 1024))
		fatal(1, "out of memory");
	proctab_init(&d.procs, (uint32_t)sysconf(_SC_PAGESIZE), d.cfg.max_processes, d.cfg.exited_keep);
	proctab_set_max_bytes(&d.procs, d.cfg.max_memory);
	history_set_max_samples(d.cfg.history_samples);
	{
		struct leak_params lp;

		leak_params_from_config(&d.cfg, &lp);
		leak_watch_init(&d.leaks, &lp, "/sys/fs/cgroup", "/proc");
	}
	if ((r = oom_init(&d, err, sizeof(err))))
		fatal(1, "%s", err);
	d.started_mono_ms = now_mono_ms();
	d.started_wall = now_wall_s();
	d.boot_to_wall_ns = boot_to_wall_ns();

	/* The socket before the probes: a second daemon must fail on the busy
	 * socket before it loads anything into the kernel. */
	if ((r = server_open(&d.server, d.cfg.socket_path, listen_fd, d.epfd, d.cfg.max_clients, api_handle, &d,
			     err, sizeof(err))))
		fatal(1, "%s", err);
	d.server.access = &d.access;
	d.server.idle_ms = d.cfg.client_idle_ms;
	d.server.client_gone = trace_client_gone;
	if (listen_fd >= 0)
		socket_name(listen_fd, d.cfg.socket_path, sizeof(d.cfg.socket_path));
	else
		access_chown_socket(&d.access, d.cfg.socket_path);
	if ((r = probes_open(&d.probes, &d.cfg, daemon_event_fn, &d, err, sizeof(err)))) {
		server_close(&d.server);
		fatal(1, "%s", err);
	}
	/* Loading the programs allocates and frees a lot (BTF, relocations):
	 * hand that back before settling in. */
	malloc_trim(0);
	persist_load(&d);
	log_info("faultlined %s started: %d probes attached, interval %llu ms, socket %s", FAULTLINE_VERSION,
		 d.probes.ndesc, (unsigned long long)d.cfg.interval_ms, d.cfg.socket_path);
	if (!foreground && daemon(0, 0)) {
		r = -errno;
		fatal(1, "cannot go to the background: %s", strerror(-r));
	}

	/* After daemon(): the HTTP thread must live in the process that stays. */
	if ((r = fleet_start(&d.fleet, &d, err, sizeof(err)))) {
		server_close(&d.server);
		probes_close(&d.probes);
		fatal(1, "%s", err);
	}
	r = daemon_run(&d); /* sends READY=1 after the first snapshot */
	notify_stopping();
	if (r)
		log_err("event loop failed: %s", strerror(-r));
	log_info("stopping");
	persist_save(&d);
	fleet_stop(&d.fleet);
	trace_stop_all(&d);
	server_close(&d.server);
	probes_close(&d.probes);
	oom_close(&d);
	proctab_free(&d.procs);
	leak_watch_free(&d.leaks);
	cgcache_free(&d.cgroups);
	eventlog_free(&d.events);
	return r ? 1 : 0;
}
