// SPDX-License-Identifier: MIT
/*
 * The ops of the integer program: one row of traits per op (vitrt_ops.h).  A CPU op is one of
 * the vector unit's opcodes: its parameters are checked and its rows run by the device model's
 * own functions (hw/model/vitsa_vec.c), on the host's threads or on the device.
 */
#include <stddef.h>
#include <string.h>

#include "vitrt_ops.h"

/* Every parameter word is a 32-bit field of the decoded parameters. */
#define W(field)	offsetof(union vitsa_vec_params, field)

_Static_assert(sizeof(union vitsa_vec_params) <= 4 * VITRT_STEP_PARAMS, "params fit the words");

/* ---- checks of the parameters ---- */

/* The device's own check of a vector op's parameters. */
static const char *check_vec(const struct vitrt_prog *p, const struct vitrt_step *s,
			     const union vitsa_vec_params *u)
{
	(void)p;
	return vitsa_vec_params_check(vitrt_op_traits(s->op)->vop, s->rows, s->cols, u) ?
	       "parameters out of range" : NULL;
}

static const char *check_gemm(const struct vitrt_prog *p, const struct vitrt_step *s,
			      const union vitsa_vec_params *u)
{
	(void)u;
	return s->index < p->ngemms ? NULL : "no such gemm";
}

static const char *check_input(const struct vitrt_prog *p, const struct vitrt_step *s,
			       const union vitsa_vec_params *u)
{
	const struct vitsa_vec_input *g = &u->input;

	(void)p, (void)s;
	if (!g->chans || g->chans > 4 || !g->img || g->img > VITSA_PATCHES_MAX_IMG ||
	    !g->patch || g->img % g->patch)
		return "bad input geometry";
	return NULL;
}

static const char *check_embed(const struct vitrt_prog *p, const struct vitrt_step *s,
			       const union vitsa_vec_params *u)
{
	(void)p;
	return u->embed.prefix <= VITSA_EMBED_MAX_PREFIX && u->embed.prefix <= s->rows ? NULL :
	       "bad prefix token count";
}

static const char *check_mean(const struct vitrt_prog *p, const struct vitrt_step *s,
			      const union vitsa_vec_params *u)
{
	(void)p, (void)u;
	return s->rows >= 1 && s->rows <= VITSA_MEAN_MAX_ROWS ? NULL : "bad row count";
}

/*
 * The op has a shape function (the low parts' offset widens the output rows), so the rows and
 * columns are checked here, to the limits of the ops of rows x cols (vitrt_prog.c).
 */
static const char *check_shiftmax16(const struct vitrt_prog *p, const struct vitrt_step *s,
				    const union vitsa_vec_params *u)
{
	const struct vitsa_vec_shiftmax16 *g = &u->shiftmax16;

	(void)p;
	if (!s->rows || s->rows > 1u << 20)
		return "bad row count";
	return s->cols >= 1 && g->lo >= s->cols && g->lo <= 1u << 16 ? check_vec(p, s, u) :
	       "parameters out of range";
}

static const char *check_gelu_u4(const struct vitrt_prog *p, const struct vitrt_step *s,
				 const union vitsa_vec_params *u)
{
	return u->gelu.zero < 0 || u->gelu.zero > 15 ? "zero point out of range" :
	       check_vec(p, s, u);
}

/* ---- tensor extents ---- */

/* The image, the tables and the patch rows, from the geometry (rows and cols are unused). */
static void shape_input(struct vitrt_op_shape *sh, const struct vitrt_step *s,
			const union vitsa_vec_params *u)
{
	const struct vitsa_vec_input *g = &u->input;
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
			const union vitsa_vec_params *u)
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
		       const union vitsa_vec_params *u)
{
	(void)u;
	*sh = (struct vitrt_op_shape){
		.rows = { s->rows, 0, 1 }, .row_bytes = { 2ull * s->cols, 0, 2ull * s->cols },
		.par_rows = 1, .par_align = 1, .par_elems = (uint64_t)s->rows * s->cols,
	};
}

