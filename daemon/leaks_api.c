#include "leaks_api.h"

#include <stdlib.h>

#include "api.h"
#include "daemon.h"
#include "report.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)

static int cmp_rank(const void *a, const void *b)
{
	const struct proc *pa = *(const struct proc *const *)a, *pb = *(const struct proc *const *)b;
	int c = leak_cmp_rank(&pa->leak, &pb->leak);

	if (c)
		return c;
	return pa->key.tgid < pb->key.tgid ? -1 : pa->key.tgid > pb->key.tgid;
}

static json_object *params_json(const struct daemon *d)
{
	const struct leak_params *p = &d->leaks.params;
	json_object *o = json_object_new_object(), *w = json_object_new_array();

	ADD(o, "min_duration_s", json_object_new_uint64(p->min_duration_s));
	ADD(o, "min_growth", json_object_new_uint64(p->min_growth));
	ADD(o, "min_confidence", json_object_new_double(p->min_confidence));
	for (int i = 0; i < p->nwindows; i++)
		json_object_array_add(w, json_object_new_uint64(p->window_s[i]));
	ADD(o, "windows_s", w);
	ADD(o, "horizon_s", json_object_new_uint64(d->cfg.leak_horizon_ms / 1000));
	return o;
}

/* args.pids: an optional array of pids to restrict the answer to. */
static json_object *arg_pids(json_object *args, json_object **pids)
{
	*pids = NULL;
	if (!args || !json_object_object_get_ex(args, "pids", pids) || json_object_is_type(*pids, json_type_null)) {
		*pids = NULL;
		return NULL;
	}
	if (!json_object_is_type(*pids, json_type_array))
		return api_error("bad_argument", "'pids' must be an array of pids");
	for (size_t i = 0; i < json_object_array_length(*pids); i++) {
		json_object *v = json_object_array_get_idx(*pids, i);

		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > 4194304)
			return api_error("bad_argument", "'pids' must be an array of pids (1 to 4194304)");
	}
	return NULL;
}

static bool wanted(json_object *pids, uint32_t pid)
{
	if (!pids)
		return true;
	for (size_t i = 0; i < json_object_array_length(pids); i++)
		if (json_object_get_int64(json_object_array_get_idx(pids, i)) == pid)
			return true;
	return false;
}

json_object *api_cmd_leaks(struct daemon *d, struct client *c, json_object *args)
{
	int all = 0;
	int64_t n = 50;
	size_t cap = d->procs.stats.live, got, shown = 0;
	json_object *err, *o, *list, *counts, *pids;
	struct proc **arr;

	if ((err = api_arg_bool(args, "all", &all)) || (err = api_arg_int(args, "n", 1, 1000000, &n)) ||
	    (err = arg_pids(args, &pids)))
		return err;
	arr = calloc(cap ? cap : 1, sizeof(*arr));
	if (!arr)
		return api_error("no_memory", "out of memory listing %zu processes", cap);
	got = proctab_sorted(&d->procs, false, NULL, arr, cap);
	qsort(arr, got, sizeof(*arr), cmp_rank);
	list = json_object_new_array();
	for (size_t i = 0; i < got && (int64_t)shown < n; i++) {
		json_object *row;

		if (!arr[i]->leak.analysed_at || (!all && arr[i]->leak.cls != LEAK_SUSPECT) ||
		    !wanted(pids, arr[i]->key.tgid))
			continue;
		row = report_proc(arr[i], &d->cgroups);
		ADD(row, "leak", report_leak(&arr[i]->leak));
		json_object_array_add(list, row);
		shown++;
	}
	free(arr);
	counts = json_object_new_object();
	for (int k = 0; k < LEAK__COUNT; k++)
		ADD(counts, leak_class_name(k), json_object_new_uint64(d->leaks.stats.by_class[k]));
	o = json_object_new_object();
	ADD(o, "all", json_object_new_boolean(all));
	ADD(o, "classes", counts);
	ADD(o, "params", params_json(d));
	ADD(o, "processes", list);
	return api_ok(o);
}
