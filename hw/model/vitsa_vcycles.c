// SPDX-License-Identifier: MIT
/*
 * vitsa vector unit cycle counts: Documentation/hw/vitsa.rst, "Whole-inference model".  One
 * element per lane per cycle per pass, fully pipelined; a row's reduction result (the square
 * root, the divisor) is waited for once per row.
 */
#include "vitsa_timing.h"

uint64_t vitsa_vector_cycles(enum vitsa_vop op, uint32_t lanes, uint32_t rows, uint32_t cols)
{
	uint64_t beats = ((uint64_t)cols + lanes - 1) / lanes;

	switch (op) {
	case VITSA_VOP_LAYERNORM:	/* mean and variance, then normalize */
		return rows * (2 * beats + VITSA_VEC_SQRT_LATENCY);
	case VITSA_VOP_SHIFTMAX:	/* max, exponent and sum, then normalize */
		return rows * (3 * beats + VITSA_VEC_DIV_LATENCY);
	case VITSA_VOP_GELU:	/* elementwise; its divide pipelined */
	case VITSA_VOP_ADD:
		return rows * beats;
	default:
		return 0;
	}
}
