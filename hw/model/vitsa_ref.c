// SPDX-License-Identifier: MIT
/* vitsa reference GEMM: see vitsa_ref.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vitsa_dtype.h"
#include "../include/vitsa_int.h"
#include "vitsa_model.h"
#include "vitsa_ref.h"

int64_t vitsa_ref_rshift_round(int64_t x, uint32_t s)
{
	return vitsa_int_rshift_round(x, s);
}

/* @rows rows of @row_bytes, @stride apart, from @addr lie within the @size bytes of memory. */
static bool inside(uint64_t addr, uint64_t rows, uint64_t stride, uint64_t row_bytes,
		   size_t size)
{
	uint64_t last;

	return vitsa_extent_last(addr, rows, stride, row_bytes, &last) && last < size;
}

/* Element (r, c) of a matrix stored row-major at @addr with @stride. */
static int32_t elem(const uint8_t *mem, uint64_t addr, uint64_t stride, uint32_t t, uint64_t r,
		    uint64_t c)
{
	return vitsa_dtypes[t].get(mem + addr + r * stride, (uint32_t)c);
}

static int32_t le32(const uint8_t *p)
{
	return vitsa_dtypes[VITSA_DTYPE_S32].get(p, 0);
}

/* The bias and requant tables, read once before C is written. */
struct tables {
	int32_t *bias, *mult, *shift;	/* [n] each */
};

/* The int32 accumulator of C[m][n], bias included, modulo 2^32. */
static uint32_t acc_of(const struct vitsa_hw_desc *d, const uint8_t *mem,
		       const struct tables *t, uint32_t m, uint32_t n)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	uint32_t acc = (uint32_t)t->bias[n];

	for (uint32_t k = 0; k < d->k; k++) {
		int32_t a = elem(mem, d->a_addr, d->a_stride, ta, m, k);
		int32_t b = bt ? elem(mem, d->b_addr, d->b_stride, tb, n, k)
			       : elem(mem, d->b_addr, d->b_stride, tb, k, n);

		acc += (uint32_t)(a * b);
	}
	return acc;
}

static int32_t result_of(const struct vitsa_hw_desc *d, const uint8_t *mem,
			 const struct tables *t, uint32_t m, uint32_t n)
{
	int32_t a32 = vitsa_int_wrap32(acc_of(d, mem, t, m, n));
	int64_t q;

	if (!(d->flags & VITSA_DESC_REQUANT))
		return a32;
	q = vitsa_ref_rshift_round((int64_t)a32 * t->mult[n], (uint32_t)t->shift[n]);
	return vitsa_dtype_saturate(VITSA_DESC_C_TYPE(d->types), q + d->c_zero);
}

static bool tables_inside(const struct vitsa_hw_desc *d, size_t size)
{
	return (!(d->flags & VITSA_DESC_BIAS) || inside(d->bias_addr, 1, 0, 4ull * d->n, size)) &&
	       (!(d->flags & VITSA_DESC_REQUANT) || inside(d->rq_addr, 1, 0, 8ull * d->n, size));
}

static bool operands_inside(const struct vitsa_hw_desc *d, size_t size)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);

	return inside(d->a_addr, d->m, d->a_stride, vitsa_row_bytes(ta, d->k), size) &&
	       inside(d->b_addr, bt ? d->n : d->k, d->b_stride,
		      vitsa_row_bytes(tb, bt ? d->k : d->n), size);
}

/* Zero bias and the identity requant where the flags leave a table out. */
static bool tables_read(const struct vitsa_hw_desc *d, const uint8_t *mem, struct tables *t)
{
	t->bias = calloc(3 * (size_t)d->n, sizeof(int32_t));
	if (!t->bias)
		return false;
	t->mult = t->bias + d->n;
	t->shift = t->mult + d->n;
	for (uint32_t n = 0; n < d->n; n++) {
		if (d->flags & VITSA_DESC_BIAS)
			t->bias[n] = le32(mem + d->bias_addr + 4ull * n);
		if (d->flags & VITSA_DESC_REQUANT) {
			t->mult[n] = le32(mem + d->rq_addr + 8ull * n);
			t->shift[n] = le32(mem + d->rq_addr + 8ull * n + 4);
		}
	}
	return true;
}

static bool shifts_ok(const struct vitsa_hw_desc *d, const struct tables *t)
{
	for (uint32_t n = 0; n < d->n; n++)
		if ((uint32_t)t->shift[n] > VITSA_RQ_MAX_SHIFT)
			return false;
	return true;
}

static void write_c(const struct vitsa_hw_desc *d, uint8_t *mem, const struct tables *t)
{
	uint32_t tc = VITSA_DESC_C_TYPE(d->types);

	for (uint32_t m = 0; m < d->m; m++) {
		uint8_t *row = mem + d->c_addr + m * d->c_stride;

		if (vitsa_dtypes[tc].bits == 4 && (d->n % 2))
			row[d->n / 2] = 0;	/* the unused high nibble of an odd row */
		for (uint32_t n = 0; n < d->n; n++)
			vitsa_dtypes[tc].set(row, n, result_of(d, mem, t, m, n));
	}
}

uint32_t vitsa_ref_gemm(const struct vitsa_hw_desc *d, uint8_t *mem, size_t size)
{
	uint32_t tc = VITSA_DESC_C_TYPE(d->types);
	uint32_t err = vitsa_desc_check(d);
	struct tables t;

	if (err)
		return err;
	if (!tables_inside(d, size))	/* the tables are read first (hw/vitsa.rst) */
		return VITSA_ERR_DMA_READ;
	if (!tables_read(d, mem, &t))
		return VITSA_ERR_INTERNAL;
	if (!shifts_ok(d, &t))
		err = VITSA_ERR_RQ;
	else if (!operands_inside(d, size))
		err = VITSA_ERR_DMA_READ;
	else if (!inside(d->c_addr, d->m, d->c_stride, vitsa_row_bytes(tc, d->n), size))
		err = VITSA_ERR_DMA_WRITE;
	else
		write_c(d, mem, &t);
	free(t.bias);
	return err;
}
