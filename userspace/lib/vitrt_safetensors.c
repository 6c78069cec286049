// SPDX-License-Identifier: MIT
/* libvitrt: safetensors reader and writer, and the strict JSON parser of their header. */
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

#include "vitrt_priv.h"
#include "vitrt_safetensors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader assumes a little-endian host"
#endif

/* ==== JSON ==== */

#define JSON_MAX_DEPTH	64
#define JSON_CHUNK	(64 * 1024)

/* Everything a parse allocates lives in chunks freed together with the document. */
struct json_chunk {
	struct json_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct json_doc {
	struct vitrt_json root;		/* first: vitrt_json_free() gets its address */
	struct json_chunk *chunks;
};

struct json_parser {
	const char *s;
	size_t len, pos;
	struct json_doc *doc;
	struct vitrt_json *stack;	/* items of the open arrays and objects */
	size_t sp, stack_cap;
	int depth;
	char *msg;
	size_t cap;
};

static bool json_fail(struct json_parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool json_fail(struct json_parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->cap)
		return false;
	n = snprintf(p->msg, p->cap, "byte %zu: ", pos);
	if (n < 0 || (size_t)n >= p->cap)
		return false;
	va_start(ap, fmt);
	vsnprintf(p->msg + n, p->cap - n, fmt, ap);
	va_end(ap);
	return false;
}

static void *json_alloc(struct json_parser *p, size_t size)
{
	struct json_chunk *c = p->doc->chunks;
	void *ptr;

	size = (size + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > JSON_CHUNK ? size : JSON_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = p->doc->chunks;
		p->doc->chunks = c;
	}
	ptr = c->data + c->used;
	c->used += size;
	return ptr;
}

static bool json_nomem(struct json_parser *p)
{
	return json_fail(p, p->pos, "out of memory");
}

static void json_skip_ws(struct json_parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

/* Describe the character at @pos for a message. */
static const char *json_char_at(const struct json_parser *p, size_t pos, char buf[16])
{
	unsigned char c;

	if (pos >= p->len)
		return "end of text";
	c = (unsigned char)p->s[pos];
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

static bool json_unexpected(struct json_parser *p, const char *wanted)
{
	char buf[16];

	return json_fail(p, p->pos, "expected %s, found %s", wanted, json_char_at(p, p->pos, buf));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at @pos, or -1. */
static long json_hex4(const struct json_parser *p, size_t pos)
{
	long v = 0;

	if (p->len - pos < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = hexval(p->s[pos + i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static size_t utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at @s (at most @n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned long cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* One "\..." escape at p->pos (the backslash); appends its UTF-8 to @out. */
static bool json_escape(struct json_parser *p, char *out, size_t *o)
{
	size_t at = p->pos;
	long cp, lo;
	char c;

	if (p->pos + 1 >= p->len)
		return json_fail(p, at, "unterminated string");
	c = p->s[p->pos + 1];
	p->pos += 2;
	switch (c) {
	case '"': out[(*o)++] = '"'; return true;
	case '\\': out[(*o)++] = '\\'; return true;
	case '/': out[(*o)++] = '/'; return true;
	case 'b': out[(*o)++] = '\b'; return true;
	case 'f': out[(*o)++] = '\f'; return true;
	case 'n': out[(*o)++] = '\n'; return true;
	case 'r': out[(*o)++] = '\r'; return true;
	case 't': out[(*o)++] = '\t'; return true;
	case 'u': break;
	default: {
		char buf[16];

		return json_fail(p, at, "invalid escape \\%s", json_char_at(p, at + 1, buf));
	}
	}
	cp = json_hex4(p, p->pos);
	if (cp < 0)
		return json_fail(p, at, "\\u needs four hex digits");
	p->pos += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return json_fail(p, at, "lone low surrogate \\u%04lx", cp);
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
			return json_fail(p, at, "high surrogate \\u%04lx without its low half", cp);
		lo = json_hex4(p, p->pos + 2);
		if (lo < 0xdc00 || lo > 0xdfff)
			return json_fail(p, at, "high surrogate \\u%04lx without its low half", cp);
		p->pos += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return json_fail(p, at, "\\u0000 in a string is not supported");
	*o += utf8_put(out + *o, (unsigned long)cp);
	return true;
}

/* A string at p->pos (the opening quote), decoded into the document. */
static bool json_string(struct json_parser *p, const char **str)
{
	size_t start = p->pos, end, o = 0;
	char *out;

	/* Find the closing quote first: the decoded string is never longer than the raw one. */
	for (end = start + 1; end < p->len && p->s[end] != '"'; end++)
		if (p->s[end] == '\\')
			end++;
	if (end >= p->len)
		return json_fail(p, start, "unterminated string");
	out = json_alloc(p, end - start);
	if (!out)
		return json_nomem(p);
	p->pos++;
	while (p->pos < end) {
		unsigned char c = (unsigned char)p->s[p->pos];
		size_t n;

		if (c == '\\') {
			if (!json_escape(p, out, &o))
				return false;
			continue;
		}
		if (c < 0x20)
			return json_fail(p, p->pos, "control character 0x%02x in a string", c);
		n = utf8_len((const unsigned char *)p->s + p->pos, end - p->pos);
		if (!n)
			return json_fail(p, p->pos, "invalid UTF-8 in a string");
		memcpy(out + o, p->s + p->pos, n);
		o += n;
		p->pos += n;
	}
	out[o] = '\0';
	p->pos = end + 1;
	*str = out;
	return true;
}

static bool json_digits(struct json_parser *p)
{
	size_t start = p->pos;

	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++;
	return p->pos > start;
}

static bool json_number(struct json_parser *p, struct vitrt_json *v)
{
	size_t start = p->pos;
	bool neg = false, frac = false;
	uint64_t u = 0;
	char buf[128];

	if (p->s[p->pos] == '-') {
		neg = true;
		p->pos++;
	}
	if (p->pos < p->len && p->s[p->pos] == '0') {
		p->pos++;
		if (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			return json_fail(p, start, "leading zero in a number");
	} else if (!json_digits(p)) {
		return json_unexpected(p, "a digit");
	}
	if (p->pos < p->len && p->s[p->pos] == '.') {
		frac = true;
		p->pos++;
		if (!json_digits(p))
			return json_unexpected(p, "a digit after '.'");
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		frac = true;
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!json_digits(p))
			return json_unexpected(p, "a digit in the exponent");
	}
	if (p->pos - start >= sizeof(buf))
		return json_fail(p, start, "number too long");
	memcpy(buf, p->s + start, p->pos - start);
	buf[p->pos - start] = '\0';
	v->kind = VITRT_JSON_NUMBER;
	v->num = strtod(buf, NULL);
	if (!isfinite(v->num))
		return json_fail(p, start, "number %s out of range", buf);
	if (frac)
		return true;
	v->is_int = true;
	for (const char *d = buf + neg; *d; d++) {
		if (u > (UINT64_MAX - 9) / 10) {
			v->is_int = false;
			return true;
		}
		u = u * 10 + (uint64_t)(*d - '0');
	}
	if (!neg && u <= (uint64_t)INT64_MAX)
		v->ival = (int64_t)u;
	else if (neg && u <= (uint64_t)INT64_MAX + 1)
		v->ival = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	else
		v->is_int = false;
	return true;
}

static bool json_literal(struct json_parser *p, struct vitrt_json *v)
{
	static const struct {
		const char *word;
		enum vitrt_json_kind kind;
	} lits[] = {
		{ "null", VITRT_JSON_NULL }, { "true", VITRT_JSON_TRUE }, { "false", VITRT_JSON_FALSE },
	};

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i].word);

		if (p->len - p->pos >= n && !memcmp(p->s + p->pos, lits[i].word, n)) {
			v->kind = lits[i].kind;
			p->pos += n;
			return true;
		}
	}
	return json_unexpected(p, "a value");
}

static bool json_push(struct json_parser *p, const struct vitrt_json *v)
{
	if (p->sp == p->stack_cap) {
		size_t ncap = p->stack_cap ? 2 * p->stack_cap : 64;
		struct vitrt_json *ns = realloc(p->stack, ncap * sizeof(*ns));

		if (!ns)
			return json_nomem(p);
		p->stack = ns;
		p->stack_cap = ncap;
	}
	p->stack[p->sp++] = *v;
	return true;
}

/* Move the items pushed since @base into the document as @v's items. */
static bool json_collect(struct json_parser *p, struct vitrt_json *v, size_t base)
{
	size_t n = p->sp - base;

	if (n > UINT32_MAX)
		return json_fail(p, v->pos, "too many items");
	v->len = (uint32_t)n;
	if (n) {
		v->items = json_alloc(p, n * sizeof(*v->items));
		if (!v->items)
			return json_nomem(p);
		memcpy(v->items, p->stack + base, n * sizeof(*v->items));
	}
	p->sp = base;
	return true;
}

static int json_key_cmp(const void *a, const void *b)
{
	const struct vitrt_json *x = *(const struct vitrt_json *const *)a;
	const struct vitrt_json *y = *(const struct vitrt_json *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static bool json_check_dups(struct json_parser *p, const struct vitrt_json *obj)
{
	const struct vitrt_json **sorted;
	bool ok = true;

	if (obj->len < 2)
		return true;
	sorted = malloc(obj->len * sizeof(*sorted));
	if (!sorted)
		return json_nomem(p);
	for (uint32_t i = 0; i < obj->len; i++)
		sorted[i] = &obj->items[i];
	qsort(sorted, obj->len, sizeof(*sorted), json_key_cmp);
	for (uint32_t i = 1; i < obj->len && ok; i++)
		if (!strcmp(sorted[i - 1]->key, sorted[i]->key))
			ok = json_fail(p, sorted[i]->pos, "duplicate key '%s'", sorted[i]->key);
	free(sorted);
	return ok;
}

static bool json_value(struct json_parser *p, struct vitrt_json *v);

/* An array or object at p->pos (its opening bracket). */
static bool json_container(struct json_parser *p, struct vitrt_json *v, bool object)
{
	char close = object ? '}' : ']';
	size_t base = p->sp;

	v->kind = object ? VITRT_JSON_OBJECT : VITRT_JSON_ARRAY;
	if (++p->depth > JSON_MAX_DEPTH)
		return json_fail(p, p->pos, "nested deeper than %d levels", JSON_MAX_DEPTH);
	p->pos++;
	json_skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->depth--;
		return true;
	}
	for (;;) {
		struct vitrt_json item = { 0 };
		const char *key = NULL;
		size_t key_pos = p->pos;

		json_skip_ws(p);
		if (object) {
			key_pos = p->pos;
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return json_unexpected(p, "a string key");
			if (!json_string(p, &key))
				return false;
			json_skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return json_unexpected(p, "':'");
			p->pos++;
		}
		if (!json_value(p, &item))
			return false;
		if (object) {
			item.key = key;
			item.pos = key_pos;
		}
		if (!json_push(p, &item))
			return false;
		json_skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close)
			break;
		return json_unexpected(p, object ? "',' or '}'" : "',' or ']'");
	}
	p->pos++;
	p->depth--;
	if (!json_collect(p, v, base))
		return false;
	return !object || json_check_dups(p, v);
}

static bool json_value(struct json_parser *p, struct vitrt_json *v)
{
	char c;

	json_skip_ws(p);
	v->pos = p->pos;
	if (p->pos >= p->len)
		return json_fail(p, p->pos, "unexpected end of text");
	c = p->s[p->pos];
	switch (c) {
	case '{':
	case '[':
		return json_container(p, v, c == '{');
	case '"':
		v->kind = VITRT_JSON_STRING;
		return json_string(p, &v->str);
	case '-':
	case '0' ... '9':
		return json_number(p, v);
	default:
		return json_literal(p, v);
	}
}

void vitrt_json_free(struct vitrt_json *root)
{
	struct json_doc *doc = (struct json_doc *)root;
	struct json_chunk *c, *next;

	if (!doc)
		return;
	for (c = doc->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(doc);
}

struct vitrt_json *vitrt_json_parse(const char *text, size_t len, char *msg, size_t cap)
{
	struct json_parser p = { .s = text, .len = len, .msg = msg, .cap = cap };
	bool ok;

	if (cap)
		msg[0] = '\0';
	p.doc = calloc(1, sizeof(*p.doc));
	if (!p.doc) {
		json_nomem(&p);
		return NULL;
	}
	ok = json_value(&p, &p.doc->root);
	if (ok) {
		json_skip_ws(&p);
		if (p.pos < len)
			ok = json_unexpected(&p, "end of text");
	}
	free(p.stack);
	if (!ok) {
		vitrt_json_free(&p.doc->root);
		return NULL;
	}
	return &p.doc->root;
}

const struct vitrt_json *vitrt_json_get(const struct vitrt_json *obj, const char *key)
{
	if (!obj || obj->kind != VITRT_JSON_OBJECT)
		return NULL;
	for (uint32_t i = 0; i < obj->len; i++)
		if (!strcmp(obj->items[i].key, key))
			return &obj->items[i];
	return NULL;
}

const char *vitrt_json_kind_name(enum vitrt_json_kind kind)
{
	static const char *const names[] = {
		[VITRT_JSON_NULL] = "null", [VITRT_JSON_FALSE] = "false",
		[VITRT_JSON_TRUE] = "true", [VITRT_JSON_NUMBER] = "a number",
		[VITRT_JSON_STRING] = "a string", [VITRT_JSON_ARRAY] = "an array",
		[VITRT_JSON_OBJECT] = "an object",
	};

	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* ==== safetensors ==== */

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
	struct vitrt_json *header;	/* tensor names point into it */
	const struct vitrt_json *meta;
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

/* A non-negative integer that fits uint64 (JSON numbers written as integers). */
static bool json_u64(const struct vitrt_json *v, uint64_t *out)
{
	if (v->kind != VITRT_JSON_NUMBER || !v->is_int || v->ival < 0)
		return false;
	*out = (uint64_t)v->ival;
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

/* Check one header entry {"dtype", "shape", "data_offsets"} and fill @r and its tensor. */
static int st_parse_entry(const char *path, const struct vitrt_json *e, struct st_range *r,
			  uint64_t data_size, char *msg, size_t cap)
{
	struct vitrt_st_tensor *t = r->t;
	const struct vitrt_json *dtype = NULL, *shape = NULL, *offs = NULL;
	uint64_t bytes;
	char sbuf[160];

	t->name = e->key;
	if (e->kind != VITRT_JSON_OBJECT)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': is %s, not an object",
			       t->name, vitrt_json_kind_name(e->kind));
	for (uint32_t i = 0; i < e->len; i++) {
		const struct vitrt_json *f = &e->items[i];

		if (!strcmp(f->key, "dtype"))
			dtype = f;
		else if (!strcmp(f->key, "shape"))
			shape = f;
		else if (!strcmp(f->key, "data_offsets"))
			offs = f;
		else
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': unknown field '%s'",
				       t->name, f->key);
	}
	if (!dtype || !shape || !offs)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': no '%s'", t->name,
			       !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
	if (dtype->kind != VITRT_JSON_STRING)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': dtype is %s, not a string",
			       t->name, vitrt_json_kind_name(dtype->kind));
	r->dtype = st_dtype_find(dtype->str);
	if (!r->dtype)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': unknown dtype '%s'",
			       t->name, dtype->str);
	if (!r->dtype->supported)
		return vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path,
			       "tensor '%s': dtype %s is not supported (only F32, F16 and BF16 are)",
			       t->name, dtype->str);
	t->dtype = r->dtype->name;

	if (shape->kind != VITRT_JSON_ARRAY)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "tensor '%s': shape is %s, not an array",
			       t->name, vitrt_json_kind_name(shape->kind));
	if (shape->len > VITRT_ST_MAX_DIMS)
		return vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path,
			       "tensor '%s': %u dimensions (at most %d supported)", t->name,
			       shape->len, VITRT_ST_MAX_DIMS);
	t->ndim = shape->len;
	t->count = 1;
	for (uint32_t i = 0; i < shape->len; i++) {
		if (!json_u64(&shape->items[i], &t->shape[i]))
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				       "tensor '%s': shape[%u] is not a non-negative integer",
				       t->name, i);
		if (__builtin_mul_overflow(t->count, t->shape[i], &t->count))
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				       "tensor '%s': shape overflows 64 bits", t->name);
	}

