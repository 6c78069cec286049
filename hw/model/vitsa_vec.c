// SPDX-License-Identifier: MIT
/*
 * vitsa vector unit: checks and execution of the vector descriptors (vitsa_hw_vec.h), on the
 * integer kernels of vitsa_iops.c.  The runtime's CPU path runs the same vitsa_vec_run.
 */
#include <stdlib.h>
#include <string.h>

#include "vitsa_timing.h"
#include "vitsa_vec.h"

_Static_assert(sizeof(union vitsa_vec_params) == 4 * 7, "parameters are the 7 words");
_Static_assert(sizeof(struct vitsa_shiftmax) == 20 && sizeof(struct vitsa_dyadic) == 8 &&
	       sizeof(struct vitsa_gelu) == 16 && sizeof(struct vitsa_vec_gelu) == 28 &&
	       sizeof(struct vitsa_vec_shiftmax16) == 24,
	       "parameter structs are packed int32 words");

/* ---- parameters ---- */

static bool shift_ok(struct vitsa_dyadic d)
{
	return d.shift <= VITSA_DYADIC_MAX_SHIFT;
}

static bool shiftmax_ok(const struct vitsa_shiftmax *sm, uint32_t cols)
{
	return !vitsa_shiftmax_check(sm) && cols <= sm->max_len;
}

uint32_t vitsa_vec_params_check(uint32_t op, uint32_t rows, uint32_t cols,
				const union vitsa_vec_params *p)
{
	bool ok;

	switch (op) {
	case VITSA_OP_LAYERNORM:
	case VITSA_OP_LAYERNORM_S4:
		ok = shift_ok(p->layernorm.out) && cols <= VITSA_LAYERNORM_MAX_COLS;
		break;
	case VITSA_OP_SHIFTMAX:
		ok = shiftmax_ok(&p->shiftmax, cols);
		break;
	case VITSA_OP_SHIFTMAX16:
		ok = shiftmax_ok(&p->shiftmax16.sm, cols);
		break;
	case VITSA_OP_GELU_U4:
		ok = p->gelu.zero >= 0 && p->gelu.zero <= 15 && !vitsa_gelu_check(&p->gelu.gelu) &&
		     shift_ok(p->gelu.out);
		break;
	case VITSA_OP_GELU:
		ok = !vitsa_gelu_check(&p->gelu.gelu) && shift_ok(p->gelu.out);
		break;
	case VITSA_OP_ADD:
		ok = shift_ok(p->add.a) && shift_ok(p->add.b);
		break;
	case VITSA_OP_MEAN:
		ok = rows <= VITSA_MEAN_MAX_ROWS;
		break;
	case VITSA_OP_JOIN16:
		ok = shift_ok(p->join16.out);
		break;
	default:	/* INPUT and EMBED: their parameters are the shape's */
		ok = true;
	}
	return ok ? VITSA_ERR_OK : VITSA_ERR_PARAM;
}

/* ---- descriptor ---- */

static uint32_t check_unused(const struct vitsa_hw_desc *d, struct vitsa_vec_traits t,
			     const struct vitsa_vec_extent *e)
{
	const uint64_t addr[VITSA_VEC_OPNDS] = { d->a_addr, d->b_addr, d->c_addr };
	const uint64_t stride[VITSA_VEC_OPNDS] = { d->a_stride, d->b_stride, d->c_stride };

	if (d->k || d->types || d->bias_addr || d->rq_addr || d->c_zero)
		return VITSA_ERR_RESERVED;
	for (uint32_t i = t.nparams; i < 7; i++)
		if (d->param[i])
			return VITSA_ERR_RESERVED;
	for (int o = 0; o < VITSA_VEC_OPNDS; o++)
		if (!e->rows[o] && (addr[o] || stride[o]))
			return VITSA_ERR_RESERVED;
	return VITSA_ERR_OK;
}

struct span {
	uint64_t first, last;
};

/* Strides, alignment and ranges of the used operands; their spans into @s. */
static uint32_t check_layout(const struct vitsa_hw_desc *d, const struct vitsa_vec_extent *e,
			     struct span *s)
{
	const uint64_t addr[VITSA_VEC_OPNDS] = { d->a_addr, d->b_addr, d->c_addr };
	const uint64_t stride[VITSA_VEC_OPNDS] = { d->a_stride, d->b_stride, d->c_stride };

	for (int o = 0; o < VITSA_VEC_OPNDS; o++) {
		s[o] = (struct span){ 1, 0 };
		if (!e->rows[o])
			continue;
		if (stride[o] < e->row_bytes[o] || stride[o] % e->align[o] ||
		    addr[o] % e->align[o])
			return VITSA_ERR_STRIDE;
		if (!vitsa_extent_last(addr[o], e->rows[o], stride[o], e->row_bytes[o],
				       &s[o].last))
			return VITSA_ERR_RANGE;
		s[o].first = addr[o];
	}
	return VITSA_ERR_OK;
}

