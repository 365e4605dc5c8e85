#include "oomstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"

/* A record is a few KiB; anything claiming more than this is damage. */
#define OOMSTORE_MAX_PAYLOAD (1u << 20)

static void put_le32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

static uint32_t get_le32(const char *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)(unsigned char)p[i] << (8 * i);
	return v;
}

uint32_t oomstore_crc(const void *payload, uint32_t len)
{
	char lenbuf[4];
	uLong c = crc32(0L, Z_NULL, 0);

	/* The length is covered too: a damaged length never passes as valid. */
	put_le32(lenbuf, len);
	c = crc32(c, (const Bytef *)lenbuf, 4);
	c = crc32(c, (const Bytef *)payload, len);
	return (uint32_t)c;
}

void oomstore_frame(char *buf, const char *payload, uint32_t len)
{
	memcpy(buf, OOMSTORE_MAGIC, 4);
	put_le32(buf + 4, len);
	put_le32(buf + 8, oomstore_crc(payload, len));
	memcpy(buf + OOMSTORE_HDR, payload, len);
}

/* The frame at off, if it checks out: its parsed payload, else NULL. */
static json_object *frame_at(const char *buf, size_t size, size_t off, uint32_t *len_out)
{
	uint32_t len;
	json_object *o;
	struct json_tokener *tok;

	if (size - off < OOMSTORE_HDR || memcmp(buf + off, OOMSTORE_MAGIC, 4))
		return NULL;
	len = get_le32(buf + off + 4);
	if (len == 0 || len > OOMSTORE_MAX_PAYLOAD || len > size - off - OOMSTORE_HDR)
		return NULL;
	if (oomstore_crc(buf + off + OOMSTORE_HDR, len) != get_le32(buf + off + 8))
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, buf + off + OOMSTORE_HDR, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	*len_out = len;
	return o;
}

