// SPDX-License-Identifier: MIT
/* The integer program: names, and the validation every loaded program passes before it runs. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_iops.h"
#include "vitrt_prog.h"

static const char *const scheme_names[VITRT_SCHEME_COUNT] = {
	[VITRT_SCHEME_W8A8] = "w8a8", [VITRT_SCHEME_W4A8] = "w4a8", [VITRT_SCHEME_W4A4] = "w4a4",
};

static const char *const op_names[VITRT_OP_COUNT] = {
	[VITRT_OP_GEMM] = "gemm", [VITRT_OP_SYNC] = "sync", [VITRT_OP_INPUT] = "input",
	[VITRT_OP_EMBED] = "embed", [VITRT_OP_LAYERNORM] = "layernorm",
	[VITRT_OP_SHIFTMAX] = "shiftmax", [VITRT_OP_GELU] = "gelu", [VITRT_OP_ADD] = "add",
};

const char *vitrt_scheme_name(uint32_t scheme)
{
	return scheme < VITRT_SCHEME_COUNT ? scheme_names[scheme] : "?";
}

int vitrt_scheme_parse(const char *name)
{
	for (int s = 0; s < VITRT_SCHEME_COUNT; s++)
		if (!strcmp(name, scheme_names[s]))
			return s;
	return -1;
}

const char *vitrt_op_name(uint32_t op)
{
	return op < VITRT_OP_COUNT ? op_names[op] : "?";
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

/* @rows rows of @row_bytes at @r (stride r->stride, or packed when 0) fit one chunk of r's arena. */
static bool ref_fits(const struct vitrt_prog *p, const struct vitrt_pref *r, uint64_t rows,
		     uint64_t row_bytes)
{
	uint64_t stride = r->stride ? r->stride : row_bytes, span, end;

	if (r->arena >= VITRT_ARENA_COUNT || r->pad || !rows || !row_bytes || stride < row_bytes)
		return false;
	return !__builtin_mul_overflow(rows - 1, stride, &span) &&
	       !__builtin_add_overflow(span, row_bytes, &span) &&
	       !__builtin_add_overflow(r->offset, span, &end) && end <= p->arena_size[r->arena] &&
	       r->offset / VITRT_ARENA_CHUNK == (end - 1) / VITRT_ARENA_CHUNK;
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

/* Rows of @r start on a multiple of @size bytes (int16 loads of the CPU ops). */
static bool ref_aligned(const struct vitrt_pref *r, uint32_t size)
{
	return r->offset % size == 0 && r->stride % size == 0;
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

static int check_gemm(const struct vitrt_prog *p, const struct vitrt_pgemm *g, char *msg,
		      size_t cap, uint32_t i)
{
	bool bt = g->flags & VITRT_GEMM_B_TRANS, rq = g->flags & VITRT_GEMM_REQUANT;

	if (g->flags & ~(VITRT_GEMM_B_TRANS | VITRT_GEMM_BIAS | VITRT_GEMM_REQUANT) ||
	    !dim_ok(g->m) || !dim_ok(g->n) || !dim_ok(g->k) || g->a_type > VITRT_U4 ||
	    g->b_type > VITRT_U4 || (rq ? g->c_type > VITRT_S16 : g->c_type != VITRT_S32) ||
	    (!rq && g->c_zero))
		return bad(msg, cap, "gemm %u: bad shape, type or flags", i);
	if (!ref_fits(p, &g->a, g->m, vitrt_row_bytes(g->a_type, g->k)) ||
	    !ref_fits(p, &g->b, bt ? g->n : g->k, vitrt_row_bytes(g->b_type, bt ? g->k : g->n)) ||
	    !ref_fits(p, &g->c, g->m, vitrt_row_bytes(g->c_type, g->n)) ||
	    g->c.arena != VITRT_ARENA_ACT)
		return bad(msg, cap, "gemm %u: an operand lies outside its arena", i);
	if (((g->flags & VITRT_GEMM_BIAS) && !ref_fits(p, &g->bias, 1, 4ull * g->n)) ||
	    (rq && !ref_fits(p, &g->rq, 1, 8ull * g->n)))
		return bad(msg, cap, "gemm %u: bias or requant table outside its arena", i);
	if (gemm_overlaps(g))
		return bad(msg, cap, "gemm %u: C overlaps an input (the device refuses it)", i);
	return 0;
}

/* Bytes per element of in0, in1, out by op (0: unused). */
static const uint8_t elem_bytes[VITRT_OP_COUNT][3] = {
	[VITRT_OP_EMBED] = { 2, 2, 2 },
	[VITRT_OP_LAYERNORM] = { 2, 0, 1 },
	[VITRT_OP_SHIFTMAX] = { 1, 0, 1 },
	[VITRT_OP_GELU] = { 1, 0, 1 },
	[VITRT_OP_ADD] = { 2, 2, 2 },
};

static int check_input(const struct vitrt_prog *p, const struct vitrt_step *s, char *msg,
		       size_t cap, uint32_t i)
{
	uint32_t chans = s->p[0], img = s->p[1], patch = s->p[2];
	uint64_t per_row, rows;

	if (!chans || chans > 4 || !img || img > 4096 || !patch || img % patch)
		return bad(msg, cap, "step %u: bad input geometry", i);
	rows = (uint64_t)(img / patch) * (img / patch);
	per_row = (uint64_t)chans * patch * patch;
	if (!ref_fits(p, &s->in0, 1, (uint64_t)chans * img * img) ||
	    !ref_fits(p, &s->in1, 1, chans * 256ull) || !ref_fits(p, &s->out, rows, per_row) ||
	    s->out.arena != VITRT_ARENA_ACT)
		return bad(msg, cap, "step %u: input tensors outside their arenas", i);
	if (refs_overlap(&s->out, rows, per_row, &s->in0, 1, (uint64_t)chans * img * img) ||
	    refs_overlap(&s->out, rows, per_row, &s->in1, 1, chans * 256ull))
		return bad(msg, cap, "step %u (input): output overlaps an input", i);
	return 0;
}

static bool shift_ok(int32_t shift)
{
	return shift >= 0 && shift <= VITRT_DYADIC_MAX_SHIFT;
}

/* The integer parameters of a CPU op, as its kernel requires them. */
static bool params_ok(const struct vitrt_step *s)
{
	struct vitrt_shiftmax sm = { s->p[0], (uint32_t)s->p[1], (uint32_t)s->p[2],
				     (uint32_t)s->p[3] };
	struct vitrt_gelu g = { s->p[0], (uint32_t)s->p[1], (uint32_t)s->p[2] };

	switch (s->op) {
	case VITRT_OP_LAYERNORM:
		return shift_ok(s->p[1]) && s->cols <= VITRT_LAYERNORM_MAX_COLS;
	case VITRT_OP_ADD:
		return shift_ok(s->p[1]) && shift_ok(s->p[3]);
	case VITRT_OP_SHIFTMAX:
		return !vitrt_shiftmax_check(&sm) && s->cols <= sm.max_len;
	case VITRT_OP_GELU:
		return !vitrt_gelu_check(&g) && shift_ok(s->p[4]);
	default:
		return true;
	}
}

/* @a and @b are the same rows: ADD may write its result over an operand, element for element. */
static bool same_rows(const struct vitrt_pref *a, const struct vitrt_pref *b, uint64_t row)
{
	return a->arena == b->arena && a->offset == b->offset &&
	       (a->stride ? a->stride : row) == (b->stride ? b->stride : row);
}

/* The CPU kernels take restrict pointers: an output shares no byte with an input but ADD's own. */
static bool step_overlaps(const struct vitrt_step *s, uint32_t in0_rows)
{
	const uint8_t *eb = elem_bytes[s->op];
	uint64_t out_row = (uint64_t)s->cols * eb[2], in0_row = (uint64_t)s->cols * eb[0];
	uint64_t in1_row = (uint64_t)s->cols * eb[1];
	bool add = s->op == VITRT_OP_ADD;

	if (in0_rows && refs_overlap(&s->out, s->rows, out_row, &s->in0, in0_rows, in0_row) &&
	    !(add && same_rows(&s->out, &s->in0, out_row)))
		return true;
	return eb[1] && refs_overlap(&s->out, s->rows, out_row, &s->in1, s->rows, in1_row) &&
	       !(add && same_rows(&s->out, &s->in1, out_row));
}

static int check_step(const struct vitrt_prog *p, const struct vitrt_step *s, char *msg,
		      size_t cap, uint32_t i)
{
	const uint8_t *eb;
	uint32_t in0_rows;

	if (s->op >= VITRT_OP_COUNT)
		return bad(msg, cap, "step %u: unknown op %u", i, s->op);
	if (s->op == VITRT_OP_GEMM)
		return s->index < p->ngemms ? 0 : bad(msg, cap, "step %u: no gemm %u", i, s->index);
	if (s->op == VITRT_OP_SYNC)
		return 0;
	if (s->op == VITRT_OP_INPUT)
		return check_input(p, s, msg, cap, i);
	eb = elem_bytes[s->op];
	if (!s->rows || s->rows > 1u << 20 || !s->cols || s->cols > 1u << 16)
		return bad(msg, cap, "step %u (%s): bad shape %ux%u", i, vitrt_op_name(s->op),
			   s->rows, s->cols);
	in0_rows = s->op == VITRT_OP_EMBED ? s->rows - 1 : s->rows;
	if ((in0_rows && !ref_fits(p, &s->in0, in0_rows, (uint64_t)s->cols * eb[0])) ||
	    (eb[1] && !ref_fits(p, &s->in1, s->rows, (uint64_t)s->cols * eb[1])) ||
	    !ref_fits(p, &s->out, s->rows, (uint64_t)s->cols * eb[2]) ||
	    s->out.arena != VITRT_ARENA_ACT)
		return bad(msg, cap, "step %u (%s): a tensor lies outside its arena", i,
			   vitrt_op_name(s->op));
	for (int t = 0; t < 3; t++)
		if (eb[t] == 2 && !ref_aligned(t == 0 ? &s->in0 : t == 1 ? &s->in1 : &s->out, 2))
			return bad(msg, cap, "step %u (%s): an s16 tensor at an odd offset or stride",
				   i, vitrt_op_name(s->op));
	if (step_overlaps(s, in0_rows))
		return bad(msg, cap, "step %u (%s): output overlaps an input", i,
			   vitrt_op_name(s->op));
	if (!params_ok(s))
		return bad(msg, cap, "step %u (%s): parameters out of range", i, vitrt_op_name(s->op));
	return 0;
}

int vitrt_prog_validate(const struct vitrt_prog *p, char *msg, size_t cap)
{
	const struct vitrt_prog_info *in = &p->info;
	int err;

	if (in->scheme >= VITRT_SCHEME_COUNT || !in->classes || in->classes > 100000 ||
	    !in->array_rows || in->array_rows > VITRT_ARRAY_MAX_SIDE || !in->array_cols ||
	    in->array_cols > VITRT_ARRAY_MAX_SIDE)
		return bad(msg, cap, "bad model info (scheme %u, %u classes)", in->scheme,
			   in->classes);
	if (p->arena_size[VITRT_ARENA_ACT] > (1ull << 32))
		return bad(msg, cap, "activation arena of %lu bytes is too large",
			   (unsigned long)p->arena_size[VITRT_ARENA_ACT]);
	if (p->image.arena != VITRT_ARENA_ACT ||
	    !ref_fits(p, &p->image, 1, (uint64_t)in->chans * in->img * in->img) ||
	    p->logits.arena != VITRT_ARENA_ACT || !ref_fits(p, &p->logits, 1, 2ull * in->classes))
		return bad(msg, cap, "image or logits outside the activation arena");
	if (!ref_aligned(&p->logits, 2))
		return bad(msg, cap, "s16 logits at an odd offset");
	for (uint32_t i = 0; i < p->ngemms; i++) {
		err = check_gemm(p, &p->gemms[i], msg, cap, i);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < p->nsteps; i++) {
		err = check_step(p, &p->steps[i], msg, cap, i);
		if (err)
			return err;
	}
	return 0;
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
