#include "flamegraph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FG_WIDTH 1200.0
#define FG_PAD 10.0
#define FG_FRAME_H 16
#define FG_TOP 40  /* room for the title */
#define FG_CHAR_W 7.0 /* average width of a 12px monospace-ish glyph */

void flamegraph_init(struct flamegraph *fg)
{
	memset(fg, 0, sizeof(*fg));
}

static struct fg_node *child(struct fg_node *parent, const char *name)
{
	struct fg_node *c;

	for (c = parent->children; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name))) {
		free(c);
		return NULL;
	}
	c->next = parent->children;
	parent->children = c;
	return c;
}

int flamegraph_add(struct flamegraph *fg, const char *const *frames, size_t n, uint64_t weight)
{
	struct fg_node *cur = &fg->root;

	if (!weight)
		return 0;
	fg->root.weight += weight;
	for (size_t i = 0; i < n; i++) {
		cur = child(cur, frames[i]);
		if (!cur)
			return -ENOMEM;
		cur->weight += weight;
	}
	if (n > fg->depth)
		fg->depth = n;
	return 0;
}

static void node_free(struct fg_node *n)
{
	while (n) {
		struct fg_node *next = n->next;

		node_free(n->children);
		free(n->name);
		free(n);
		n = next;
	}
}

void flamegraph_free(struct flamegraph *fg)
{
	node_free(fg->root.children);
	memset(fg, 0, sizeof(*fg));
}

void xml_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 7 < len; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		}
		if (rep) {
			memcpy(buf + o, rep, strlen(rep));
			o += strlen(rep);
		} else if ((unsigned char)*s >= 0x20) {
			buf[o++] = *s;
		}
	}
	buf[o] = 0;
}

/* Warm colours, fixed per name so two graphs of the same program match. */
static void colour(const char *name, char *buf, size_t len)
{
	uint32_t h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(buf, len, "rgb(%u,%u,%u)", 205 + (h % 50), 80 + ((h >> 8) % 140), (h >> 16) % 55);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct fg_node *const *)a)->name, (*(struct fg_node *const *)b)->name);
}

static void draw(const struct flamegraph *fg, const struct fg_node *n, FILE *out, double x, size_t level,
		 double per_unit, const char *unit)
{
	size_t k = 0, i = 0;
	struct fg_node **kids;
	double w = n->weight * per_unit;

	if (n != &fg->root && w >= 0.1) {
		double y = FG_TOP + (double)(fg->depth - level) * FG_FRAME_H;
		char esc[1024], fill[32], text[256];
		size_t fit = w > 2 * FG_CHAR_W ? (size_t)((w - 6) / FG_CHAR_W) : 0;

		xml_escape(n->name, esc, sizeof(esc));
		colour(n->name, fill, sizeof(fill));
		fprintf(out,
			"<g><title>%s (%llu %s, %.2f%%)</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%d\" fill=\"%s\" rx=\"2\" ry=\"2\"/>",
			esc, (unsigned long long)n->weight, unit, 100.0 * n->weight / fg->root.weight, x, y, w,
			FG_FRAME_H - 1, fill);
		if (fit >= 3) {
			/* Truncate by characters of the name, then escape. */
			char cut[256];

			snprintf(cut, sizeof(cut), "%s", n->name);
			if (strlen(cut) > fit) {
				cut[fit > 2 ? fit - 2 : 0] = 0;
				strcat(cut, "..");
			}
			xml_escape(cut, text, sizeof(text));
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", x + 3, y + FG_FRAME_H - 4.5, text);
		}
		fprintf(out, "</g>\n");
	}
	for (struct fg_node *c = n->children; c; c = c->next)
		k++;
	if (!k)
		return;
	kids = malloc(k * sizeof(*kids));
	if (!kids)
		return;
	for (struct fg_node *c = n->children; c; c = c->next)
		kids[i++] = c;
	qsort(kids, k, sizeof(*kids), by_name);
	for (i = 0; i < k; i++) {
		draw(fg, kids[i], out, x, level + 1, per_unit, unit);
		x += kids[i]->weight * per_unit;
	}
	free(kids);
}

int flamegraph_svg(const struct flamegraph *fg, FILE *out, const char *title, const char *unit)
{
	double height = FG_TOP + (fg->depth + 1) * FG_FRAME_H + 2 * FG_PAD;
	double per_unit = fg->root.weight ? (FG_WIDTH - 2 * FG_PAD) / fg->root.weight : 0;
	char esc[512];

	xml_escape(title, esc, sizeof(esc));
	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: rgb(0,0,0); }"
		" .title { font-size: 17px; }</style>\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"rgb(250,250,240)\"/>\n"
		"<text class=\"title\" x=\"%.0f\" y=\"24\" text-anchor=\"middle\">%s</text>\n",
		FG_WIDTH, height, FG_WIDTH, height, FG_WIDTH / 2, esc);
	if (!fg->root.weight)
		fprintf(out, "<text x=\"%.0f\" y=\"%d\">no samples</text>\n", FG_PAD, FG_TOP + FG_FRAME_H);
	else
		draw(fg, &fg->root, out, FG_PAD, 0, per_unit, unit);
	fprintf(out, "</svg>\n");
	return ferror(out) ? -EIO : 0;
}

void folded_line(FILE *out, const char *const *frames, size_t n, uint64_t weight)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(';', out);
		for (const char *p = frames[i]; *p; p++)
			fputc(*p == ';' ? ':' : *p == '\n' ? ' ' : *p, out);
	}
	fprintf(out, " %llu\n", (unsigned long long)weight);
}
