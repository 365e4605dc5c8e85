/* Human-readable numbers, aligned tables and sparklines (pure code). */
#ifndef FAULTLINE_RENDER_H
#define FAULTLINE_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "0 B", "512 B", "4.0 KiB", "1.2 GiB" */
char *fmt_bytes(uint64_t b, char *buf, size_t len);
/* Signed growth rate in the unit that reads best: "12 MiB/h", "-3.0 KiB/s". */
char *fmt_byte_rate(double bytes_per_s, char *buf, size_t len);
/* "0", "950", "1.2k", "3.4M" */
char *fmt_count(double v, char *buf, size_t len);
/* "45s", "12m03s", "3h12m", "2d04h" */
char *fmt_duration(uint64_t seconds, char *buf, size_t len);
/* A sparkline of at most width cells from n values (UTF-8 block glyphs);
 * the values are bucketed to width by their maximum. */
char *fmt_sparkline(const double *v, size_t n, size_t width, char *buf, size_t len);

/* An aligned text table. Cells are copied; right-aligned columns are
 * marked with a '>' as the first character of the header. */
#define TABLE_MAX_COLS 16

struct table {
	size_t ncols;
	char *head[TABLE_MAX_COLS];
	int right[TABLE_MAX_COLS];
	char **cells; /* rows * ncols */
	size_t rows, cap;
};

void table_init(struct table *t, size_t ncols, const char *const *head);
/* Adds a row from ncols strings. */
void table_add(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* Display width of a UTF-8 string (one column per code point). */
size_t utf8_width(const char *s);

#endif
