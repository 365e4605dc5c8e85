/* The OOM requests: `oom` (the kills, newest first, without their history)
 * and `oom_show` (one whole record). */
#include <stdint.h>
#include <string.h>

#include "api.h"
#include "daemon.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)

/* A list row: everything but the bulky parts. */
static json_object *row(json_object *rec)
{
	static const char *const skip[] = { "history", "top", "unavailable" };
	json_object *o = json_object_new_object();

	json_object_object_foreach(rec, k, v) {
		bool keep = true;

		for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
			keep &= strcmp(k, skip[i]) != 0;
		if (keep)
			ADD(o, k, json_object_get(v));
	}
	return o;
}

json_object *api_cmd_oom(struct daemon *d, struct client *c, json_object *args)
{
	struct oomstore *s = &d->oom.store;
	int64_t n = 50;
	json_object *err, *o, *list;

	if ((err = api_arg_int(args, "n", 1, 1000000, &n)))
		return err;
	o = json_object_new_object();
	list = json_object_new_array();
	for (size_t i = oomstore_count(s); i-- > 0 && (int64_t)json_object_array_length(list) < n;) {
		json_object *rec = oomstore_get(s, i);

		if (rec)
			json_object_array_add(list, row(rec));
		json_object_put(rec);
	}
	ADD(o, "total", json_object_new_uint64(oomstore_count(s)));
	ADD(o, "path", json_object_new_string(s->path));
	ADD(o, "kills", list);
	return api_ok(o);
}

json_object *api_cmd_oom_show(struct daemon *d, struct client *c, json_object *args)
{
	int64_t id = -1;
	json_object *err, *rec;

	if ((err = api_arg_int(args, "id", 1, INT64_MAX, &id)))
		return err;
	if (id < 0)
		return api_error("bad_argument", "'id' is required");
	rec = oomstore_get_id(&d->oom.store, (uint64_t)id);
	if (!rec)
		return api_error("not_found", "no OOM record %lld (ids in `faultline oom`; the oldest are dropped to keep %s bounded)",
				 (long long)id, d->oom.store.path);
	return api_ok(rec);
}
