// SPDX-License-Identifier: MIT
/* The integer program: names, and the validation every loaded program passes before it runs. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_image.h"
#include "vitrt_ops.h"

static const char *const scheme_names[VITRT_SCHEME_COUNT] = {
	[VITRT_SCHEME_W8A8] = "w8a8", [VITRT_SCHEME_W4A8] = "w4a8", [VITRT_SCHEME_W4A4] = "w4a4",
};

const char *vitrt_scheme_name(uint32_t scheme)
{
	return scheme < VITRT_SCHEME_COUNT ? scheme_names[scheme] : "?";
}

uint32_t vitrt_scheme_act_bits(uint32_t scheme)
{
	return scheme == VITRT_SCHEME_W4A4 ? 4 : 8;
}

int vitrt_scheme_parse(const char *name)
{
	for (int s = 0; s < VITRT_SCHEME_COUNT; s++)
		if (!strcmp(name, scheme_names[s]))
			return s;
	return -1;
}

static int bad(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return VITRT_EFORMAT;
}

/* A program being validated, and one past the furthest ACT byte its tensors checked so far use. */
struct vcheck {
	const struct vitrt_prog *p;
	uint64_t act_end;
};

/*
 * @rows rows of @row_bytes at @r (stride r->stride, or packed when 0) fit one chunk of r's arena;
 * if so and the arena is ACT, v->act_end grows to cover them.
 */
static bool ref_fits(struct vcheck *v, const struct vitrt_pref *r, uint64_t rows,
		     uint64_t row_bytes)
{
	uint64_t stride = r->stride ? r->stride : row_bytes, span, end;

	if (r->arena >= VITRT_ARENA_COUNT || r->pad || !rows || !row_bytes || stride < row_bytes)
		return false;
	if (__builtin_mul_overflow(rows - 1, stride, &span) ||
	    __builtin_add_overflow(span, row_bytes, &span) ||
	    __builtin_add_overflow(r->offset, span, &end) || end > v->p->arena_size[r->arena] ||
	    r->offset / VITRT_ARENA_CHUNK != (end - 1) / VITRT_ARENA_CHUNK)
		return false;
	if (r->arena == VITRT_ARENA_ACT && end > v->act_end)
		v->act_end = end;
	return true;
}

/*
 * @a (@a_rows rows of @a_row bytes) and @b share a byte of their arena, gaps between rows
 * included; both passed ref_fits, so nothing overflows.
 */
static bool refs_overlap(const struct vitrt_pref *a, uint64_t a_rows, uint64_t a_row,
			 const struct vitrt_pref *b, uint64_t b_rows, uint64_t b_row)
{
	uint64_t a_last = a->offset + (a_rows - 1) * (a->stride ? a->stride : a_row) + a_row - 1;
	uint64_t b_last = b->offset + (b_rows - 1) * (b->stride ? b->stride : b_row) + b_row - 1;

	return a->arena == b->arena && a->offset <= b_last && b->offset <= a_last;
}

/* Rows of @r start on a multiple of @size bytes (int16 and int32 loads of the CPU ops). */
static bool ref_aligned(const struct vitrt_pref *r, uint32_t size)
{
	return r->offset % size == 0 && r->stride % size == 0;
}

/* Bytes of one element of a CPU op's tensor of @type (s4 and u4 are not among them). */
static uint32_t elem_bytes(uint8_t type)
{
	return type == VITRT_S32 ? 4 : type == VITRT_S16 ? 2 : 1;
}

static bool dim_ok(uint32_t d)
{
	return d >= 1 && d <= 32768;
}

/* C shares a byte with A, B, bias or rq (Documentation/hw/vitsa.rst, OVERLAP). */
static bool gemm_overlaps(const struct vitrt_pgemm *g)
{
	bool bt = g->flags & VITRT_GEMM_B_TRANS;
	uint64_t c_row = vitrt_row_bytes(g->c_type, g->n);

	return refs_overlap(&g->c, g->m, c_row, &g->a, g->m, vitrt_row_bytes(g->a_type, g->k)) ||
	       refs_overlap(&g->c, g->m, c_row, &g->b, bt ? g->n : g->k,
			    vitrt_row_bytes(g->b_type, bt ? g->k : g->n)) ||
	       ((g->flags & VITRT_GEMM_BIAS) && refs_overlap(&g->c, g->m, c_row, &g->bias, 1,
							     4ull * g->n)) ||
	       ((g->flags & VITRT_GEMM_REQUANT) && refs_overlap(&g->c, g->m, c_row, &g->rq, 1,
								8ull * g->n));
}

