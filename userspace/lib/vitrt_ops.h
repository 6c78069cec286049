/* SPDX-License-Identifier: MIT */
/*
 * The ops of the integer program as one table of traits (vitrt_ops.c).  The compiler encodes a
 * step, the validator checks it and the executor runs it from the same row of the table:
 * the op's name, where each parameter word goes in its typed parameters, the element type and
 * rows of each tensor, the checks of its parameters and the function that runs its rows.
 *
 * A step stores its parameters as int32 words p[] (the file format, vitrt_prog.h); the row of
 * the op says which 32-bit field of union vitsa_vec_params word i is, so words are packed and
 * unpacked only here, and words past the op's own are 0.
 */
#ifndef VITRT_OPS_H
#define VITRT_OPS_H

#include <stdbool.h>

#include "vitsa_vec.h"
#include "vitrt_prog.h"

/* A step's tensors are the vector unit's operands. */
enum vitrt_opnd {
	VITRT_OPND_IN0 = VITSA_VEC_IN0,
	VITRT_OPND_IN1 = VITSA_VEC_IN1,
	VITRT_OPND_OUT = VITSA_VEC_OUT,
	VITRT_OPND_COUNT = VITSA_VEC_OPNDS
};

/* Extent of a step's tensors; rows 0: the tensor is not used. */
struct vitrt_op_shape {
	uint64_t rows[VITRT_OPND_COUNT];
	uint64_t row_bytes[VITRT_OPND_COUNT];
	uint32_t par_rows;	/* rows the run function takes (split over threads) */
	uint32_t par_align;	/* split at multiples of this (the device's row groups, a head) */
	uint64_t par_elems;	/* elements in them: whether a split pays */
};

#define VITRT_OPND_UNUSED	0xff	/* element type of a tensor the op does not take */

struct vitrt_op_traits {
	const char *name;
	uint8_t nwords;				/* p[0, nwords) are parameters */
	uint8_t word[VITRT_STEP_PARAMS];	/* offset of p[i] in union vitsa_vec_params */
	uint8_t type[VITRT_OPND_COUNT];		/* enum vitrt_type, or VITRT_OPND_UNUSED */
	bool device;				/* runs on the array: no tensors of its own */
	bool in_place;				/* out may be in0 or in1 row for row (ADD) */
	bool par_heads;				/* rows are heads of cols rows (SHIFTMAX) */
	/* NULL, or what is wrong with the step's parameters (before its tensors are checked) */
	const char *(*check)(const struct vitrt_prog *p, const struct vitrt_step *s,
			     const union vitsa_vec_params *u);
	/* NULL: s->rows x s->cols of each tensor's type */
	void (*shape)(struct vitrt_op_shape *sh, const struct vitrt_step *s,
		      const union vitsa_vec_params *u);
	uint32_t vop;				/* the vector unit's opcode; 0 for device steps */
};

/* The row of @op (< VITRT_OP_COUNT). */
const struct vitrt_op_traits *vitrt_op_traits(uint32_t op);
/* @op has a row: below VITRT_OP_COUNT and not a number left free for another branch's op. */
bool vitrt_op_known(uint32_t op);

/* A step of @op with parameters @u packed into its words; rows and tensors as given. */
struct vitrt_step vitrt_op_step(uint32_t op, uint32_t rows, uint32_t cols,
				struct vitrt_pref in0, struct vitrt_pref in1,
				struct vitrt_pref out, const union vitsa_vec_params *u);
/* The parameters of @s (a known op) from its words. */
void vitrt_op_decode(union vitsa_vec_params *u, const struct vitrt_step *s);
/* Extent of @s's tensors (a known op whose check passed). */
void vitrt_op_shape(struct vitrt_op_shape *sh, const struct vitrt_step *s,
		    const union vitsa_vec_params *u);

#endif /* VITRT_OPS_H */
