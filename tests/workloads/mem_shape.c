/*
 * mem_shape: memory that follows one known shape over time, for the leak
 * analysis tests (the "zoo"). Every shape touches what it means to own, so
 * the ground truth is what it prints and what /proc says.
 *
 *   leak       malloc()s small blocks (the brk heap) at --rate, never frees
 *   mmap-leak  mmap()s anonymous chunks at --rate, never unmaps
 *   plateau    grows to --size at --rate, then holds it (a cache warming up)
 *   sawtooth   grows to --size at --rate, gives it all back, again and again
 *   gc-leak    a sawtooth over a floor that rises --leak bytes/s (mmap'd and
 *              touched, never given back): a collected heap that leaks
 *   churn      maps, touches and unmaps --size every step, all the time
 *   constant   maps and touches --size at once, then holds it
 *   reserved   maps --rate bytes/s of address space and never touches it
 *   file       maps --file (created with --size bytes) and reads it at --rate:
 *              file-backed RSS grows, anonymous memory does not
 *
 * Prints "READY <pid> shape=S rate=R size=N start_ms=T" (T: CLOCK_REALTIME
 * milliseconds when the shape began), then runs until stdin reaches EOF,
 * SIGTERM/SIGINT, or --hold seconds (--detached: stdin is ignored, for a
 * service whose stdin is /dev/null). A plateau or a constant prints
 * "FLAT t_ms=T" when it reaches its size; a sawtooth prints "FALL n=N t_ms=T"
 * at every fall.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "wl_common.h"

#define STEP_MS 100
#define BLOCK (16u << 10) /* malloc block of the heap leak: below the mmap threshold */

enum shape { LEAK, MMAP_LEAK, PLATEAU, SAWTOOTH, CHURN, CONSTANT, RESERVED, FILE_READ, GC_LEAK };
static const char *const shape_names[] = { "leak", "mmap-leak", "plateau", "sawtooth", "churn",
					   "constant", "reserved", "file", "gc-leak" };

static void usage(void)
{
	printf("Usage: %s --shape SHAPE [--rate BYTES] [--size BYTES] [--file PATH] [--leak BYTES]\n"
	       "       [--rest SECONDS] [--hold SECONDS] [--detached]\n"
	       "\n"
	       "SHAPE is one of: leak, mmap-leak, plateau, sawtooth, churn, constant, reserved, file,\n"
	       "gc-leak (see the top of mem_shape.c). --rate is bytes per second (default 1M),\n"
	       "--size the plateau/sawtooth/churn/constant/file size (default 64M), --leak the\n"
	       "gc-leak's floor growth in bytes per second (default 64K), --rest how long a\n"
	       "sawtooth stays at its trough before growing again (default 0).\n"
	       "Holds until stdin reaches EOF, SIGTERM/SIGINT, or --hold elapses;\n"
	       "--detached ignores stdin.\n",
	       wl_prog);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void touch(char *p, size_t len)
{
	size_t ps = (size_t)wl_page_size();

	for (size_t off = 0; off < len; off += ps)
		((volatile char *)p)[off] = 1;
}

static char *map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		wl_die("mmap %zu bytes", len);
	return p;
}

static int detached;

/* Sleeps one step, or returns 0 when told to stop (stdin EOF or a signal). */
static int step_wait(uint64_t deadline_ns)
{
	struct pollfd pfd = { .fd = detached ? -1 : 0, .events = POLLIN };
	uint64_t now = wl_now_ns();
	char buf[256];

	if (wl_stop_signal || (deadline_ns && now >= deadline_ns))
		return 0;
	if (poll(&pfd, 1, STEP_MS) > 0) {
		ssize_t r = read(0, buf, sizeof(buf));

		if (r <= 0)
			return 0;
	}
	return !wl_stop_signal;
}

