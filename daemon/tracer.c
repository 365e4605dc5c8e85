#include "tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "procmaps.h"
#include "trace.skel.h"

/* The initial pid namespace's inode number (include/linux/proc_ns.h). */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

static void warn(struct trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct trace *t, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("trace %u: %s", t->id, msg);
	json_object_array_add(t->warnings, json_object_new_string(msg));
}

static int attach_one(struct trace *t, struct bpf_program *prog, struct bpf_link **slot, const char *what,
		      char *err, size_t errlen)
{
	struct bpf_link *l = bpf_program__attach(prog);

	if (!l) {
		int e = -errno;

		snprintf(err, errlen, "attaching the %s tracer failed: %s", what, strerror(-e));
		return e;
	}
	*slot = l;
	return 0;
}

/* Uprobes on one process's libc: only that process traps (uprobes filter by
 * mm), so other users of the same libc pay nothing. */
static int attach_malloc(struct trace *t, struct trace_proc *p)
{
	static const struct {
		const char *func;
		bool ret;
	} probes[] = {
		{ "malloc", false }, { "malloc", true }, { "calloc", false }, { "calloc", true },
		{ "realloc", false }, { "realloc", true }, { "free", false },
	};
	char path[600];

	if (!p->maps) {
		warn(t, "malloc not traced in pid %d: its /proc/%d/maps is not readable (%s)", p->pid, p->pid,
		     strerror(-p->maps_err));
		return -EACCES;
	}
	if (procmaps_libc(p->maps, p->libc, sizeof(p->libc))) {
		warn(t, "malloc not traced in pid %d (%s): no shared C library mapped (static binary?)", p->pid,
		     p->comm);
		return -ENOENT;
	}
	/* Its own root: the libc of a container, not ours. */
	snprintf(path, sizeof(path), "/proc/%d/root%s", p->pid, p->libc);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct bpf_program *prog = probes[i].ret ? t->skel->progs.trace_alloc_ret
				       : !strcmp(probes[i].func, "malloc") ? t->skel->progs.trace_malloc
				       : !strcmp(probes[i].func, "calloc") ? t->skel->progs.trace_calloc
				       : !strcmp(probes[i].func, "realloc") ? t->skel->progs.trace_realloc
									    : t->skel->progs.trace_free;
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = probes[i].func, .retprobe = probes[i].ret);
		struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, p->pid, path, 0, &uo);

		if (!l) {
			int e = -errno;

			warn(t, "malloc not traced in pid %d: uprobe on %s in %s failed: %s%s", p->pid, probes[i].func,
			     p->libc, strerror(-e),
			     e == -EACCES || e == -EPERM ? " (another user's process needs CAP_SYS_PTRACE)" : "");
			return e;
		}
		p->ulinks[p->nulinks++] = l;
	}
	return 0;
}

