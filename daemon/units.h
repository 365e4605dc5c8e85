/* Parsing of sizes and durations as people write them in configs and on
 * command lines: "64M", "1.5GiB", "500ms", "2m", "1h" (pure code). */
#ifndef FAULTLINE_UNITS_H
#define FAULTLINE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes: a number with an optional K/M/G/T suffix (binary, "KiB" or "K"
 * or "KB" alike). Returns 0 or -EINVAL / -ERANGE. */
int parse_bytes(const char *s, uint64_t *out);
/* Milliseconds: a number with ms/s/m/h/d (a bare number means seconds). */
int parse_duration_ms(const char *s, uint64_t *out);
/* An unsigned integer, whole string, no sign. */
int parse_uint(const char *s, uint64_t *out);
/* yes/no/true/false/on/off/1/0 */
int parse_bool(const char *s, int *out);


#endif