/* Takes text (malloc'd). */
static int push(struct oomstore *s, uint64_t id, char *text)
{
	if (s->len == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct oomrec *n = realloc(s->recs, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->recs = n;
		s->cap = ncap;
	}
	s->recs[s->len++] = (struct oomrec){ .id = id, .text = text };
	s->text_bytes += strlen(text) + 1;
	return 0;
}

static ssize_t index_of(const struct oomstore *s, uint64_t id)
{
	/* Newest first: lookups are for recent records. */
	for (size_t i = s->len; i-- > 0;)
		if (s->recs[i].id == id)
			return (ssize_t)i;
	return -1;
}

static json_object *parse_text(const char *text)
{
	json_object *o = json_tokener_parse(text);

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

json_object *oomstore_get(const struct oomstore *s, size_t i)
{
	return i < s->len ? parse_text(s->recs[i].text) : NULL;
}

json_object *oomstore_get_id(const struct oomstore *s, uint64_t id)
{
	ssize_t i = index_of(s, id);

	return i >= 0 ? parse_text(s->recs[i].text) : NULL;
}

const char *oomstore_text(const struct oomstore *s, size_t i)
{
	return i < s->len ? s->recs[i].text : NULL;
}

uint64_t oomstore_id(const struct oomstore *s, size_t i)
{
	return i < s->len ? s->recs[i].id : 0;
}

/* Replaces record i's outcome in memory (parse, set, serialise: rare). */
static int set_outcome(struct oomstore *s, size_t i, json_object *outcome)
{
	json_object *o = parse_text(s->recs[i].text);
	char *text;

	if (!o)
		return -EINVAL;
	json_object_object_add(o, "outcome", json_object_get(outcome));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (!text)
		return -ENOMEM;
	s->text_bytes = s->text_bytes + strlen(text) - strlen(s->recs[i].text);
	free(s->recs[i].text);
	s->recs[i].text = text;
	return 0;
}

static void apply_payload(struct oomstore *s, json_object *o, const char *payload, uint32_t len)
{
	json_object *id, *upd, *outcome;

	if (json_object_object_get_ex(o, "id", &id) && json_object_is_type(id, json_type_int)) {
		uint64_t n = json_object_get_uint64(id);
		char *text;

		if (n >= s->next_id)
			s->next_id = n + 1;
		if (n && index_of(s, n) < 0 && (text = strndup(payload, len)) != NULL) {
			if (push(s, n, text) == 0)
				s->stats.loaded++;
			else
				free(text);
		}
	} else if (json_object_object_get_ex(o, "update", &upd) &&
		   json_object_object_get_ex(o, "outcome", &outcome)) {
		ssize_t i = index_of(s, json_object_get_uint64(upd));

		if (i >= 0)
			set_outcome(s, (size_t)i, outcome);
	}
	json_object_put(o);
}

/* A torn record never reached the alert (that follows the sync), yet its id
 * is not handed out again: it is read off the start of the torn payload. */
static void note_torn_id(struct oomstore *s, const char *buf, size_t size, size_t off)
{
	char tmp[64];
	size_t n;
	unsigned long long id;

	if (size - off <= OOMSTORE_HDR || memcmp(buf + off, OOMSTORE_MAGIC, 4))
		return;
	n = size - off - OOMSTORE_HDR;
	if (n > sizeof(tmp) - 1)
		n = sizeof(tmp) - 1;
	memcpy(tmp, buf + off + OOMSTORE_HDR, n);
	tmp[n] = 0;
	if (sscanf(tmp, "{\"id\":%llu", &id) == 1 && id < (1ull << 62) && id >= s->next_id)
		s->next_id = id + 1;
}

static int load(struct oomstore *s, const char *buf, size_t size)
{
	size_t off = 0, valid_end = 0;

	while (off < size) {
		uint32_t len = 0;
		json_object *o = frame_at(buf, size, off, &len);
		size_t next;

		if (o) {
			apply_payload(s, o, buf + off + OOMSTORE_HDR, len);
			off += OOMSTORE_HDR + len;
			valid_end = off;
			continue;
		}
		/* Damage: resynchronise on the next frame that checks out. */
		for (next = off + 1; next < size; next++) {
			json_object *n;

			if (buf[next] != 'F' || (n = frame_at(buf, size, next, &len)) == NULL)
				continue;
			json_object_put(n);
			break;
		}
		if (next >= size) {
			note_torn_id(s, buf, size, off);
			break;
		}
		s->stats.bad_frames++;
		s->stats.bad_bytes += next - off;
		off = next;
	}
	if (valid_end < size) {
		s->stats.torn_tail_bytes = size - valid_end;
		if (ftruncate(s->fd, (off_t)valid_end))
			return -errno;
	}
	s->size = valid_end;
	return 0;
}

static int read_all(int fd, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fstat(fd, &st))
		return -errno;
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, st.st_size - got, got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;
			free(buf);
			return e;
		}
		got += n;
	}
	*out = buf;
	*len = got;
	return 0;
}

int oomstore_open(struct oomstore *s, const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t size = 0;
	int r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->next_id = 1;
	s->max_bytes = max_bytes;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/%s", dir, OOMSTORE_FILE) >= sizeof(s->path)) {
		snprintf(err, errlen, "state directory path too long: %s", dir);
		return -ENAMETOOLONG;
	}
	s->fd = open(s->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (s->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open the OOM record file %s: %s", s->path, strerror(-r));
		return r;
	}
	if ((r = read_all(s->fd, &buf, &size)) || (r = load(s, buf, size))) {
		snprintf(err, errlen, "cannot read the OOM record file %s: %s", s->path, strerror(-r));
		free(buf);
		oomstore_close(s);
		return r;
	}
	free(buf);
	return 0;
}

void oomstore_close(struct oomstore *s)
{
	for (size_t i = 0; i < s->len; i++)
		free(s->recs[i].text);
	free(s->recs);
	s->recs = NULL;
	s->len = s->cap = 0;
	s->text_bytes = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= w;
	}
	return 0;
}

