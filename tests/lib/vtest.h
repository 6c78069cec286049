/* SPDX-License-Identifier: MIT */
/*
 * vitsa test support, built into build/libvitsa_test.a: one seeded PRNG and one random-GEMM
 * generator for the unit tests, the fuzzers, qtest, the driver selftests and vitrt gemm's
 * check.  The archive also carries the reference GEMM (hw/model/vitsa_ref.c), so that nothing
 * here is inside libvitrt.  The selftests link vtest_rng.c alone (they do not link hw/model).
 */
#ifndef VTEST_H
#define VTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- PRNG: splitmix64, so every state is a good seed, 0 and neighbours alike ---- */

struct vtest_rng {
	uint64_t state;
};

#define VTEST_RNG(seed)	((struct vtest_rng){ .state = (seed) })

uint64_t vtest_rng_u64(struct vtest_rng *r);
/* Uniform in [lo, hi] (the modulo bias is below 2^-32). */
uint32_t vtest_rng_in(struct vtest_rng *r, uint32_t lo, uint32_t hi);
int64_t vtest_rng_range(struct vtest_rng *r, int64_t lo, int64_t hi);
/* Uniform in [0, 1), 53 bits. */
double vtest_rng_unit(struct vtest_rng *r);
/* Log-uniform in 1..max: as many sizes below 8 as between 256 and 512. */
uint32_t vtest_rng_dim(struct vtest_rng *r, uint32_t max);
void vtest_rng_fill(struct vtest_rng *r, void *p, size_t n);

/* ---- random GEMM descriptors over one flat memory image ---- */

struct vitsa_hw_desc;

#define VTEST_ANY	(-1)

struct vtest_gemm_opts {
	uint32_t max_dim;	/* M, N and K in 1..max_dim */
	bool log_dims;		/* vtest_rng_dim's law, else uniform */
	int a_type, b_type;	/* operand types (VITSA_DTYPE_*), or VTEST_ANY */
	uint32_t row_pad;	/* a stride exceeds its row by 0..row_pad bytes */
	uint32_t gap;		/* 0..gap bytes before each operand */
	bool extremes;		/* operand bytes are 0x80, 0x7f or 0xff three times in four */
	bool rq_fit;		/* requantize into the result range (else any shift 0..40) */
};

/* A random GEMM's opcode, flags, dimensions, types and c_zero; every other field 0. */
void vtest_gemm_shape(struct vtest_rng *r, const struct vtest_gemm_opts *o,
		      struct vitsa_hw_desc *d);

/*
 * Strides and addresses for @d's shape in a fresh image *@mem (malloc'd, NULL when out of
 * memory), filled with random operands and requant entries; C ends the image, so a read past
 * it fails.  Returns the image's size.
 */
size_t vtest_gemm_layout(struct vtest_rng *r, const struct vtest_gemm_opts *o,
			 struct vitsa_hw_desc *d, uint8_t **mem);

/* vtest_gemm_shape, then vtest_gemm_layout. */
size_t vtest_gemm_new(struct vtest_rng *r, const struct vtest_gemm_opts *o,
		      struct vitsa_hw_desc *d, uint8_t **mem);

/* @n requant entries (struct vitsa_hw_rq) at @p for a GEMM of depth @k, as @o says. */
void vtest_gemm_rq(struct vtest_rng *r, const struct vtest_gemm_opts *o, uint8_t *p,
		   uint32_t n, uint32_t k);

#endif /* VTEST_H */
