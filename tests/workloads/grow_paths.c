/*
 * grow_paths: memory growth from known functions, in known amounts, for the
 * growth-attribution tests (faultline trace). Each kind of growth happens in
 * its own function, never inlined, built with frame pointers:
 *   leak_via_malloc   malloc(--block) until --malloc bytes, never freed
 *   churn_via_malloc  --churn malloc/free pairs (nothing outstanding)
 *   grow_via_mmap     one anonymous mmap of --mmap bytes, not touched
 *   touch_pages       writes one byte per page of --touch bytes (mapped
 *                     before ARMED, so only the faults are measured)
 *   grow_via_brk      raw brk growth of --brk bytes, every page touched
 *   lib_fill_pages    (libgrowpaths.so) mmap + touch of --lib bytes
 *   fill_via_memset   memset of --memset bytes (mapped before ARMED): the
 *                     faults happen in the C library's frame-less memset
 * Prints ARMED <pid>, waits for a line on stdin, grows, prints READY with the
 * amounts, then holds until stdin closes (or --rounds more times, --gap-ms
 * apart, before READY).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "wl_common.h"

void *lib_fill_pages(size_t bytes, size_t page);

static void *volatile keep; /* so the leaked blocks stay reachable */

__attribute__((noipa)) static uint64_t leak_via_malloc(uint64_t total, uint64_t block, size_t page)
{
	uint64_t done = 0;

	while (done + block <= total) {
		char *p = malloc(block);

		if (!p)
			wl_die("malloc %llu", (unsigned long long)block);
		for (uint64_t off = 0; off < block; off += page)
			((volatile char *)p)[off] = 1;
		*(void **)p = keep;
		keep = p;
		done += block;
	}
	return done;
}

__attribute__((noipa)) static void churn_via_malloc(uint64_t n, uint64_t block)
{
	for (uint64_t i = 0; i < n; i++) {
		char *volatile p = malloc(block);

		free(p);
	}
}

__attribute__((noipa)) static void *grow_via_mmap(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		wl_die("mmap %llu", (unsigned long long)bytes);
	return p;
}

static uint64_t pages_touched;

__attribute__((noipa)) static void count_pages(uint64_t n)
{
	pages_touched += n;
}

/* Not a leaf (it calls count_pages): gcc 12 gives leaf functions no frame
 * even with -mno-omit-leaf-frame-pointer, which would hide main. */
__attribute__((noipa)) static void touch_pages(char *p, uint64_t bytes, size_t page)
{
	for (uint64_t off = 0; off < bytes; off += page)
		((volatile char *)p)[off] = 1;
	count_pages(bytes / page);
}

__attribute__((noipa)) static void fill_via_memset(char *p, uint64_t bytes)
{
	memset(p, 1, bytes);
}

/* Raw syscall: glibc's sbrk would put a frame-less sbrk between us and the
 * brk call, hiding this function from a frame-pointer walk. */
