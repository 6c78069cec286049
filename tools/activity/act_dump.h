/* SPDX-License-Identifier: MIT */
/*
 * The operand file of one GEMM for the activity study (act_dump.c writes it, act_tb.cpp reads
 * it): the integer operands a real inference fed the array and the scales that dequantize them
 * (real = q * s_a for A, q * s_b[n] for column n of B).  Little-endian host layout:
 *
 *   struct act_dump_hdr, then int16 A[m][k], int16 B[k][n] (values, not codes), float s_b[n]
 */
#ifndef ACT_DUMP_H
#define ACT_DUMP_H

#include <stdint.h>

#define ACT_DUMP_MAGIC		"VITSAACT"
#define ACT_DUMP_VERSION	1

struct act_dump_hdr {
	char magic[8];
	uint32_t version;
	uint32_t m, n, k;
	uint32_t a_type, b_type;	/* enum vitrt_type: S8 0, U8 1, S4 2, U4 3 */
	float s_a;
	char name[32];			/* "b0.fc1" */
};

#endif /* ACT_DUMP_H */