int tracer_attach(struct trace *t, char *err, size_t errlen)
{
	/* CO-RE against vmlinux BTF only (see probes.c: listing module BTF
	 * needs CAP_SYS_ADMIN). */
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .btf_custom_path = "/sys/kernel/btf/vmlinux");
	struct trace_bpf *s;
	int r, attached = 0;

	s = t->skel = trace_bpf__open_opts(&oopts);
	if (!s) {
		r = -errno;
		snprintf(err, errlen, "opening the trace programs failed: %s", strerror(-r));
		return r;
	}
	s->rodata->sample_every = t->sample_every ? t->sample_every : 1;
	/* Inside a pid namespace (a container, a test's systemd) the pids we
	 * were given are that namespace's: the programs translate. */
	struct stat ns;
	if (stat("/proc/self/ns/pid", &ns) == 0 && ns.st_ino != PROC_PID_INIT_INO) {
		s->rodata->pidns_dev = ns.st_dev;
		s->rodata->pidns_ino = ns.st_ino;
	}
	/* The programs filter on these from their first event. */
	for (int i = 0; i < t->nprocs && i < TRACE_MAX_PIDS; i++)
		s->rodata->target_tgids[i] = t->procs[i].pid;
	s->rodata->ntargets = t->nprocs;
	bpf_program__set_autoload(s->progs.trace_fault, t->what & FL_TV_FAULTS);
	bpf_program__set_autoload(s->progs.trace_brk, t->what & FL_TV_BRK);
	bpf_program__set_autoload(s->progs.trace_mmap, t->what & FL_TV_MMAP);
	bpf_program__set_autoload(s->progs.trace_malloc, t->what & FL_TV_MALLOC);
	bpf_program__set_autoload(s->progs.trace_calloc, t->what & FL_TV_MALLOC);
	bpf_program__set_autoload(s->progs.trace_realloc, t->what & FL_TV_MALLOC);
	bpf_program__set_autoload(s->progs.trace_alloc_ret, t->what & FL_TV_MALLOC);
	bpf_program__set_autoload(s->progs.trace_free, t->what & FL_TV_MALLOC);
	r = trace_bpf__load(s);
	if (r) {
		snprintf(err, errlen, "loading the trace programs failed: %s", strerror(-r));
		goto fail;
	}
	if ((t->what & FL_TV_FAULTS) &&
	    (r = attach_one(t, s->progs.trace_fault, &s->links.trace_fault, "page-fault", err, errlen)))
		goto fail;
	if ((t->what & FL_TV_BRK) && (r = attach_one(t, s->progs.trace_brk, &s->links.trace_brk, "brk", err, errlen)))
		goto fail;
	if ((t->what & FL_TV_MMAP) &&
	    (r = attach_one(t, s->progs.trace_mmap, &s->links.trace_mmap, "mmap", err, errlen)))
		goto fail;
	if (t->what & FL_TV_MALLOC) {
		for (int i = 0; i < t->nprocs; i++)
			attached += attach_malloc(t, &t->procs[i]) == 0;
		if (!attached && t->what == FL_TV_MALLOC) {
			snprintf(err, errlen, "malloc tracing could not be attached to any of the processes (%s)",
				 json_object_get_string(json_object_array_get_idx(t->warnings, 0)));
			r = -ENOENT;
			goto fail;
		}
	}
	return 0;
fail:
	tracer_detach(t);
	return r;
}

void tracer_detach(struct trace *t)
{
	for (int i = 0; i < t->nprocs; i++) {
		struct trace_proc *p = &t->procs[i];

		for (int j = 0; j < p->nulinks; j++)
			bpf_link__destroy(p->ulinks[j]);
		p->nulinks = 0;
	}
	trace_bpf__destroy(t->skel);
	t->skel = NULL;
}

static uint64_t percpu_sum(int fd, uint32_t key)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t vals[ncpus > 0 ? ncpus : 1], sum = 0;

	if (ncpus <= 0 || bpf_map_lookup_elem(fd, &key, vals))
		return 0;
	for (int i = 0; i < ncpus; i++)
		sum += vals[i];
	return sum;
}

int tracer_collect(struct trace *t, struct trace_rec **out, size_t *n, uint64_t drops[FL_TD__MAX])
{
	int agg = bpf_map__fd(t->skel->maps.agg), stacks = bpf_map__fd(t->skel->maps.stacks);
	struct fl_trace_key cur, next;
	struct trace_rec *recs = NULL;
	size_t len = 0, cap = 0;
	bool have = false;

	for (uint32_t k = 0; k < FL_TD__MAX; k++)
		drops[k] = percpu_sum(bpf_map__fd(t->skel->maps.drops), k);
	while (bpf_map_get_next_key(agg, have ? &cur : NULL, &next) == 0) {
		struct trace_rec *r;

		cur = next;
		have = true;
		if (len == cap) {
			struct trace_rec *nr = realloc(recs, (cap ? cap * 2 : 256) * sizeof(*recs));

			if (!nr) {
				free(recs);
				return -ENOMEM;
			}
			recs = nr;
			cap = cap ? cap * 2 : 256;
		}
		r = &recs[len];
		memset(r, 0, sizeof(*r));
		r->key = cur;
		if (bpf_map_lookup_elem(agg, &cur, &r->val))
			continue;
		if (cur.stack_id >= 0) {
			uint32_t id = cur.stack_id;

			if (bpf_map_lookup_elem(stacks, &id, r->frames) == 0)
				while (r->nframes < FL_TRACE_STACK_DEPTH && r->frames[r->nframes])
					r->nframes++;
		}
		len++;
	}
	*out = recs;
	*n = len;
	return 0;
}
