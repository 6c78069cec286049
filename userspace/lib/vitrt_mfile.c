// SPDX-License-Identifier: MIT
/*
 * The compiled model file.
 *
 *   header   64 bytes: magic "VITSAPRG", version, header size, file size, CRC-32 of everything
 *            after the header, section count
 *   table    one {id, pad, offset, size} per section
 *   sections INFO, STEPS, GEMMS, CONST, ACT (its size), IO (image and logits refs), LABELS
 *
 * Records are the packed little-endian structs of vitrt_prog.h (sizes pinned below).  The
 * reader checks every size, offset and count and then every reference of the schedule before
 * anything uses them; the writer writes a temporary file and renames it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "vitrt_priv.h"
#include "vitrt_prog.h"

#define MFILE_MAGIC	"VITSAPRG"
#define MFILE_VERSION	2	/* 2: INFO carries the preprocessing */
#define MAX_LABEL	64

enum section_id { SEC_INFO = 1, SEC_STEPS, SEC_GEMMS, SEC_CONST, SEC_ACT, SEC_IO, SEC_LABELS,
		  SEC_COUNT = SEC_LABELS };

struct mfile_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t file_size;
	uint32_t crc;		/* CRC-32 (IEEE) of bytes [header_size, file_size) */
	uint32_t nsections;
	uint8_t reserved[32];
};

struct mfile_section {
	uint32_t id;
	uint32_t pad;
	uint64_t offset;
	uint64_t size;
};

/* A malformed-file error naming the file (needs msg, cap and path in scope). */
#define FAIL(...) vitrt_file_error(msg, cap, VITRT_EFORMAT, path, __VA_ARGS__)

_Static_assert(sizeof(struct mfile_header) == 64, "header is 64 bytes");
_Static_assert(sizeof(struct mfile_section) == 24, "section entry is 24 bytes");
_Static_assert(sizeof(struct vitrt_pref) == 24, "pref is 24 bytes");
_Static_assert(sizeof(struct vitrt_step) == 120, "step is 120 bytes");
_Static_assert(sizeof(struct vitrt_pgemm) == 152, "gemm is 152 bytes");
_Static_assert(sizeof(struct vitrt_prog_info) == 64, "info is 64 bytes");

/* zlib's CRC-32 (IEEE), in pieces: its length is an unsigned int. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);

	while (n) {
		uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;

		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t)c;
}

/* ---- writing ---- */

struct blob {
	uint8_t *p;
	size_t len, cap;
};

static int blob_put(struct blob *b, const void *src, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (cap < b->len + len)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return VITRT_ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, len);
	b->len += len;
	return 0;
}

static int put_labels(struct blob *b, const struct vitrt_prog *p)
{
	uint32_t n = p->labels ? p->info.classes : 0;
	int err = blob_put(b, &n, 4);

	for (uint32_t i = 0; i < n && !err; i++)
		err = blob_put(b, p->labels[i], strlen(p->labels[i]) + 1);
	return err;
}

static int build(struct blob *b, const struct vitrt_prog *p)
{
	struct mfile_header h = { .version = MFILE_VERSION, .header_size = sizeof(h),
				  .nsections = SEC_COUNT };
	struct mfile_section sec[SEC_COUNT];
	struct vitrt_pref io[2] = { p->image, p->logits };
	uint64_t act = p->arena_size[VITRT_ARENA_ACT];
	const struct { const void *src; size_t len; } fixed[] = {
		[SEC_INFO - 1] = { &p->info, sizeof(p->info) },
		[SEC_STEPS - 1] = { p->steps, p->nsteps * sizeof(*p->steps) },
		[SEC_GEMMS - 1] = { p->gemms, p->ngemms * sizeof(*p->gemms) },
		[SEC_CONST - 1] = { p->arena[VITRT_ARENA_CONST], p->arena_size[VITRT_ARENA_CONST] },
		[SEC_ACT - 1] = { &act, sizeof(act) },
		[SEC_IO - 1] = { io, sizeof(io) },
	};
	int err;

	memcpy(h.magic, MFILE_MAGIC, 8);
	err = blob_put(b, &h, sizeof(h));
	err = err ?: blob_put(b, sec, sizeof(sec));	/* filled in below */
	for (int i = 0; i < SEC_COUNT && !err; i++) {
		sec[i] = (struct mfile_section){ .id = i + 1, .offset = b->len };
		err = i == SEC_LABELS - 1 ? put_labels(b, p) : blob_put(b, fixed[i].src, fixed[i].len);
		sec[i].size = b->len - sec[i].offset;
	}
	if (err)
		return err;
	memcpy(b->p + sizeof(h), sec, sizeof(sec));
	h.file_size = b->len;
	h.crc = crc32_ieee(b->p + sizeof(h), b->len - sizeof(h));
	memcpy(b->p, &h, sizeof(h));
	return 0;
}

