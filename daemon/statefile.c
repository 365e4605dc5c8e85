#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* On disk, little-endian:
 *   0  magic "FLSTATE\n"
 *   8  u32 version
 *  12  u32 header crc (of bytes 0..11 and 16..39)
 *  16  u64 payload length (uncompressed)
 *  24  u64 compressed length (bytes after the header)
 *  32  u32 crc of the compressed bytes
 *  36  u32 zero
 *  40  compressed payload */
#define HDR_LEN 40
static const char magic[8] = { 'F', 'L', 'S', 'T', 'A', 'T', 'E', '\n' };

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint32_t get32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t header_crc(const unsigned char *h)
{
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, h, 12);
	return crc32(c, h + 16, HDR_LEN - 16);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int statefile_write(const char *dir, const char *name, const void *payload, size_t len, char *err,
		    size_t errlen)
{
	char tmp[512], path[512];
	uLongf clen = compressBound(len);
	unsigned char *buf = malloc(HDR_LEN + clen);
	int fd = -1, dfd, r;

	if (!buf) {
		snprintf(err, errlen, "out of memory compressing %zu bytes of state", len);
		return -ENOMEM;
	}
	/* Level 1: a save runs in the event loop; speed matters more than the
	 * last few percent of size. */
	if (compress2(buf + HDR_LEN, &clen, payload, len, 1) != Z_OK) {
		free(buf);
		snprintf(err, errlen, "zlib could not compress %zu bytes of state", len);
		return -ENOMEM;
	}
	memcpy(buf, magic, 8);
	put32(buf + 8, STATEFILE_VERSION);
	put64(buf + 16, len);
	put64(buf + 24, clen);
	put32(buf + 32, crc32(crc32(0L, Z_NULL, 0), buf + HDR_LEN, clen));
	put32(buf + 36, 0);
	put32(buf + 12, header_crc(buf));

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	/* 0600: the records name every user's processes and command lines. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(-r));
		goto out;
	}
	if ((r = write_all(fd, buf, HDR_LEN + clen)) || (fsync(fd) && (r = -errno))) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(-r));
		goto out;
	}
	close(fd);
	fd = -1;
	if (getenv("FAULTLINE_TEST_SAVE_STALL")) {
		/* Test switch: stop between the complete temp file and the rename,
		 * so a test can kill the daemon in the middle of a save. */
		fprintf(stderr, "faultlined: test: save stalled before rename of %s\n", tmp);
		for (;;)
			pause();
	}
	if (rename(tmp, path)) {
		r = -errno;
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(-r));
		goto out;
	}
	/* The rename is durable only once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	r = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(buf);
	return r;
}

int statefile_decode(const void *file, size_t flen, void **payload, size_t *len, char *err, size_t errlen)
{
	const unsigned char *h = file;
	uint64_t plen, clen;
	uLongf out_len;
	unsigned char *out;
	uint32_t version;

	*payload = NULL;
	*len = 0;
	if (flen < HDR_LEN || memcmp(h, magic, 8)) {
		snprintf(err, errlen, flen ? "not a faultline state file (bad magic or %zu bytes)" : "empty file",
			 flen);
		return -EBADMSG;
	}
	if (get32(h + 12) != header_crc(h)) {
		snprintf(err, errlen, "header checksum mismatch");
		return -EBADMSG;
	}
	version = get32(h + 8);
	if (version > STATEFILE_VERSION) {
		snprintf(err, errlen, "written by a newer faultlined (format %u, this one reads up to %u)", version,
			 STATEFILE_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (version == 0) {
		snprintf(err, errlen, "format version 0");
		return -EBADMSG;
	}
	if (version < STATEFILE_VERSION) {
		/* The payload layout changed; an older one would be misread. */
		snprintf(err, errlen, "written by an older faultlined (format %u, this one reads format %u)", version,
			 STATEFILE_VERSION);
		return -EPROTONOSUPPORT;
	}
	plen = get64(h + 16);
	clen = get64(h + 24);
	if (clen != flen - HDR_LEN) {
		snprintf(err, errlen, "truncated or extended: %zu payload bytes, header says %llu",
			 flen - HDR_LEN, (unsigned long long)clen);
		return -EBADMSG;
	}
	/* zlib's deflate never shrinks more than ~1032:1: a bigger claim is a
	 * damaged header, not a reason to allocate. */
	if (plen > STATEFILE_MAX_PAYLOAD || plen > clen * 1032 + 64) {
		snprintf(err, errlen, "payload of %llu bytes is beyond any real state", (unsigned long long)plen);
		return -EBADMSG;
	}
	if (crc32(crc32(0L, Z_NULL, 0), h + HDR_LEN, clen) != get32(h + 32)) {
		snprintf(err, errlen, "payload checksum mismatch");
		return -EBADMSG;
	}
	out = malloc(plen ? plen : 1);
	if (!out) {
		snprintf(err, errlen, "out of memory for %llu bytes of state", (unsigned long long)plen);
		return -ENOMEM;
	}
	out_len = plen;
	if (uncompress(out, &out_len, h + HDR_LEN, clen) != Z_OK || out_len != plen) {
		free(out);
		snprintf(err, errlen, "payload does not decompress to the %llu bytes the header says",
			 (unsigned long long)plen);
		return -EBADMSG;
	}
	*payload = out;
	*len = plen;
	return 0;
}

int statefile_read(const char *dir, const char *name, void **payload, size_t *len, char *err, size_t errlen)
{
	char path[512];
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > STATEFILE_MAX_PAYLOAD) {
		close(fd);
		snprintf(err, errlen, "%s is not a regular file of a plausible size", path);
		return -EBADMSG;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	r = statefile_decode(buf, got, payload, len, err, errlen);
	free(buf);
	return r;
}

int statefile_set_aside(const char *dir, const char *name, time_t now, char *aside, size_t alen)
{
	char path[512];
	struct tm tm;
	char stamp[32];

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(aside, alen, "%s/%s.bad-%s", dir, name, stamp);
	/* Two bad files within one second: add a counter rather than overwrite. */
	for (int i = 1; access(aside, F_OK) == 0 && i < 100; i++)
		snprintf(aside, alen, "%s/%s.bad-%s-%d", dir, name, stamp, i);
	return rename(path, aside) ? -errno : 0;
}
