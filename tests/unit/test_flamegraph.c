/* Flame graph tree, SVG and folded lines as `faultline trace` writes them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"

static char *render(const struct flamegraph *fg, const char *title)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(flamegraph_svg(fg, f, title, "pages"), 0);
	fclose(f);
	return out;
}

static void merges_common_prefixes(void **state)
{
	struct flamegraph fg;
	const char *a[] = { "prog", "main", "touch_pages" };
	const char *b[] = { "prog", "main", "leak_via_malloc" };
	const char *c[] = { "prog", "main", "touch_pages" };

	flamegraph_init(&fg);
	assert_int_equal(flamegraph_add(&fg, a, 3, 100), 0);
	assert_int_equal(flamegraph_add(&fg, b, 3, 50), 0);
	assert_int_equal(flamegraph_add(&fg, c, 3, 25), 0);
	assert_int_equal(flamegraph_add(&fg, c, 3, 0), 0); /* no weight: nothing */
	assert_int_equal(fg.root.weight, 175);
	assert_int_equal(fg.depth, 3);
	assert_non_null(fg.root.children);
	assert_null(fg.root.children->next);               /* one root: prog */
	assert_int_equal(fg.root.children->children->weight, 175); /* main */
	struct fg_node *n = fg.root.children->children->children;
	uint64_t touch = 0, leak = 0;
	for (; n; n = n->next) {
		if (!strcmp(n->name, "touch_pages"))
			touch = n->weight;
		if (!strcmp(n->name, "leak_via_malloc"))
			leak = n->weight;
	}
	assert_int_equal(touch, 125);
	assert_int_equal(leak, 50);
	flamegraph_free(&fg);
}

static void svg_widths_and_escaping(void **state)
{
	struct flamegraph fg;
	const char *a[] = { "prog", "operator<<(a&b)" };
	const char *b[] = { "prog", "main" };
	char *svg;

	flamegraph_init(&fg);
	flamegraph_add(&fg, a, 2, 3);
	flamegraph_add(&fg, b, 2, 1);
	svg = render(&fg, "faults \"by\" pages");
	assert_non_null(strstr(svg, "<?xml"));
	assert_non_null(strstr(svg, "</svg>"));
	assert_non_null(strstr(svg, "faults &quot;by&quot; pages"));
	assert_non_null(strstr(svg, "operator&lt;&lt;(a&amp;b) (3 pages, 75.00%)"));
	assert_null(strstr(svg, "<<"));
	/* The root spans the whole width (1200 - 2 * 10); main takes a quarter,
	 * and comes first (children sorted by name). */
	assert_non_null(strstr(svg, "<title>prog (4 pages, 100.00%)</title><rect x=\"10.0\" y=\"56.0\" width=\"1180.0\""));
	assert_non_null(strstr(svg, "<title>main (1 pages, 25.00%)</title><rect x=\"10.0\" y=\"40.0\" width=\"295.0\""));
	assert_non_null(strstr(svg, "<rect x=\"305.0\" y=\"40.0\" width=\"885.0\""));
	free(svg);
	flamegraph_free(&fg);
}

static void empty_graph_says_so(void **state)
{
	struct flamegraph fg;
	char *svg;

	flamegraph_init(&fg);
	svg = render(&fg, "nothing");
	assert_non_null(strstr(svg, "no samples"));
	free(svg);
}

static void long_names_are_cut_to_fit(void **state)
{
	struct flamegraph fg;
	const char *a[] = { "a_very_long_function_name_that_cannot_fit_in_a_narrow_box" };
	const char *b[] = { "wide" };
	char *svg;

	flamegraph_init(&fg);
	flamegraph_add(&fg, a, 1, 4);
	flamegraph_add(&fg, b, 1, 96);
	svg = render(&fg, "t");
	/* 4 % of 1180 px is 47.2 px: room for 5 characters, "a_v" and "..";
	 * the full name stays in the tooltip. */
	assert_non_null(strstr(svg, ">a_v..</text>"));
	assert_non_null(strstr(svg, "<title>a_very_long_function_name_that_cannot_fit_in_a_narrow_box (4 pages"));
	assert_non_null(strstr(svg, ">wide</text>"));
	flamegraph_free(&fg);
	/* Narrower than three characters: no label at all. */
	flamegraph_init(&fg);
	flamegraph_add(&fg, a, 1, 1);
	flamegraph_add(&fg, b, 1, 99);
	free(svg);
	svg = render(&fg, "t");
	assert_null(strstr(svg, "\">a_"));
	free(svg);
	flamegraph_free(&fg);
}

static void folded_lines(void **state)
{
	const char *a[] = { "prog", "ns;odd", "leaf fn" };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	folded_line(f, a, 3, 4096);
	fclose(f);
	assert_string_equal(out, "prog;ns:odd;leaf fn 4096\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merges_common_prefixes),
		cmocka_unit_test(svg_widths_and_escaping),
		cmocka_unit_test(empty_graph_says_so),
		cmocka_unit_test(long_names_are_cut_to_fit),
		cmocka_unit_test(folded_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
