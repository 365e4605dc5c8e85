/* The request handlers behind the socket: one function per command,
 * looked up in a table (docs/protocol.md documents each). */
#ifndef FAULTLINE_API_H
#define FAULTLINE_API_H

#include <json-c/json.h>

struct daemon;
struct client;

json_object *api_handle(void *daemon, struct client *c, json_object *req);

/* Helpers for handlers in other files. */
json_object *api_ok(json_object *data);
json_object *api_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads args[name] as an integer in [min, max]; *out keeps its default when
 * absent. Returns NULL, or an error reply to send. */
json_object *api_arg_int(json_object *args, const char *name, int64_t min, int64_t max, int64_t *out);
json_object *api_arg_str(json_object *args, const char *name, const char **out);
json_object *api_arg_bool(json_object *args, const char *name, int *out);

/* oom_api.c */
json_object *api_cmd_oom(struct daemon *d, struct client *c, json_object *args);
json_object *api_cmd_oom_show(struct daemon *d, struct client *c, json_object *args);

#endif
