/* Keeping what the daemon knows across restarts: the state file is loaded
 * at start and written every save_interval and at stop (store.c encodes,
 * statefile.c writes atomically). A damaged or newer file is set aside and
 * the daemon starts fresh: it never refuses to start because of it. */
#ifndef FAULTLINE_PERSIST_H
#define FAULTLINE_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct daemon;

struct persist {
	char boot_id[40];
	uint64_t last_save_ms; /* monotonic */
	uint32_t last_save_wall;
	uint64_t saves;
	uint64_t save_errors;
	uint64_t last_save_bytes; /* on disk, compressed */
	uint64_t last_save_raw;   /* before compression */
	uint64_t last_save_us;
	bool loaded;
	struct store_loaded load;
	char set_aside[512]; /* a bad state file moved away at start, or "" */
	char load_error[256];
};

/* Reads /proc/sys/kernel/random/boot_id into buf; "" when unreadable. */
void persist_boot_id(char *buf, size_t len);

/* At start, after the tables are set up and before the first snapshot. */
void persist_load(struct daemon *d);
/* Writes the state file now; returns 0 or -errno (logged here). */
int persist_save(struct daemon *d);
/* From the timer: saves when save_interval has passed. */
void persist_tick(struct daemon *d, uint64_t now_ms);

#endif
