// SPDX-License-Identifier: MIT
/* libvitrt: a job as the device's descriptor (vitrt_desc.h). */
#include <string.h>

#include "vitrt_desc.h"
#include "vitrt_priv.h"
#include "vitsa_hw.h"

static uint64_t mat_addr(const struct vitrt_mat *m)
{
	return m->buf ? (uintptr_t)m->buf->map + m->offset : m->offset;
}

/* A type beyond 4 bits is made invalid, not cut to a valid one. */
static uint32_t gemm_types(const struct vitrt_gemm *g)
{
	if ((unsigned)g->a_type > 0xf || (unsigned)g->b_type > 0xf || (unsigned)g->c_type > 0xf)
		return ~0u;
	return VITSA_DESC_TYPES(g->a_type, g->b_type, g->c_type);
}

static void gemm_desc(struct vitsa_hw_desc *d, const struct vitrt_gemm *g, uint64_t seq)
{
	*d = (struct vitsa_hw_desc){
		.opcode = VITSA_OP_GEMM, .flags = g->flags, .seq = seq,
		.m = g->m, .n = g->n, .k = g->k, .types = gemm_types(g),
		.a_addr = mat_addr(&g->a), .b_addr = mat_addr(&g->b), .c_addr = mat_addr(&g->c),
		.bias_addr = mat_addr(&g->bias), .rq_addr = mat_addr(&g->rq),
		.a_stride = g->a.stride, .b_stride = g->b.stride, .c_stride = g->c.stride,
		.c_zero = g->c_zero,
	};
}

/* A vector op: in0/in1/out as the descriptor's a/b/c, its parameters as param[]. */
static void vec_desc(struct vitsa_hw_desc *d, const struct vitrt_vec *v, uint64_t seq)
{
	*d = (struct vitsa_hw_desc){
		.opcode = v->op, .seq = seq, .m = v->rows, .n = v->cols,
		.a_addr = mat_addr(&v->in0), .b_addr = mat_addr(&v->in1),
		.c_addr = mat_addr(&v->out), .a_stride = v->in0.stride,
		.b_stride = v->in1.stride, .c_stride = v->out.stride,
	};
	memcpy(d->param, v->param, sizeof(d->param));
}

void vitrt_job_desc(struct vitsa_hw_desc *d, const struct vitrt_job *j, uint64_t seq)
{
	if (j->kind == VITRT_JOB_VEC)
		vec_desc(d, &j->vec, seq);
	else
		gemm_desc(d, &j->gemm, seq);
}
