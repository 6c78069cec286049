// SPDX-License-Identifier: MIT
/* vitsa reference GEMM: see vitsa_ref.h. */
#include <stdbool.h>
#include <string.h>

#include "vitsa_dtype.h"
#include "vitsa_model.h"
#include "vitsa_ref.h"

int64_t vitsa_ref_rshift_round(int64_t x, uint32_t s)
{
	int64_t d, q, r;

	if (s == 0)
		return x;
	x += (int64_t)1 << (s - 1);
	d = (int64_t)1 << s;
	q = x / d;		/* C division truncates toward zero ... */
	r = x % d;
	return r < 0 ? q - 1 : q;	/* ... so step down once for a negative remainder */
}

static bool inside(uint64_t addr, uint64_t len, size_t size)
{
	return addr <= size && len <= size - addr;
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

/* The int32 with the bit pattern @v: v - 2^32 when bit 31 is set. */
static int32_t wrap32(uint32_t v)
{
	return v < 0x80000000u ? (int32_t)v : -(int32_t)~v - 1;
}

/* The int32 accumulator of C[m][n], bias included, modulo 2^32. */
static uint32_t acc_of(const struct vitsa_hw_desc *d, const uint8_t *mem, uint32_t m, uint32_t n)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	uint32_t acc = 0;

	for (uint32_t k = 0; k < d->k; k++) {
		int32_t a = elem(mem, d->a_addr, d->a_stride, ta, m, k);
		int32_t b = bt ? elem(mem, d->b_addr, d->b_stride, tb, n, k)
			       : elem(mem, d->b_addr, d->b_stride, tb, k, n);

		acc += (uint32_t)(a * b);
	}
	if (d->flags & VITSA_DESC_BIAS)
		acc += (uint32_t)le32(mem + d->bias_addr + 4ull * n);
	return acc;
}

static int32_t result_of(const struct vitsa_hw_desc *d, const uint8_t *mem, uint32_t m,
			 uint32_t n)
{
	uint32_t acc = acc_of(d, mem, m, n);
	int32_t a32 = wrap32(acc);
	const uint8_t *rq = mem + d->rq_addr + 8ull * n;
	int64_t q;

	if (!(d->flags & VITSA_DESC_REQUANT))
		return a32;
	q = vitsa_ref_rshift_round((int64_t)a32 * le32(rq), (uint32_t)le32(rq + 4));
	return vitsa_dtype_saturate(VITSA_DESC_C_TYPE(d->types), q + d->c_zero);
}

static bool operands_inside(const struct vitsa_hw_desc *d, size_t size)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	uint64_t a_len = (d->m - 1) * d->a_stride + vitsa_row_bytes(ta, d->k);
	uint64_t b_len = ((bt ? d->n : d->k) - 1) * d->b_stride +
			 vitsa_row_bytes(tb, bt ? d->k : d->n);

	return inside(d->a_addr, a_len, size) && inside(d->b_addr, b_len, size) &&
	       (!(d->flags & VITSA_DESC_BIAS) || inside(d->bias_addr, 4ull * d->n, size)) &&
	       (!(d->flags & VITSA_DESC_REQUANT) || inside(d->rq_addr, 8ull * d->n, size));
}

static bool shifts_ok(const struct vitsa_hw_desc *d, const uint8_t *mem)
{
	if (!(d->flags & VITSA_DESC_REQUANT))
		return true;
	for (uint32_t n = 0; n < d->n; n++)
		if ((uint32_t)le32(mem + d->rq_addr + 8ull * n + 4) > VITSA_RQ_MAX_SHIFT)
			return false;
	return true;
}

uint32_t vitsa_ref_gemm(const struct vitsa_hw_desc *d, uint8_t *mem, size_t size)
{
	uint32_t tc = VITSA_DESC_C_TYPE(d->types);
	uint64_t c_len;
	uint32_t err = vitsa_desc_check(d);

	if (err)
		return err;
	if (!operands_inside(d, size))
		return VITSA_ERR_DMA_READ;
	if (!shifts_ok(d, mem))
		return VITSA_ERR_RQ;
	c_len = (d->m - 1) * d->c_stride + vitsa_row_bytes(tc, d->n);
	if (!inside(d->c_addr, c_len, size))
		return VITSA_ERR_DMA_WRITE;
	for (uint32_t m = 0; m < d->m; m++) {
		uint8_t *row = mem + d->c_addr + m * d->c_stride;

		if (vitsa_dtypes[tc].bits == 4 && (d->n % 2))
			row[d->n / 2] = 0;	/* the unused high nibble of an odd row */
		for (uint32_t n = 0; n < d->n; n++)
			vitsa_dtypes[tc].set(row, n, result_of(d, mem, m, n));
	}
	return VITSA_ERR_OK;
}
