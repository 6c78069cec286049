/* SPDX-License-Identifier: MIT */
/*
 * Compiling a floating-point ViT into the integer program (vitrt_compile.c) and calibrating
 * its activation scales (vitrt_calib.c).  The input model has its LayerNorm affines folded
 * into the following Linear layers (vitrt_vit_fold_norms), so the compiler sees plain
 * normalized LayerNorm outputs.
 */
#ifndef VITRT_COMPILE_H
#define VITRT_COMPILE_H

#include "vitrt_prog.h"
#include "vitrt_vit.h"

/* Per-tensor scales (real = int * scale) of every quantization point of runtime.rst. */
struct vitrt_layer_scales {
	float norm1, q, k, v, logits, attn, res1, norm2, fc1, gelu, res2;
	int32_t gelu_zero;	/* 4-bit activations: GELU's u4 zero point (real = (q - z) s) */
};

struct vitrt_scales {
	float input;		/* s8 normalized image */
	float embed;		/* s16 stream entering block 0 */
	float normf;		/* s8 final LayerNorm output of the class token */
	float logits;		/* s16 logits */
	uint32_t act_bits;	/* of the blocks' Linear inputs (norm1, attn, norm2, gelu): 8 or 4 */
	/*
	 * The attention probabilities' grid: 2^-8 (u8, SHIFTMAX) or 2^-16 (two u8 parts,
	 * SHIFTMAX16 and JOIN16), what the compiler lowers and the fake-quant graph rounds to.
	 * vitrt_calib_images sets the model's (vitrt_probs_scale); vitrt_calib_scales 2^-8.
	 */
	float probs;
	struct vitrt_layer_scales *layer;	/* depth entries */
};

/*
 * Rows of at most this many tokens keep u8 probabilities at 2^-8: from 257 on, 1/T is below
 * one step and a near-uniform row would be rounded to nothing (runtime.rst, "Long rows").
 */
#define VITRT_PROBS_ONE_PART_MAX	256u

/* The probabilities' scale for rows of @tokens: 2^-8 up to VITRT_PROBS_ONE_PART_MAX, else 2^-16. */
float vitrt_probs_scale(uint32_t tokens);

struct vitrt_compile_opts {
	uint32_t scheme;		/* enum vitrt_scheme */
	uint32_t array_rows, array_cols;
	float fp32_top1;		/* recorded in the file, -1 if unknown */
};

/*
 * Whether the compiler lowers @m's variant: a class token alone read by the head (LayerScale,
 * qkv without bias and no_embed_class are canonicalized by the loader, so they are).  0, or
 * VITRT_EUNSUPPORTED with a message naming the variant.
 */
int vitrt_compile_supported(const struct vitrt_vit *m, char *msg, size_t cap);

/* Lower the folded model @m with activation scales @sc into a program. */
struct vitrt_prog *vitrt_compile(const struct vitrt_vit *m,
				 const struct vitrt_scales *sc,
				 const struct vitrt_compile_opts *o, int *err,
				 char *msg, size_t cap);

/*
 * Per-output-channel weight scale, as the compiler quantizes weights (and the calibration's
 * fake-quant graph with it): max |w| to @qmax, for 4 bits the clip with least error.
 */
double vitrt_weight_scale(const float *w, uint32_t k, int qmax);

#endif /* VITRT_COMPILE_H */
