// SPDX-License-Identifier: MIT
/* RTL testbench, C side: see tb_job.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_job.h"
#include "vitsa_dtype.h"
#include "vitsa_model.h"

struct tb_job {
	struct tb_shape s;
	struct vitsa_model_cfg cfg;
	struct vitsa_hw_desc d;
	uint8_t *mem;		/* operands, tables and C as the model left them */
	uint8_t *got;		/* the same image before the model ran; RTL results go here */
	size_t size;
	int32_t *res;		/* M x N results from the RTL */
	uint8_t *seen;		/* M x N: how many results each element got (saturating) */
	int bad_store;		/* a result outside the matrix arrived */
	uint64_t rng;
};

/* splitmix64: small, seedable, the same sequence everywhere. */
static uint64_t rnd(struct tb_job *j)
{
	uint64_t z = (j->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in lo..hi. */
static uint32_t rnd_in(struct tb_job *j, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rnd(j) % ((uint64_t)hi - lo + 1));
}

/*
 * A dimension: mostly small (so a thousand jobs simulate quickly), a third of them below the
 * array size (ragged tiles, M < rows), some a little over a few tiles.
 */
static uint32_t pick_dim(struct tb_job *j, uint32_t tile, uint32_t max)
{
	uint32_t r = rnd_in(j, 0, 9), v;

	if (r < 3)
		v = rnd_in(j, 1, tile > 1 ? tile - 1 : 1);
	else if (r < 8)
		v = rnd_in(j, 1, 3 * tile);
	else
		v = rnd_in(j, 3 * tile, 6 * tile + 5);
	return v < max ? v : max;
}

static void pick_shape(struct tb_job *j, const struct tb_shape *fix, uint32_t max_m,
		       uint32_t max_n)
{
	struct tb_shape *s = &j->s;
	static const uint32_t results[] = { VITSA_DTYPE_S8, VITSA_DTYPE_U8, VITSA_DTYPE_S4,
					    VITSA_DTYPE_U4, VITSA_DTYPE_S16 };

	s->m = fix ? fix->m : pick_dim(j, j->cfg.rows, max_m);
	s->n = fix ? fix->n : pick_dim(j, j->cfg.cols, max_n);
	s->k = fix ? fix->k : pick_dim(j, j->cfg.rows, VITSA_MODEL_MAX_DIM);
	s->a_type = rnd_in(j, 0, 3);
	s->b_type = rnd_in(j, 0, 3);
	s->b_trans = rnd_in(j, 0, 1);
	s->bias = rnd_in(j, 0, 1);
	s->requant = rnd_in(j, 0, 3) != 0;
	s->c_type = s->requant ? results[rnd_in(j, 0, 4)] : VITSA_DTYPE_S32;
	/* Mostly a realistic zero point, sometimes one that pushes everything to saturation. */
	s->c_zero = !s->requant ? 0 : rnd_in(j, 0, 7) ? (int32_t)rnd_in(j, 0, 600) - 300
						      : (int32_t)(uint32_t)rnd(j);
}

/* Random bytes: operands, stride padding and the background of C alike. */
static void fill(struct tb_job *j, uint64_t addr, uint64_t bytes)
{
	for (uint64_t i = 0; i < bytes; i++)
		j->mem[addr + i] = (uint8_t)rnd(j);
}

/*
 * Per-channel tables: bias anywhere in int32 (so acc + bias wraps at times); multiplier and
 * shift of random magnitudes, so results span saturated, in range and rounding ties.
 */
static void fill_tables(struct tb_job *j)
{
	uint8_t *b = j->mem + j->d.bias_addr, *q = j->mem + j->d.rq_addr;

	for (uint32_t n = 0; n < j->s.n; n++) {
		uint32_t bias = rnd_in(j, 0, 3) ? (uint32_t)(rnd_in(j, 0, 1 << 20) - (1 << 19))
						 : (uint32_t)rnd(j);
		uint32_t mag = rnd_in(j, 0, 31);
		uint32_t mult = (uint32_t)(rnd(j) >> (63 - mag)) * (rnd_in(j, 0, 1) ? 1u : -1u);
		uint32_t shift = rnd_in(j, 0, 3) ? mag + rnd_in(j, 0, 14) : rnd_in(j, 0, 62);

		shift = shift > VITSA_RQ_MAX_SHIFT ? VITSA_RQ_MAX_SHIFT : shift;
		for (int i = 0; i < 4; i++) {
			if (j->s.bias)
				b[4 * n + i] = (uint8_t)(bias >> (8 * i));
			if (j->s.requant) {
				q[8 * n + i] = (uint8_t)(mult >> (8 * i));
				q[8 * n + 4 + i] = (uint8_t)(shift >> (8 * i));
			}
		}
	}
}

/* Lay out A, B, C (each row padded by 0..7 bytes) and the tables; fill all at random. */
static int layout(struct tb_job *j)
{
	struct vitsa_hw_desc *d = &j->d;
	const struct tb_shape *s = &j->s;
	uint64_t a_rows = s->m, b_rows = s->b_trans ? s->n : s->k, c_rows = s->m, off = 64;

	d->opcode = VITSA_OP_GEMM;
	d->flags = (s->b_trans ? VITSA_DESC_B_TRANS : 0) | (s->bias ? VITSA_DESC_BIAS : 0) |
		   (s->requant ? VITSA_DESC_REQUANT : 0);
	d->m = s->m, d->n = s->n, d->k = s->k;
	d->types = VITSA_DESC_TYPES(s->a_type, s->b_type, s->c_type);
	d->c_zero = s->c_zero;
	d->a_stride = vitsa_row_bytes(s->a_type, s->k) + rnd_in(j, 0, 7);
	d->b_stride = vitsa_row_bytes(s->b_type, s->b_trans ? s->k : s->n) + rnd_in(j, 0, 7);
	d->c_stride = vitsa_row_bytes(s->c_type, s->n) + rnd_in(j, 0, 7);
	d->a_addr = off, off += a_rows * d->a_stride + 8;
	d->b_addr = off, off += b_rows * d->b_stride + 8;
	d->c_addr = off, off += c_rows * d->c_stride + 8;
	d->bias_addr = s->bias ? off : 0, off += 4ull * s->n + 8;
	d->rq_addr = s->requant ? off : 0, off += 8ull * s->n + 8;
	j->size = off;
	j->mem = malloc(j->size);
	j->got = malloc(j->size);
	j->res = calloc((size_t)s->m * s->n, sizeof(*j->res));
	j->seen = calloc((size_t)s->m * s->n, 1);
	if (!j->mem || !j->got || !j->res || !j->seen)
		return -1;
	fill(j, 0, j->size);
	fill_tables(j);
	return 0;
}

static int flat_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct tb_job *j = opaque;

	if (addr > j->size || len > j->size - addr)
		return -1;
	memcpy(buf, j->mem + addr, len);
	return 0;
}

