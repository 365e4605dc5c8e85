#include "trace_result.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procmaps.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)

static const struct {
	unsigned bit;
	const char *name;
} view_names[] = {
	{ FL_TV_FAULTS, "faults" },
	{ FL_TV_BRK, "brk" },
	{ FL_TV_MMAP, "mmap" },
	{ FL_TV_MALLOC, "malloc" },
};

int trace_what_parse(const char *s, unsigned *mask)
{
	char buf[128], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(view_names) / sizeof(view_names[0]); i++)
			if (!strcmp(tok, view_names[i].name))
				break;
		if (i == sizeof(view_names) / sizeof(view_names[0]))
			return -EINVAL;
		*mask |= view_names[i].bit;
	}
	return *mask ? 0 : -EINVAL;
}

void trace_what_format(unsigned mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(view_names) / sizeof(view_names[0]); i++)
		if ((mask & view_names[i].bit) && used < len)
			used += snprintf(buf + used, len - used, "%s%s", used ? "," : "", view_names[i].name);
}

static const char *kind_name(const struct trace_result_proc *p, const struct trace_rec *r)
{
	switch (r->key.kind) {
	case FL_TK_HEAP: return "heap";
	case FL_TK_STACK: return "stack";
	case FL_TK_ANON: return "anon";
	case FL_TK_FILE: return "file";
	case FL_TK_OTHER: {
		/* The kernel told heap and stack apart, and anon from file at
		 * the stack's first fault; else the mapping the address lies in
		 * in the last copy of the maps. */
		if (r->val.vma_kind == FL_TK_ANON)
			return "anon";
		if (r->val.vma_kind == FL_TK_FILE)
			return "file";
		const char *k = p->maps ? procmaps_kind(p->maps, r->val.last_addr) : NULL;

		return k ? k : "unmapped";
	}
	default: return NULL;
	}
}

struct row {
	const struct trace_rec *rec;
	uint64_t weight;
};

static int by_weight_desc(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->weight < y->weight ? 1 : x->weight > y->weight ? -1 : 0;
}

static uint64_t rec_weight(const struct trace_rec *r)
{
	if (r->key.view == FL_TV_MALLOC)
		return r->val.outstanding > 0 ? (uint64_t)r->val.outstanding : 0;
	return r->val.bytes;
}

/* The word at the stack pointer is the caller's return address that the
 * frame-pointer walk skipped: always at a uprobe on a function's entry and
 * in a syscall wrapper (leaves without a frame), and for a fault when it
 * follows a call instruction (a frame-less leaf such as memset); else it is
 * data and left out. */
static bool use_sp_word(const struct trace_result_opts *o, const struct trace_result_proc *p,
			const struct trace_rec *r)
{
	struct procmap m;

	if (!r->key.sp_word || !p->maps || r->nframes < 1)
		return false;
	if (r->nframes > 1 && r->frames[1] == r->key.sp_word)
		return false;
	if (procmaps_find(p->maps, r->key.sp_word, &m) || !m.exec)
		return false;
	if (o->follows_call)
		return o->follows_call(o->namer_ctx, p->pid, r->key.sp_word);
	return r->key.view != FL_TV_FAULTS;
}

static json_object *frame_json(const struct trace_result_opts *o, int pid, uint64_t addr, bool ret,
			       json_object *modules)
{
	json_object *f = json_object_new_object();
	struct sym_frame sf;
	char hex[24];

	if (o->namer)
		o->namer(o->namer_ctx, pid, addr, ret, &sf);
	else
		symbolizer_frame_raw(addr, &sf);
	ADD(f, "label", json_object_new_string(sf.label));
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)addr);
	ADD(f, "addr", json_object_new_string(hex));
	if (sf.has_module) {
		ADD(f, "module", json_object_new_string(sf.module));
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)sf.offset);
		ADD(f, "offset", json_object_new_string(hex));
		if (!json_object_object_get_ex(modules, sf.module, NULL))
			ADD(modules, sf.module, sf.build_id[0] ? json_object_new_string(sf.build_id) : NULL);
	}
	if (sf.has_symbol)
		ADD(f, "symbol", json_object_new_string(sf.symbol));
	return f;
}

