/* SPDX-License-Identifier: MIT */
/*
 * Modeled utilization of a whole ViT: one 224x224 image of DeiT-T/S/B on an R x C array.
 *
 * vitrt_modeled_compute: every GEMM timed by the array's cycle model (vitsa_model_cycles),
 * each a job of its own run back to back, operands never stalling, nothing else counted (the
 * array-only figure).
 * vitrt_modeled_whole: the whole inference with its memory system and vector unit
 * (Documentation/hw/vitsa.rst, "Whole-inference model"): GEMM jobs waiting for DRAM, the
 * I-ViT ops on the vector unit, both engines scheduled over one image.
 */
#ifndef VITRT_MODELED_H
#define VITRT_MODELED_H

#include <stddef.h>
#include <stdint.h>

#include "vitrt.h"
#include "vitrt_chart.h"

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

/* Rows of the whole-inference report: the GEMM kinds above, then the vector unit's ops. */
enum vitrt_modeled_vkind {
	VITRT_MODELED_LAYERNORM = VITRT_MODELED_COUNT,
	VITRT_MODELED_SHIFTMAX,
	VITRT_MODELED_GELU,
	VITRT_MODELED_ADD,	/* residual adds and the class-token/position add */
	VITRT_MODELED_ROWS
};

/* Tensors of a block that the scratchpad may not hold (then they live in DRAM). */
enum vitrt_modeled_tensor {
	VITRT_MODELED_T_IMAGE,	/* the patches, read by the embedding */
	VITRT_MODELED_T_X,	/* residual stream, T x D s16 */
	VITRT_MODELED_T_QKV,	/* T x 3D s8 */
	VITRT_MODELED_T_LN1,	/* T x D s8 */
	VITRT_MODELED_T_LOGITS,	/* two heads' Tc x T s8 (double-buffered) */
	VITRT_MODELED_T_PROBS,	/* two heads' Tc x T u8 */
	VITRT_MODELED_T_ATTN,	/* Tc x D s8 */
	VITRT_MODELED_T_Y1,	/* proj out, Tc x D s16 */
	VITRT_MODELED_T_Y2,	/* fc2 out, Tc x D s16 */
	VITRT_MODELED_T_LN2,	/* Tc x D s8 */
	VITRT_MODELED_T_HID,	/* fc1 out, GELU in place, Tc x MLP s8 */
	VITRT_MODELED_T_COUNT
};

/* The accelerator beside the array. */
struct vitrt_modeled_hw {
	uint32_t rows, cols;	/* PE array; the vector unit has cols lanes */
	uint32_t spad_kib;	/* scratchpad, 1..VITRT_MODELED_MAX_SPAD_KIB */
	uint32_t dram_bw;	/* DRAM bytes per cycle, 1..VITRT_MODELED_MAX_BW */
};

#define VITRT_MODELED_SPAD_KIB		512u
#define VITRT_MODELED_DRAM_BW		16u
#define VITRT_MODELED_MAX_SPAD_KIB	(1u << 20)	/* 1 GiB */
#define VITRT_MODELED_MAX_BW		65536u
#define VITRT_MODELED_MAX_CHUNKS	64u	/* query-row chunks the search tries */

/* One row of the whole-inference report: a kind's steps over the image. */
struct vitrt_modeled_cost {
	const char *name;
	uint64_t steps;		/* jobs or vector ops */
	uint64_t macs;
	uint64_t array;		/* array cycles of its jobs (vitsa_model_cycles) */
	uint64_t stall;		/* cycles its jobs waited for DRAM beyond those */
	uint64_t vector;	/* vector-unit cycles, DRAM waits included */
	uint64_t dram_bytes;
	uint64_t critical;	/* cycles of the makespan spent in its steps on the critical path */
};

struct vitrt_modeled_whole {
	const struct vitrt_modeled_vit *vit;
	struct vitrt_modeled_hw hw;
	uint32_t tokens;
	uint32_t chunks, tc;	/* query-row chunks of phase 2, rows of the largest */
	uint32_t spilled;	/* bit t set: tensor t lives in DRAM */
	uint64_t cycles;	/* the schedule's makespan */
	uint64_t macs;
	uint64_t array_busy;	/* sum of the jobs' cycles, stalls included */
	uint64_t vector_busy;	/* sum of the vector ops' cycles */
	uint64_t dram_bytes;
	double utilization;	/* macs / (cycles * rows * cols) */
	struct vitrt_modeled_cost costs[VITRT_MODELED_ROWS];
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

/* Size of the chart vitrt_modeled_plot writes (vitrt_chart.h's). */
#define VITRT_MODELED_PLOT_W	VITRT_CHART_WIDTH
#define VITRT_MODELED_PLOT_H	VITRT_CHART_HEIGHT

/* The built-in shape named @name ("deit-t", "deit-s", "deit-b"), or NULL. */
const struct vitrt_modeled_vit *vitrt_modeled_find(const char *name);
/* The names of the built-in shapes, ", "-separated, for messages. */
const char *vitrt_modeled_names(void);

/* Every GEMM of @vit on a @rows x @cols array into @out; VITRT_EINVAL on a bad shape. */
int vitrt_modeled_compute(const struct vitrt_modeled_vit *vit, uint32_t rows,
			  uint32_t cols, struct vitrt_modeled *out);

/*
 * The whole inference of @vit on @hw into @out, phase 2 in @chunks query-row chunks (1..
 * tokens / rows, at most VITRT_MODELED_MAX_CHUNKS), or with @chunks 0 the fastest such count.
 * VITRT_EINVAL on a bad shape, a parameter out of range, a scratchpad smaller than the two
 * weight-tile buffers or a chunk count out of range; VITRT_ENOMEM.
 */
int vitrt_modeled_whole(const struct vitrt_modeled_vit *vit,
			const struct vitrt_modeled_hw *hw, uint32_t chunks,
			struct vitrt_modeled_whole *out);
/* One step of the timed schedule. */
struct vitrt_modeled_step {
	uint32_t kind;		/* its row of the report: enum vitrt_modeled_kind or _vkind */
	uint32_t vector;	/* 1: on the vector unit, 0: on the array */
	uint64_t start, finish;
};

/*
 * The steps of vitrt_modeled_whole(@vit, @hw, @chunks >= 1) in program order: the first @cap
 * into @steps, how many there are in *@n.  Errors as vitrt_modeled_whole.
 */
int vitrt_modeled_trace(const struct vitrt_modeled_vit *vit,
			const struct vitrt_modeled_hw *hw, uint32_t chunks,
			struct vitrt_modeled_step *steps, size_t cap, size_t *n);
/* Name of tensor @t ("qkv", ...). */
const char *vitrt_modeled_tensor_name(enum vitrt_modeled_tensor t);

/*
 * A VITRT_MODELED_PLOT_W x _H RGB PNG at @path (vitrt_chart_png), utilization on a 0..100%
 * axis.  With @w: one bar per GEMM kind (its utilization with memory stalls, the
 * critical-path share under it), one for the whole inference, and a line at the array-only
 * total of @r.  Without: @r's per-GEMM bars and total.  Errors name @path.
 */
int vitrt_modeled_plot(const struct vitrt_modeled *r,
		       const struct vitrt_modeled_whole *w, const char *path,
		       char *msg, size_t cap);

#endif /* VITRT_MODELED_H */
