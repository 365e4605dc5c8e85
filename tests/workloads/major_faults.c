/*
 * major_faults: major page faults on demand.
 *
 * Writes a file, pushes it out of the page cache, maps it and reads one byte
 * per page. With readahead disabled on the mapping every page has to come
 * from the disk, so every read is (as far as the kernel allows) a major fault.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "wl_common.h"

/* Exit status when the file lives where the page cache cannot be dropped. */
#define EXIT_NOT_ON_DISK 3

static void usage(void)
{
	printf("Usage: %s --file PATH --size BYTES [--unlink] [--hold SECONDS]\n"
	       "\n"
	       "Creates (or overwrites) PATH with BYTES of non-zero data, fsyncs it,\n"
	       "evicts it from the page cache (posix_fadvise DONTNEED, checked with\n"
	       "mincore), maps it read-only with MADV_RANDOM and reads one byte per\n"
	       "page, then prints\n"
	       "  READY <pid> pages=N majflt=J minflt=M evicted=0|1 resident_before=R\n"
	       "and holds until stdin reaches EOF, SIGTERM/SIGINT, or --hold elapses.\n"
	       "majflt/minflt are the getrusage deltas over the reading loop alone;\n"
	       "resident_before is how many pages were still cached when reading began.\n"
	       "\n"
	       "PATH must be on a disk-backed filesystem (e.g. /var/tmp, not a tmpfs\n"
	       "/tmp): tmpfs pages cannot be evicted, so nothing would be a major\n"
	       "fault. A tmpfs or ramfs PATH exits with status 3.\n"
	       "\n"
	       "  --file PATH        the data file (required)\n"
	       "  --size BYTES       file size, K/M/G suffixes allowed (required, > 0)\n"
	       "  --unlink           delete the file before exiting\n"
	       "  --hold SECONDS     hold at most this long; 0 exits right after READY\n"
	       "  --help             this text\n",
	       wl_prog);
}

/* Refuses file systems whose pages live only in memory. */
static void check_disk_backed(const char *path)
{
	char *copy = strdup(path);
	struct statfs sfs;

	if (!copy)
		wl_die("strdup");
	/* The file may not exist yet: its directory decides where it will live. */
	if (statfs(dirname(copy), &sfs))
		wl_die("statfs %s", path);
	free(copy);
	if (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC) {
		fprintf(stderr,
			"%s: %s is on %s: its pages cannot be evicted from memory, so reading it\n"
			"cannot cause major faults. Put the file on a disk file system (e.g. /var/tmp).\n",
			wl_prog, path, sfs.f_type == TMPFS_MAGIC ? "tmpfs" : "ramfs");
		exit(EXIT_NOT_ON_DISK);
	}
}

static void write_file(const char *path, uint64_t size)
{
	static char buf[1 << 16];
	int fd;

	/* Non-zero bytes, so no file system can store the file as holes. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(0x41 + i % 26);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		wl_die("create %s", path);
	while (size) {
		size_t n = size < sizeof(buf) ? (size_t)size : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			wl_die("write %s", path);
		}
		size -= (uint64_t)w;
	}
	/* Dirty pages cannot be dropped by DONTNEED: they must hit the disk first. */
	if (fsync(fd))
		wl_die("fsync %s", path);
	if (close(fd))
		wl_die("close %s", path);
}

static size_t count_resident(void *addr, size_t len, unsigned char *vec, size_t pages)
{
	size_t n = 0;

	if (mincore(addr, len, vec))
		wl_die("mincore");
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "unlink", no_argument, NULL, 'u' },
		{ "hold", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	uint64_t size = 0;
	int do_unlink = 0, c, fd, attempt;
	double hold = -1;
	long ps, min0, maj0, min1, maj1;
	size_t pages, resident;
	unsigned char *vec;
	volatile unsigned long sum = 0;
	char *map;

	wl_init(argv[0], 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f': path = optarg; break;
		case 's': size = wl_opt_size("size", optarg); break;
		case 'u': do_unlink = 1; break;
		case 'H': hold = wl_opt_seconds("hold", optarg); break;
		case 'h': usage(); return 0;
		default: wl_bad_option();
		}
	}
	if (optind < argc)
		wl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!path || !*path)
		wl_usage_error("--file is required");
	if (!size)
		wl_usage_error("--size is required and must be > 0");
	if (size > SIZE_MAX / 2)
		wl_usage_error("--size is too large");

	check_disk_backed(path);
	write_file(path, size);

	ps = wl_page_size();
	pages = (size_t)((size + (uint64_t)ps - 1) / (uint64_t)ps);
	vec = calloc(pages, 1);
	if (!vec)
		wl_die("calloc");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		wl_die("open %s", path);
	map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		wl_die("mmap %s", path);
	/*
	 * Without MADV_RANDOM the first fault would read ahead (and fault-around
	 * map) many neighbouring pages, turning most reads into no fault at all.
	 */
	if (madvise(map, (size_t)size, MADV_RANDOM))
		wl_die("madvise MADV_RANDOM");

	/*
	 * DONTNEED is advisory: pages still under writeback or briefly pinned
	 * are skipped, so check with mincore and try again a few times.
	 */
	resident = pages;
	for (attempt = 0; attempt < 10 && resident; attempt++) {
		if (attempt) {
			sync();
			wl_sleep_ns(50 * 1000000ull);
		}
		errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (errno)
			wl_die("posix_fadvise DONTNEED");
		resident = count_resident(map, (size_t)size, vec, pages);
	}
	if (resident)
		fprintf(stderr, "%s: warning: %zu of %zu pages of %s are still in the page cache; "
				"those reads will not be major faults\n",
			wl_prog, resident, pages, path);

	wl_rusage(&min0, &maj0);
	for (size_t i = 0; i < pages; i++)
		sum += (unsigned char)map[i * (size_t)ps];
	wl_rusage(&min1, &maj1);
	(void)sum;

	wl_ready("pages=%zu majflt=%ld minflt=%ld evicted=%d resident_before=%zu", pages, maj1 - maj0,
		 min1 - min0, resident == 0, resident);
	wl_hold(hold);

	munmap(map, (size_t)size);
	close(fd);
	if (do_unlink && unlink(path))
		wl_die("unlink %s", path);
	return 0;
}
