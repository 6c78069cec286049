// SPDX-License-Identifier: MIT
/* libvitrt: safetensors reader and writer; the header's JSON is parsed by vitrt_json_load. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vitrt_json.h"
#include "vitrt_priv.h"
#include "vitrt_safetensors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader assumes a little-endian host"
#endif

struct st_dtype {
	const char *name;
	unsigned size;
	bool supported;
};

static const struct st_dtype st_dtypes[] = {
	{ "F32", 4, true }, { "F16", 2, true }, { "BF16", 2, true },
	{ "F64", 8, false }, { "I64", 8, false }, { "I32", 4, false }, { "I16", 2, false },
	{ "I8", 1, false }, { "U64", 8, false }, { "U32", 4, false }, { "U16", 2, false },
	{ "U8", 1, false }, { "BOOL", 1, false }, { "F8_E4M3", 1, false },
	{ "F8_E5M2", 1, false },
};

struct vitrt_st {
	char *path;
	json_t *header;			/* tensor names point into it */
	const json_t *meta;		/* its "__metadata__", or NULL */
	struct vitrt_st_tensor *tensors;	/* sorted by name */
	uint32_t count;
	float *data;			/* every tensor's floats */
};

/* Per-tensor facts used only while checking the header. */
struct st_range {
	uint64_t begin, end;
	const struct st_dtype *dtype;
	struct vitrt_st_tensor *t;
};

/* Read exactly @n bytes at @off; VITRT_EFORMAT if the file ends first. */
static int read_full(int fd, void *buf, size_t n, uint64_t off)
{
	unsigned char *b = buf;

	while (n) {
		ssize_t r = pread(fd, b, n > (1u << 30) ? (1u << 30) : n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return VITRT_ESYS;
		if (r == 0)
			return VITRT_EFORMAT;
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* A non-negative integer, written without fraction or exponent (jansson refuses any past int64). */
static bool json_u64(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static const struct st_dtype *st_dtype_find(const char *name)
{
	for (size_t i = 0; i < sizeof(st_dtypes) / sizeof(st_dtypes[0]); i++)
		if (!strcmp(st_dtypes[i].name, name))
			return &st_dtypes[i];
	return NULL;
}

static void shape_str(const struct vitrt_st_tensor *t, char *buf, size_t cap)
{
	size_t o = 0;

	o += snprintf(buf, cap, "[");
	for (uint32_t i = 0; i < t->ndim && o < cap; i++)
		o += snprintf(buf + o, cap - o, "%s%" PRIu64, i ? ", " : "", t->shape[i]);
	if (o < cap)
		snprintf(buf + o, cap - o, "]");
}

/* The members of tensor entry @e into *@dtype, *@shape, *@offs; any other is an error. */
static int st_entry_fields(const char *path, const char *name, json_t *e, json_t **dtype,
			   json_t **shape, json_t **offs, char *msg, size_t cap)
{
	const char *key;
	json_t *f;

	if (!json_is_object(e))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': is %s, not an object",
			       name, vitrt_json_kind(e));
	json_object_foreach(e, key, f) {
		if (!strcmp(key, "dtype"))
			*dtype = f;
		else if (!strcmp(key, "shape"))
			*shape = f;
		else if (!strcmp(key, "data_offsets"))
			*offs = f;
		else
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': unknown field '%s'",
				       name, key);
	}
	if (!*dtype || !*shape || !*offs)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': no '%s'", name,
			       !*dtype ? "dtype" : !*shape ? "shape" : "data_offsets");
	return 0;
}

static int st_entry_dtype(const char *path, const json_t *dtype, struct st_range *r, char *msg,
			  size_t cap)
{
	const char *name = r->t->name, *s = json_string_value(dtype);

	if (!s)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': dtype is %s, not a string",
			       name, vitrt_json_kind(dtype));
	r->dtype = st_dtype_find(s);
	if (!r->dtype)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': unknown dtype '%s'",
			       name, s);
	if (!r->dtype->supported)
		return vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path,
			       "tensor '%s': dtype %s is not supported (only F32, F16 and BF16 are)",
			       name, s);
	r->t->dtype = r->dtype->name;
	return 0;
}