static json_object *frames_json(const struct trace_result_opts *o, const struct trace_result_proc *p,
				const struct trace_rec *r, json_object *modules)
{
	json_object *a = json_object_new_array();
	bool sp = use_sp_word(o, p, r);

	for (uint32_t i = 0; i < r->nframes; i++) {
		json_object_array_add(a, frame_json(o, p->pid, r->frames[i], i > 0, modules));
		if (i == 0 && sp)
			json_object_array_add(a, frame_json(o, p->pid, r->key.sp_word, true, modules));
	}
	return a;
}

static json_object *view_json(const struct trace_result_opts *o, const struct trace_result_proc *p,
			      const struct trace_rec *recs, size_t n, unsigned view, json_object *modules)
{
	json_object *v = json_object_new_object(), *stacks = json_object_new_array(), *kinds = NULL;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	uint64_t count = 0, amount = 0, frees = 0, no_stack = 0;
	int64_t outstanding = 0;
	uint64_t mult = view == FL_TV_MALLOC && o->sample_every > 1 ? o->sample_every : 1;
	size_t nrows = 0;

	if (view == FL_TV_FAULTS)
		kinds = json_object_new_object();
	for (size_t i = 0; rows && i < n; i++) {
		const struct trace_rec *r = &recs[i];

		if ((int)r->key.tgid != p->pid || r->key.view != view)
			continue;
		rows[nrows].rec = r;
		rows[nrows++].weight = rec_weight(r);
		count += r->val.count;
		amount += r->val.bytes;
		outstanding += r->val.outstanding;
		frees += r->val.frees;
		if (r->key.stack_id < 0)
			no_stack += r->val.count;
		if (kinds) {
			const char *k = kind_name(p, r);
			json_object *cur;
			uint64_t before = 0;

			if (json_object_object_get_ex(kinds, k, &cur))
				before = json_object_get_uint64(cur);
			ADD(kinds, k, json_object_new_uint64(before + r->val.bytes));
		}
	}
	if (rows)
		qsort(rows, nrows, sizeof(*rows), by_weight_desc);
	for (size_t i = 0; i < nrows && i < o->top; i++) {
		const struct trace_rec *r = rows[i].rec;
		json_object *s = json_object_new_object();
		const char *k = kind_name(p, r);

		if (view == FL_TV_FAULTS) {
			ADD(s, "pages", json_object_new_uint64(r->val.bytes));
			ADD(s, "bytes", json_object_new_uint64(r->val.bytes * o->page_size));
		} else {
			ADD(s, "bytes", json_object_new_uint64(r->val.bytes * mult));
		}
		ADD(s, "count", json_object_new_uint64(r->val.count * mult));
		if (view == FL_TV_MALLOC) {
			ADD(s, "outstanding", json_object_new_int64(r->val.outstanding * (int64_t)mult));
			ADD(s, "frees", json_object_new_uint64(r->val.frees * mult));
		}
		if (k)
			ADD(s, "kind", json_object_new_string(k));
		ADD(s, "frames", frames_json(o, p, r, modules));
		json_object_array_add(stacks, s);
	}
	if (view == FL_TV_FAULTS) {
		ADD(v, "pages", json_object_new_uint64(amount));
		ADD(v, "bytes", json_object_new_uint64(amount * o->page_size));
		ADD(v, "by_kind", kinds);
	} else {
		ADD(v, "bytes", json_object_new_uint64(amount * mult));
	}
	ADD(v, "count", json_object_new_uint64(count * mult));
	if (view == FL_TV_MALLOC) {
		ADD(v, "sample_every", json_object_new_uint64(mult));
		ADD(v, "outstanding", json_object_new_int64(outstanding * (int64_t)mult));
		ADD(v, "frees", json_object_new_uint64(frees * mult));
	}
	ADD(v, "without_stack", json_object_new_uint64(no_stack));
	ADD(v, "stacks_total", json_object_new_uint64(nrows));
	ADD(v, "stacks", stacks);
	free(rows);
	return v;
}

json_object *trace_result_views(const struct trace_result_opts *o, const struct trace_result_proc *p,
				const struct trace_rec *recs, size_t n)
{
	json_object *views = json_object_new_object(), *modules = json_object_new_object();

	for (size_t i = 0; i < sizeof(view_names) / sizeof(view_names[0]); i++)
		if (o->what & view_names[i].bit)
			ADD(views, view_names[i].name, view_json(o, p, recs, n, view_names[i].bit, modules));
	ADD(views, "modules", modules);
	return views;
}
