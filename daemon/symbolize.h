/* User-space stack symbolization with elfutils' libdwfl: executables and
 * shared libraries (PIE or not) from a saved copy of /proc/PID/maps, files
 * opened through /proc/PID/root so a process in another mount namespace gets
 * its own binaries, separate debug info found by build id. A frame with no
 * symbol comes back as module+offset, never dropped. */
#ifndef FAULTLINE_SYMBOLIZE_H
#define FAULTLINE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbolizer;

struct sym_frame {
	uint64_t addr;
	uint64_t offset;   /* from the start of the module's first mapping */
	bool has_module;
	bool has_symbol;
	char module[64];   /* file name of the module */
	char symbol[128];
	char build_id[41]; /* hex, "" when the module has none */
	char label[200];   /* "symbol", "module+0xoffset", or "0xaddr" */
};

/* maps is the process's /proc/PID/maps text (kept by the caller until
 * symbolizer_close). pid > 0 opens files under /proc/PID/root first. */
int symbolizer_open(struct symbolizer **out, int pid, const char *maps);
void symbolizer_close(struct symbolizer *s);

/* return_addr: the frame is a return address (all but the innermost), so
 * the call instruction before it is looked up. */
void symbolizer_frame(struct symbolizer *s, uint64_t addr, bool return_addr, struct sym_frame *f);

/* True when addr is right after a call instruction in the process's code
 * (so a word found on the stack is a return address, not data). */
bool symbolizer_follows_call(struct symbolizer *s, uint64_t addr);

/* Without a symbolizer (the maps could not be read): the address only. */
void symbolizer_frame_raw(uint64_t addr, struct sym_frame *f);

#endif
