/* SPDX-License-Identifier: MIT */
/*
 * vitsa vector unit model (hw/include/vitsa_hw_vec.h is its contract): the parameters of each
 * opcode decoded, their checks, and the run of an op over rows of memory.  The device executes
 * a vector descriptor with these functions, and the runtime's CPU path runs a program's
 * integer ops with the same ones (userspace/lib/vitrt_ops.c), so the two cannot disagree.
 */
#ifndef VITSA_VEC_MODEL_H
#define VITSA_VEC_MODEL_H

#include "vitsa_iops.h"
#include "vitsa_model.h"
#include "../include/vitsa_hw_vec.h"

/* INPUT: the image's geometry; (img / patch)^2 patch rows of chans * patch^2 bytes. */
struct vitsa_vec_input {
	uint32_t chans, img, patch;
};

/* EMBED: rows before the patches' (class, distillation token), 0..VITSA_EMBED_MAX_PREFIX. */
struct vitsa_vec_embed {
	uint32_t prefix;
};

/* LAYERNORM: I-LayerNorm's output (scale sqrt(C) / 2^30) to the s8 output's scale. */
struct vitsa_vec_layernorm {
	struct vitsa_dyadic out;
};

/* GELU: ShiftGELU, then its output (scale s_in * 2^-14) to the s8 output's scale. */
struct vitsa_vec_gelu {
	struct vitsa_gelu gelu;
	struct vitsa_dyadic out;
	int32_t zero;		/* GELU_U4: the output's zero point, 0..15 */
};

/* ADD: each operand to the scale of the sum. */
struct vitsa_vec_add {
	struct vitsa_dyadic a, b;
};

/*
 * SHIFTMAX16: Shiftmax with 16-bit output (vitsa_shiftmax16); each output row holds the high
 * bytes at 0 and the low ones from byte @lo on (>= cols), so two GEMMs read them with a stride.
 * The Shiftmax parameters come first, where SHIFTMAX has them.
 */
struct vitsa_vec_shiftmax16 {
	struct vitsa_shiftmax sm;
	uint32_t lo;
};

/* JOIN16: 256 hi + lo (scale 2^-16 s_v) to the s8 output's scale (vitsa_join16_s8). */
struct vitsa_vec_join16 {
	struct vitsa_dyadic out;
};

/*
 * The parameters of an op, decoded: param word i is the i-th 32-bit field of the op's member
 * (none for MEAN), so decoding is a copy of the words.
 */
union vitsa_vec_params {
	struct vitsa_vec_input input;
	struct vitsa_vec_embed embed;
	struct vitsa_vec_layernorm layernorm;
	struct vitsa_shiftmax shiftmax;
	struct vitsa_vec_gelu gelu;
	struct vitsa_vec_add add;
	struct vitsa_vec_shiftmax16 shiftmax16;
	struct vitsa_vec_join16 join16;
	uint32_t word[7];
};

/* An op over host memory: row 0 of each operand (NULL if unused) and the bytes between rows. */
struct vitsa_vec_args {
	uint8_t *t[VITSA_VEC_OPNDS];
	uint64_t stride[VITSA_VEC_OPNDS];
	uint32_t rows, cols;
	union vitsa_vec_params p;
};

/*
 * VITSA_ERR_PARAM if @p cannot run @op on rows x cols (a shift above 62, Shiftmax or ShiftGELU
 * constants outside what the kernels allow, a row longer than the op takes), else VITSA_ERR_OK.
 * The shape the parameters give (INPUT's geometry, EMBED's prefix, SHIFTMAX16's offset) is
 * vitsa_vec_extent's.
 */
uint32_t vitsa_vec_params_check(uint32_t op, uint32_t rows, uint32_t cols,
				const union vitsa_vec_params *p);

/* Every rule of a vector descriptor (vitsa_hw_vec.h), in the order the spec lists them. */
uint32_t vitsa_vec_check(const struct vitsa_hw_desc *d);

/*
 * The units @op's work is cut into across threads, each independent of the others: rows of
 * patches for INPUT, the whole reduction for MEAN, rows for the rest.
 */
uint32_t vitsa_vec_units(uint32_t op, const struct vitsa_vec_args *a);

/* Units [u0, u1) of @op on @a; any split of the units gives the same bits. */
void vitsa_vec_run(uint32_t op, const struct vitsa_vec_args *a, uint32_t u0, uint32_t u1);

/* The modeled cycles of the valid vector descriptor @d on @cfg's unit (cols lanes). */
uint64_t vitsa_vec_cycles(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d);

/* Execute the vector descriptor @d (vitsa_model_exec's vector half). */
uint32_t vitsa_vec_exec(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			const struct vitsa_mem_ops *ops, void *opaque, struct vitsa_job_stats *st);

#endif /* VITSA_VEC_MODEL_H */
