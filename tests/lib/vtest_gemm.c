// SPDX-License-Identifier: MIT
/* vitsa test support: random GEMM descriptors over a flat image (vtest.h). */
#include <stdlib.h>
#include <string.h>

#include "vitsa_hw.h"
#include "vitsa_model.h"
#include "vtest.h"

static const uint32_t operand_types[] = { VITSA_DTYPE_S8, VITSA_DTYPE_U8, VITSA_DTYPE_S4,
					  VITSA_DTYPE_U4 };
static const uint32_t result_types[] = { VITSA_DTYPE_S8, VITSA_DTYPE_U8, VITSA_DTYPE_S4,
					 VITSA_DTYPE_U4, VITSA_DTYPE_S16 };

static uint32_t pick_type(struct vtest_rng *r, int want)
{
	return want == VTEST_ANY ? operand_types[vtest_rng_in(r, 0, 3)] : (uint32_t)want;
}

static uint32_t pick_dim(struct vtest_rng *r, const struct vtest_gemm_opts *o)
{
	return o->log_dims ? vtest_rng_dim(r, o->max_dim) : vtest_rng_in(r, 1, o->max_dim);
}

void vtest_gemm_shape(struct vtest_rng *r, const struct vtest_gemm_opts *o,
		      struct vitsa_hw_desc *d)
{
	uint32_t ta = pick_type(r, o->a_type), tb = pick_type(r, o->b_type), tc;
	bool rq;

	*d = (struct vitsa_hw_desc){ .opcode = VITSA_OP_GEMM, .flags = vtest_rng_in(r, 0, 7) };
	rq = d->flags & VITSA_DESC_REQUANT;
	tc = rq ? result_types[vtest_rng_in(r, 0, 4)] : VITSA_DTYPE_S32;
	d->types = VITSA_DESC_TYPES(ta, tb, tc);
	d->m = pick_dim(r, o);
	d->n = pick_dim(r, o);
	d->k = pick_dim(r, o);
	d->c_zero = rq ? (int32_t)vtest_rng_in(r, 0, 40) - 20 : 0;
}

static int ilog2(uint32_t v)
{
	int l = 0;

	while (v >>= 1)
		l++;
	return l;
}

/*
 * rq_fit: |acc| is about 2^14 sqrt(K) for random 8-bit operands, so a multiplier near 2^30
 * and a shift of 37 + log2(K) / 2 land most outputs inside the result range; else any
 * multiplier and a shift of 0..40, which saturates often (the edges are tested too).
 */
void vtest_gemm_rq(struct vtest_rng *r, const struct vtest_gemm_opts *o, uint8_t *p,
		   uint32_t n, uint32_t k)
{
	for (uint32_t i = 0; i < n; i++) {
		struct vitsa_hw_rq rq = { .mult = (int32_t)vtest_rng_u64(r),
					  .shift = vtest_rng_in(r, 0, 40) };

		if (o->rq_fit) {
			rq.mult = (int32_t)vtest_rng_in(r, 1u << 30, 0x7fffffffu);
			rq.shift = 37 + ilog2(k) / 2 + vtest_rng_in(r, 0, 4) - 2;
		}
		memcpy(p + i * sizeof(rq), &rq, sizeof(rq));	/* host is little-endian (x86) */
	}
}

static void fill_operands(struct vtest_rng *r, const struct vtest_gemm_opts *o, uint8_t *p,
			  size_t n)
{
	static const uint8_t edge[] = { 0x80, 0x7f, 0xff };

	vtest_rng_fill(r, p, n);
	for (size_t i = 0; o->extremes && i < n; i++)
		if (p[i] % 4 != 3)
			p[i] = edge[p[i] % 4];
}

/* The next operand's address: @len bytes of the one before, then 0..gap bytes. */
static uint64_t place(struct vtest_rng *r, const struct vtest_gemm_opts *o, uint64_t *off,
		      uint64_t len)
{
	uint64_t at = *off + vtest_rng_in(r, 0, o->gap);

	*off = at + len;
	return at;
}

size_t vtest_gemm_layout(struct vtest_rng *r, const struct vtest_gemm_opts *o,
			 struct vitsa_hw_desc *d, uint8_t **mem)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	uint32_t tc = VITSA_DESC_C_TYPE(d->types);
	uint64_t off = 0;

	d->a_stride = vitsa_row_bytes(ta, d->k) + vtest_rng_in(r, 0, o->row_pad);
	d->b_stride = vitsa_row_bytes(tb, bt ? d->k : d->n) + vtest_rng_in(r, 0, o->row_pad);
	d->c_stride = vitsa_row_bytes(tc, d->n) + vtest_rng_in(r, 0, o->row_pad);
	d->a_addr = place(r, o, &off, d->m * d->a_stride);
	d->b_addr = place(r, o, &off, (bt ? d->n : d->k) * d->b_stride);
	if (d->flags & VITSA_DESC_BIAS)
		d->bias_addr = place(r, o, &off, 4ull * d->n);
	if (d->flags & VITSA_DESC_REQUANT)
		d->rq_addr = place(r, o, &off, 8ull * d->n);
	d->c_addr = place(r, o, &off, d->m * d->c_stride);
	*mem = malloc(off ? off : 1);
	if (!*mem)
		return 0;
	fill_operands(r, o, *mem, off);
	if (d->rq_addr)
		vtest_gemm_rq(r, o, *mem + d->rq_addr, d->n, d->k);
	return off;
}

size_t vtest_gemm_new(struct vtest_rng *r, const struct vtest_gemm_opts *o,
		      struct vitsa_hw_desc *d, uint8_t **mem)
{
	vtest_gemm_shape(r, o, d);
	return vtest_gemm_layout(r, o, d, mem);
}
