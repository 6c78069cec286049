// SPDX-License-Identifier: MIT
/*
 * The ops of the integer program: one row of traits per op (vitrt_ops.h), and the run functions
 * of the CPU ops, which call the integer kernels of vitsa_iops.c on rows of host memory.
 */
#include <stddef.h>
#include <string.h>

#include "vitrt_ops.h"
#include "vitsa_model.h"

/* Every parameter word is a 32-bit field of the decoded parameters. */
#define W(field)	offsetof(union vitrt_op_params, field)

_Static_assert(sizeof(union vitrt_op_params) <= 4 * VITRT_STEP_PARAMS, "params fit the words");
_Static_assert(sizeof(struct vitsa_shiftmax) == 20 && sizeof(struct vitsa_dyadic) == 8 &&
	       sizeof(struct vitsa_gelu) == 16 && sizeof(struct vitrt_op_gelu) == 28 &&
	       sizeof(struct vitrt_op_shiftmax16) == 24,
	       "parameter structs are packed int32 words");

/* ---- checks of the parameters ---- */

static bool shift_ok(uint32_t shift)
{
	return shift <= VITSA_DYADIC_MAX_SHIFT;
}

static const char *check_gemm(const struct vitrt_prog *p, const struct vitrt_step *s,
			      const union vitrt_op_params *u)
{
	(void)u;
	return s->index < p->ngemms ? NULL : "no such gemm";
}

static const char *check_input(const struct vitrt_prog *p, const struct vitrt_step *s,
			       const union vitrt_op_params *u)
{
	const struct vitrt_op_input *g = &u->input;

	(void)p, (void)s;
	if (!g->chans || g->chans > 4 || !g->img || g->img > VITSA_PATCHES_MAX_IMG ||
	    !g->patch || g->img % g->patch)
		return "bad input geometry";
	return NULL;
}

static const char *check_embed(const struct vitrt_prog *p, const struct vitrt_step *s,
			       const union vitrt_op_params *u)
{
	(void)p;
	return u->embed.prefix <= VITSA_EMBED_MAX_PREFIX && u->embed.prefix <= s->rows ? NULL :
	       "bad prefix token count";
}

static const char *check_mean(const struct vitrt_prog *p, const struct vitrt_step *s,
			      const union vitrt_op_params *u)
{
	(void)p, (void)u;
	return s->rows >= 1 && s->rows <= VITSA_MEAN_MAX_ROWS ? NULL : "bad row count";
}

static const char *check_layernorm(const struct vitrt_prog *p, const struct vitrt_step *s,
				   const union vitrt_op_params *u)
{
	(void)p;
	return shift_ok(u->layernorm.out.shift) && s->cols <= VITSA_LAYERNORM_MAX_COLS ? NULL :
	       "parameters out of range";
}

static const char *check_shiftmax(const struct vitrt_prog *p, const struct vitrt_step *s,
				  const union vitrt_op_params *u)
{
	(void)p;
	return !vitsa_shiftmax_check(&u->shiftmax) && s->cols <= u->shiftmax.max_len ? NULL :
	       "parameters out of range";
}

/*
 * The op has a shape function (the low parts' offset widens the output rows), so the rows and
 * columns are checked here, to the limits of the ops of rows x cols (vitrt_prog.c).
 */
static const char *check_shiftmax16(const struct vitrt_prog *p, const struct vitrt_step *s,
				    const union vitrt_op_params *u)
{
	const struct vitrt_op_shiftmax16 *g = &u->shiftmax16;

	(void)p;
	if (!s->rows || s->rows > 1u << 20)
		return "bad row count";
	return !vitsa_shiftmax_check(&g->sm) && s->cols >= 1 && s->cols <= g->sm.max_len &&
	       g->lo >= s->cols && g->lo <= 1u << 16 ? NULL : "parameters out of range";
}

static const char *check_join16(const struct vitrt_prog *p, const struct vitrt_step *s,
				const union vitrt_op_params *u)
{
	(void)p, (void)s;
	return shift_ok(u->join16.out.shift) ? NULL : "parameters out of range";
}

static const char *check_gelu(const struct vitrt_prog *p, const struct vitrt_step *s,
			      const union vitrt_op_params *u)
{
	(void)p, (void)s;
	return !vitsa_gelu_check(&u->gelu.gelu) && shift_ok(u->gelu.out.shift) ? NULL :
	       "parameters out of range";
}

static const char *check_gelu_u4(const struct vitrt_prog *p, const struct vitrt_step *s,
				 const union vitrt_op_params *u)
{
	return u->gelu.zero < 0 || u->gelu.zero > 15 ? "zero point out of range" :
	       check_gelu(p, s, u);
}

