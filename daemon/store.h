/* What the state file holds, encoded and decoded (pure: no I/O).
 *
 * The payload is a list of named sections (name, length, body), so a reader
 * skips a section it does not know. Numbers are LEB128 varints (zigzag for
 * signed ones); history samples go field by field, times as deltas, which is
 * what makes the history of thousands of processes small. Sections:
 *   meta     boot id, save time
 *   procs    live and exited processes with their full history
 *   leak_alerts  when each process's leak alerts last fired (not re-fired)
 *   events   the event log (JSON text) and the next sequence number
 *   cgroups  memory-cgroup id -> path (only meaningful within one boot) */
#ifndef FAULTLINE_STORE_H
#define FAULTLINE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cgcache.h"
#include "eventlog.h"
#include "proctab.h"

struct store_parts {
	struct proctab *procs;
	struct eventlog *events;
	struct cgcache *cgroups;
};

struct store_loaded {
	char boot_id[40];   /* of the boot the file was written in */
	uint32_t saved_wall;
	bool same_boot;
	uint64_t live;      /* restored as live, to be confirmed by the first snapshot */
	uint64_t exited;    /* restored exited, or live ones from another boot */
	uint64_t events;
	uint64_t cgroups;
};

/* Encodes everything into a malloc'd buffer. Returns 0 or -ENOMEM. */
int store_encode(const struct store_parts *s, const char *boot_id, uint32_t now_wall, void **out, size_t *len);

/* Decodes a payload into empty parts. Records of another boot (boot_id
 * differs) get a new key generation and live ones become exited while the
 * daemon was down. On error (-EBADMSG, the reason in err) the parts are left
 * empty again: a damaged file never yields half a state. */
int store_decode(const struct store_parts *s, const void *buf, size_t len, const char *boot_id,
		 struct store_loaded *info, char *err, size_t errlen);

#endif