/* The shape into the tensor: at most VITRT_ST_MAX_DIMS sizes, their product within 64 bits. */
static int st_entry_shape(const char *path, const json_t *shape, struct vitrt_st_tensor *t,
			  char *msg, size_t cap)
{
	if (!json_is_array(shape))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': shape is %s, not an array",
			       t->name, vitrt_json_kind(shape));
	if (json_array_size(shape) > VITRT_ST_MAX_DIMS)
		return vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path,
			       "tensor '%s': %zu dimensions (at most %d supported)", t->name,
			       json_array_size(shape), VITRT_ST_MAX_DIMS);
	t->ndim = (uint32_t)json_array_size(shape);
	t->count = 1;
	for (uint32_t i = 0; i < t->ndim; i++) {
		if (!json_u64(json_array_get(shape, i), &t->shape[i]))
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				       "tensor '%s': shape[%u] is not a non-negative integer",
				       t->name, i);
		if (__builtin_mul_overflow(t->count, t->shape[i], &t->count))
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				       "tensor '%s': shape overflows 64 bits", t->name);
	}
	return 0;
}

/* data_offsets [begin, end): forwards, inside the data section, the shape's bytes exactly. */
static int st_entry_offsets(const char *path, const json_t *offs, struct st_range *r,
			    uint64_t data_size, char *msg, size_t cap)
{
	struct vitrt_st_tensor *t = r->t;
	uint64_t bytes;
	char sbuf[160];

	if (json_array_size(offs) != 2 || !json_u64(json_array_get(offs, 0), &r->begin) ||
	    !json_u64(json_array_get(offs, 1), &r->end))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
			       "tensor '%s': data_offsets is not [begin, end] of non-negative integers",
			       t->name);
	if (r->end < r->begin)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
			       "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 ") run backwards",
			       t->name, r->begin, r->end);
	if (r->end > data_size)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
			       "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
			       ") run past the end of the data section (%" PRIu64 " bytes)",
			       t->name, r->begin, r->end, data_size);
	shape_str(t, sbuf, sizeof(sbuf));
	if (__builtin_mul_overflow(t->count, (uint64_t)r->dtype->size, &bytes))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
			       "tensor '%s': shape %s overflows 64 bits of bytes", t->name, sbuf);
	if (bytes != r->end - r->begin)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
			       "tensor '%s': shape %s of %s needs %" PRIu64
			       " bytes but data_offsets [%" PRIu64 ", %" PRIu64 ") hold %" PRIu64,
			       t->name, sbuf, t->dtype, bytes, r->begin, r->end,
			       r->end - r->begin);
	return 0;
}

/* Check the header entry @e of tensor @name and fill @r and its tensor. */
static int st_parse_entry(const char *path, const char *name, json_t *e, struct st_range *r,
			  uint64_t data_size, char *msg, size_t cap)
{
	json_t *dtype = NULL, *shape = NULL, *offs = NULL;
	int ret;

	r->t->name = name;
	ret = st_entry_fields(path, name, e, &dtype, &shape, &offs, msg, cap);
	if (!ret)
		ret = st_entry_dtype(path, dtype, r, msg, cap);
	if (!ret)
		ret = st_entry_shape(path, shape, r->t, msg, cap);
	if (!ret)
		ret = st_entry_offsets(path, offs, r, data_size, msg, cap);
	return ret;
}

static int range_cmp(const void *a, const void *b)
{
	const struct st_range *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

/* The ranges, sorted, must tile the data section exactly. */
static int st_check_layout(const char *path, struct st_range *r, uint32_t n, uint64_t data_size,
			   char *msg, size_t cap)
{
	uint64_t at = 0;

	qsort(r, n, sizeof(*r), range_cmp);
	for (uint32_t i = 0; i < n; i++) {
		if (r[i].begin < at)
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				       "tensors '%s' [%" PRIu64 ", %" PRIu64 ") and '%s' [%" PRIu64
				       ", %" PRIu64 ") overlap", r[i - 1].t->name, r[i - 1].begin,
				       r[i - 1].end, r[i].t->name, r[i].begin, r[i].end);
		if (r[i].begin > at)
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				       "data section bytes [%" PRIu64 ", %" PRIu64
				       ") belong to no tensor", at, r[i].begin);
		at = r[i].end;
	}
	if (at != data_size)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
			       "data section is %" PRIu64 " bytes but the tensors end at byte %" PRIu64,
			       data_size, at);
	return 0;
}

