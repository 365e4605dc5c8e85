/* The state file's container: a fixed header (magic, format version, sizes,
 * CRC-32) around a zlib-compressed payload, written atomically (temp file,
 * fsync, rename, fsync of the directory). What the payload holds is store.c's
 * business; this file only guarantees that what is read back is exactly what
 * was written, or is refused. */
#ifndef FAULTLINE_STATEFILE_H
#define FAULTLINE_STATEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STATEFILE_NAME "state"
#define STATEFILE_VERSION 2 /* 2: history samples carry their anon+swap envelope */
/* A payload above this is taken for damage, not read (the table's own cap,
 * max_memory, is far below it). */
#define STATEFILE_MAX_PAYLOAD (1ull << 30)

/* Compresses payload and replaces dir/name atomically; a crash at any point
 * leaves either the previous file or the new one, never a mix. */
int statefile_write(const char *dir, const char *name, const void *payload, size_t len, char *err,
		    size_t errlen);

/* Checks and decompresses a whole file image. Returns 0 with *payload
 * (malloc'd) or: -EBADMSG damaged/truncated/empty, -EPROTONOSUPPORT written
 * by a newer faultlined, -ENOMEM; the reason goes to err. Pure: no I/O. */
int statefile_decode(const void *file, size_t flen, void **payload, size_t *len, char *err, size_t errlen);

/* Reads and decodes dir/name; -ENOENT when there is none. */
int statefile_read(const char *dir, const char *name, void **payload, size_t *len, char *err,
		   size_t errlen);

/* Renames dir/name to dir/name.bad-<time> (kept for a post-mortem, never
 * deleted); the new name goes to aside. */
int statefile_set_aside(const char *dir, const char *name, time_t now, char *aside, size_t alen);

#endif
