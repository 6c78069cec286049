/* SPDX-License-Identifier: MIT */
/*
 * vitsa vector unit (hardware 1.3, VITSA_CAP_VECTOR): the opcodes beside the array's GEMM and
 * the memory each one touches.  The extents are part of the contract: the device reads and
 * writes exactly these bytes, and the kernel driver checks them against the buffer objects
 * before a descriptor reaches the ring.  The arithmetic of each op is Documentation/hw/vitsa.rst's
 * ("Vector unit"), executed by hw/model/vitsa_vec.c.
 *
 * A vector descriptor is a struct vitsa_hw_desc with
 *   opcode  VITSA_OP_*  below            flags, k, types, bias_addr, rq_addr, c_zero  0
 *   m, n    rows and columns, 1..VITSA_VEC_MAX_DIM
 *   a/b/c   in0, in1, out (address, stride in bytes); an unused operand's address and stride 0
 *   param[] the op's parameter words, those past its count 0
 * Strides are at least one row's bytes; s16 and s32 operands start and step on their element
 * size.  out shares no byte with an input, except that ADD may write in place (out equal to
 * in0 or in1: same address and stride).
 */
#ifndef VITSA_HW_VEC_H
#define VITSA_HW_VEC_H

#include "vitsa_int.h"

enum vitsa_vec_op {
	VITSA_OP_INPUT = 0x10,		/* u8 image -> s8 patch rows through per-channel tables */
	VITSA_OP_EMBED = 0x11,		/* s16 stream: prefix tokens | patches, plus positions */
	VITSA_OP_LAYERNORM = 0x12,	/* s16 rows -> I-LayerNorm -> requant -> s8 */
	VITSA_OP_LAYERNORM_S4 = 0x13,	/* the same to packed s4 */
	VITSA_OP_SHIFTMAX = 0x14,	/* s8 rows -> u8 probabilities at 2^-8 */
	VITSA_OP_SHIFTMAX16 = 0x15,	/* s8 rows -> probabilities at 2^-16 in two u8 parts */
	VITSA_OP_GELU = 0x16,		/* s8 -> ShiftGELU -> requant -> s8 */
	VITSA_OP_GELU_U4 = 0x17,	/* the same plus a zero point to packed u4 */
	VITSA_OP_ADD = 0x18,		/* s16 = sat16(requant(in0) + requant(in1)) */
	VITSA_OP_MEAN = 0x19,		/* m s16 rows -> their rounded mean, one row */
	VITSA_OP_JOIN16 = 0x1a,		/* s8 = requant(256 hi + lo) of two s32 accumulators */
	VITSA_OP_VEC_END
};

#define VITSA_OP_VEC_FIRST	VITSA_OP_INPUT
#define VITSA_VEC_MAX_DIM	32768u		/* largest m or n */
#define VITSA_VEC_MAX_BYTES	(16u << 20)	/* largest operand, rows x row bytes: the
						 * device's buffers (DeiT-B at 384 needs 8 MiB) */
#define VITSA_VEC_UNUSED	0xffu		/* the type of an operand the op does not take */

enum { VITSA_VEC_IN0, VITSA_VEC_IN1, VITSA_VEC_OUT, VITSA_VEC_OPNDS };

/* What an opcode takes: its parameter words and each operand's element type. */
struct vitsa_vec_traits {
	uint8_t nparams;
	uint8_t type[VITSA_VEC_OPNDS];	/* VITSA_DTYPE_*, or VITSA_VEC_UNUSED */
	uint8_t in_place;		/* out may be in0 or in1 exactly (ADD) */
};

static inline int vitsa_vec_op_valid(uint32_t op)
{
	return op >= VITSA_OP_VEC_FIRST && op < VITSA_OP_VEC_END;
}

/* The traits of @op (vitsa_vec_op_valid). */
static inline struct vitsa_vec_traits vitsa_vec_traits(uint32_t op)
{
	enum { S8 = VITSA_DTYPE_S8, U8 = VITSA_DTYPE_U8, S4 = VITSA_DTYPE_S4,
	       U4 = VITSA_DTYPE_U4, S16 = VITSA_DTYPE_S16, S32 = VITSA_DTYPE_S32,
	       NO = VITSA_VEC_UNUSED };

	switch (op) {
	case VITSA_OP_INPUT:		return (struct vitsa_vec_traits){ 3, { U8, S8, S8 }, 0 };
	case VITSA_OP_EMBED:		return (struct vitsa_vec_traits){ 1, { S16, S16, S16 }, 0 };
	case VITSA_OP_LAYERNORM:	return (struct vitsa_vec_traits){ 2, { S16, NO, S8 }, 0 };
	case VITSA_OP_LAYERNORM_S4:	return (struct vitsa_vec_traits){ 2, { S16, NO, S4 }, 0 };
	case VITSA_OP_SHIFTMAX:		return (struct vitsa_vec_traits){ 5, { S8, NO, U8 }, 0 };
	case VITSA_OP_SHIFTMAX16:	return (struct vitsa_vec_traits){ 6, { S8, NO, U8 }, 0 };
	case VITSA_OP_GELU:		return (struct vitsa_vec_traits){ 6, { S8, NO, S8 }, 0 };
	case VITSA_OP_GELU_U4:		return (struct vitsa_vec_traits){ 7, { S8, NO, U4 }, 0 };
	case VITSA_OP_ADD:		return (struct vitsa_vec_traits){ 4, { S16, S16, S16 }, 1 };
	case VITSA_OP_MEAN:		return (struct vitsa_vec_traits){ 0, { S16, NO, S16 }, 0 };
	case VITSA_OP_JOIN16:
	default:			return (struct vitsa_vec_traits){ 2, { S32, S32, S8 }, 0 };
	}
}