static const char *check_add(const struct vitrt_prog *p, const struct vitrt_step *s,
			     const union vitrt_op_params *u)
{
	(void)p, (void)s;
	return shift_ok(u->add.a.shift) && shift_ok(u->add.b.shift) ? NULL :
	       "parameters out of range";
}

/* ---- tensor extents ---- */

/* The image, the tables and the patch rows, from the geometry (rows and cols are unused). */
static void shape_input(struct vitrt_op_shape *sh, const struct vitrt_step *s,
			const union vitrt_op_params *u)
{
	const struct vitrt_op_input *g = &u->input;
	uint64_t per = g->img / g->patch, image = (uint64_t)g->chans * g->img * g->img;

	(void)s;
	*sh = (struct vitrt_op_shape){
		.rows = { 1, 1, per * per },
		.row_bytes = { image, g->chans * 256ull, (uint64_t)g->chans * g->patch * g->patch },
		.par_rows = (uint32_t)per, .par_align = 1, .par_elems = image,
	};
}

/* Every row of out and the positions; patch rows only past the prefix (none: not used). */
static void shape_embed(struct vitrt_op_shape *sh, const struct vitrt_step *s,
			const union vitrt_op_params *u)
{
	*sh = (struct vitrt_op_shape){
		.rows = { s->rows - u->embed.prefix, s->rows, s->rows },
		.row_bytes = { 2ull * s->cols, 2ull * s->cols, 2ull * s->cols },
		.par_rows = s->rows, .par_align = VITSA_MODEL_ROW_ALIGN,
		.par_elems = (uint64_t)s->rows * s->cols,
	};
}

/* @rows rows in, one out: a reduction, not split over threads. */
static void shape_mean(struct vitrt_op_shape *sh, const struct vitrt_step *s,
		       const union vitrt_op_params *u)
{
	(void)u;
	*sh = (struct vitrt_op_shape){
		.rows = { s->rows, 0, 1 }, .row_bytes = { 2ull * s->cols, 0, 2ull * s->cols },
		.par_rows = 1, .par_align = 1, .par_elems = (uint64_t)s->rows * s->cols,
	};
}

/* Rows of logits in, rows of both parts out; split by head (cols rows), as SHIFTMAX. */
static void shape_shiftmax16(struct vitrt_op_shape *sh, const struct vitrt_step *s,
			     const union vitrt_op_params *u)
{
	*sh = (struct vitrt_op_shape){
		.rows = { s->rows, 0, s->rows },
		.row_bytes = { s->cols, 0, (uint64_t)u->shiftmax16.lo + s->cols },
		.par_rows = s->rows, .par_align = s->cols,
		.par_elems = (uint64_t)s->rows * s->cols,
	};
}

/* ---- run functions: rows [r0, r1) of a step in host memory ---- */

/* Row @r of tensor @o as a @type pointer. */
#define ROW(a, o, r, type)	((type *)((a)->t[o] + (uint64_t)(r) * (a)->stride[o]))

static void run_input(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	const struct vitrt_op_input *g = &a->p.input;

	vitsa_patches_s8((int8_t *)a->t[VITRT_OPND_OUT], a->stride[VITRT_OPND_OUT],
			 a->t[VITRT_OPND_IN0], (const int8_t *)a->t[VITRT_OPND_IN1], g->chans,
			 g->img, g->patch, r0, r1);
}

static void run_embed(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	/* in0 is NULL for a stream of prefix tokens alone, which the kernel never reads */
	vitsa_embed_s16((int16_t *)a->t[VITRT_OPND_OUT], a->stride[VITRT_OPND_OUT] / 2,
			(const int16_t *)a->t[VITRT_OPND_IN0], a->stride[VITRT_OPND_IN0] / 2,
			(const int16_t *)a->t[VITRT_OPND_IN1], a->stride[VITRT_OPND_IN1] / 2,
			a->p.embed.prefix, r0, r1, a->cols);
}

static void run_layernorm(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	vitsa_layernorm_s8(ROW(a, VITRT_OPND_OUT, r0, int8_t), a->stride[VITRT_OPND_OUT],
			   ROW(a, VITRT_OPND_IN0, r0, int16_t), a->stride[VITRT_OPND_IN0] / 2,
			   r1 - r0, a->cols, a->p.layernorm.out);
}

static void run_layernorm_s4(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	vitsa_layernorm_s4(ROW(a, VITRT_OPND_OUT, r0, uint8_t), a->stride[VITRT_OPND_OUT],
			   ROW(a, VITRT_OPND_IN0, r0, int16_t), a->stride[VITRT_OPND_IN0] / 2,
			   r1 - r0, a->cols, a->p.layernorm.out);
}

