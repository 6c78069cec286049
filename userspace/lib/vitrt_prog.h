/* SPDX-License-Identifier: MIT */
/*
 * The compiled integer program: what `vitrt quantize` writes and every other command loads.
 *
 * Tensors live at byte offsets in two arenas: CONST (weights, biases, requant tables, tables of
 * the input quantizer) and ACT (activations of one image, planned once and reused by every
 * block).  The schedule is a list of steps: device GEMMs that are queued, SYNC points that
 * submit the queue and wait, and integer CPU ops.  Executing it needs no float.
 */
#ifndef VITRT_PROG_H
#define VITRT_PROG_H

#include <stddef.h>
#include <stdint.h>

#include "vitrt.h"

enum vitrt_arena { VITRT_ARENA_CONST = 0, VITRT_ARENA_ACT = 1, VITRT_ARENA_COUNT };

/*
 * Arenas are loaded as device buffers of this size (the largest buffer object the driver
 * hands out); no tensor crosses a multiple of it, so each lies in one buffer.
 */
#define VITRT_ARENA_CHUNK	(4ull << 20)

/*
 * Tensors start on multiples of this (cache lines).  The compiler's ACT arena ends at its last
 * tensor's last byte; validation allows it to reach the next multiple, no further.
 */
#define VITRT_ARENA_ALIGN	64u

/*
 * Largest ACT arena, the activations of one image, which every batch slot allocates.  A
 * compiled program stays far below: fewer than 20 tensors, each within one 4 MiB chunk, so
 * under 80 MiB (ViT-B/16 at 384 needs 27.4 MiB).  A file asking for more is refused.
 */
#define VITRT_MAX_ACT_BYTES	(256ull << 20)

/* A tensor of the program: arena, byte offset, bytes between rows (0 for vectors). */
struct vitrt_pref {
	uint32_t arena;
	uint32_t pad;
	uint64_t offset;
	uint64_t stride;
};

enum vitrt_op {
	VITRT_OP_GEMM = 0,	/* queue gemms[index] on the device */
	VITRT_OP_SYNC,		/* submit the queued GEMMs, wait for them */
	VITRT_OP_INPUT,		/* u8 image -> s8 patch rows through per-channel tables */
	VITRT_OP_EMBED,		/* s16 stream = class token | patches, plus positions */
	VITRT_OP_LAYERNORM,	/* s16 rows -> I-LayerNorm -> requant -> s8 rows */
	VITRT_OP_SHIFTMAX,	/* s8 rows -> u8 probabilities, scale 2^-8 */
	VITRT_OP_GELU,		/* s8 -> ShiftGELU -> requant -> s8 */
	VITRT_OP_ADD,		/* s16 = sat16(requant(a) + requant(b)) */
	VITRT_OP_MEAN,		/* s16 rows -> their rounded mean, one s16 row */
	VITRT_OP_LAYERNORM_S4,	/* as LAYERNORM, to packed s4 rows (W4A4) */
	VITRT_OP_GELU_U4,	/* as GELU, plus a zero point, to packed u4 (W4A4) */
	VITRT_OP_SHIFTMAX16,	/* s8 rows -> probabilities at 2^-16 as two u8 parts */
	VITRT_OP_JOIN16,	/* s8 = requant(256 hi + lo) of two s32 accumulators */
	VITRT_OP_COUNT
};

#define VITRT_STEP_PARAMS 8

/*
 * One step.  p[] are the op's integer parameters, fixed at compile time, as int32 words laid
 * out by the op's row of the ops table (vitrt_ops.c, which packs, checks and runs every op);
 * words past the op's are 0.  Meaning of the fields by op:
 *  GEMM:      index into prog->gemms.
 *  INPUT:     in0 = image (ACT, u8 [chans][img][img]), in1 = tables (CONST, s8 [chans][256]),
 *             out = s8 [patches][chans*patch*patch]; p = { chans, img, patch }; rows, cols 0.
 *  EMBED:     in0 = s16 patch embeddings [rows-prefix][cols], in1 = CONST s16 [rows][cols]
 *             (class, distillation token in the prefix rows, positions added), out = s16
 *             [rows][cols]; p = { prefix } (format version 2).
 *  LAYERNORM: in0 = s16 [rows][cols] (stride), out = s8; p = { mult, shift } of the output.
 *  SHIFTMAX:  in0 = s8 [rows][cols], out = u8; p = Shiftmax parameters (vitsa_iops.h).
 *  GELU:      in0 = s8 [rows][cols], out = s8; p = ShiftGELU parameters, then { mult, shift }.
 *  ADD:       in0 = s16 a, in1 = s16 b, out = s16, rows * cols elements;
 *             p = { a_mult, a_shift, b_mult, b_shift }.
 *  MEAN:      in0 = s16 [rows][cols] (stride), out = s16 [1][cols]: average pooling.
 *  SHIFTMAX16: in0 = s8 [rows][cols], out = u8 rows of [hi: cols | ... | lo: cols] with lo at
 *             byte p[5] of the row; p = Shiftmax parameters, then { lo }.
 *  JOIN16:    in0 = s32 hi accumulators, in1 = s32 lo ones, out = s8, each [rows][cols];
 *             p = { mult, shift } of 256 hi + lo to the output's scale.
 * This layout is the file format: a new op gets a new number, never new meanings of old words.
 */
