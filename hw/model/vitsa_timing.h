/* SPDX-License-Identifier: MIT */
/*
 * vitsa whole-inference timing (Documentation/hw/vitsa.rst, "Whole-inference model"): one GEMM
 * job with its DRAM traffic and double-buffered weight tiles, and the vector unit's ops.  The
 * array itself is vitsa_model_cycles: with unbounded bandwidth a job takes exactly that.
 * Plain C99, no runtime includes (the QEMU build compiles every hw/model file).
 */
#ifndef VITSA_TIMING_H
#define VITSA_TIMING_H

#include <stdbool.h>
#include <stdint.h>

#include "vitsa_model.h"

/* One GEMM job: its shape, element widths in bits, and which operands live in DRAM. */
struct vitsa_timing_gemm {
	uint32_t m, n, k;
	uint32_t a_bits, b_bits, c_bits;	/* 4, 8, 16 or 32 */
	bool a_dram;	/* A re-read from DRAM for every column tile */
	bool a_once;	/* A read from DRAM with the first column, then kept on chip */
	bool b_dram;	/* weights; false for an on-chip activation (K_h, V_h) */
	bool c_dram;	/* C written back to DRAM column by column */
};

struct vitsa_timing {
	uint64_t cycles;	/* the job, memory included */
	uint64_t array;		/* vitsa_model_cycles of its shape */
	uint64_t stall;		/* cycles - array */
	uint64_t dram_bytes;	/* read and written */
};

/* @g on @cfg with DRAM delivering @bw bytes per cycle (0: unbounded); all zero for a side of 0. */
void vitsa_timing_gemm(const struct vitsa_model_cfg *cfg, uint32_t bw,
		       const struct vitsa_timing_gemm *g, struct vitsa_timing *t);

/* Cycles to move @bytes at @bw bytes per cycle (0: unbounded, so 0 cycles). */
uint64_t vitsa_timing_xfer(uint64_t bytes, uint32_t bw);

/* The vector unit's operations (issue 14's descriptor kinds). */
enum vitsa_vop {
	VITSA_VOP_LAYERNORM,	/* I-LayerNorm of each row */
	VITSA_VOP_SHIFTMAX,	/* Shiftmax of each row */
	VITSA_VOP_GELU,		/* ShiftGELU, elementwise */
	VITSA_VOP_ADD,		/* residual add with rescale, or class-token/position add */
	VITSA_VOP_COUNT
};

#define VITSA_VEC_SQRT_LATENCY	16u	/* I-LayerNorm's integer square root, per row */
#define VITSA_VEC_DIV_LATENCY	32u	/* Shiftmax's integer divide, per row */

/* Cycles of @op over @rows rows of @cols elements on @lanes lanes (>= 1). */
uint64_t vitsa_vector_cycles(enum vitsa_vop op, uint32_t lanes, uint32_t rows, uint32_t cols);

#endif /* VITSA_TIMING_H */