static void run_shiftmax(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	vitsa_shiftmax(ROW(a, VITRT_OPND_OUT, r0, uint8_t), a->stride[VITRT_OPND_OUT],
		       ROW(a, VITRT_OPND_IN0, r0, int8_t), a->stride[VITRT_OPND_IN0], r1 - r0,
		       a->cols, &a->p.shiftmax);
}

static void run_shiftmax16(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	vitsa_shiftmax16(ROW(a, VITRT_OPND_OUT, r0, uint8_t), a->stride[VITRT_OPND_OUT],
			 a->p.shiftmax16.lo, ROW(a, VITRT_OPND_IN0, r0, int8_t),
			 a->stride[VITRT_OPND_IN0], r1 - r0, a->cols, &a->p.shiftmax16.sm);
}

static void run_join16(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	for (uint32_t r = r0; r < r1; r++)
		vitsa_join16_s8(ROW(a, VITRT_OPND_OUT, r, int8_t),
				ROW(a, VITRT_OPND_IN0, r, int32_t),
				ROW(a, VITRT_OPND_IN1, r, int32_t), a->cols, a->p.join16.out);
}

static void run_gelu(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	const struct vitrt_op_gelu *g = &a->p.gelu;

	if (a->stride[VITRT_OPND_OUT] == a->cols && a->stride[VITRT_OPND_IN0] == a->cols) {
		/* element-wise: packed rows are one call */
		vitsa_gelu_s8(ROW(a, VITRT_OPND_OUT, r0, int8_t), ROW(a, VITRT_OPND_IN0, r0, int8_t),
			      (size_t)(r1 - r0) * a->cols, &g->gelu, g->out);
		return;
	}
	for (uint32_t r = r0; r < r1; r++)
		vitsa_gelu_s8(ROW(a, VITRT_OPND_OUT, r, int8_t), ROW(a, VITRT_OPND_IN0, r, int8_t),
			      a->cols, &g->gelu, g->out);
}

static void run_gelu_u4(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	for (uint32_t r = r0; r < r1; r++)
		vitsa_gelu_u4(ROW(a, VITRT_OPND_OUT, r, uint8_t), ROW(a, VITRT_OPND_IN0, r, int8_t),
			      a->cols, &a->p.gelu.gelu, a->p.gelu.out, a->p.gelu.zero);
}

static void run_add(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	for (uint32_t r = r0; r < r1; r++)
		vitsa_residual_add(ROW(a, VITRT_OPND_OUT, r, int16_t),
				   ROW(a, VITRT_OPND_IN0, r, int16_t),
				   ROW(a, VITRT_OPND_IN1, r, int16_t), a->cols, a->p.add.a,
				   a->p.add.b);
}

static void run_mean(const struct vitrt_op_args *a, uint32_t r0, uint32_t r1)
{
	if (r0 < r1)	/* one output row: the whole reduction */
		vitsa_mean_s16((int16_t *)a->t[VITRT_OPND_OUT],
			       (const int16_t *)a->t[VITRT_OPND_IN0], a->stride[VITRT_OPND_IN0] / 2,
			       a->rows, a->cols);
}

/* ---- the table ---- */

#define NONE	VITRT_OPND_UNUSED

