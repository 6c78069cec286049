/* SPDX-License-Identifier: MIT */
/*
 * What vitsa_iops.c (the operations) and vitsa_iops_ref.c (their _ref specifications) share:
 * the always-on precondition check and each operation's argument checks.
 */
#ifndef VITSA_IOPS_PRIV_H
#define VITSA_IOPS_PRIV_H

#include <stdio.h>
#include <stdlib.h>

#include "vitsa_iops.h"

/* Always-on check of API misuse. */
#define IOPS_ASSERT(cond)						\
	do {								\
		if (!(cond))						\
			iops_fail(__func__, #cond);			\
	} while (0)

__attribute__((noreturn, cold)) static inline void iops_fail(const char *fn, const char *cond)
{
	fprintf(stderr, "vitsa: %s: precondition failed: %s\n", fn, cond);
	abort();
}

/* One I-LayerNorm row's statistics. */
struct ln_stats {
	int32_t mean;
	int32_t factor;		/* floor((2^31 - 1) / std), 0 for std 0 */
};

static inline void ln_check(uint32_t rows, uint32_t cols, size_t out_stride, size_t x_stride)
{
	IOPS_ASSERT(cols >= 1 && cols <= VITSA_LAYERNORM_MAX_COLS);
	IOPS_ASSERT(rows <= 1 || (out_stride >= cols && x_stride >= cols));
}

static inline void shiftmax_check_args(uint32_t rows, uint32_t len, size_t out_stride, size_t x_stride,
				const struct vitsa_shiftmax *p)
{
	IOPS_ASSERT(vitsa_shiftmax_check(p) == 0);
	IOPS_ASSERT(len >= 1 && len <= p->max_len);
	IOPS_ASSERT(rows <= 1 || (out_stride >= len && x_stride >= len));
}

static inline void shiftmax16_check_args(uint32_t rows, uint32_t len, size_t out_stride, size_t lo_off,
				  size_t x_stride, const struct vitsa_shiftmax *p)
{
	shiftmax_check_args(rows, len, out_stride, x_stride, p);
	IOPS_ASSERT(lo_off >= len && (rows <= 1 || out_stride >= lo_off + len));
}

static inline void patches_check(size_t out_stride, uint32_t chans, uint32_t img, uint32_t patch,
			  uint32_t py0, uint32_t py1)
{
	IOPS_ASSERT(chans >= 1 && patch >= 1 && img % patch == 0);
	IOPS_ASSERT(img <= VITSA_PATCHES_MAX_IMG && py0 <= py1 && py1 <= img / patch);
	IOPS_ASSERT(out_stride >= (size_t)chans * patch * patch);
}

static inline void embed_check(uint32_t prefix, uint32_t r0, uint32_t r1, uint32_t cols,
			size_t out_stride, size_t x_stride, size_t pos_stride)
{
	IOPS_ASSERT(prefix <= VITSA_EMBED_MAX_PREFIX && r0 <= r1 && cols >= 1);
	IOPS_ASSERT(out_stride >= cols && pos_stride >= cols);
	IOPS_ASSERT(r1 <= prefix + 1 || x_stride >= cols);
}

#endif /* VITSA_IOPS_PRIV_H */
