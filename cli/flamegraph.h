/* Flame graphs rendered by faultline itself (pure: no socket, no JSON):
 * stacks are added root first with a weight, merged into a tree, and drawn
 * as SVG the way Brendan Gregg's flamegraph.pl draws them (root at the
 * bottom, children sorted by name, width proportional to weight). Also the
 * folded-stack lines those tools read. */
#ifndef FAULTLINE_FLAMEGRAPH_H
#define FAULTLINE_FLAMEGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fg_node {
	char *name;
	uint64_t weight; /* this frame and everything above it */
	struct fg_node *children, *next;
};

struct flamegraph {
	struct fg_node root; /* name NULL; weight is the total */
	size_t depth;        /* deepest stack added */
};

void flamegraph_init(struct flamegraph *fg);
/* frames[0] is the outermost (root) frame. 0 or -ENOMEM. */
int flamegraph_add(struct flamegraph *fg, const char *const *frames, size_t n, uint64_t weight);
/* title and unit ("pages", "bytes") go into the SVG; 0 or -errno. */
int flamegraph_svg(const struct flamegraph *fg, FILE *out, const char *title, const char *unit);
void flamegraph_free(struct flamegraph *fg);

/* One folded line: "root;...;leaf weight\n". A ';' inside a frame name
 * would split it, so it is written as ':'. */
void folded_line(FILE *out, const char *const *frames, size_t n, uint64_t weight);

/* XML text escaping into buf (always terminated). */
void xml_escape(const char *s, char *buf, size_t len);

#endif