/* out shares no byte with an input, but ADD's out may be one of its inputs exactly. */
static uint32_t check_overlap(const struct vitsa_hw_desc *d, struct vitsa_vec_traits t,
			      const struct span *s)
{
	const uint64_t addr[2] = { d->a_addr, d->b_addr }, stride[2] = { d->a_stride, d->b_stride };
	const struct span *out = &s[VITSA_VEC_OUT];

	for (int o = VITSA_VEC_IN0; o <= VITSA_VEC_IN1; o++) {
		if (s[o].first > s[o].last || s[o].first > out->last || out->first > s[o].last)
			continue;
		if (!(t.in_place && addr[o] == d->c_addr && stride[o] == d->c_stride))
			return VITSA_ERR_OVERLAP;
	}
	return VITSA_ERR_OK;
}

static void params_of(union vitsa_vec_params *p, const struct vitsa_hw_desc *d)
{
	memcpy(p->word, d->param, sizeof(p->word));
}

/* vitsa_vec_check, the extents it found in *@e. */
static uint32_t check(const struct vitsa_hw_desc *d, struct vitsa_vec_extent *e)
{
	struct vitsa_vec_traits t;
	union vitsa_vec_params p;
	struct span s[VITSA_VEC_OPNDS];
	uint32_t err;

	if (!vitsa_vec_op_valid(d->opcode))
		return VITSA_ERR_OPCODE;
	if (d->flags)
		return VITSA_ERR_FLAGS;
	err = vitsa_vec_extent(d, e);
	if (err)
		return err;
	t = vitsa_vec_traits(d->opcode);
	err = check_unused(d, t, e);
	if (err)
		return err;
	params_of(&p, d);
	err = vitsa_vec_params_check(d->opcode, d->m, d->n, &p);
	if (err)
		return err;
	err = check_layout(d, e, s);
	return err ? err : check_overlap(d, t, s);
}

uint32_t vitsa_vec_check(const struct vitsa_hw_desc *d)
{
	struct vitsa_vec_extent e;

	return check(d, &e);
}

/* ---- running rows ---- */

/* Row @r of operand @o as a @type pointer. */
#define ROW(a, o, r, type)	((type *)((a)->t[o] + (uint64_t)(r) * (a)->stride[o]))
#define IN0	VITSA_VEC_IN0
#define IN1	VITSA_VEC_IN1
#define OUT	VITSA_VEC_OUT

uint32_t vitsa_vec_units(uint32_t op, const struct vitsa_vec_args *a)
{
	if (op == VITSA_OP_INPUT)
		return a->p.input.img / a->p.input.patch;
	return op == VITSA_OP_MEAN ? 1 : a->rows;
}

static void run_input(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	const struct vitsa_vec_input *g = &a->p.input;

	vitsa_patches_s8((int8_t *)a->t[OUT], a->stride[OUT], a->t[IN0], (const int8_t *)a->t[IN1],
			 g->chans, g->img, g->patch, r0, r1);
}

static void run_embed(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	/* in0 is NULL for a stream of prefix tokens alone, which the kernel never reads */
	vitsa_embed_s16((int16_t *)a->t[OUT], a->stride[OUT] / 2, (const int16_t *)a->t[IN0],
			a->stride[IN0] / 2, (const int16_t *)a->t[IN1], a->stride[IN1] / 2,
			a->p.embed.prefix, r0, r1, a->cols);
}

static void run_layernorm(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	vitsa_layernorm_s8(ROW(a, OUT, r0, int8_t), a->stride[OUT], ROW(a, IN0, r0, int16_t),
			   a->stride[IN0] / 2, r1 - r0, a->cols, a->p.layernorm.out);
}

static void run_layernorm_s4(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	vitsa_layernorm_s4(ROW(a, OUT, r0, uint8_t), a->stride[OUT], ROW(a, IN0, r0, int16_t),
			   a->stride[IN0] / 2, r1 - r0, a->cols, a->p.layernorm.out);
}

static void run_shiftmax(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	vitsa_shiftmax(ROW(a, OUT, r0, uint8_t), a->stride[OUT], ROW(a, IN0, r0, int8_t),
		       a->stride[IN0], r1 - r0, a->cols, &a->p.shiftmax);
}

static void run_shiftmax16(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	vitsa_shiftmax16(ROW(a, OUT, r0, uint8_t), a->stride[OUT], a->p.shiftmax16.lo,
			 ROW(a, IN0, r0, int8_t), a->stride[IN0], r1 - r0, a->cols,
			 &a->p.shiftmax16.sm);
}