float vitrt_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = h >> 10 & 0x1f, man = h & 0x3ff;
	float f;
	uint32_t bits;

	if (exp == 0) {
		/* zero or subnormal: man * 2^-24 is exact in float */
		f = ldexpf((float)man, -24);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7f800000u | man << 13;
	else
		bits = sign | (exp + 112) << 23 | man << 13;
	memcpy(&f, &bits, sizeof(f));
	return f;
}

float vitrt_bf16_to_f32(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Read one tensor's bytes at @off into its float buffer, converting 16-bit formats. */
static int st_read_tensor(int fd, const struct st_range *r, uint64_t off)
{
	struct vitrt_st_tensor *t = r->t;
	uint16_t buf[4096];
	int ret;

	if (r->dtype->size == 4)
		return read_full(fd, t->data, t->count * 4, off);
	for (uint64_t i = 0; i < t->count; ) {
		size_t n = t->count - i < 4096 ? (size_t)(t->count - i) : 4096;

		ret = read_full(fd, buf, n * 2, off + i * 2);
		if (ret)
			return ret;
		for (size_t j = 0; j < n; j++)
			t->data[i + j] = r->dtype->name[0] == 'B' ? vitrt_bf16_to_f32(buf[j]) :
								    vitrt_f16_to_f32(buf[j]);
		i += n;
	}
	return 0;
}

static int tensor_name_cmp(const void *a, const void *b)
{
	const struct vitrt_st_tensor *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Give every tensor a 64-byte aligned slice of one buffer, read the data, sort by name. */
static int st_load_data(struct vitrt_st *st, int fd, struct st_range *r, uint64_t data_off,
			char *msg, size_t cap)
{
	uint64_t total = 0, at = 0;
	int ret;

	for (uint32_t i = 0; i < st->count; i++)
		total += (r[i].t->count + 15) & ~(uint64_t)15;	/* no overflow: <= file size */
	if (total > SIZE_MAX / sizeof(float))
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, st->path, "%" PRIu64 " floats do not fit memory",
			       total);
	if (total) {
		st->data = aligned_alloc(64, total * sizeof(float));
		if (!st->data)
			return vitrt_file_error(msg, cap, VITRT_ENOMEM, st->path,
				       "out of memory for %" PRIu64 " floats", total);
	}
	for (uint32_t i = 0; i < st->count; i++) {
		r[i].t->data = st->data + at;
		at += (r[i].t->count + 15) & ~(uint64_t)15;
		ret = st_read_tensor(fd, &r[i], data_off + r[i].begin);
		if (ret == VITRT_ESYS)
			return vitrt_file_error(msg, cap, ret, st->path, "read: %s", strerror(errno));
		if (ret)
			return vitrt_file_error(msg, cap, ret, st->path, "file ended while reading '%s'",
				       r[i].t->name);
	}
	/* r[] points at the tensors: sort them only once r[] is no longer needed */
	qsort(st->tensors, st->count, sizeof(*st->tensors), tensor_name_cmp);
	return 0;
}

/* "__metadata__": an object of strings. */
static int st_parse_meta(struct vitrt_st *st, json_t *meta, char *msg, size_t cap)
{
	const char *key;
	json_t *v;

	if (!json_is_object(meta))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path,
			       "__metadata__ is not an object of strings");
	json_object_foreach(meta, key, v)
		if (!json_is_string(v))
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path,
				       "__metadata__ is not an object of strings");
	st->meta = meta;
	return 0;
}