__attribute__((noipa)) static void grow_via_brk(uint64_t bytes, size_t page)
{
	unsigned long cur = (unsigned long)syscall(SYS_brk, 0), want = cur + bytes;

	if ((unsigned long)syscall(SYS_brk, want) != want)
		wl_die("brk to %#lx", want);
	for (unsigned long a = cur; a < want; a += page)
		((volatile char *)a)[0] = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "malloc", required_argument, NULL, 'm' }, { "block", required_argument, NULL, 'b' },
		{ "churn", required_argument, NULL, 'c' },  { "mmap", required_argument, NULL, 'M' },
		{ "touch", required_argument, NULL, 't' },  { "brk", required_argument, NULL, 'k' },
		{ "lib", required_argument, NULL, 'l' },    { "rounds", required_argument, NULL, 'r' },
		{ "gap-ms", required_argument, NULL, 'g' }, { "memset", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t mall = 0, block = 64 << 10, churn = 0, mm = 0, touch = 0, brk_b = 0, lib = 0, rounds = 1, gap = 0;
	uint64_t mset = 0;
	char *mset_region = NULL;
	uint64_t leaked = 0, churn_ns = 0, churn_cpu_ns = 0;
	size_t page;
	char *region = NULL;
	int c;

	wl_init(argv[0], 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mall = wl_opt_size("malloc", optarg); break;
		case 'b': block = wl_opt_size("block", optarg); break;
		case 'c': churn = wl_opt_u64("churn", optarg, 0, 100000000); break;
		case 'M': mm = wl_opt_size("mmap", optarg); break;
		case 't': touch = wl_opt_size("touch", optarg); break;
		case 'k': brk_b = wl_opt_size("brk", optarg); break;
		case 'l': lib = wl_opt_size("lib", optarg); break;
		case 'r': rounds = wl_opt_u64("rounds", optarg, 1, 1000000); break;
		case 'g': gap = wl_opt_u64("gap-ms", optarg, 0, 3600000); break;
		case 's': mset = wl_opt_size("memset", optarg); break;
		case 'h':
			printf("Usage: %s [--malloc BYTES --block BYTES] [--churn N] [--mmap BYTES] [--touch BYTES]\n"
			       "          [--brk BYTES] [--lib BYTES] [--memset BYTES] [--rounds N --gap-ms MS]\n"
			       "Grows memory from known functions (see the comment at the top of grow_paths.c);\n"
			       "every amount is per round. ARMED <pid>, a line on stdin, then READY <pid> ...\n",
			       wl_prog);
			return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	page = (size_t)wl_page_size();
	if (!block || (touch | brk_b | lib | mm | mset) % page)
		wl_usage_error("--block must be > 0; --touch, --brk, --lib, --mmap, --memset page aligned");
	/* The region touch_pages faults in, mapped before the measured phase. */
	if (touch) {
		region = mmap(NULL, touch * rounds, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED)
			wl_die("mmap the touch region");
		madvise(region, touch * rounds, MADV_NOHUGEPAGE);
	}
	if (mset) {
		mset_region = mmap(NULL, mset * rounds, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mset_region == MAP_FAILED)
			wl_die("mmap the memset region");
		madvise(mset_region, mset * rounds, MADV_NOHUGEPAGE);
	}
	printf("ARMED %ld\n", (long)getpid());
	fflush(stdout);
	if (wl_wait_line() < 0)
		return 0;
	for (uint64_t r = 0; r < rounds; r++) {
		if (r && gap)
			wl_sleep_ns(gap * 1000000ull);
		if (mall)
			leaked += leak_via_malloc(mall, block, page);
		if (churn) {
			uint64_t t0 = wl_now_ns(), c0 = wl_cpu_ns();

			churn_via_malloc(churn, block);
			churn_ns += wl_now_ns() - t0;
			churn_cpu_ns += wl_cpu_ns() - c0;
		}
		if (mm)
			grow_via_mmap(mm);
		if (touch)
			touch_pages(region + r * touch, touch, page);
		if (brk_b)
			grow_via_brk(brk_b, page);
		if (mset)
			fill_via_memset(mset_region + r * mset, mset);
		if (lib && !lib_fill_pages(lib, page))
			wl_die("lib_fill_pages %llu", (unsigned long long)lib);
	}
	wl_ready("malloc_bytes=%llu malloc_blocks=%llu churn=%llu mmap_bytes=%llu touch_pages=%llu brk_bytes=%llu "
		 "lib_pages=%llu memset_pages=%llu page=%zu churn_ns=%llu churn_cpu_ns=%llu",
		 (unsigned long long)leaked, (unsigned long long)(leaked / block), (unsigned long long)(churn * rounds),
		 (unsigned long long)(mm * rounds), (unsigned long long)(touch / page * rounds),
		 (unsigned long long)(brk_b * rounds), (unsigned long long)(lib / page * rounds),
		 (unsigned long long)(mset / page * rounds), page,
		 (unsigned long long)churn_ns, (unsigned long long)churn_cpu_ns);
	wl_hold(-1);
	return 0;
}