int vitrt_prog_save(const struct vitrt_prog *p, const char *path, char *msg, size_t cap)
{
	struct blob b = { 0 };
	char tmp[4096];
	FILE *f;
	int err = build(&b, p);

	if (err) {
		free(b.p);
		snprintf(msg, cap, "%s: %s", path, vitrt_strerror(err));
		return err;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "wb");
	if (!f || fwrite(b.p, 1, b.len, f) != b.len || fflush(f) || fsync(fileno(f))) {
		snprintf(msg, cap, "%s: cannot write: %s", tmp, strerror(errno));
		err = VITRT_ESYS;
	}
	if (f && fclose(f) && !err) {
		snprintf(msg, cap, "%s: cannot write: %s", tmp, strerror(errno));
		err = VITRT_ESYS;
	}
	if (!err && rename(tmp, path)) {
		snprintf(msg, cap, "%s: cannot rename into place: %s", path, strerror(errno));
		err = VITRT_ESYS;
	}
	if (err)
		unlink(tmp);
	free(b.p);
	return err;
}

/* ---- reading ---- */

static uint8_t *read_file(const char *path, size_t *len, int *err, char *msg, size_t cap)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size = 0;

	*len = 0;
	if (!f) {
		snprintf(msg, cap, "%s: cannot open: %s", path, strerror(errno));
		*err = VITRT_ESYS;
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		*err = FAIL("cannot determine the file size");
	} else if (!(buf = malloc(size ? size : 1))) {
		*err = VITRT_ENOMEM;
	} else if (fread(buf, 1, size, f) != (size_t)size) {
		*err = FAIL("short read");
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		*len = (size_t)size;
	return buf;
}

static int check_header(const uint8_t *buf, size_t len, const char *path, char *msg, size_t cap)
{
	struct mfile_header h;

	if (len < sizeof(h))
		return FAIL("%zu bytes is too short for a compiled model", len);
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, MFILE_MAGIC, 8))
		return FAIL("not a vitsa compiled model (bad magic)");
	if (h.version != MFILE_VERSION)
		return FAIL("format version %u, this vitrt reads version %u: compile the model "
			    "again with vitrt quantize", h.version, MFILE_VERSION);
	if (h.header_size != sizeof(h) || h.nsections != SEC_COUNT)
		return FAIL("header size %u / %u sections, want %zu / %d",
			    h.header_size, h.nsections, sizeof(h), SEC_COUNT);
	if (h.file_size != len)
		return FAIL("truncated or extended: header says %lu bytes, file has %zu",
			    (unsigned long)h.file_size, len);
	if (crc32_ieee(buf + sizeof(h), len - sizeof(h)) != h.crc)
		return FAIL("checksum mismatch: the file is corrupted");
	return 0;
}

/* The section table, each section checked against the file and its record size. */
static int read_sections(const uint8_t *buf, size_t len, struct mfile_section *sec,
			 const char *path, char *msg, size_t cap)
{
	static const size_t unit[SEC_COUNT + 1] = {
		[SEC_INFO] = sizeof(struct vitrt_prog_info), [SEC_STEPS] = sizeof(struct vitrt_step),
		[SEC_GEMMS] = sizeof(struct vitrt_pgemm), [SEC_CONST] = 1, [SEC_ACT] = 8,
		[SEC_IO] = 2 * sizeof(struct vitrt_pref), [SEC_LABELS] = 1,
	};

	if (len < sizeof(struct mfile_header) + SEC_COUNT * sizeof(*sec))
		return FAIL("section table past the end of the file");
	memcpy(sec, buf + sizeof(struct mfile_header), SEC_COUNT * sizeof(*sec));
	for (int i = 0; i < SEC_COUNT; i++) {
		bool exact = i + 1 == SEC_INFO || i + 1 == SEC_ACT || i + 1 == SEC_IO;

		if (sec[i].id != (uint32_t)i + 1 || sec[i].pad)
			return FAIL("section %d has id %u", i, sec[i].id);
		if (sec[i].offset > len || sec[i].size > len - sec[i].offset)
			return FAIL("section %u runs past the end of the file",
				    sec[i].id);
		if (exact ? sec[i].size != unit[i + 1] : sec[i].size % unit[i + 1])
			return FAIL("section %u has a bad size %lu", sec[i].id,
				    (unsigned long)sec[i].size);
	}
	return 0;
}