static const struct vitrt_op_traits op_traits[VITRT_OP_COUNT] = {
	[VITRT_OP_GEMM] = {
		.name = "gemm", .device = true, .type = { NONE, NONE, NONE },
		.check = check_gemm,
	},
	[VITRT_OP_SYNC] = {
		.name = "sync", .device = true, .type = { NONE, NONE, NONE },
	},
	[VITRT_OP_INPUT] = {
		.name = "input",
		.nwords = 3, .word = { W(input.chans), W(input.img), W(input.patch) },
		.type = { VITRT_U8, VITRT_S8, VITRT_S8 },
		.check = check_input, .shape = shape_input, .run = run_input,
	},
	[VITRT_OP_EMBED] = {
		.name = "embed", .nwords = 1, .word = { W(embed.prefix) },
		.type = { VITRT_S16, VITRT_S16, VITRT_S16 },
		.check = check_embed, .shape = shape_embed, .run = run_embed,
	},
	[VITRT_OP_LAYERNORM] = {
		.name = "layernorm",
		.nwords = 2, .word = { W(layernorm.out.mult), W(layernorm.out.shift) },
		.type = { VITRT_S16, NONE, VITRT_S8 },
		.check = check_layernorm, .run = run_layernorm,
	},
	[VITRT_OP_SHIFTMAX] = {
		.name = "shiftmax",
		.nwords = 5, .word = { W(shiftmax.x0), W(shiftmax.n), W(shiftmax.k),
				       W(shiftmax.max_len), W(shiftmax.j) },
		.type = { VITRT_S8, NONE, VITRT_U8 },
		.check = check_shiftmax, .run = run_shiftmax, .par_heads = true,
	},
	[VITRT_OP_GELU] = {
		.name = "gelu",
		.nwords = 6, .word = { W(gelu.gelu.x0), W(gelu.gelu.n), W(gelu.gelu.k),
				       W(gelu.gelu.j), W(gelu.out.mult), W(gelu.out.shift) },
		.type = { VITRT_S8, NONE, VITRT_S8 },
		.check = check_gelu, .run = run_gelu,
	},
	[VITRT_OP_ADD] = {
		.name = "add",
		.nwords = 4, .word = { W(add.a.mult), W(add.a.shift), W(add.b.mult),
				       W(add.b.shift) },
		.type = { VITRT_S16, VITRT_S16, VITRT_S16 },
		.in_place = true, .check = check_add, .run = run_add,
	},
	[VITRT_OP_MEAN] = {
		.name = "mean", .type = { VITRT_S16, NONE, VITRT_S16 },
		.check = check_mean, .shape = shape_mean, .run = run_mean,
	},
	[VITRT_OP_LAYERNORM_S4] = {
		.name = "layernorm_s4",
		.nwords = 2, .word = { W(layernorm.out.mult), W(layernorm.out.shift) },
		.type = { VITRT_S16, NONE, VITRT_S4 },
		.check = check_layernorm, .run = run_layernorm_s4,
	},
	[VITRT_OP_GELU_U4] = {
		.name = "gelu_u4",
		.nwords = 7, .word = { W(gelu.gelu.x0), W(gelu.gelu.n), W(gelu.gelu.k),
				       W(gelu.gelu.j), W(gelu.out.mult), W(gelu.out.shift),
				       W(gelu.zero) },
		.type = { VITRT_S8, NONE, VITRT_U4 },
		.check = check_gelu_u4, .run = run_gelu_u4,
	},
	[VITRT_OP_SHIFTMAX16] = {
		.name = "shiftmax16",
		.nwords = 6, .word = { W(shiftmax16.sm.x0), W(shiftmax16.sm.n), W(shiftmax16.sm.k),
				       W(shiftmax16.sm.max_len), W(shiftmax16.sm.j),
				       W(shiftmax16.lo) },
		.type = { VITRT_S8, NONE, VITRT_U8 },
		.check = check_shiftmax16, .shape = shape_shiftmax16, .run = run_shiftmax16,
	},
	[VITRT_OP_JOIN16] = {
		.name = "join16",
		.nwords = 2, .word = { W(join16.out.mult), W(join16.out.shift) },
		.type = { VITRT_S32, VITRT_S32, VITRT_S8 },
		.check = check_join16, .run = run_join16,
	},
};

_Static_assert(VITRT_OP_COUNT == 13, "a new op needs a row in op_traits");

const struct vitrt_op_traits *vitrt_op_traits(uint32_t op)
{
	return &op_traits[op];
}

bool vitrt_op_known(uint32_t op)
{
	return op < VITRT_OP_COUNT && op_traits[op].name;
}

const char *vitrt_op_name(uint32_t op)
{
	return vitrt_op_known(op) ? op_traits[op].name : "?";
}

struct vitrt_step vitrt_op_step(uint32_t op, uint32_t rows, uint32_t cols,
				struct vitrt_pref in0, struct vitrt_pref in1,
				struct vitrt_pref out, const union vitrt_op_params *u)
{
	const struct vitrt_op_traits *t = &op_traits[op];
	struct vitrt_step s = { .op = op, .rows = rows, .cols = cols,
				.in0 = in0, .in1 = in1, .out = out };

	for (uint32_t i = 0; i < t->nwords; i++)
		memcpy(&s.p[i], (const uint8_t *)u + t->word[i], 4);
	return s;
}

void vitrt_op_decode(union vitrt_op_params *u, const struct vitrt_step *s)
{
	const struct vitrt_op_traits *t = &op_traits[s->op];

	memset(u, 0, sizeof(*u));
	for (uint32_t i = 0; i < t->nwords; i++)
		memcpy((uint8_t *)u + t->word[i], &s->p[i], 4);
}

void vitrt_op_shape(struct vitrt_op_shape *sh, const struct vitrt_step *s,
		    const union vitrt_op_params *u)
{
	const struct vitrt_op_traits *t = &op_traits[s->op];

	if (t->shape) {
		t->shape(sh, s, u);
		return;
	}
	*sh = (struct vitrt_op_shape){ .par_rows = s->rows,
				       .par_align = t->par_heads ? s->cols : VITSA_MODEL_ROW_ALIGN,
				       .par_elems = (uint64_t)s->rows * s->cols };
	for (int o = 0; o < VITRT_OPND_COUNT; o++) {
		if (t->type[o] == NONE)
			continue;
		sh->rows[o] = s->rows;
		sh->row_bytes[o] = vitrt_row_bytes(t->type[o], s->cols);
	}
}
