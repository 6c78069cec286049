// SPDX-License-Identifier: MIT
/* libvitrt: LayerNorm folded into the linear layer after it (vitrt_vit_fold_norms). */
#include <stddef.h>
#include <stdint.h>

#include "vitrt_vit.h"

/* W (g * n + beta) + b = (W diag g) n + (W beta + b) for the @out x @in Linear after a norm. */
static void fold_one(const float *g, const float *beta, float *wt, float *bias, uint32_t out,
		     uint32_t in)
{
	for (uint32_t o = 0; o < out; o++) {
		float *row = wt + (size_t)o * in;
		double s = bias[o];

		for (uint32_t i = 0; i < in; i++)
			s += (double)row[i] * beta[i];
		bias[o] = (float)s;
		for (uint32_t i = 0; i < in; i++)
			row[i] *= g[i];
	}
}

static void norm_reset(float *g, float *beta, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		g[i] = 1.0f;
		beta[i] = 0.0f;
	}
}

void vitrt_vit_fold_norms(struct vitrt_vit *m)
{
	const struct vitrt_vit_config *c = &m->cfg;

	for (uint32_t l = 0; l < c->depth; l++) {
		struct vitrt_vit_block *b = &m->blocks[l];

		fold_one(b->norm1_w, b->norm1_b, b->qkv_w, b->qkv_b, 3 * c->dim, c->dim);
		norm_reset(b->norm1_w, b->norm1_b, c->dim);
		fold_one(b->norm2_w, b->norm2_b, b->fc1_w, b->fc1_b, c->mlp, c->dim);
		norm_reset(b->norm2_w, b->norm2_b, c->dim);
	}
	fold_one(m->norm_w, m->norm_b, m->head_w, m->head_b, c->classes, c->dim);
	if (m->head_dist_w)
		fold_one(m->norm_w, m->norm_b, m->head_dist_w, m->head_dist_b, c->classes, c->dim);
	norm_reset(m->norm_w, m->norm_b, c->dim);
}