static void run_join16(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	for (uint32_t r = r0; r < r1; r++)
		vitsa_join16_s8(ROW(a, OUT, r, int8_t), ROW(a, IN0, r, int32_t),
				ROW(a, IN1, r, int32_t), a->cols, a->p.join16.out);
}

static void run_gelu(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	const struct vitsa_vec_gelu *g = &a->p.gelu;

	if (a->stride[OUT] == a->cols && a->stride[IN0] == a->cols) {
		/* element-wise: packed rows are one call */
		vitsa_gelu_s8(ROW(a, OUT, r0, int8_t), ROW(a, IN0, r0, int8_t),
			      (size_t)(r1 - r0) * a->cols, &g->gelu, g->out);
		return;
	}
	for (uint32_t r = r0; r < r1; r++)
		vitsa_gelu_s8(ROW(a, OUT, r, int8_t), ROW(a, IN0, r, int8_t), a->cols, &g->gelu,
			      g->out);
}

static void run_gelu_u4(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	const struct vitsa_vec_gelu *g = &a->p.gelu;

	for (uint32_t r = r0; r < r1; r++)
		vitsa_gelu_u4(ROW(a, OUT, r, uint8_t), ROW(a, IN0, r, int8_t), a->cols, &g->gelu,
			      g->out, g->zero);
}

static void run_add(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	for (uint32_t r = r0; r < r1; r++)
		vitsa_residual_add(ROW(a, OUT, r, int16_t), ROW(a, IN0, r, int16_t),
				   ROW(a, IN1, r, int16_t), a->cols, a->p.add.a, a->p.add.b);
}

static void run_mean(const struct vitsa_vec_args *a, uint32_t r0, uint32_t r1)
{
	if (r0 < r1)	/* one output row: the whole reduction */
		vitsa_mean_s16((int16_t *)a->t[OUT], (const int16_t *)a->t[IN0],
			       a->stride[IN0] / 2, a->rows, a->cols);
}

typedef void run_fn(const struct vitsa_vec_args *a, uint32_t u0, uint32_t u1);

static run_fn *const run_fns[VITSA_OP_VEC_END - VITSA_OP_VEC_FIRST] = {
	[VITSA_OP_INPUT - VITSA_OP_VEC_FIRST] = run_input,
	[VITSA_OP_EMBED - VITSA_OP_VEC_FIRST] = run_embed,
	[VITSA_OP_LAYERNORM - VITSA_OP_VEC_FIRST] = run_layernorm,
	[VITSA_OP_LAYERNORM_S4 - VITSA_OP_VEC_FIRST] = run_layernorm_s4,
	[VITSA_OP_SHIFTMAX - VITSA_OP_VEC_FIRST] = run_shiftmax,
	[VITSA_OP_SHIFTMAX16 - VITSA_OP_VEC_FIRST] = run_shiftmax16,
	[VITSA_OP_GELU - VITSA_OP_VEC_FIRST] = run_gelu,
	[VITSA_OP_GELU_U4 - VITSA_OP_VEC_FIRST] = run_gelu_u4,
	[VITSA_OP_ADD - VITSA_OP_VEC_FIRST] = run_add,
	[VITSA_OP_MEAN - VITSA_OP_VEC_FIRST] = run_mean,
	[VITSA_OP_JOIN16 - VITSA_OP_VEC_FIRST] = run_join16,
};

void vitsa_vec_run(uint32_t op, const struct vitsa_vec_args *a, uint32_t u0, uint32_t u1)
{
	run_fns[op - VITSA_OP_VEC_FIRST](a, u0, u1);
}

/* ---- executing a descriptor ---- */

/* The op's class in the cycle model (Documentation/hw/vitsa.rst, "Whole-inference model"). */
static enum vitsa_vop timing_class(uint32_t op)
{
	switch (op) {
	case VITSA_OP_LAYERNORM:
	case VITSA_OP_LAYERNORM_S4:
		return VITSA_VOP_LAYERNORM;
	case VITSA_OP_SHIFTMAX:
	case VITSA_OP_SHIFTMAX16:
		return VITSA_VOP_SHIFTMAX;
	case VITSA_OP_GELU:
	case VITSA_OP_GELU_U4:
		return VITSA_VOP_GELU;
	default:	/* one pass over the elements */
		return VITSA_VOP_ADD;
	}
}

uint64_t vitsa_vec_cycles(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d)
{
	return vitsa_vector_cycles(timing_class(d->opcode), cfg->cols, d->m, d->n);
}

struct vexec {
	uint32_t op;
	struct vitsa_vec_args a;
};

static void vexec_range(void *arg, uint32_t lo, uint32_t hi)
{
	const struct vexec *x = arg;

	vitsa_vec_run(x->op, &x->a, lo, hi);
}

