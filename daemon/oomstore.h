/* The OOM record file, STATE_DIR/oom.log: append-only frames, each with a
 * CRC32, synced to disk before the alert goes out.
 *
 *   frame = magic "FLOM" (4) | payload length (u32 LE) | crc32(length bytes + payload) (u32 LE)
 *           | payload (JSON, one object)
 *
 * A payload is a record {"id": N, ...} or an update {"update": N, "outcome": {...}}
 * that settles a record's outcome later (the victim's exit). On open, a frame
 * that does not check out is skipped and counted; a damaged tail (a write cut
 * short by a crash) is reported and cut off, so the next append starts clean.
 * The file is bounded: when an append would pass max_bytes the newest records
 * that fit in 3/4 of it are rewritten into a new file (oldest dropped first).
 * Ids only grow, across restarts and rewrites. */
#ifndef FAULTLINE_OOMSTORE_H
#define FAULTLINE_OOMSTORE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define OOMSTORE_FILE "oom.log"
#define OOMSTORE_MAGIC "FLOM"
#define OOMSTORE_HDR 12

struct oomstore_stats {
	uint64_t loaded;        /* records read back at open */
	uint64_t bad_frames;    /* frames skipped (checksum, length, JSON) */
	uint64_t bad_bytes;     /* bytes in those frames */
	uint64_t torn_tail_bytes; /* cut off at open */
	uint64_t appended;      /* records written since open */
	uint64_t dropped;       /* oldest records dropped to keep the bound */
	uint64_t rewrites;
	uint64_t write_errors;
};

/* A record in memory is its JSON text: a parsed json-c tree of a record
 * with its history takes ten times as much. Parsed on demand. */
struct oomrec {
	uint64_t id;
	char *text;
};

struct oomstore {
	char path[512];
	int fd;
	uint64_t size;      /* bytes in the file */
	uint64_t max_bytes;
	uint64_t next_id;
	struct oomrec *recs; /* oldest first, updates merged in */
	size_t len, cap;
	size_t text_bytes;   /* memory the texts take */
	struct oomstore_stats stats;
};

/* Opens (creating) DIR/oom.log, reads it back, cuts a torn tail. Errors are
 * -errno with "why" in err; damaged frames are not errors (see stats). */
int oomstore_open(struct oomstore *s, const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void oomstore_close(struct oomstore *s);

/* Gives rec the next id ("id" is set first in the object), appends it and
 * fdatasyncs; takes rec. Returns the id (> 0), or -errno when it could not
 * be written: the record is then still kept in memory under s->next_id - 1
 * (and counted in write_errors). */
int64_t oomstore_append(struct oomstore *s, json_object *rec);
/* Appends an update {"update": id, "outcome": outcome} (takes outcome) and
 * merges it into the record in memory. */
int oomstore_update_outcome(struct oomstore *s, uint64_t id, json_object *outcome);

size_t oomstore_count(const struct oomstore *s);
/* The i-th record, oldest first, parsed: a new reference (put it), or NULL. */
json_object *oomstore_get(const struct oomstore *s, size_t i);
/* The record with this id, parsed (put it), or NULL. */
json_object *oomstore_get_id(const struct oomstore *s, uint64_t id);
/* Its text and id without parsing. */
const char *oomstore_text(const struct oomstore *s, size_t i);
uint64_t oomstore_id(const struct oomstore *s, size_t i);

/* Pure helpers (tests use them to build and damage files). */
uint32_t oomstore_crc(const void *payload, uint32_t len);
/* Writes one frame of payload into buf (OOMSTORE_HDR + len bytes). */
void oomstore_frame(char *buf, const char *payload, uint32_t len);

#endif
