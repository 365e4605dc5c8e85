#include "probes.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.skel.h"
#include "log.h"
#include "snapshot.skel.h"

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];

	if (level == LIBBPF_DEBUG && log_max_level < LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	if (line[0])
		log_msg(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, "libbpf: %s", line);
	return 0;
}

static bool dir_has(const char *dir, const char *entry)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, entry);
	/* AT_EACCESS: the effective ids and capabilities decide (the unit runs
	 * it as a user with CAP_DAC_READ_SEARCH; plain access() would ignore it). */
	return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

/* Classic tracepoints need tracefs; systemd hosts mount it, others may not. */
static int ensure_tracefs(char *found, size_t flen, char *err, size_t errlen)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

	for (int i = 0; i < 2; i++) {
		if (dir_has(dirs[i], "events/syscalls")) {
			snprintf(found, flen, "%s", dirs[i]);
			return 0;
		}
	}
	/* Mounted but closed to us (mode 0700 root): mounting again would not help. */
	if (faccessat(AT_FDCWD, "/sys/kernel/tracing/events", F_OK, AT_EACCESS) && errno == EACCES) {
		snprintf(err, errlen,
			 "tracefs at /sys/kernel/tracing is not readable by uid %u: run as root or with "
			 "CAP_DAC_READ_SEARCH (the mapping-syscall tracepoint ids are read there)",
			 (unsigned)geteuid());
		return -EACCES;
	}
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    dir_has("/sys/kernel/tracing", "events/syscalls")) {
		log_info("mounted tracefs at /sys/kernel/tracing");
		snprintf(found, flen, "/sys/kernel/tracing");
		return 0;
	}
	snprintf(err, errlen,
		 "tracefs is not mounted and could not be mounted at /sys/kernel/tracing (%s); "
		 "mount it with 'mount -t tracefs nodev /sys/kernel/tracing' "
		 "(the mapping-syscall tracepoints need it)",
		 strerror(errno));
	return -ENOENT;
}

/* Effective capability check without libcap: capget(2) directly. */
static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

int probes_check(char *err, size_t errlen)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(err, errlen,
			 "this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s); faultline needs a "
			 "kernel built with CONFIG_DEBUG_INFO_BTF=y",
			 strerror(errno));
		return -ENOENT;
	}
	if (!has_cap(CAP_BPF) || !has_cap(CAP_PERFMON)) {
		snprintf(err, errlen,
			 "faultlined needs root, or the capabilities CAP_BPF and CAP_PERFMON (and "
			 "CAP_DAC_READ_SEARCH to read the tracepoint ids in tracefs): "
			 "run it as root or through its systemd unit");
		return -EPERM;
	}
	return 0;
}

bool probes_oom_tracepoint;

static void add_desc(struct probes *p, const char *name, const char *how, bool attached)
{
	if (p->ndesc < PROBES_MAX_DESC)
		p->desc[p->ndesc++] = (struct probe_desc){ name, how, attached };
}

static bool btf_has_tp(const struct btf *btf, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) >= 0;
}

/* The link goes into the skeleton's slot, so events_bpf__destroy frees it. */
static int attach_prog(struct bpf_program *prog, struct bpf_link **slot, const char *name,
		       const char *how, char *err, size_t errlen)
{
	struct bpf_link *l = bpf_program__attach(prog);

	if (!l) {
		int e = -errno;
		snprintf(err, errlen, "attaching %s (%s) failed: %s", name, how, strerror(-e));
		return e;
	}
	*slot = l;
	return 0;
}