static int append_payload(struct oomstore *s, const char *payload)
{
	size_t len = strlen(payload);
	char *frame = malloc(OOMSTORE_HDR + len);
	int r;

	if (!frame)
		return -ENOMEM;
	oomstore_frame(frame, payload, (uint32_t)len);
	r = write_all(s->fd, frame, OOMSTORE_HDR + len);
	free(frame);
	if (!r && fdatasync(s->fd))
		r = -errno;
	if (r) {
		/* Leave no half frame for the next append to follow. */
		if (ftruncate(s->fd, (off_t)s->size))
			log_warn("cannot cut a failed write off %s: %s", s->path, strerror(errno));
		return r;
	}
	s->size += OOMSTORE_HDR + len;
	return 0;
}

/* Keeps the newest records that fit in 3/4 of the bound (always the newest
 * one), written to a new file that replaces the old one atomically. */
static int rewrite(struct oomstore *s)
{
	char tmp[520];
	size_t keep_from = s->len, total = 0;
	uint64_t budget = s->max_bytes / 4 * 3;
	int fd, r = 0;

	while (keep_from > 0) {
		size_t n = OOMSTORE_HDR + strlen(s->recs[keep_from - 1].text);

		if (keep_from < s->len && total + n > budget)
			break;
		total += n;
		keep_from--;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	for (size_t i = keep_from; i < s->len && !r; i++) {
		const char *p = s->recs[i].text;
		size_t len = strlen(p);
		char *frame = malloc(OOMSTORE_HDR + len);

		if (!frame) {
			r = -ENOMEM;
			break;
		}
		oomstore_frame(frame, p, (uint32_t)len);
		r = write_all(fd, frame, OOMSTORE_HDR + len);
		free(frame);
	}
	if (!r && fsync(fd))
		r = -errno;
	if (!r && rename(tmp, s->path))
		r = -errno;
	if (r) {
		close(fd);
		unlink(tmp);
		return r;
	}
	close(s->fd);
	s->fd = fd;
	s->size = total;
	for (size_t i = 0; i < keep_from; i++) {
		s->text_bytes -= strlen(s->recs[i].text) + 1;
		free(s->recs[i].text);
	}
	memmove(s->recs, s->recs + keep_from, (s->len - keep_from) * sizeof(*s->recs));
	s->len -= keep_from;
	s->stats.dropped += keep_from;
	s->stats.rewrites++;
	/* The rename must survive a crash too. */
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", s->path);
	*strrchr(dir, '/') = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int64_t oomstore_append(struct oomstore *s, json_object *rec)
{
	json_object *out = json_object_new_object();
	uint64_t id = s->next_id++;
	char *text;
	int r;

	/* "id" first: a torn frame still tells which id it had. */
	json_object_object_add(out, "id", json_object_new_uint64(id));
	json_object_object_foreach(rec, k, v) {
		if (strcmp(k, "id"))
			json_object_object_add(out, k, json_object_get(v));
	}
	json_object_put(rec);
	text = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	if (!text || (r = push(s, id, text))) {
		free(text);
		s->stats.write_errors++;
		return -ENOMEM;
	}
	if (s->size + OOMSTORE_HDR + strlen(text) > s->max_bytes && s->len > 1)
		r = rewrite(s);
	else
		r = append_payload(s, text);
	if (r) {
		s->stats.write_errors++;
		log_err("cannot write OOM record %llu to %s: %s (kept in memory only)", (unsigned long long)id,
			s->path, strerror(-r));
		return r;
	}
	s->stats.appended++;
	return (int64_t)id;
}

int oomstore_update_outcome(struct oomstore *s, uint64_t id, json_object *outcome)
{
	ssize_t i = index_of(s, id);
	json_object *upd;
	int r;

	if (i < 0) {
		json_object_put(outcome);
		return -ENOENT;
	}
	set_outcome(s, (size_t)i, outcome);
	upd = json_object_new_object();
	json_object_object_add(upd, "update", json_object_new_uint64(id));
	json_object_object_add(upd, "outcome", outcome);
	r = append_payload(s, json_object_to_json_string_ext(upd, JSON_C_TO_STRING_PLAIN));
	json_object_put(upd);
	if (r) {
		s->stats.write_errors++;
		log_err("cannot write the outcome of OOM record %llu to %s: %s", (unsigned long long)id, s->path,
			strerror(-r));
	}
	return r;
}

size_t oomstore_count(const struct oomstore *s)
{
	return s->len;
}
