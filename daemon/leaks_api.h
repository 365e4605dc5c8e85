/* The "leaks" request: live processes ranked by their leak verdicts. */
#ifndef FAULTLINE_LEAKS_API_H
#define FAULTLINE_LEAKS_API_H

#include <json-c/json.h>

struct daemon;
struct client;

json_object *api_cmd_leaks(struct daemon *d, struct client *c, json_object *args);

#endif