/* Rows of logits in, rows of both parts out; split by head (cols rows), as SHIFTMAX. */
static void shape_shiftmax16(struct vitrt_op_shape *sh, const struct vitrt_step *s,
			     const union vitsa_vec_params *u)
{
	*sh = (struct vitrt_op_shape){
		.rows = { s->rows, 0, s->rows },
		.row_bytes = { s->cols, 0, (uint64_t)u->shiftmax16.lo + s->cols },
		.par_rows = s->rows, .par_align = s->cols,
		.par_elems = (uint64_t)s->rows * s->cols,
	};
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
		.check = check_input, .shape = shape_input, .vop = VITSA_OP_INPUT,
	},
	[VITRT_OP_EMBED] = {
		.name = "embed", .nwords = 1, .word = { W(embed.prefix) },
		.type = { VITRT_S16, VITRT_S16, VITRT_S16 },
		.check = check_embed, .shape = shape_embed, .vop = VITSA_OP_EMBED,
	},
	[VITRT_OP_LAYERNORM] = {
		.name = "layernorm",
		.nwords = 2, .word = { W(layernorm.out.mult), W(layernorm.out.shift) },
		.type = { VITRT_S16, NONE, VITRT_S8 },
		.check = check_vec, .vop = VITSA_OP_LAYERNORM,
	},
	[VITRT_OP_SHIFTMAX] = {
		.name = "shiftmax",
		.nwords = 5, .word = { W(shiftmax.x0), W(shiftmax.n), W(shiftmax.k),
				       W(shiftmax.max_len), W(shiftmax.j) },
		.type = { VITRT_S8, NONE, VITRT_U8 },
		.check = check_vec, .vop = VITSA_OP_SHIFTMAX, .par_heads = true,
	},
	[VITRT_OP_GELU] = {
		.name = "gelu",
		.nwords = 6, .word = { W(gelu.gelu.x0), W(gelu.gelu.n), W(gelu.gelu.k),
				       W(gelu.gelu.j), W(gelu.out.mult), W(gelu.out.shift) },
		.type = { VITRT_S8, NONE, VITRT_S8 },
		.check = check_vec, .vop = VITSA_OP_GELU,
	},
	[VITRT_OP_ADD] = {
		.name = "add",
		.nwords = 4, .word = { W(add.a.mult), W(add.a.shift), W(add.b.mult),
				       W(add.b.shift) },
		.type = { VITRT_S16, VITRT_S16, VITRT_S16 },
		.in_place = true, .check = check_vec, .vop = VITSA_OP_ADD,
	},
	[VITRT_OP_MEAN] = {
		.name = "mean", .type = { VITRT_S16, NONE, VITRT_S16 },
		.check = check_mean, .shape = shape_mean, .vop = VITSA_OP_MEAN,
	},
	[VITRT_OP_LAYERNORM_S4] = {
		.name = "layernorm_s4",
		.nwords = 2, .word = { W(layernorm.out.mult), W(layernorm.out.shift) },
		.type = { VITRT_S16, NONE, VITRT_S4 },
		.check = check_vec, .vop = VITSA_OP_LAYERNORM_S4,
	},
	[VITRT_OP_GELU_U4] = {
		.name = "gelu_u4",
		.nwords = 7, .word = { W(gelu.gelu.x0), W(gelu.gelu.n), W(gelu.gelu.k),
				       W(gelu.gelu.j), W(gelu.out.mult), W(gelu.out.shift),
				       W(gelu.zero) },
		.type = { VITRT_S8, NONE, VITRT_U4 },
		.check = check_gelu_u4, .vop = VITSA_OP_GELU_U4,
	},
	[VITRT_OP_SHIFTMAX16] = {
		.name = "shiftmax16",
		.nwords = 6, .word = { W(shiftmax16.sm.x0), W(shiftmax16.sm.n), W(shiftmax16.sm.k),
				       W(shiftmax16.sm.max_len), W(shiftmax16.sm.j),
				       W(shiftmax16.lo) },
		.type = { VITRT_S8, NONE, VITRT_U8 },
		.check = check_shiftmax16, .shape = shape_shiftmax16,
		.vop = VITSA_OP_SHIFTMAX16,
	},
	[VITRT_OP_JOIN16] = {
		.name = "join16",
		.nwords = 2, .word = { W(join16.out.mult), W(join16.out.shift) },
		.type = { VITRT_S32, VITRT_S32, VITRT_S8 },
		.check = check_vec, .vop = VITSA_OP_JOIN16,
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
				struct vitrt_pref out, const union vitsa_vec_params *u)
{
	const struct vitrt_op_traits *t = &op_traits[op];
	struct vitrt_step s = { .op = op, .rows = rows, .cols = cols,
				.in0 = in0, .in1 = in1, .out = out };

	for (uint32_t i = 0; i < t->nwords; i++)
		memcpy(&s.p[i], (const uint8_t *)u + t->word[i], 4);
	return s;
}

void vitrt_op_decode(union vitsa_vec_params *u, const struct vitrt_step *s)
{
	const struct vitrt_op_traits *t = &op_traits[s->op];

	memset(u, 0, sizeof(*u));
	for (uint32_t i = 0; i < t->nwords; i++)
		memcpy((uint8_t *)u + t->word[i], &s->p[i], 4);
}

void vitrt_op_shape(struct vitrt_op_shape *sh, const struct vitrt_step *s,
		    const union vitsa_vec_params *u)
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
