// SPDX-License-Identifier: MIT
/*
 * vitsa functional model: one GEMM descriptor, executed in panels.
 *
 * C is produced in blocks of PANEL_M x PANEL_N: the B panel (PANEL_N columns of B, stored
 * transposed) and the A panel (PANEL_M rows) are read through the memory callbacks and
 * widened to int16, every output is a dot product accumulated modulo 2^32, and the epilogue
 * (bias, requantization, saturation, packing) writes the block back.  Working memory is
 * bounded by MAX_DIM whatever the guest asks for.  vitsa_ref.c is the specification.
 */
#include <stdlib.h>
#include <string.h>

#include "vitsa_dtype.h"
#include "vitsa_model.h"

#define PANEL_M 64
#define PANEL_N 64	/* even, so every B panel and C block starts on a byte */

struct gemm {
	const struct vitsa_hw_desc *d;
	const struct vitsa_mem_ops *ops;
	void *opaque;
	struct vitsa_job_stats *st;
	int32_t *bias;			/* N, zeros without BIAS */
	struct vitsa_hw_rq *rq;		/* N, with REQUANT */
	int16_t *a;			/* PANEL_M x K */
	int16_t *bt;			/* PANEL_N x K */
	uint8_t *row;			/* one row of any operand or result, as stored */
};

static uint32_t mem_read(struct gemm *g, uint64_t addr, void *buf, size_t len)
{
	g->st->rd_bytes += len;
	return g->ops->read(g->opaque, addr, buf, len) ? VITSA_ERR_DMA_READ : VITSA_ERR_OK;
}

static uint32_t mem_write(struct gemm *g, uint64_t addr, const void *buf, size_t len)
{
	g->st->wr_bytes += len;
	return g->ops->write(g->opaque, addr, buf, len) ? VITSA_ERR_DMA_WRITE : VITSA_ERR_OK;
}

static bool cancelled(struct gemm *g)
{
	return g->ops->cancelled && g->ops->cancelled(g->opaque);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Bias and requant tables, each read at once and decoded from little-endian; shifts checked. */
static uint32_t load_tables(struct gemm *g)
{
	const struct vitsa_hw_desc *d = g->d;
	uint8_t *raw = malloc(8ull * d->n);
	uint32_t err = raw ? VITSA_ERR_OK : VITSA_ERR_INTERNAL;

	if (!err && (d->flags & VITSA_DESC_BIAS))
		err = mem_read(g, d->bias_addr, raw, 4ull * d->n);
	for (uint32_t n = 0; n < d->n && !err && (d->flags & VITSA_DESC_BIAS); n++)
		g->bias[n] = (int32_t)le32(raw + 4ull * n);
	if (!err && (d->flags & VITSA_DESC_REQUANT))
		err = mem_read(g, d->rq_addr, raw, 8ull * d->n);
	for (uint32_t n = 0; n < d->n && !err && (d->flags & VITSA_DESC_REQUANT); n++) {
		g->rq[n].mult = (int32_t)le32(raw + 8ull * n);
		g->rq[n].shift = le32(raw + 8ull * n + 4);
		if (g->rq[n].shift > VITSA_RQ_MAX_SHIFT)
			err = VITSA_ERR_RQ;
	}
	free(raw);
	return err;
}

/* Rows m0.. of A, widened. */
static uint32_t load_a(struct gemm *g, uint32_t m0, uint32_t mb)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t t = VITSA_DESC_A_TYPE(d->types);
	uint64_t bytes = vitsa_row_bytes(t, d->k);

	for (uint32_t i = 0; i < mb; i++) {
		uint32_t err = mem_read(g, d->a_addr + (uint64_t)(m0 + i) * d->a_stride,
					g->row, bytes);
		if (err)
			return err;
		vitsa_dtypes[t].unpack(g->a + (size_t)i * d->k, g->row, 0, d->k);
	}
	return VITSA_ERR_OK;
}

/* Columns n0.. of B, widened and transposed: bt[j][k] = B[k][n0 + j]. */
static uint32_t load_b(struct gemm *g, uint32_t n0, uint32_t nb)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t t = VITSA_DESC_B_TYPE(d->types);
	int16_t col[PANEL_N];

	if (d->flags & VITSA_DESC_B_TRANS) {
		for (uint32_t j = 0; j < nb; j++) {
			uint32_t err = mem_read(g, d->b_addr + (uint64_t)(n0 + j) * d->b_stride,
						g->row, vitsa_row_bytes(t, d->k));
			if (err)
				return err;
			vitsa_dtypes[t].unpack(g->bt + (size_t)j * d->k, g->row, 0, d->k);
		}
		return VITSA_ERR_OK;
	}
	for (uint32_t k = 0; k < d->k; k++) {
		uint64_t addr = d->b_addr + (uint64_t)k * d->b_stride + vitsa_dtype_offset(t, n0);
		uint32_t err = mem_read(g, addr, g->row, vitsa_row_bytes(t, nb));

		if (err)
			return err;
		vitsa_dtypes[t].unpack(col, g->row, 0, nb);
		for (uint32_t j = 0; j < nb; j++)
			g->bt[(size_t)j * d->k + k] = col[j];
	}
	return VITSA_ERR_OK;
}

/*
 * The hot loop.  GCC vectorizes it into pmaddwd only at -O3, and QEMU builds with -O2, so the
 * function asks for both itself; the AVX2 clone is picked at load time when the CPU has it.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VITSA_HOT __attribute__((optimize("O3"), target_clones("avx2", "default")))
#else
#define VITSA_HOT
#endif

/* Sum of x[i] * y[i] modulo 2^32: every product fits an int32 (|x|, |y| <= 255). */
VITSA_HOT static uint32_t dot(const int16_t *x, const int16_t *y, uint32_t n)
{
	uint32_t s = 0;

	for (uint32_t i = 0; i < n; i++)
		s += (uint32_t)(x[i] * y[i]);
	return s;
}

