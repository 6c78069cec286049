/* SPDX-License-Identifier: MIT */
/*
 * Modeled array utilization of a whole ViT: every GEMM of one 224x224 image of DeiT-T/S/B,
 * timed by the hardware's cycle model (hw/model, vitsa_model_cycles) on an R x C array.
 *
 * Each GEMM is counted as a job of its own, run back to back: the model's per-job fill and
 * drain are paid by every one.  Heads are separate jobs (Q_h K_h^T and P_h V_h per head), as
 * the compiled program submits them.  LayerNorm, Shiftmax and GELU are CPU work and excluded.
 */
#ifndef VITRT_MODELED_H
#define VITRT_MODELED_H

#include <stddef.h>
#include <stdint.h>

#include "vitrt.h"

/* A ViT's shape: what decides its GEMMs. */
struct vitrt_modeled_vit {
	const char *name;	/* "deit-s" */
	uint32_t img, patch, chans;	/* 224, 16, 3 */
	uint32_t dim, heads, mlp, depth;
	uint32_t classes;
};

/* The distinct GEMMs of an image, in execution order. */
enum vitrt_modeled_kind {
	VITRT_MODELED_EMBED,	/* patches x (chans*patch^2) by that x dim */
	VITRT_MODELED_QKV,
	VITRT_MODELED_QK,	/* per head: Q_h K_h^T */
	VITRT_MODELED_AV,	/* per head: P_h V_h */
	VITRT_MODELED_PROJ,
	VITRT_MODELED_FC1,
	VITRT_MODELED_FC2,
	VITRT_MODELED_HEAD,	/* class token only: 1 x classes */
	VITRT_MODELED_COUNT
};

struct vitrt_modeled_layer {
	const char *name;	/* "qkv", "q.k^T", ... */
	uint32_t m, n, k;
	uint64_t count;		/* how many such GEMMs an image runs */
	uint64_t cycles;	/* of one GEMM */
	uint64_t macs;		/* of one GEMM: m * n * k */
	double utilization;	/* of one GEMM: macs / (cycles * rows * cols) */
};

struct vitrt_modeled {
	const struct vitrt_modeled_vit *vit;
	uint32_t rows, cols;
	uint32_t tokens;
	struct vitrt_modeled_layer layers[VITRT_MODELED_COUNT];
	uint64_t cycles;	/* sum of layers' cycles * count */
	uint64_t macs;		/* sum of layers' macs * count */
	double utilization;	/* macs / (cycles * rows * cols) */
};

/* Size of the chart vitrt_modeled_plot writes. */
#define VITRT_MODELED_PLOT_W	640u
#define VITRT_MODELED_PLOT_H	400u

/* The built-in shape named @name ("deit-t", "deit-s", "deit-b"), or NULL. */
VITRT_API const struct vitrt_modeled_vit *vitrt_modeled_find(const char *name);
/* The names of the built-in shapes, ", "-separated, for messages. */
VITRT_API const char *vitrt_modeled_names(void);

/* Every GEMM of @vit on a @rows x @cols array into @out; VITRT_EINVAL on a bad shape. */
VITRT_API int vitrt_modeled_compute(const struct vitrt_modeled_vit *vit, uint32_t rows,
				    uint32_t cols, struct vitrt_modeled *out);

/*
 * A VITRT_MODELED_PLOT_W x _H RGB PNG at @path (temporary file, then rename): one bar per
 * layer and one for the total, utilization on a 0..100% axis.  Errors name @path.
 */
VITRT_API int vitrt_modeled_plot(const struct vitrt_modeled *r, const char *path, char *msg,
				 size_t cap);

#endif /* VITRT_MODELED_H */