#define VEC_PAR_MIN_ELEMS	16384	/* below this a parallel region costs more than it saves */

/*
 * Operands the host cannot map are copied: the inputs' rows in, packed, and out's rows back
 * by unstage.  out is never read: the device reads its inputs and writes out, nothing else.
 */
static uint32_t stage(const struct vitsa_hw_desc *d, const struct vitsa_vec_extent *e,
		      const struct vitsa_mem_ops *ops, void *opaque, struct vitsa_vec_args *a,
		      uint8_t **bounce, struct vitsa_job_stats *st)
{
	const uint64_t addr[VITSA_VEC_OPNDS] = { d->a_addr, d->b_addr, d->c_addr };
	const uint64_t stride[VITSA_VEC_OPNDS] = { d->a_stride, d->b_stride, d->c_stride };

	for (int o = 0; o < VITSA_VEC_OPNDS; o++) {
		uint64_t span = (e->rows[o] - 1) * stride[o] + e->row_bytes[o];

		if (!e->rows[o])
			continue;
		st->rd_bytes += o == VITSA_VEC_OUT ? 0 : e->rows[o] * e->row_bytes[o];
		a->stride[o] = stride[o];
		a->t[o] = ops->map ? ops->map(opaque, addr[o], span) : NULL;
		if (a->t[o])
			continue;
		a->stride[o] = e->row_bytes[o];
		a->t[o] = bounce[o] = malloc(e->rows[o] * e->row_bytes[o]);
		if (!a->t[o])
			return VITSA_ERR_INTERNAL;
		for (uint64_t r = 0; o != VITSA_VEC_OUT && r < e->rows[o]; r++)
			if (ops->read(opaque, addr[o] + r * stride[o], a->t[o] + r * e->row_bytes[o],
				      e->row_bytes[o]))
				return VITSA_ERR_DMA_READ;
	}
	return VITSA_ERR_OK;
}

/*
 * The bytes of an out row the op writes: the whole row, or SHIFTMAX16's high part and its low
 * part from *@lo on (the gap between them is left alone); *@lo is 0 for one part.
 */
static uint64_t out_part(const struct vitsa_hw_desc *d, const struct vitsa_vec_extent *e,
			 uint64_t *lo)
{
	*lo = d->opcode == VITSA_OP_SHIFTMAX16 ? d->param[5] : 0;
	return *lo ? d->n : e->row_bytes[VITSA_VEC_OUT];
}

static uint32_t unstage(const struct vitsa_hw_desc *d, const struct vitsa_vec_extent *e,
			const struct vitsa_mem_ops *ops, void *opaque, const uint8_t *out)
{
	uint64_t n = e->row_bytes[VITSA_VEC_OUT], lo, part = out_part(d, e, &lo);

	for (uint64_t r = 0; out && r < e->rows[VITSA_VEC_OUT]; r++) {
		uint64_t at = d->c_addr + r * d->c_stride;
		const uint8_t *row = out + r * n;

		if (ops->write(opaque, at, row, part) ||
		    (lo && ops->write(opaque, at + lo, row + lo, part)))
			return VITSA_ERR_DMA_WRITE;
	}
	return VITSA_ERR_OK;
}

uint32_t vitsa_vec_exec(const struct vitsa_model_cfg *cfg, const struct vitsa_hw_desc *d,
			const struct vitsa_mem_ops *ops, void *opaque, struct vitsa_job_stats *st)
{
	struct vexec x = { .op = d->opcode, .a = { .rows = d->m, .cols = d->n } };
	uint8_t *bounce[VITSA_VEC_OPNDS] = { NULL };
	struct vitsa_vec_extent e;
	uint32_t status, units;

	memset(st, 0, sizeof(*st));
	status = check(d, &e);
	if (status)
		return status;
	params_of(&x.a.p, d);
	status = stage(d, &e, ops, opaque, &x.a, bounce, st);
	if (!status) {
		units = vitsa_vec_units(x.op, &x.a);
		if (ops->split && units > 1 && (uint64_t)d->m * d->n >= VEC_PAR_MIN_ELEMS)
			ops->split(opaque, units, units > VITSA_MODEL_ROW_ALIGN ?
				   VITSA_MODEL_ROW_ALIGN : 1, vexec_range, &x);
		else
			vitsa_vec_run(x.op, &x.a, 0, units);
		status = unstage(d, &e, ops, opaque, bounce[VITSA_VEC_OUT]);
	}
	if (!status) {
		uint64_t lo, part = out_part(d, &e, &lo);

		st->wr_bytes = e.rows[VITSA_VEC_OUT] * part * (lo ? 2 : 1);
		st->cycles = vitsa_vec_cycles(cfg, d);
	}
	for (int o = 0; o < VITSA_VEC_OPNDS; o++)
		free(bounce[o]);
	return status;
}
