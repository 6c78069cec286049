/* SPDX-License-Identifier: MIT */
/*
 * vitsa integer primitives: the arithmetic the hardware contract is written in, once, for the
 * hw model, the kernel driver and the runtime's integer ops.  Nothing here leaves a result to
 * the C implementation: negative numbers are never shifted right, division is only of
 * non-negative numbers or corrected to the floor.
 */
#ifndef VITSA_INT_H
#define VITSA_INT_H

#include "vitsa_hw.h"

/* Storage bits of each VITSA_DTYPE_* (a constant expression, for tables). */
#define VITSA_DTYPE_BITS(t) \
	((t) == VITSA_DTYPE_S4 || (t) == VITSA_DTYPE_U4 ? 4 : \
	 (t) == VITSA_DTYPE_S16 ? 16 : (t) == VITSA_DTYPE_S32 ? 32 : 8)

/* Bytes of one row of @cols elements of @t: int4 rows round up to a byte. */
static inline uint64_t vitsa_int_row_bytes(uint32_t t, uint32_t cols)
{
	return ((uint64_t)cols * VITSA_DTYPE_BITS(t) + 7) / 8;
}

/* The little-endian 32-bit word at @p. */
static inline uint32_t vitsa_int_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The int32 whose two's complement bit pattern is @v (v - 2^32 when bit 31 is set). */
static inline int32_t vitsa_int_wrap32(uint32_t v)
{
	return v < 0x80000000u ? (int32_t)v : -(int32_t)~v - 1;
}

/* floor(x / 2^s) for s <= 62: C's division truncates toward zero, so step down once. */
static inline int64_t vitsa_int_floor_shr(int64_t x, uint32_t s)
{
	int64_t d = (int64_t)1 << s, q = x / d;

	return x % d < 0 ? q - 1 : q;
}

/* floor((x + 2^(s-1)) / 2^s), or x for s = 0: division by 2^s rounded half up. */
static inline int64_t vitsa_int_rshift_round(int64_t x, uint32_t s)
{
	return s ? vitsa_int_floor_shr(x + ((int64_t)1 << (s - 1)), s) : x;
}

/* @v clamped to [lo, hi]. */
static inline int64_t vitsa_int_clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

#endif /* VITSA_INT_H */
