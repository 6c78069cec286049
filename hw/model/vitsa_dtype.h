/* SPDX-License-Identifier: MIT */
/*
 * vitsa element types: one traits row per VITSA_DTYPE_*.  Code that touches packed data looks
 * the traits up instead of switching on the type.
 */
#ifndef VITSA_DTYPE_H
#define VITSA_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../include/vitsa_hw.h"

struct vitsa_dtype_traits {
	const char *name;
	uint32_t bits;		/* storage bits per element: 4, 8, 16 or 32 */
	int32_t min, max;	/* value range */
	bool operand;		/* allowed as A or B */
	bool result;		/* allowed as a requantized C */
	/* Element @i of the packed row @row. */
	int32_t (*get)(const uint8_t *row, uint32_t i);
	/* Store @v (already in range) as element @i of @row; other elements are kept. */
	void (*set)(uint8_t *row, uint32_t i, int32_t v);
	/* dst[j] = element c0 + j of the row that starts at @row, for j < @cnt; c0 is even. */
	void (*unpack)(int16_t *dst, const uint8_t *row, uint32_t c0, uint32_t cnt);
};

extern const struct vitsa_dtype_traits vitsa_dtypes[VITSA_DTYPE_COUNT];

static inline bool vitsa_dtype_valid(uint32_t t)
{
	return t < VITSA_DTYPE_COUNT;
}

/* Byte offset of element @i within a row (int4 elements share bytes). */
static inline uint64_t vitsa_dtype_offset(uint32_t t, uint64_t i)
{
	return i * vitsa_dtypes[t].bits / 8;
}

/* Clamp a 64-bit value into @t's range. */
static inline int32_t vitsa_dtype_saturate(uint32_t t, int64_t v)
{
	if (v < vitsa_dtypes[t].min)
		return vitsa_dtypes[t].min;
	if (v > vitsa_dtypes[t].max)
		return vitsa_dtypes[t].max;
	return (int32_t)v;
}

#endif /* VITSA_DTYPE_H */