/* Where the operands of a descriptor lie: rows of row_bytes, rows 0 for an unused one. */
struct vitsa_vec_extent {
	uint64_t rows[VITSA_VEC_OPNDS];
	uint64_t row_bytes[VITSA_VEC_OPNDS];
	uint32_t align[VITSA_VEC_OPNDS];	/* address and stride a multiple of this */
};

/* INPUT's geometry: param[] = { chans 1..4, img 1..4096, patch dividing img }. */
static inline int vitsa_vec_input_ok(const struct vitsa_hw_desc *d)
{
	uint32_t chans = d->param[0], img = d->param[1], patch = d->param[2], per;

	if (!chans || chans > 4 || !img || img > 4096 || !patch || img % patch)
		return 0;
	per = img / patch;
	return d->m == per * per && d->n == chans * patch * patch;
}

/*
 * The extents of @d's operands from its opcode, m, n and the parameters that shape them:
 * VITSA_ERR_OPCODE, VITSA_ERR_DIMS (m or n out of range, not the shape the parameters give,
 * or an operand of more than VITSA_VEC_MAX_BYTES) or VITSA_ERR_OK.  Everything else is checked by the device (vitsa_vec_check).
 *   INPUT       in0 one row of chans * img * img, in1 one row of chans * 256, out
 *               (img / patch)^2 = m rows of chans * patch^2 = n
 *   EMBED       in0 m - prefix rows (param[0] <= min(2, m); unused when 0), in1 and out m rows
 *   MEAN        out one row
 *   SHIFTMAX16  out rows of param[5] + n bytes, param[5] in [n, 65536]: the low parts' offset
 *   others      every operand m rows of n elements of its type
 */
static inline uint32_t vitsa_vec_extent(const struct vitsa_hw_desc *d, struct vitsa_vec_extent *e)
{
	struct vitsa_vec_traits t;
	int o;

	if (!vitsa_vec_op_valid(d->opcode))
		return VITSA_ERR_OPCODE;
	if (!d->m || d->m > VITSA_VEC_MAX_DIM || !d->n || d->n > VITSA_VEC_MAX_DIM)
		return VITSA_ERR_DIMS;
	t = vitsa_vec_traits(d->opcode);
	for (o = 0; o < VITSA_VEC_OPNDS; o++) {
		int used = t.type[o] != VITSA_VEC_UNUSED;

		e->rows[o] = used ? d->m : 0;
		e->row_bytes[o] = used ? vitsa_int_row_bytes(t.type[o], d->n) : 0;
		e->align[o] = used && VITSA_DTYPE_BITS(t.type[o]) > 8 ?
			      VITSA_DTYPE_BITS(t.type[o]) / 8 : 1;
	}
	switch (d->opcode) {
	case VITSA_OP_INPUT:
		if (!vitsa_vec_input_ok(d))
			return VITSA_ERR_DIMS;
		e->rows[VITSA_VEC_IN0] = e->rows[VITSA_VEC_IN1] = 1;
		e->row_bytes[VITSA_VEC_IN0] = (uint64_t)d->param[0] * d->param[1] * d->param[1];
		e->row_bytes[VITSA_VEC_IN1] = 256ull * d->param[0];
		break;
	case VITSA_OP_EMBED:
		if (d->param[0] > 2 || d->param[0] > d->m)
			return VITSA_ERR_DIMS;
		e->rows[VITSA_VEC_IN0] = d->m - d->param[0];
		break;
	case VITSA_OP_MEAN:
		e->rows[VITSA_VEC_OUT] = 1;
		break;
	case VITSA_OP_SHIFTMAX16:
		if (d->param[5] < d->n || d->param[5] > 65536)
			return VITSA_ERR_DIMS;
		e->row_bytes[VITSA_VEC_OUT] = (uint64_t)d->param[5] + d->n;
		break;
	}
	for (o = 0; o < VITSA_VEC_OPNDS; o++) {
		if (!e->rows[o])
			e->row_bytes[o] = 0, e->align[o] = 1;
		if (e->rows[o] * e->row_bytes[o] > VITSA_VEC_MAX_BYTES)
			return VITSA_ERR_DIMS;
	}
	return VITSA_ERR_OK;
}

#endif /* VITSA_HW_VEC_H */