int probes_open(struct probes *p, const struct fl_config *c, probes_event_fn fn, void *ctx,
		char *err, size_t errlen)
{
	struct btf *vmlinux = NULL;
	bool oom_btf;
	int r;

	memset(p, 0, sizeof(*p));
	libbpf_set_print(libbpf_log);
	p->ncpus = libbpf_num_possible_cpus();
	if (p->ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs: %s", strerror(-p->ncpus));
		return p->ncpus ? p->ncpus : -EINVAL;
	}
	r = ensure_tracefs(p->tracefs, sizeof(p->tracefs), err, errlen);
	if (r)
		return r;

	vmlinux = btf__load_vmlinux_btf();
	oom_btf = btf_has_tp(vmlinux, "mark_victim") && !probes_oom_tracepoint;
	btf__free(vmlinux);

	/* CO-RE against vmlinux BTF only. Left to itself libbpf also walks the
	 * modules' BTF for flavours vmlinux lacks (struct mm_rss_stat___pre62),
	 * and listing BTF objects needs CAP_SYS_ADMIN, which the unit does not
	 * give: with CAP_BPF and CAP_PERFMON alone the load would fail. */
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .btf_custom_path = "/sys/kernel/btf/vmlinux");

	p->ev = events_bpf__open_opts(&oopts);
	if (!p->ev) {
		r = -errno;
		snprintf(err, errlen, "opening the event programs failed: %s", strerror(-r));
		return r;
	}
	p->ev->rodata->big_map_bytes = c->big_map_bytes;
	p->ev->rodata->wake_bytes = c->ringbuf_bytes / 8 < (64 << 10) ? c->ringbuf_bytes / 8 : (64 << 10);
	bpf_map__set_max_entries(p->ev->maps.events, c->ringbuf_bytes);
	bpf_map__set_max_entries(p->ev->maps.mm_stats, c->mm_stats_entries);
	/* tp_btf where the kernel has it, the classic tracepoint elsewhere. */
	bpf_program__set_autoload(oom_btf ? p->ev->progs.mark_victim_tp : p->ev->progs.mark_victim_btf,
				  false);
	r = events_bpf__load(p->ev);
	if (r) {
		snprintf(err, errlen,
			 "loading the event programs failed: %s%s", strerror(-r),
			 r == -EPERM ? " (run as root, or with CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH)" : "");
		goto fail;
	}

	p->snap = snapshot_bpf__open_opts(&oopts);
	if (!p->snap) {
		r = -errno;
		snprintf(err, errlen, "opening the snapshot iterator failed: %s", strerror(-r));
		goto fail;
	}
	r = bpf_map__reuse_fd(p->snap->maps.mm_stats, bpf_map__fd(p->ev->maps.mm_stats));
	if (!r)
		r = snapshot_bpf__load(p->snap);
	if (r) {
		snprintf(err, errlen, "loading the snapshot iterator failed: %s", strerror(-r));
		goto fail;
	}
	p->iter_link = bpf_program__attach_iter(p->snap->progs.snapshot, NULL);
	if (!p->iter_link) {
		r = -errno;
		snprintf(err, errlen, "attaching the task iterator failed: %s", strerror(-r));
		goto fail;
	}
	add_desc(p, "snapshot", "iter/task", true);

	if ((r = attach_prog(p->ev->progs.sched_process_exit, &p->ev->links.sched_process_exit, "exit", "tp_btf/sched_process_exit", err, errlen)))
		goto fail;
	add_desc(p, "exit", "tp_btf/sched_process_exit", true);

	struct bpf_program *oom = oom_btf ? p->ev->progs.mark_victim_btf : p->ev->progs.mark_victim_tp;
	struct bpf_link **oom_slot = oom_btf ? &p->ev->links.mark_victim_btf : &p->ev->links.mark_victim_tp;
	const char *oom_how = oom_btf ? "tp_btf/mark_victim" : "tracepoint/oom/mark_victim";
	if ((r = attach_prog(oom, oom_slot, "oom", oom_how, err, errlen)))
		goto fail;
	add_desc(p, "oom", oom_how, true);

#define SYSCALL_PROG(n) { p->ev->progs.n, &p->ev->links.n, #n }
	struct {
		struct bpf_program *prog;
		struct bpf_link **link;
		const char *name;
	} sys[] = {
		SYSCALL_PROG(sys_exit_brk), SYSCALL_PROG(sys_exit_mmap),
		SYSCALL_PROG(sys_exit_munmap), SYSCALL_PROG(sys_exit_mremap),
	};
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		if ((r = attach_prog(sys[i].prog, sys[i].link, sys[i].name, "tracepoint/syscalls", err, errlen)))
			goto fail;
	}
	add_desc(p, "mapping-syscalls", "tracepoint/syscalls/sys_exit_{brk,mmap,munmap,mremap}", true);

	p->rb = ring_buffer__new(bpf_map__fd(p->ev->maps.events), (ring_buffer_sample_fn)fn, ctx, NULL);
	if (!p->rb) {
		r = -errno;
		snprintf(err, errlen, "creating the ring buffer reader failed: %s", strerror(-r));
		goto fail;
	}
	return 0;
fail:
	probes_close(p);
	return r ? r : -EINVAL;
}

void probes_close(struct probes *p)
{
	ring_buffer__free(p->rb);
	bpf_link__destroy(p->iter_link);
	snapshot_bpf__destroy(p->snap);
	events_bpf__destroy(p->ev);
	free(p->iter_buf);
	memset(p, 0, sizeof(*p));
}

int probes_snapshot(struct probes *p, const void **buf, size_t *len)
{
	size_t used = 0;
	int fd = bpf_iter_create(bpf_link__fd(p->iter_link));

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (p->iter_cap - used < 65536) {
			size_t ncap = p->iter_cap ? p->iter_cap * 2 : 1 << 20;
			char *nb = realloc(p->iter_buf, ncap);

			if (!nb) {
				close(fd);
				return -ENOMEM;
			}
			p->iter_buf = nb;
			p->iter_cap = ncap;
		}
		n = read(fd, p->iter_buf + used, p->iter_cap - used);
		if (n < 0) {
			int e = -errno;

			if (e == -EINTR)
				continue;
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		used += n;
	}
	close(fd);
	*buf = p->iter_buf;
	*len = used;
	return 0;
}

int probes_ring_fd(const struct probes *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int probes_consume(struct probes *p)
{
	return ring_buffer__consume(p->rb);
}

static uint64_t percpu_sum(const struct probes *p, int map_fd, uint32_t key)
{
	uint64_t vals[p->ncpus], sum = 0;

	if (bpf_map_lookup_elem(map_fd, &key, vals))
		return 0;
	for (int i = 0; i < p->ncpus; i++)
		sum += vals[i];
	return sum;
}

void probes_drops(const struct probes *p, uint64_t drops[FL_DROP_SLOTS])
{
	memset(drops, 0, sizeof(uint64_t) * FL_DROP_SLOTS);
	if (!p->ev) /* not loaded (unit tests, fuzzing) */
		return;
	for (uint32_t k = 0; k < FL_DROP_SLOTS; k++)
		drops[k] = percpu_sum(p, bpf_map__fd(p->ev->maps.drops), k);
}

uint64_t probes_mm_stats_full(const struct probes *p)
{
	if (!p->ev)
		return 0;
	return percpu_sum(p, bpf_map__fd(p->ev->maps.mm_stats_full), 0);
}
