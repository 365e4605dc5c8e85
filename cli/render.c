#include "render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

char *fmt_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)b);
	else
		snprintf(buf, len, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

char *fmt_byte_rate(double r, char *buf, size_t len)
{
	char num[32];
	const char *per = "s";
	double a = fabs(r);

	/* Leaks read best per hour (12 MiB/h), storms per second. */
	if (a < 1048576.0 && a * 60 >= 1048576.0) {
		a *= 60;
		per = "min";
	} else if (a < 1048576.0) {
		a *= 3600;
		per = "h";
	}
	if (a < 0.5) {
		snprintf(buf, len, "0 B/s");
		return buf;
	}
	fmt_bytes((uint64_t)llround(a), num, sizeof(num));
	snprintf(buf, len, "%s%s/%s", r < 0 ? "-" : "", num, per);
	return buf;
}

char *fmt_count(double v, char *buf, size_t len)
{
	if (v < 1000)
		snprintf(buf, len, v == floor(v) ? "%.0f" : "%.1f", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else
		snprintf(buf, len, "%.1fG", v / 1e9);
	return buf;
}

char *fmt_duration(uint64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60, (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600, (unsigned long long)(s % 3600) / 60);
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)s / 86400,
			 (unsigned long long)(s % 86400) / 3600);
	return buf;
}

char *fmt_sparkline(const double *v, size_t n, size_t width, char *buf, size_t len)
{
	static const char *const glyph[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	double cells[512], lo = INFINITY, hi = -INFINITY;
	size_t ncell = n < width ? n : width, off = 0;

	if (ncell > 512)
		ncell = 512;
	buf[0] = 0;
	if (!ncell)
		return buf;
	for (size_t c = 0; c < ncell; c++) {
		size_t a = c * n / ncell, b = (c + 1) * n / ncell;
		double m = -INFINITY;

		for (size_t i = a; i < b; i++)
			if (v[i] > m)
				m = v[i];
		cells[c] = m;
		if (m < lo)
			lo = m;
		if (m > hi)
			hi = m;
	}
	for (size_t c = 0; c < ncell && off + 4 < len; c++) {
		int g = hi > lo ? (int)((cells[c] - lo) / (hi - lo) * 7.0 + 0.5) : 0;

		memcpy(buf + off, glyph[g], 3);
		off += 3;
	}
	buf[off] = 0;
	return buf;
}

size_t utf8_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

void table_init(struct table *t, size_t ncols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols > TABLE_MAX_COLS ? TABLE_MAX_COLS : ncols;
	for (size_t c = 0; c < t->ncols; c++) {
		t->right[c] = head[c][0] == '>';
		t->head[c] = strdup(head[c] + t->right[c]);
	}
}

void table_add(struct table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		char **n = realloc(t->cells, ncap * t->ncols * sizeof(*n));

		if (!n)
			return;
		t->cells = n;
		t->cap = ncap;
	}
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->rows * t->ncols + c] = strdup(cells[c] ? cells[c] : "-");
	t->rows++;
}

static void print_cell(FILE *f, const char *s, size_t width, int right, int last)
{
	size_t w = utf8_width(s);

	if (right)
		fprintf(f, "%*s%s", (int)(width - w), "", s);
	else
		fprintf(f, "%s%*s", s, last ? 0 : (int)(width - w), "");
}

void table_print(const struct table *t, FILE *f)
{
	size_t width[TABLE_MAX_COLS];

	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = utf8_width(t->head[c]);
		for (size_t r = 0; r < t->rows; r++) {
			size_t w = utf8_width(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t c = 0; c < t->ncols; c++) {
		print_cell(f, t->head[c], width[c], t->right[c], c + 1 == t->ncols);
		fputs(c + 1 == t->ncols ? "\n" : "  ", f);
	}
	for (size_t r = 0; r < t->rows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			print_cell(f, t->cells[r * t->ncols + c], width[c], t->right[c], c + 1 == t->ncols);
			fputs(c + 1 == t->ncols ? "\n" : "  ", f);
		}
}

void table_free(struct table *t)
{
	for (size_t c = 0; c < t->ncols; c++)
		free(t->head[c]);
	for (size_t i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