static int check_gemm(struct vcheck *v, const struct vitrt_pgemm *g, char *msg, size_t cap,
		      uint32_t i)
{
	bool bt = g->flags & VITRT_GEMM_B_TRANS, rq = g->flags & VITRT_GEMM_REQUANT;

	if (g->flags & ~(VITRT_GEMM_B_TRANS | VITRT_GEMM_BIAS | VITRT_GEMM_REQUANT) ||
	    !dim_ok(g->m) || !dim_ok(g->n) || !dim_ok(g->k) || g->a_type > VITRT_U4 ||
	    g->b_type > VITRT_U4 || (rq ? g->c_type > VITRT_S16 : g->c_type != VITRT_S32) ||
	    (!rq && g->c_zero))
		return bad(msg, cap, "gemm %u: bad shape, type or flags", i);
	if (!ref_fits(v, &g->a, g->m, vitrt_row_bytes(g->a_type, g->k)) ||
	    !ref_fits(v, &g->b, bt ? g->n : g->k, vitrt_row_bytes(g->b_type, bt ? g->k : g->n)) ||
	    !ref_fits(v, &g->c, g->m, vitrt_row_bytes(g->c_type, g->n)) ||
	    g->c.arena != VITRT_ARENA_ACT)
		return bad(msg, cap, "gemm %u: an operand lies outside its arena", i);
	if (((g->flags & VITRT_GEMM_BIAS) && !ref_fits(v, &g->bias, 1, 4ull * g->n)) ||
	    (rq && !ref_fits(v, &g->rq, 1, 8ull * g->n)))
		return bad(msg, cap, "gemm %u: bias or requant table outside its arena", i);
	if (gemm_overlaps(g))
		return bad(msg, cap, "gemm %u: C overlaps an input (the device refuses it)", i);
	return 0;
}

/* @a and @b are the same rows: ADD may write its result over an operand, element for element. */
static bool same_rows(const struct vitrt_pref *a, const struct vitrt_pref *b, uint64_t row)
{
	return a->arena == b->arena && a->offset == b->offset &&
	       (a->stride ? a->stride : row) == (b->stride ? b->stride : row);
}

/* The tensors of step @s: each used one fits its arena, s16 and s32 rows are aligned. */
static const char *step_tensors(struct vcheck *v, const struct vitrt_step *s,
				const struct vitrt_op_shape *sh)
{
	const struct vitrt_op_traits *t = vitrt_op_traits(s->op);
	const struct vitrt_pref *ref[VITRT_OPND_COUNT] = { &s->in0, &s->in1, &s->out };

	for (int o = 0; o < VITRT_OPND_COUNT; o++)
		if (sh->rows[o] && !ref_fits(v, ref[o], sh->rows[o], sh->row_bytes[o]))
			return "a tensor lies outside its arena";
	if (s->out.arena != VITRT_ARENA_ACT)
		return "a tensor lies outside its arena";
	for (int o = 0; o < VITRT_OPND_COUNT; o++)
		if (sh->rows[o] && !ref_aligned(ref[o], elem_bytes(t->type[o])))
			return t->type[o] == VITRT_S16 ?
			       "an s16 tensor at an odd offset or stride" :
			       "an s32 tensor at an offset or stride not a multiple of 4";
	return NULL;
}

/* The CPU kernels take restrict pointers: an output shares no byte with an input but ADD's own. */
static bool step_overlaps(const struct vitrt_step *s, const struct vitrt_op_shape *sh)
{
	bool in_place = vitrt_op_traits(s->op)->in_place;
	const struct vitrt_pref *in[2] = { &s->in0, &s->in1 };
	uint64_t out_row = sh->row_bytes[VITRT_OPND_OUT];

	for (int o = VITRT_OPND_IN0; o <= VITRT_OPND_IN1; o++)
		if (sh->rows[o] && refs_overlap(&s->out, sh->rows[VITRT_OPND_OUT], out_row, in[o],
						sh->rows[o], sh->row_bytes[o]) &&
		    !(in_place && same_rows(&s->out, in[o], out_row)))
			return true;
	return false;
}

/* Words past the op's parameters are 0, so a future op's can never be misread. */
static bool unused_words_zero(const struct vitrt_step *s)
{
	for (uint32_t i = vitrt_op_traits(s->op)->nwords; i < VITRT_STEP_PARAMS; i++)
		if (s->p[i])
			return false;
	return true;
}

/* Ops of rows x cols (all but the device steps and INPUT) within the kernels' limits. */
static bool shape_ok(const struct vitrt_step *s)
{
	const struct vitrt_op_traits *t = vitrt_op_traits(s->op);

	return t->device || t->shape ||
	       (s->rows && s->rows <= 1u << 20 && s->cols && s->cols <= 1u << 16);
}