static int flat_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
	struct tb_job *j = opaque;

	if (addr > j->size || len > j->size - addr)
		return -1;
	memcpy(j->mem + addr, buf, len);
	return 0;
}

static const struct vitsa_mem_ops flat_ops = { .read = flat_read, .write = flat_write };

struct tb_job *tb_job_new(uint32_t rows, uint32_t cols, uint64_t seed, const struct tb_shape *fix,
			  uint32_t max_m, uint32_t max_n)
{
	struct tb_job *j = calloc(1, sizeof(*j));
	struct vitsa_job_stats st;

	if (!j)
		return NULL;
	j->rng = seed;
	j->cfg.rows = rows;
	j->cfg.cols = cols;
	pick_shape(j, fix, max_m, max_n);
	if (layout(j)) {
		tb_job_free(j);
		return NULL;
	}
	memcpy(j->got, j->mem, j->size);
	if (vitsa_model_exec(&j->cfg, &j->d, &flat_ops, j, &st) != VITSA_ERR_OK) {
		fprintf(stderr, "tb_job: the model rejected job seed %#llx\n",
			(unsigned long long)seed);
		tb_job_free(j);
		return NULL;
	}
	return j;
}

void tb_job_free(struct tb_job *j)
{
	if (!j)
		return;
	free(j->mem);
	free(j->got);
	free(j->res);
	free(j->seen);
	free(j);
}

const struct tb_shape *tb_job_shape(const struct tb_job *j)
{
	return &j->s;
}

uint64_t tb_job_model_cycles(const struct tb_job *j)
{
	return vitsa_model_cycles(&j->cfg, j->s.m, j->s.n, j->s.k);
}

static uint8_t code(uint32_t t, int32_t v)
{
	return (uint8_t)(v & (vitsa_dtypes[t].bits == 4 ? 0xf : 0xff));
}

uint8_t tb_job_a(const struct tb_job *j, uint32_t m, uint32_t k)
{
	const uint8_t *row = j->got + j->d.a_addr + (uint64_t)m * j->d.a_stride;

	return code(j->s.a_type, vitsa_dtypes[j->s.a_type].get(row, k));
}

