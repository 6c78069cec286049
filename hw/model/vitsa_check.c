// SPDX-License-Identifier: MIT
/* vitsa descriptor checks, in the order Documentation/hw/vitsa.rst lists them. */
#include "vitsa_dtype.h"
#include "vitsa_model.h"
#include "vitsa_vec.h"

static const char *const err_names[VITSA_ERR_COUNT] = {
	[VITSA_ERR_OK] = "ok",
	[VITSA_ERR_OPCODE] = "unknown opcode",
	[VITSA_ERR_FLAGS] = "unknown flags",
	[VITSA_ERR_DIMS] = "dimension out of range",
	[VITSA_ERR_TYPE] = "bad operand or result type",
	[VITSA_ERR_STRIDE] = "stride shorter than a row",
	[VITSA_ERR_RESERVED] = "reserved field not zero",
	[VITSA_ERR_RANGE] = "address range wraps",
	[VITSA_ERR_RQ] = "requant shift out of range",
	[VITSA_ERR_DMA_READ] = "DMA read failed",
	[VITSA_ERR_DMA_WRITE] = "DMA write failed",
	[VITSA_ERR_RING] = "command ring invalid",
	[VITSA_ERR_ABORTED] = "aborted by reset",
	[VITSA_ERR_INTERNAL] = "model out of memory",
	[VITSA_ERR_OVERLAP] = "C overlaps an input",
	[VITSA_ERR_PARAM] = "vector parameter out of range",
	[VITSA_ERR_LIST] = "bad descriptor list",
};

const char *vitsa_err_name(uint32_t err)
{
	return err < VITSA_ERR_COUNT ? err_names[err] : "unknown status";
}

static bool dim_ok(uint32_t d)
{
	return d >= 1 && d <= VITSA_MODEL_MAX_DIM;
}

static uint32_t check_types(const struct vitsa_hw_desc *d)
{
	uint32_t a = VITSA_DESC_A_TYPE(d->types), b = VITSA_DESC_B_TYPE(d->types);
	uint32_t c = VITSA_DESC_C_TYPE(d->types);

	if (d->types & ~VITSA_DESC_TYPES_MASK)
		return VITSA_ERR_TYPE;
	if (!vitsa_dtype_valid(a) || !vitsa_dtypes[a].operand)
		return VITSA_ERR_TYPE;
	if (!vitsa_dtype_valid(b) || !vitsa_dtypes[b].operand)
		return VITSA_ERR_TYPE;
	if (d->flags & VITSA_DESC_REQUANT)
		return vitsa_dtype_valid(c) && vitsa_dtypes[c].result ? VITSA_ERR_OK : VITSA_ERR_TYPE;
	return c == VITSA_DTYPE_S32 ? VITSA_ERR_OK : VITSA_ERR_TYPE;
}

static uint32_t check_reserved(const struct vitsa_hw_desc *d)
{
	for (unsigned int i = 0; i < sizeof(d->param) / sizeof(d->param[0]); i++)
		if (d->param[i])
			return VITSA_ERR_RESERVED;
	if (!(d->flags & VITSA_DESC_BIAS) && d->bias_addr)
		return VITSA_ERR_RESERVED;
	if (!(d->flags & VITSA_DESC_REQUANT) && (d->rq_addr || d->c_zero))
		return VITSA_ERR_RESERVED;
	return VITSA_ERR_OK;
}

bool vitsa_extent_last(uint64_t addr, uint64_t rows, uint64_t stride, uint64_t row_bytes,
		       uint64_t *last)
{
	uint64_t span;

	return !__builtin_mul_overflow(rows - 1, stride, &span) &&
	       !__builtin_add_overflow(span, row_bytes - 1, &span) &&
	       !__builtin_add_overflow(addr, span, last);
}

enum { OPND_A, OPND_B, OPND_C, OPND_BIAS, OPND_RQ, OPND_COUNT };

/* Where an operand lies: @rows rows of @row_bytes, @stride apart, from @addr to @last. */
struct opnd {
	uint64_t addr, rows, stride, row_bytes;
	uint64_t last;		/* filled by check_layout */
};

static struct opnd opnd_at(uint64_t addr, uint64_t rows, uint64_t stride, uint64_t row_bytes)
{
	return (struct opnd){ .addr = addr, .rows = rows, .stride = stride, .row_bytes = row_bytes };
}

static void opnds(const struct vitsa_hw_desc *d, struct opnd *o)
{
	bool bt = d->flags & VITSA_DESC_B_TRANS;
	uint32_t ta = VITSA_DESC_A_TYPE(d->types), tb = VITSA_DESC_B_TYPE(d->types);
	uint32_t tc = VITSA_DESC_C_TYPE(d->types);

	o[OPND_A] = opnd_at(d->a_addr, d->m, d->a_stride, vitsa_row_bytes(ta, d->k));
	o[OPND_B] = opnd_at(d->b_addr, bt ? d->n : d->k, d->b_stride,
			    vitsa_row_bytes(tb, bt ? d->k : d->n));
	o[OPND_C] = opnd_at(d->c_addr, d->m, d->c_stride, vitsa_row_bytes(tc, d->n));
	o[OPND_BIAS] = opnd_at(d->bias_addr, 1, 0, 4ull * d->n);
	o[OPND_RQ] = opnd_at(d->rq_addr, 1, 0, sizeof(struct vitsa_hw_rq) * (uint64_t)d->n);
}

static uint32_t check_layout(struct opnd *o)
{
	for (int i = OPND_A; i <= OPND_C; i++)
		if (o[i].stride < o[i].row_bytes)
			return VITSA_ERR_STRIDE;
	for (int i = 0; i < OPND_COUNT; i++)
		if (!vitsa_extent_last(o[i].addr, o[i].rows, o[i].stride, o[i].row_bytes,
				       &o[i].last))
			return VITSA_ERR_RANGE;
	return VITSA_ERR_OK;
}

/* C shares no byte with an input, gaps between rows included: the array reads while it writes. */
static uint32_t check_overlap(const struct vitsa_hw_desc *d, const struct opnd *o)
{
	bool used[OPND_COUNT] = {
		[OPND_A] = true, [OPND_B] = true, [OPND_BIAS] = d->flags & VITSA_DESC_BIAS,
		[OPND_RQ] = d->flags & VITSA_DESC_REQUANT,
	};
	const struct opnd *c = &o[OPND_C];

	for (int i = 0; i < OPND_COUNT; i++)
		if (used[i] && o[i].addr <= c->last && c->addr <= o[i].last)
			return VITSA_ERR_OVERLAP;
	return VITSA_ERR_OK;
}

uint32_t vitsa_desc_check(const struct vitsa_hw_desc *d)
{
	struct opnd o[OPND_COUNT];
	uint32_t err;

	if (vitsa_vec_op_valid(d->opcode))
		return vitsa_vec_check(d);
	if (d->opcode != VITSA_OP_GEMM)
		return VITSA_ERR_OPCODE;
	if (d->flags & ~VITSA_DESC_FLAGS_ALL)
		return VITSA_ERR_FLAGS;
	if (!dim_ok(d->m) || !dim_ok(d->n) || !dim_ok(d->k))
		return VITSA_ERR_DIMS;
	err = check_types(d);
	if (err)
		return err;
	err = check_reserved(d);
	if (err)
		return err;
	opnds(d, o);
	err = check_layout(o);
	if (err)
		return err;
	return check_overlap(d, o);
}