/* What is wrong with step @s (a known op of a good shape), or NULL. */
static const char *step_problem(struct vcheck *v, const struct vitrt_step *s)
{
	const struct vitrt_op_traits *t = vitrt_op_traits(s->op);
	union vitsa_vec_params u;
	struct vitrt_op_shape sh;
	const char *why;

	if (!unused_words_zero(s))
		return "a parameter word past the op's is not 0";
	vitrt_op_decode(&u, s);
	why = t->check ? t->check(v->p, s, &u) : NULL;
	if (why || t->device)
		return why;
	vitrt_op_shape(&sh, s, &u);
	/* Ops with a shape of their own skip shape_ok: an empty step would map no tensor. */
	if (!sh.rows[VITRT_OPND_OUT] || !sh.row_bytes[VITRT_OPND_OUT])
		return "no output rows";
	why = step_tensors(v, s, &sh);
	if (!why && step_overlaps(s, &sh))
		why = "output overlaps an input";
	return why;
}

static int check_step(struct vcheck *v, const struct vitrt_step *s, char *msg, size_t cap,
		      uint32_t i)
{
	const char *why;

	if (!vitrt_op_known(s->op))
		return bad(msg, cap, "step %u: unknown op %u", i, s->op);
	if (!shape_ok(s))
		return bad(msg, cap, "step %u (%s): bad shape %ux%u", i, vitrt_op_name(s->op),
			   s->rows, s->cols);
	why = step_problem(v, s);
	return why ? bad(msg, cap, "step %u (%s): %s", i, vitrt_op_name(s->op), why) : 0;
}

/*
 * The ACT arena ends no further than the compiler's would, at the last byte a tensor uses
 * (rounded up): every batch slot allocates it, so more is memory nothing reads.
 */
static int check_act_size(const struct vcheck *v, char *msg, size_t cap)
{
	uint64_t size = v->p->arena_size[VITRT_ARENA_ACT];
	uint64_t used = (v->act_end + VITRT_ARENA_ALIGN - 1) & ~(uint64_t)(VITRT_ARENA_ALIGN - 1);

	if (size > used)
		return bad(msg, cap, "activation arena of %llu bytes is larger than the %llu its "
			   "tensors use (their last byte rounded up to %u)", (unsigned long long)size,
			   (unsigned long long)used, VITRT_ARENA_ALIGN);
	return 0;
}

int vitrt_prog_validate(const struct vitrt_prog *p, char *msg, size_t cap)
{
	const struct vitrt_prog_info *in = &p->info;
	struct vcheck v = { .p = p };
	int err;

	if (in->scheme >= VITRT_SCHEME_COUNT || !in->classes || in->classes > 100000 ||
	    !in->array_rows || in->array_rows > VITRT_ARRAY_MAX_SIDE || !in->array_cols ||
	    in->array_cols > VITRT_ARRAY_MAX_SIDE)
		return bad(msg, cap, "bad model info (scheme %u, %u classes)", in->scheme,
			   in->classes);
	if (in->interp > VITRT_INTERP_BILINEAR || !(in->crop_pct >= 0.05f && in->crop_pct <= 1))
		return bad(msg, cap, "bad preprocessing (interpolation %u, crop %g)", in->interp,
			   (double)in->crop_pct);
	if (p->arena_size[VITRT_ARENA_ACT] > VITRT_MAX_ACT_BYTES)
		return bad(msg, cap, "activation arena of %llu bytes per image is over the limit of "
			   "%llu (%llu MiB)", (unsigned long long)p->arena_size[VITRT_ARENA_ACT],
			   VITRT_MAX_ACT_BYTES, VITRT_MAX_ACT_BYTES >> 20);
	if (p->image.arena != VITRT_ARENA_ACT ||
	    !ref_fits(&v, &p->image, 1, (uint64_t)in->chans * in->img * in->img) ||
	    p->logits.arena != VITRT_ARENA_ACT || !ref_fits(&v, &p->logits, 1, 2ull * in->classes))
		return bad(msg, cap, "image or logits outside the activation arena");
	if (!ref_aligned(&p->logits, 2))
		return bad(msg, cap, "s16 logits at an odd offset");
	for (uint32_t i = 0; i < p->ngemms; i++) {
		err = check_gemm(&v, &p->gemms[i], msg, cap, i);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < p->nsteps; i++) {
		err = check_step(&v, &p->steps[i], msg, cap, i);
		if (err)
			return err;
	}
	return check_act_size(&v, msg, cap);
}

/* One side of "RxC": decimal digits only (strtoul alone would take "-1", " 8" and "0x10"). */
static int parse_side(const char *s, const char **end, uint32_t *out)
{
	unsigned long v;
	char *e;

	if (*s < '0' || *s > '9')
		return VITRT_EINVAL;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || !v || v > VITRT_ARRAY_MAX_SIDE)
		return VITRT_EINVAL;
	*end = e;
	*out = (uint32_t)v;
	return 0;
}

int vitrt_array_parse(const char *s, uint32_t *rows, uint32_t *cols)
{
	const char *p;
	uint32_t r, c;

	if (parse_side(s, &p, &r) || *p != 'x' || parse_side(p + 1, &p, &c) || *p)
		return VITRT_EINVAL;
	*rows = r;
	*cols = c;
	return 0;
}
