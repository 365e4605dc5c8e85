/*
 * heap_grow: an exactly known sequence of brk/mmap/munmap/mremap calls.
 *
 * The integration test takes a baseline from the daemon after ARMED, lets
 * us run the measured phase, and expects the daemon's per-process totals to
 * have grown by exactly what READY reports. So within the measured phase
 * every memory-mapping syscall is issued here, raw, and counted; libc must
 * not get a chance to add its own (no malloc, no stdio buffer allocation, no
 * brk(0) queries), and neither may anything between READY and exit.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <getopt.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "wl_common.h"

#ifndef SYS_mmap
#error "heap_grow needs the plain mmap syscall (64-bit architectures)"
#endif

static void usage(void)
{
	printf("Usage: %s --brk BYTES --mmap BYTES --chunks N [--touch]\n"
	       "       [--munmap BYTES] [--mremap-grow BYTES] [--hold SECONDS]\n"
	       "\n"
	       "Prints 'ARMED <pid>', waits for one line on stdin (EOF also starts it),\n"
	       "then, in the measured phase:\n"
	       "  1. grows the heap with N brk calls of BYTES/N each (--brk),\n"
	       "  2. maps N anonymous private chunks of BYTES/N each (--mmap),\n"
	       "  3. unmaps whole chunks, first chunk first, --munmap bytes in total,\n"
	       "  4. grows the last chunk by --mremap-grow bytes (MREMAP_MAYMOVE).\n"
	       "--touch writes one byte per page of the heap growth, the chunks and the\n"
	       "mremap growth. Then it prints\n"
	       "  READY <pid> brk_calls=.. brk_bytes=.. mmap_calls=.. mmap_bytes=..\n"
	       "        munmap_calls=.. munmap_bytes=.. mremap_calls=.. mremap_grow_bytes=..\n"
	       "        start_brk=0x.. brk_before=0x.. end_brk=0x..\n"
	       "(one line) and holds until stdin reaches EOF, SIGTERM/SIGINT, or --hold\n"
	       "elapses. The counts are exactly the syscalls issued in the measured phase;\n"
	       "start_brk is the kernel's start of the heap (/proc/self/stat field 47).\n"
	       "\n"
	       "Sizes take K/M/G suffixes. BYTES/N must divide exactly and be a multiple\n"
	       "of the page size; 0 skips that step. --munmap must be a whole number of\n"
	       "chunks; --mremap-grow must be page aligned and needs a chunk left.\n"
	       "\n"
	       "  --brk BYTES          heap growth by brk (default 0)\n"
	       "  --mmap BYTES         anonymous bytes mapped in chunks (default 0)\n"
	       "  --chunks N           number of brk steps and of mmap chunks (default 1)\n"
	       "  --touch              touch every page that was added\n"
	       "  --munmap BYTES       bytes of chunks to unmap again (default 0)\n"
	       "  --mremap-grow BYTES  growth of the last chunk by mremap (default 0)\n"
	       "  --hold SECONDS       hold at most this long; 0 exits right after READY\n"
	       "  --help               this text\n",
	       wl_prog);
}

/*
 * The kernel's mm->start_brk, read with raw open/read: fopen would malloc.
 * Field 47 of /proc/self/stat; the comm field may contain spaces, so count
 * from the last ')'.
 */
