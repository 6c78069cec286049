/* SPDX-License-Identifier: MIT */
/*
 * The ops of the integer program as one table of traits (vitrt_ops.c).  The compiler encodes a
 * step, the validator checks it and the executor runs it from the same row of the table:
 * the op's name, where each parameter word goes in its typed parameters, the element type and
 * rows of each tensor, the checks of its parameters and the function that runs its rows.
 *
 * A step stores its parameters as int32 words p[] (the file format, vitrt_prog.h); the row of
 * the op says which 32-bit field of union vitrt_op_params word i is, so words are packed and
 * unpacked only here, and words past the op's own are 0.
 */
#ifndef VITRT_OPS_H
#define VITRT_OPS_H

#include <stdbool.h>

#include "vitsa_iops.h"
#include "vitrt_prog.h"

/* INPUT: the image's geometry; (img / patch)^2 patch rows of chans * patch^2 bytes. */
struct vitrt_op_input {
	uint32_t chans, img, patch;
};

/* EMBED: rows before the patches' (class, distillation token), 0..VITSA_EMBED_MAX_PREFIX. */
struct vitrt_op_embed {
	uint32_t prefix;
};

/* LAYERNORM: I-LayerNorm's output (scale sqrt(C) / 2^30) to the s8 output's scale. */
struct vitrt_op_layernorm {
	struct vitsa_dyadic out;
};

/* GELU: ShiftGELU, then its output (scale s_in * 2^-14) to the s8 output's scale. */
struct vitrt_op_gelu {
	struct vitsa_gelu gelu;
	struct vitsa_dyadic out;
	int32_t zero;		/* GELU_U4: the output's zero point, 0..15 */
};

/* ADD: each operand to the scale of the sum. */
struct vitrt_op_add {
	struct vitsa_dyadic a, b;
};

/*
 * SHIFTMAX16: Shiftmax with 16-bit output (vitsa_shiftmax16); each output row holds the high
 * bytes at 0 and the low ones from byte @lo on (>= cols), so two GEMMs read them with a stride.
 * The Shiftmax parameters come first, where SHIFTMAX has them.
 */
struct vitrt_op_shiftmax16 {
	struct vitsa_shiftmax sm;
	uint32_t lo;
};

/* JOIN16: 256 hi + lo (scale 2^-16 s_v) to the s8 output's scale (vitsa_join16_s8). */
struct vitrt_op_join16 {
	struct vitsa_dyadic out;
};

/* The parameters of a step, decoded; the member is the op's (none for GEMM, SYNC, EMBED). */
union vitrt_op_params {
	struct vitrt_op_input input;
	struct vitrt_op_embed embed;
	struct vitrt_op_layernorm layernorm;
	struct vitsa_shiftmax shiftmax;
	struct vitrt_op_gelu gelu;
	struct vitrt_op_add add;
	struct vitrt_op_shiftmax16 shiftmax16;
	struct vitrt_op_join16 join16;
};

enum vitrt_opnd { VITRT_OPND_IN0, VITRT_OPND_IN1, VITRT_OPND_OUT, VITRT_OPND_COUNT };

/* Extent of a step's tensors; rows 0: the tensor is not used. */
struct vitrt_op_shape {
	uint64_t rows[VITRT_OPND_COUNT];
	uint64_t row_bytes[VITRT_OPND_COUNT];
	uint32_t par_rows;	/* rows the run function takes (split over threads) */
	uint32_t par_align;	/* split at multiples of this (the device's row groups, a head) */
	uint64_t par_elems;	/* elements in them: whether a split pays */
};

/* A CPU step in host memory: what a run function works on. */
struct vitrt_op_args {
	uint8_t *t[VITRT_OPND_COUNT];		/* row 0 of each tensor, NULL if unused */
	uint64_t stride[VITRT_OPND_COUNT];	/* bytes between rows, never 0 */
	uint32_t rows, cols;
	union vitrt_op_params p;
};

/* Rows [r0, r1) of a CPU step; rows are independent, so any split gives the same bits. */
typedef void vitrt_op_run_fn(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1);

#define VITRT_OPND_UNUSED	0xff	/* element type of a tensor the op does not take */

struct vitrt_op_traits {
	const char *name;
	uint8_t nwords;				/* p[0, nwords) are parameters */
	uint8_t word[VITRT_STEP_PARAMS];	/* offset of p[i] in union vitrt_op_params */
	uint8_t type[VITRT_OPND_COUNT];		/* enum vitrt_type, or VITRT_OPND_UNUSED */
	bool device;				/* runs on the array: no tensors of its own */
	bool in_place;				/* out may be in0 or in1 row for row (ADD) */
	bool par_heads;				/* rows are heads of cols rows (SHIFTMAX) */
	/* NULL, or what is wrong with the step's parameters (before its tensors are checked) */
	const char *(*check)(const struct vitrt_prog *p, const struct vitrt_step *s,
			     const union vitrt_op_params *u);
	/* NULL: s->rows x s->cols of each tensor's type */
	void (*shape)(struct vitrt_op_shape *sh, const struct vitrt_step *s,
		      const union vitrt_op_params *u);
	vitrt_op_run_fn *run;			/* NULL for device steps */
};

/* The row of @op (< VITRT_OP_COUNT). */
const struct vitrt_op_traits *vitrt_op_traits(uint32_t op);
/* @op has a row: below VITRT_OP_COUNT and not a number left free for another branch's op. */
bool vitrt_op_known(uint32_t op);

/* A step of @op with parameters @u packed into its words; rows and tensors as given. */
struct vitrt_step vitrt_op_step(uint32_t op, uint32_t rows, uint32_t cols,
				struct vitrt_pref in0, struct vitrt_pref in1,
				struct vitrt_pref out, const union vitrt_op_params *u);
/* The parameters of @s (a known op) from its words. */
void vitrt_op_decode(union vitrt_op_params *u, const struct vitrt_step *s);
/* Extent of @s's tensors (a known op whose check passed). */
void vitrt_op_shape(struct vitrt_op_shape *sh, const struct vitrt_step *s,
		    const union vitrt_op_params *u);

#endif /* VITRT_OPS_H */