	if (offs->kind != VITRT_JSON_ARRAY || offs->len != 2 ||
	    !json_u64(&offs->items[0], &r->begin) || !json_u64(&offs->items[1], &r->end))
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

/* Parse and check the header, then load the tensors. */
static int st_parse(struct vitrt_st *st, int fd, const char *text, uint64_t hlen,
		    uint64_t data_size, char *msg, size_t cap)
{
	const struct vitrt_json *root;
	struct st_range *r = NULL;
	char jmsg[256];
	uint32_t n = 0;
	int ret;

	st->header = vitrt_json_parse(text, hlen, jmsg, sizeof(jmsg));
	if (!st->header)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path, "header: %s", jmsg);
	root = st->header;
	if (root->kind != VITRT_JSON_OBJECT)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path, "header is %s, not an object",
			       vitrt_json_kind_name(root->kind));
	st->tensors = calloc(root->len ? root->len : 1, sizeof(*st->tensors));
	r = calloc(root->len ? root->len : 1, sizeof(*r));
	if (!st->tensors || !r) {
		free(r);
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, st->path, "out of memory");
	}
	for (uint32_t i = 0; i < root->len; i++) {
		const struct vitrt_json *e = &root->items[i];

		if (!strcmp(e->key, "__metadata__")) {
			bool ok = e->kind == VITRT_JSON_OBJECT;

			for (uint32_t j = 0; ok && j < e->len; j++)
				ok = e->items[j].kind == VITRT_JSON_STRING;
			if (!ok) {
				free(r);
				return vitrt_file_error(msg, cap, VITRT_EFORMAT, st->path,
					       "__metadata__ is not an object of strings");
			}
			st->meta = e;
			continue;
		}
		r[n].t = &st->tensors[n];
		ret = st_parse_entry(st->path, e, &r[n], data_size, msg, cap);
		if (ret) {
			free(r);
			return ret;
		}
		n++;
	}
	st->count = n;
	ret = st_check_layout(st->path, r, n, data_size, msg, cap);
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
	vitrt_json_free(st->header);
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

const struct vitrt_json *vitrt_st_metadata(const struct vitrt_st *st)
{
	return st->meta;
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