static char *make_file(const char *path, size_t size)
{
	static char block[1 << 16];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *p;

	if (fd < 0)
		wl_die("open %s", path);
	memset(block, 'x', sizeof(block));
	for (size_t done = 0; done < size; done += sizeof(block))
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			wl_die("write %s", path);
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		wl_die("mmap %s", path);
	close(fd);
	return p;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "shape", required_argument, NULL, 's' }, { "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 'z' },  { "file", required_argument, NULL, 'f' },
		{ "hold", required_argument, NULL, 'H' },  { "help", no_argument, NULL, 'h' },
		{ "detached", no_argument, NULL, 'D' },    { "leak", required_argument, NULL, 'L' },
		{ "rest", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t rate = 1 << 20, size = 64 << 20, per_step, deadline = 0, done = 0, falls = 0;
	uint64_t leak_rate = 64 << 10, leak_step, leaked = 0, rest_ns = 0, rest_until = 0;
	const char *file = NULL;
	double hold = -1;
	int shape = -1, c;
	size_t ps;
	char *region = NULL, *fmap = NULL;
	volatile char sink = 0;

	wl_init(argv[0], 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			for (int i = 0; i < (int)(sizeof(shape_names) / sizeof(shape_names[0])); i++)
				if (!strcmp(optarg, shape_names[i]))
					shape = i;
			if (shape < 0)
				wl_usage_error("--shape: unknown shape '%s'", optarg);
			break;
		case 'r': rate = wl_opt_size("rate", optarg); break;
		case 'z': size = wl_opt_size("size", optarg); break;
		case 'f': file = optarg; break;
		case 'H': hold = wl_opt_seconds("hold", optarg); break;
		case 'D': detached = 1; break;
		case 'L': leak_rate = wl_opt_size("leak", optarg); break;
		case 'R': rest_ns = (uint64_t)(wl_opt_seconds("rest", optarg) * 1e9); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (shape < 0)
		wl_usage_error("--shape is required");
	if (shape == FILE_READ && !file)
		wl_usage_error("--shape file needs --file PATH");
	ps = (size_t)wl_page_size();
	per_step = rate * STEP_MS / 1000;
	per_step = (per_step + ps - 1) / ps * ps;
	size = (size + ps - 1) / ps * ps;
	if (!per_step)
		wl_usage_error("--rate is too small");
	leak_step = (leak_rate * STEP_MS / 1000 + ps - 1) / ps * ps;
	if (hold > 0)
		deadline = wl_now_ns() + (uint64_t)(hold * 1e9);
	if (shape == FILE_READ)
		fmap = make_file(file, size);
	if (shape == SAWTOOTH || shape == PLATEAU || shape == GC_LEAK)
		region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (region == MAP_FAILED)
		wl_die("mmap %llu bytes", (unsigned long long)size);

	wl_ready("shape=%s rate=%llu size=%llu start_ms=%llu", shape_names[shape], (unsigned long long)rate,
		 (unsigned long long)size, (unsigned long long)wall_ms());
	if (shape == CONSTANT) {
		touch(map_anon(size), size);
		printf("FLAT t_ms=%llu\n", (unsigned long long)wall_ms());
		fflush(stdout);
	}
	do {
		switch (shape) {
		case LEAK:
			for (uint64_t b = 0; b < per_step; b += BLOCK) {
				char *p = malloc(BLOCK);

				if (!p)
					wl_die("malloc");
				memset(p, 1, BLOCK); /* and the pointer is dropped: leaked */
			}
			break;
		case MMAP_LEAK:
			touch(map_anon(per_step), per_step);
			break;
		case PLATEAU:
			if (done < size) {
				uint64_t n = size - done < per_step ? size - done : per_step;

				touch(region + done, n);
				done += n;
				if (done == size) {
					printf("FLAT t_ms=%llu\n", (unsigned long long)wall_ms());
					fflush(stdout);
				}
			}
			break;
		case GC_LEAK:
			touch(map_anon(leak_step), leak_step);
			leaked += leak_step;
			/* the teeth over the leak: */
			__attribute__((fallthrough));
		case SAWTOOTH: {
			uint64_t n = size - done < per_step ? size - done : per_step;

			if (wl_now_ns() < rest_until)
				break; /* resting at the trough */
			touch(region + done, n);
			done += n;
			if (done == size) {
				/* Give it all back to the kernel; the mapping stays. */
				if (madvise(region, size, MADV_DONTNEED))
					wl_die("madvise");
				done = 0;
				rest_until = wl_now_ns() + rest_ns;
				printf("FALL n=%llu t_ms=%llu leaked=%llu\n", (unsigned long long)++falls,
				       (unsigned long long)wall_ms(), (unsigned long long)leaked);
				fflush(stdout);
			}
			break;
		}
		case CHURN: {
			char *p = map_anon(size);

			touch(p, size);
			munmap(p, size);
			break;
		}
		case RESERVED:
			map_anon(per_step); /* never touched */
			break;
		case FILE_READ:
			for (uint64_t i = 0; i < per_step && done < size; i += ps, done += ps)
				sink += fmap[done];
			break;
		}
	} while (step_wait(deadline));
	(void)sink;
	if (file)
		unlink(file);
	return 0;
}