/* Two's complement view of a 32-bit pattern. */
static inline int32_t s32(uint32_t v)
{
	return (int32_t)(v & 0x7fffffffu) + (INT32_MIN & -(int32_t)(v >> 31));
}

/*
 * Epilogue of one row segment, columns n0..: bias, then the raw int32, or requantized and
 * saturated to the result type.  >> of a negative int64 is an arithmetic shift in GCC and
 * Clang; with shift 0 the rounding term is 0 and the shift a no-op.
 */
VITSA_HOT static void finish_row(const struct gemm *g, int32_t *out, const uint32_t *acc,
				 uint32_t n0, uint32_t nb)
{
	const struct vitsa_hw_desc *d = g->d;
	const struct vitsa_dtype_traits *t = &vitsa_dtypes[VITSA_DESC_C_TYPE(d->types)];

	if (!(d->flags & VITSA_DESC_REQUANT)) {
		for (uint32_t j = 0; j < nb; j++)
			out[j] = s32(acc[j] + (uint32_t)g->bias[n0 + j]);
		return;
	}
	int64_t lo = t->min, hi = t->max, zero = d->c_zero;

	for (uint32_t j = 0; j < nb; j++) {
		const struct vitsa_hw_rq *rq = &g->rq[n0 + j];
		int64_t half = rq->shift ? (int64_t)1 << (rq->shift - 1) : 0;
		int64_t p = ((int64_t)s32(acc[j] + (uint32_t)g->bias[n0 + j]) * rq->mult + half) >>
			    rq->shift;

		p += zero;
		out[j] = (int32_t)(p < lo ? lo : p > hi ? hi : p);
	}
}

/* Store @nb results (already in range) as one packed row. */
static void pack_row(uint8_t *row, const int32_t *v, uint32_t nb, uint32_t type)
{
	switch (vitsa_dtypes[type].bits) {
	case 8:
		for (uint32_t j = 0; j < nb; j++)
			row[j] = (uint8_t)v[j];
		break;
	default:
		for (uint32_t j = 0; j < nb; j++)
			vitsa_dtypes[type].set(row, j, v[j]);
	}
}

static uint32_t compute_block(struct gemm *g, uint32_t m0, uint32_t mb, uint32_t n0, uint32_t nb)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t t = VITSA_DESC_C_TYPE(d->types);
	uint64_t bytes = vitsa_row_bytes(t, nb);
	uint32_t acc[PANEL_N];
	int32_t out[PANEL_N];

	for (uint32_t i = 0; i < mb; i++) {
		const int16_t *a = g->a + (size_t)i * d->k;
		uint64_t addr = d->c_addr + (uint64_t)(m0 + i) * d->c_stride +
				vitsa_dtype_offset(t, n0);
		uint32_t err;

		for (uint32_t j = 0; j < nb; j++)
			acc[j] = dot(a, g->bt + (size_t)j * d->k, d->k);
		finish_row(g, out, acc, n0, nb);
		memset(g->row, 0, bytes);
		pack_row(g->row, out, nb, t);
		err = mem_write(g, addr, g->row, bytes);
		if (err)
			return err;
	}
	return VITSA_ERR_OK;
}

static uint32_t run(struct gemm *g)
{
	const struct vitsa_hw_desc *d = g->d;
	uint32_t err = load_tables(g);

	for (uint32_t n0 = 0; n0 < d->n && !err; n0 += PANEL_N) {
		uint32_t nb = d->n - n0 < PANEL_N ? d->n - n0 : PANEL_N;

		err = load_b(g, n0, nb);
		for (uint32_t m0 = 0; m0 < d->m && !err; m0 += PANEL_M) {
			uint32_t mb = d->m - m0 < PANEL_M ? d->m - m0 : PANEL_M;

			if (cancelled(g))
				return VITSA_ERR_ABORTED;
			err = load_a(g, m0, mb);
			if (!err)
				err = compute_block(g, m0, mb, n0, nb);
		}
	}
	return err;
}

static bool gemm_alloc(struct gemm *g)
{
	const struct vitsa_hw_desc *d = g->d;
	size_t row = 4 * (size_t)(d->k > d->n ? d->k : d->n) + 8;

	g->bias = calloc(d->n, sizeof(*g->bias));
	g->rq = calloc(d->n, sizeof(*g->rq));
	g->a = malloc((size_t)PANEL_M * d->k * sizeof(*g->a));
	g->bt = malloc((size_t)PANEL_N * d->k * sizeof(*g->bt));
	g->row = malloc(row);
	return g->bias && g->rq && g->a && g->bt && g->row;
}

static void gemm_free(struct gemm *g)
{
	free(g->bias);
	free(g->rq);
	free(g->a);
	free(g->bt);
	free(g->row);
}

uint32_t vitsa_model_exec(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			  const struct vitsa_mem_ops *ops, void *opaque,
			  struct vitsa_job_stats *st)
{
	struct gemm g = { .d = d, .ops = ops, .opaque = opaque, .st = st };
	uint32_t err;

	memset(st, 0, sizeof(*st));
	err = vitsa_desc_check(d);
	if (err)
		return err;
	err = gemm_alloc(&g) ? run(&g) : VITSA_ERR_INTERNAL;
	gemm_free(&g);
	if (err)
		return err;
	st->macs = (uint64_t)d->m * d->n * d->k;
	st->cycles = vitsa_model_cycles(cfg, d->m, d->n, d->k);
	return VITSA_ERR_OK;
}