struct vitrt_step {
	uint32_t op;
	uint32_t index;
	uint32_t rows, cols;
	struct vitrt_pref in0, in1, out;
	int32_t p[VITRT_STEP_PARAMS];
};

/* A device GEMM with program references instead of buffers. */
struct vitrt_pgemm {
	uint32_t m, n, k;
	uint32_t flags;			/* VITRT_GEMM_* */
	uint32_t a_type, b_type, c_type;
	int32_t c_zero;
	struct vitrt_pref a, b, c, bias, rq;
};

enum vitrt_scheme { VITRT_SCHEME_W8A8 = 0, VITRT_SCHEME_W4A8, VITRT_SCHEME_W4A4,
		    VITRT_SCHEME_COUNT };

struct vitrt_prog_info {
	uint32_t img, patch, chans;	/* input */
	uint32_t dim, depth, heads, mlp, classes, tokens;
	uint32_t scheme;		/* enum vitrt_scheme */
	uint32_t array_rows, array_cols;	/* the array the schedule was tiled for */
	float logit_scale;		/* dequantizes the s16 logits, for printing only */
	float fp32_top1;		/* of the checkpoint on its calibration set, or -1 */
	/* how a picture becomes the input, as at calibration (vitrt_prep; format version 2) */
	uint32_t interp;		/* enum vitrt_interp */
	float crop_pct;			/* [0.05, 1] */
};

struct vitrt_prog {
	struct vitrt_prog_info info;
	uint8_t *arena[VITRT_ARENA_COUNT];	/* CONST contents; ACT is only sized */
	uint64_t arena_size[VITRT_ARENA_COUNT];
	struct vitrt_step *steps;
	uint32_t nsteps;
	struct vitrt_pgemm *gemms;
	uint32_t ngemms;
	struct vitrt_pref image;	/* where INPUT reads the u8 image */
	struct vitrt_pref logits;	/* s16 [classes] */
	char **labels;			/* classes names, or NULL */
};

/* Largest side of the array a program can be scheduled for. */
#define VITRT_ARRAY_MAX_SIDE	256u

const char *vitrt_scheme_name(uint32_t scheme);
int vitrt_scheme_parse(const char *name);
/* Bits of the blocks' Linear inputs under @scheme: 4 for W4A4, else 8. */
uint32_t vitrt_scheme_act_bits(uint32_t scheme);
/*
 * "RxC" (decimal, 1..VITRT_ARRAY_MAX_SIDE each, nothing else) into @rows and @cols;
 * VITRT_EINVAL otherwise (outputs untouched).
 */
int vitrt_array_parse(const char *s, uint32_t *rows, uint32_t *cols);
const char *vitrt_op_name(uint32_t op);

/* ---- the compiled model file (vitrt_mfile.c) ---- */

/* Write @p to @path (via a temporary file and rename). */
int vitrt_prog_save(const struct vitrt_prog *p, const char *path, char *msg, size_t cap);
/* Load and fully validate @path; NULL with *err and a message naming the file and the problem. */
struct vitrt_prog *vitrt_prog_load(const char *path, int *err, char *msg, size_t cap);
void vitrt_prog_free(struct vitrt_prog *p);
/*
 * Check every step and GEMM reference against the arenas, and the ACT arena against
 * VITRT_MAX_ACT_BYTES and its tensors' extent; 0 or VITRT_EFORMAT with a message.
 */
int vitrt_prog_validate(const struct vitrt_prog *p, char *msg, size_t cap);

#endif /* VITRT_PROG_H */