uint8_t tb_job_b(const struct tb_job *j, uint32_t k, uint32_t n)
{
	uint32_t r = j->s.b_trans ? n : k, c = j->s.b_trans ? k : n;
	const uint8_t *row = j->got + j->d.b_addr + (uint64_t)r * j->d.b_stride;

	return code(j->s.b_type, vitsa_dtypes[j->s.b_type].get(row, c));
}

void tb_job_table(const struct tb_job *j, uint32_t n, int32_t *bias, int32_t *mult,
		  uint32_t *shift)
{
	const struct vitsa_dtype_traits *s32 = &vitsa_dtypes[VITSA_DTYPE_S32];

	*bias = j->s.bias ? s32->get(j->got + j->d.bias_addr, n) : 0;
	*mult = j->s.requant ? s32->get(j->got + j->d.rq_addr + 8ull * n, 0) : 0;
	*shift = j->s.requant ? (uint32_t)s32->get(j->got + j->d.rq_addr + 8ull * n + 4, 0) : 0;
}

int tb_job_store(struct tb_job *j, uint32_t m, uint32_t n, int32_t y)
{
	size_t i = (size_t)m * j->s.n + n;

	if (m >= j->s.m || n >= j->s.n || j->seen[i]) {
		j->bad_store = 1;
		return -1;
	}
	j->seen[i] = 1;
	j->res[i] = y;
	return 0;
}

/* Write the recorded rows into the C region as the model does: whole rows, int4 high nibble
 * of an odd row's last byte 0. */
static void pack_results(struct tb_job *j)
{
	const struct vitsa_dtype_traits *t = &vitsa_dtypes[j->s.c_type];
	uint64_t bytes = vitsa_row_bytes(j->s.c_type, j->s.n);

	for (uint32_t m = 0; m < j->s.m; m++) {
		uint8_t *row = j->got + j->d.c_addr + (uint64_t)m * j->d.c_stride;

		memset(row, 0, bytes);
		for (uint32_t n = 0; n < j->s.n; n++)
			t->set(row, n, j->res[(size_t)m * j->s.n + n]);
	}
}

static int first_missing(const struct tb_job *j, char *msg, size_t len)
{
	for (size_t i = 0; i < (size_t)j->s.m * j->s.n; i++) {
		if (!j->seen[i]) {
			snprintf(msg, len, "no result for C[%zu][%zu]", i / j->s.n, i % j->s.n);
			return -1;
		}
	}
	return 0;
}

int tb_job_check(struct tb_job *j, char *msg, size_t len)
{
	const struct vitsa_dtype_traits *t = &vitsa_dtypes[j->s.c_type];
	uint64_t off;

	if (j->bad_store) {
		snprintf(msg, len, "a result outside C or a second result for one element");
		return -1;
	}
	if (first_missing(j, msg, len))
		return -1;
	pack_results(j);
	for (off = 0; off < j->size && j->got[off] == j->mem[off]; off++)
		;
	if (off == j->size)
		return 0;
	if (off >= j->d.c_addr && off < j->d.c_addr + (uint64_t)j->s.m * j->d.c_stride) {
		uint64_t m = (off - j->d.c_addr) / j->d.c_stride;
		uint64_t n = (off - j->d.c_addr) % j->d.c_stride * 8 / t->bits;
		const uint8_t *row = j->d.c_addr + m * j->d.c_stride + j->mem;

		if (n < j->s.n) {
			snprintf(msg, len, "C[%llu][%llu] = %d, model %d", (unsigned long long)m,
				 (unsigned long long)n, t->get(row - j->mem + j->got, (uint32_t)n),
				 t->get(row, (uint32_t)n));
			return -1;
		}
	}
	snprintf(msg, len, "memory byte %llu differs: %#x, model %#x", (unsigned long long)off,
		 j->got[off], j->mem[off]);
	return -1;
}

void tb_job_describe(const struct tb_job *j, char *buf, size_t len)
{
	const struct tb_shape *s = &j->s;

	snprintf(buf, len, "%ux%ux%u a=%s b=%s c=%s%s%s%s c_zero=%d", s->m, s->n, s->k,
		 vitsa_dtypes[s->a_type].name, vitsa_dtypes[s->b_type].name,
		 vitsa_dtypes[s->c_type].name, s->b_trans ? " bt" : "", s->bias ? " bias" : "",
		 s->requant ? " rq" : "", s->c_zero);
}