static void *dup_section(const uint8_t *buf, const struct mfile_section *s)
{
	void *p = malloc(s->size ? s->size : 1);

	if (p)
		memcpy(p, buf + s->offset, s->size);
	return p;
}

static int read_labels(struct vitrt_prog *p, const uint8_t *buf, const struct mfile_section *s,
		       const char *path, char *msg, size_t cap)
{
	const char *q = (const char *)buf + s->offset, *end = q + s->size;
	uint32_t n;

	if (s->size < 4)
		return FAIL("labels section too short");
	memcpy(&n, q, 4);
	q += 4;
	if (!n)
		return 0;
	if (n != p->info.classes)
		return FAIL("%u labels for %u classes", n, p->info.classes);
	/* each takes its terminator at least: no count the bytes cannot hold is allocated for */
	if (n > s->size - 4)
		return FAIL("%u labels in a section of %llu bytes", n, (unsigned long long)s->size);
	p->labels = calloc(n, sizeof(*p->labels));
	if (!p->labels)
		return VITRT_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		size_t l = strnlen(q, end - q);

		if (l == (size_t)(end - q) || l > MAX_LABEL)
			return FAIL("label %u is not terminated or too long", i);
		p->labels[i] = strdup(q);
		if (!p->labels[i])
			return VITRT_ENOMEM;
		q += l + 1;
	}
	return q == end ? 0 : FAIL("trailing bytes after the labels");
}

static int parse(struct vitrt_prog *p, const uint8_t *buf, size_t len, const char *path,
		 char *msg, size_t cap)
{
	struct mfile_section sec[SEC_COUNT];
	struct vitrt_pref io[2];
	int err = check_header(buf, len, path, msg, cap);

	err = err ?: read_sections(buf, len, sec, path, msg, cap);
	if (err)
		return err;
	memcpy(&p->info, buf + sec[SEC_INFO - 1].offset, sizeof(p->info));
	memcpy(&p->arena_size[VITRT_ARENA_ACT], buf + sec[SEC_ACT - 1].offset, 8);
	memcpy(io, buf + sec[SEC_IO - 1].offset, sizeof(io));
	p->image = io[0];
	p->logits = io[1];
	p->nsteps = sec[SEC_STEPS - 1].size / sizeof(*p->steps);
	p->ngemms = sec[SEC_GEMMS - 1].size / sizeof(*p->gemms);
	p->arena_size[VITRT_ARENA_CONST] = sec[SEC_CONST - 1].size;
	p->steps = dup_section(buf, &sec[SEC_STEPS - 1]);
	p->gemms = dup_section(buf, &sec[SEC_GEMMS - 1]);
	p->arena[VITRT_ARENA_CONST] = dup_section(buf, &sec[SEC_CONST - 1]);
	if (!p->steps || !p->gemms || !p->arena[VITRT_ARENA_CONST])
		return VITRT_ENOMEM;
	err = read_labels(p, buf, &sec[SEC_LABELS - 1], path, msg, cap);
	if (err)
		return err;
	if (vitrt_prog_validate(p, msg, cap)) {
		char why[512];

		snprintf(why, sizeof(why), "%s", msg);
		return FAIL("%s", why);
	}
	return 0;
}

struct vitrt_prog *vitrt_prog_load(const char *path, int *err, char *msg, size_t cap)
{
	size_t len;
	uint8_t *buf = read_file(path, &len, err, msg, cap);
	struct vitrt_prog *p;

	if (!buf)
		return NULL;
	p = calloc(1, sizeof(*p));
	*err = p ? parse(p, buf, len, path, msg, cap) : VITRT_ENOMEM;
	free(buf);
	if (*err) {
		if (*err == VITRT_ENOMEM)
			snprintf(msg, cap, "%s: out of memory", path);
		vitrt_prog_free(p);
		return NULL;
	}
	return p;
}

void vitrt_prog_free(struct vitrt_prog *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; p->labels && i < p->info.classes; i++)
		free(p->labels[i]);
	free(p->labels);
	free(p->steps);
	free(p->gemms);
	free(p->arena[VITRT_ARENA_CONST]);
	free(p);
}