/* Every member of the header object: the metadata and one tensor each into st->tensors, @r. */
static int st_parse_members(struct vitrt_st *st, struct st_range *r, uint64_t data_size,
			    char *msg, size_t cap)
{
	const char *key;
	json_t *e;
	int ret;

	json_object_foreach(st->header, key, e) {
		if (!strcmp(key, "__metadata__")) {
			ret = st_parse_meta(st, e, msg, cap);
		} else {
			r[st->count].t = &st->tensors[st->count];
			ret = st_parse_entry(st->path, key, e, &r[st->count], data_size, msg, cap);
			st->count++;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* Parse and check the header, then load the tensors. */
static int st_parse(struct vitrt_st *st, int fd, const char *text, uint64_t hlen,
		    uint64_t data_size, char *msg, size_t cap)
{
	struct st_range *r;
	char jmsg[256];
	size_t n;
	int ret;

	st->header = vitrt_json_load(text, hlen, jmsg, sizeof(jmsg));
	if (!st->header)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path, "header: %s", jmsg);
	if (!json_is_object(st->header))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path, "header is %s, not an object",
			       vitrt_json_kind(st->header));
	n = json_object_size(st->header);
	st->tensors = calloc(n ? n : 1, sizeof(*st->tensors));
	r = calloc(n ? n : 1, sizeof(*r));
	if (!st->tensors || !r) {
		free(r);
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, st->path, "out of memory");
	}
	ret = st_parse_members(st, r, data_size, msg, cap);
	if (!ret)
		ret = st_check_layout(st->path, r, st->count, data_size, msg, cap);
	if (!ret)
		ret = st_load_data(st, fd, r, 8 + hlen, msg, cap);
	free(r);
	return ret;
}

static int st_read(struct vitrt_st *st, int fd, char *msg, size_t cap)
{
	unsigned char lenbuf[8];
	uint64_t size, hlen = 0;
	struct stat sb;
	char *text;
	int ret;

	if (fstat(fd, &sb))
		return vitrt_file_error(msg, cap, VITRT_ESYS, st->path, "stat: %s", strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path, "not a regular file");
	size = (uint64_t)sb.st_size;
	if (size < 8)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path,
			       "only %" PRIu64 " bytes: too short for the 8-byte header length", size);
	ret = read_full(fd, lenbuf, 8, 0);
	if (ret)
		return vitrt_file_error(msg, cap, ret, st->path, "read: %s",
			       ret == VITRT_ESYS ? strerror(errno) : "file shrank");
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | lenbuf[i];
	if (hlen > size - 8)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path,
			       "header length %" PRIu64 " runs past the end of the file (%" PRIu64
			       " bytes)", hlen, size);
	if (hlen > VITRT_ST_MAX_HEADER)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path,
			       "header length %" PRIu64 " exceeds the limit of %u bytes", hlen,
			       VITRT_ST_MAX_HEADER);
	text = malloc(hlen ? hlen : 1);
	if (!text)
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, st->path, "out of memory");
	ret = read_full(fd, text, hlen, 8);
	if (ret)
		ret = vitrt_file_error(msg, cap, ret, st->path, "read: %s",
			      ret == VITRT_ESYS ? strerror(errno) : "file shrank");
	else
		ret = st_parse(st, fd, text, hlen, size - 8 - hlen, msg, cap);
	free(text);
	return ret;
}

struct vitrt_st *vitrt_st_open(const char *path, int *err, char *msg, size_t cap)
{
	struct vitrt_st *st;
	int fd, ret;

	if (cap)
		msg[0] = '\0';
	st = calloc(1, sizeof(*st));
	if (st)
		st->path = strdup(path);
	if (!st || !st->path) {
		free(st);
		*err = vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = vitrt_file_error(msg, cap, VITRT_ESYS, path, "%s", strerror(errno));
	} else {
		ret = st_read(st, fd, msg, cap);
		close(fd);
	}
	if (ret) {
		vitrt_st_close(st);
		*err = ret;
		return NULL;
	}
	*err = 0;
	return st;
}

void vitrt_st_close(struct vitrt_st *st)
{
	if (!st)
		return;
	free(st->data);
	free(st->tensors);
	json_decref(st->header);
	free(st->path);
	free(st);
}

const char *vitrt_st_path(const struct vitrt_st *st)
{
	return st->path;
}

uint32_t vitrt_st_count(const struct vitrt_st *st)
{
	return st->count;
}

