// SPDX-License-Identifier: MIT
/*
 * libvitrt: modeled cycles and utilization of every GEMM of a ViT image.  The cycle count of
 * each GEMM is the hardware's (vitsa_model_cycles); this file only lists the GEMMs.
 */
#include <stdlib.h>
#include <string.h>

#include "vitrt_modeled.h"
#include "vitrt_prog.h"
#include "vitsa_model.h"

/* DeiT at 224 (Touvron et al.; ../shared/reference/integer-vit.md): patch 16, depth 12. */
static const struct vitrt_modeled_vit vits[] = {
	{ "deit-t", 224, 16, 3, 192, 3, 768, 12, 1000 },
	{ "deit-s", 224, 16, 3, 384, 6, 1536, 12, 1000 },
	{ "deit-b", 224, 16, 3, 768, 12, 3072, 12, 1000 },
};

static const char *const layer_names[VITRT_MODELED_COUNT] = {
	[VITRT_MODELED_EMBED] = "embed",
	[VITRT_MODELED_QKV] = "qkv",
	[VITRT_MODELED_QK] = "q.k^T",
	[VITRT_MODELED_AV] = "attn.v",
	[VITRT_MODELED_PROJ] = "proj",
	[VITRT_MODELED_FC1] = "fc1",
	[VITRT_MODELED_FC2] = "fc2",
	[VITRT_MODELED_HEAD] = "head",
};

const struct vitrt_modeled_vit *vitrt_modeled_find(const char *name)
{
	for (size_t i = 0; i < sizeof(vits) / sizeof(vits[0]); i++)
		if (!strcmp(name, vits[i].name))
			return &vits[i];
	return NULL;
}

const char *vitrt_modeled_names(void)
{
	return "deit-t, deit-s, deit-b";
}

static int vit_valid(const struct vitrt_modeled_vit *v)
{
	uint32_t side = v->patch ? v->img / v->patch : 0;

	return v->patch && v->img % v->patch == 0 && side && v->chans && v->heads &&
	       v->dim % v->heads == 0 && v->mlp && v->depth && v->classes &&
	       (uint64_t)side * side + 1 <= VITSA_MODEL_MAX_DIM &&
	       (uint64_t)v->chans * v->patch * v->patch <= VITSA_MODEL_MAX_DIM &&
	       3ull * v->dim <= VITSA_MODEL_MAX_DIM && v->mlp <= VITSA_MODEL_MAX_DIM &&
	       v->classes <= VITSA_MODEL_MAX_DIM;
}

static void set_layer(struct vitrt_modeled *r, enum vitrt_modeled_kind kind, uint32_t m,
		      uint32_t n, uint32_t k, uint64_t count)
{
	struct vitsa_model_cfg cfg = { .rows = r->rows, .cols = r->cols };
	struct vitrt_modeled_layer *l = &r->layers[kind];

	*l = (struct vitrt_modeled_layer){ .name = layer_names[kind], .m = m, .n = n, .k = k,
					   .count = count };
	l->cycles = vitsa_model_cycles(&cfg, m, n, k);
	l->macs = (uint64_t)m * n * k;
	l->utilization = (double)l->macs / ((double)l->cycles * r->rows * r->cols);
}

int vitrt_modeled_compute(const struct vitrt_modeled_vit *vit, uint32_t rows, uint32_t cols,
			  struct vitrt_modeled *out)
{
	uint32_t patches, T, D, hd;

	if (!vit || !vit_valid(vit) || !rows || rows > VITRT_ARRAY_MAX_SIDE || !cols ||
	    cols > VITRT_ARRAY_MAX_SIDE)
		return VITRT_EINVAL;
	patches = (vit->img / vit->patch) * (vit->img / vit->patch);
	T = patches + 1;	/* the class token joins after the patch embedding */
	D = vit->dim;
	hd = D / vit->heads;
	*out = (struct vitrt_modeled){ .vit = vit, .rows = rows, .cols = cols, .tokens = T };
	set_layer(out, VITRT_MODELED_EMBED, patches, D, vit->chans * vit->patch * vit->patch, 1);
	set_layer(out, VITRT_MODELED_QKV, T, 3 * D, D, vit->depth);
	set_layer(out, VITRT_MODELED_QK, T, T, hd, (uint64_t)vit->depth * vit->heads);
	set_layer(out, VITRT_MODELED_AV, T, hd, T, (uint64_t)vit->depth * vit->heads);
	set_layer(out, VITRT_MODELED_PROJ, T, D, D, vit->depth);
	set_layer(out, VITRT_MODELED_FC1, T, vit->mlp, D, vit->depth);
	set_layer(out, VITRT_MODELED_FC2, T, D, vit->mlp, vit->depth);
	/* Only the class token reaches the classifier. */
	set_layer(out, VITRT_MODELED_HEAD, 1, vit->classes, D, 1);
	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		out->cycles += out->layers[i].cycles * out->layers[i].count;
		out->macs += out->layers[i].macs * out->layers[i].count;
	}
	out->utilization = (double)out->macs / ((double)out->cycles * rows * cols);
	return 0;
}