static unsigned long read_start_brk(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd, field;

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		wl_die("open /proc/self/stat");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		wl_die("read /proc/self/stat");
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		wl_die("parse /proc/self/stat");
	/* p + 2 is field 3 (state). */
	p += 2;
	for (field = 3; field < 47 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		wl_die("/proc/self/stat has no start_brk field");
	return strtoul(p, NULL, 10);
}

static void touch(char *p, size_t len, size_t ps)
{
	for (size_t off = 0; off < len; off += ps)
		((volatile char *)p)[off] = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "brk", required_argument, NULL, 'b' },
		{ "mmap", required_argument, NULL, 'm' },
		{ "chunks", required_argument, NULL, 'n' },
		{ "touch", no_argument, NULL, 't' },
		{ "munmap", required_argument, NULL, 'u' },
		{ "mremap-grow", required_argument, NULL, 'r' },
		{ "hold", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t brk_total = 0, mmap_total = 0, chunks = 1, unmap_total = 0, grow = 0;
	uint64_t brk_step, chunk, unmap_chunks;
	uint64_t brk_calls = 0, brk_bytes = 0, mmap_calls = 0, mmap_bytes = 0;
	uint64_t munmap_calls = 0, munmap_bytes = 0, mremap_calls = 0, mremap_bytes = 0;
	unsigned long start_brk, brk_before, cur;
	int do_touch = 0, c;
	double hold = -1;
	size_t ps;
	char **chunk_addr;

	wl_init(argv[0], 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': brk_total = wl_opt_size("brk", optarg); break;
		case 'm': mmap_total = wl_opt_size("mmap", optarg); break;
		case 'n': chunks = wl_opt_u64("chunks", optarg, 1, 1000000); break;
		case 't': do_touch = 1; break;
		case 'u': unmap_total = wl_opt_size("munmap", optarg); break;
		case 'r': grow = wl_opt_size("mremap-grow", optarg); break;
		case 'H': hold = wl_opt_seconds("hold", optarg); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);

	ps = (size_t)wl_page_size();
	brk_step = brk_total / chunks;
	chunk = mmap_total / chunks;
	if (brk_total % chunks || brk_step % ps)
		wl_usage_error("--brk %llu is not %llu equal page-aligned steps", (unsigned long long)brk_total,
			       (unsigned long long)chunks);
	if (mmap_total % chunks || chunk % ps)
		wl_usage_error("--mmap %llu is not %llu equal page-aligned chunks", (unsigned long long)mmap_total,
			       (unsigned long long)chunks);
	if (unmap_total && (!chunk || unmap_total % chunk || unmap_total > mmap_total))
		wl_usage_error("--munmap %llu is not a whole number of the %llu-byte chunks mapped",
			       (unsigned long long)unmap_total, (unsigned long long)chunk);
	unmap_chunks = chunk ? unmap_total / chunk : 0;
	if (grow % ps)
		wl_usage_error("--mremap-grow %llu is not page aligned", (unsigned long long)grow);
	if (grow && (!chunk || unmap_chunks == chunks))
		wl_usage_error("--mremap-grow needs a mapped chunk left after --munmap");

	/*
	 * Everything that could map memory happens now, before ARMED: the
	 * chunk table (mapped directly so malloc's heap never exists to
	 * disagree with our raw brk calls), the brk query, the first printf.
	 */
	chunk_addr = mmap(NULL, chunks * sizeof(*chunk_addr), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (chunk_addr == MAP_FAILED)
		wl_die("mmap chunk table");
	memset(chunk_addr, 0, chunks * sizeof(*chunk_addr));
	start_brk = read_start_brk();
	brk_before = (unsigned long)syscall(SYS_brk, 0);
	cur = brk_before;
	printf("ARMED %ld\n", (long)getpid());
	fflush(stdout);
	if (wl_wait_line() < 0)
		return 0;

	/* ---- measured phase: raw syscalls only ---- */
	if (brk_step) {
		for (uint64_t i = 0; i < chunks; i++) {
			unsigned long want = cur + brk_step;
			unsigned long got = (unsigned long)syscall(SYS_brk, want);

			brk_calls++;
			/* The raw brk reports failure by returning the old break. */
			if (got != want)
				wl_die("brk to %#lx failed (break stays at %#lx)", want, got);
			if (do_touch)
				touch((char *)cur, brk_step, ps);
			cur = want;
			brk_bytes += brk_step;
		}
	}
	if (chunk) {
		for (uint64_t i = 0; i < chunks; i++) {
			void *p = (void *)syscall(SYS_mmap, NULL, (size_t)chunk, PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			mmap_calls++;
			if (p == MAP_FAILED)
				wl_die("mmap chunk %llu of %llu bytes", (unsigned long long)i,
				       (unsigned long long)chunk);
			chunk_addr[i] = p;
			mmap_bytes += chunk;
			if (do_touch)
				touch(p, chunk, ps);
		}
	}
	for (uint64_t i = 0; i < unmap_chunks; i++) {
		munmap_calls++;
		if (syscall(SYS_munmap, chunk_addr[i], (size_t)chunk))
			wl_die("munmap chunk %llu", (unsigned long long)i);
		chunk_addr[i] = NULL;
		munmap_bytes += chunk;
	}
	if (grow) {
		char *old = chunk_addr[chunks - 1];
		char *p = (char *)syscall(SYS_mremap, old, (size_t)chunk, (size_t)(chunk + grow), MREMAP_MAYMOVE);

		mremap_calls++;
		if (p == MAP_FAILED)
			wl_die("mremap grow by %llu", (unsigned long long)grow);
		chunk_addr[chunks - 1] = p;
		mremap_bytes += grow;
		if (do_touch)
			touch(p + chunk, grow, ps);
	}
	/* ---- end of measured phase ---- */

	wl_ready("brk_calls=%llu brk_bytes=%llu mmap_calls=%llu mmap_bytes=%llu munmap_calls=%llu "
		 "munmap_bytes=%llu mremap_calls=%llu mremap_grow_bytes=%llu start_brk=%#lx brk_before=%#lx "
		 "end_brk=%#lx",
		 (unsigned long long)brk_calls, (unsigned long long)brk_bytes, (unsigned long long)mmap_calls,
		 (unsigned long long)mmap_bytes, (unsigned long long)munmap_calls,
		 (unsigned long long)munmap_bytes, (unsigned long long)mremap_calls,
		 (unsigned long long)mremap_bytes, start_brk, brk_before, cur);
	wl_hold(hold);
	/* Deliberately no munmap/brk on the way out: the process exit frees it all. */
	return 0;
}