struct vitrt_st_tensor *vitrt_st_tensor(const struct vitrt_st *st, uint32_t i)
{
	return i < st->count ? &st->tensors[i] : NULL;
}

struct vitrt_st_tensor *vitrt_st_find(const struct vitrt_st *st, const char *name,
				      uint32_t *index)
{
	uint32_t lo = 0, hi = st->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->tensors[mid].name, name);

		if (!c) {
			if (index)
				*index = mid;
			return &st->tensors[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *vitrt_st_meta(const struct vitrt_st *st, const char *key)
{
	return json_string_value(json_object_get(st->meta, key));
}

/* ---- writer ---- */

struct strbuf {
	char *s;
	size_t len, cap;
	bool nomem;
};

static void sb_put(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_put(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->nomem)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->nomem = true;
			return;
		}
		if (b->s && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap + (size_t)n + 1) * 2;
		char *ns = realloc(b->s, ncap);

		if (!ns) {
			b->nomem = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
}

static void sb_json_string(struct strbuf *b, const char *s)
{
	sb_put(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_put(b, "\\%c", c);
		else if (c < 0x20)
			sb_put(b, "\\u%04x", c);
		else
			sb_put(b, "%c", c);
	}
	sb_put(b, "\"");
}

static int write_full(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return VITRT_ESYS;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int st_write_fd(int fd, const char *hdr, size_t hlen, const struct vitrt_st_tensor *t,
		       uint32_t n)
{
	unsigned char lenbuf[8];
	int ret;

	for (int i = 0; i < 8; i++)
		lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	ret = write_full(fd, lenbuf, 8);
	if (!ret)
		ret = write_full(fd, hdr, hlen);
	for (uint32_t i = 0; i < n && !ret; i++)
		ret = write_full(fd, t[i].data, t[i].count * sizeof(float));
	if (!ret && fsync(fd))
		ret = VITRT_ESYS;
	return ret;
}

int vitrt_st_write(const char *path, const struct vitrt_st_tensor *tensors, uint32_t n,
		   char *msg, size_t cap)
{
	struct strbuf b = { 0 };
	uint64_t off = 0;
	char *tmp;
	int fd, ret;

	sb_put(&b, "{");
	for (uint32_t i = 0; i < n; i++) {
		const struct vitrt_st_tensor *t = &tensors[i];
		uint64_t count = 1;

		if (t->ndim > VITRT_ST_MAX_DIMS) {
			free(b.s);
			return vitrt_file_error(msg, cap, VITRT_EINVAL, path, "tensor '%s': too many dimensions",
				       t->name);
		}
		sb_put(&b, "%s", i ? "," : "");
		sb_json_string(&b, t->name);
		sb_put(&b, ":{\"dtype\":\"F32\",\"shape\":[");
		for (uint32_t d = 0; d < t->ndim; d++) {
			sb_put(&b, "%s%" PRIu64, d ? "," : "", t->shape[d]);
			count *= t->shape[d];
		}
		if (count != t->count) {
			free(b.s);
			return vitrt_file_error(msg, cap, VITRT_EINVAL, path,
				       "tensor '%s': count %" PRIu64 " does not match its shape",
				       t->name, t->count);
		}
		sb_put(&b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + 4 * count);
		off += 4 * count;
	}
	sb_put(&b, "}");
	while (!b.nomem && b.len % 8)
		sb_put(&b, " ");
	if (b.nomem) {
		free(b.s);
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
	}
	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		free(b.s);
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = vitrt_file_error(msg, cap, VITRT_ESYS, path, "cannot create %s: %s", tmp, strerror(errno));
	} else {
		ret = fchmod(fd, 0644) ? VITRT_ESYS : st_write_fd(fd, b.s, b.len, tensors, n);
		if (close(fd) && !ret)
			ret = VITRT_ESYS;
		if (!ret && rename(tmp, path))
			ret = VITRT_ESYS;
		if (ret) {
			vitrt_file_error(msg, cap, ret, path, "write: %s", strerror(errno));
			unlink(tmp);
		}
	}
	free(tmp);
	free(b.s);
	return ret;
}
