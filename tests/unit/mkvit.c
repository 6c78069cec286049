// SPDX-License-Identifier: MIT
/*
 * mkvit: a random ViT checkpoint of any DeiT shape, in timm's names, with its sidecar, for
 * tests that need a model of real size without Python (the trace of one DeiT-S inference):
 *
 *   mkvit OUT.safetensors DIM DEPTH HEADS [IMG PATCH CHANS CLASSES SEED]
 *
 * defaults 224 16 3 1000 1.  The weights are timm's init (normal, std 0.02; LayerNorms 1 and
 * 0; biases 0.02 normal, so that they are not all zero), the sidecar DeiT's ImageNet mean and
 * std.  The MLP is 4 x DIM.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vitrt.h"
#include "vitrt_safetensors.h"
#include "vtest.h"

#define MAX_TENSORS	(4 + 12 * 64 + 4)

struct ckpt {
	struct vitrt_st_tensor t[MAX_TENSORS];
	char *names[MAX_TENSORS];
	uint32_t n;
	struct vtest_rng rng;
};

enum init { NORMAL, ONES, ZEROS };

/* One normal deviate (Box-Muller), times @std. */
static float normal(struct vtest_rng *r, double std)
{
	double u = 1 - vtest_rng_unit(r), v = vtest_rng_unit(r);

	return (float)(std * sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}

/* Tensor @name of the @ndim dimensions given, filled as @how says. */
static void add(struct ckpt *c, enum init how, const char *name, uint32_t ndim, ...)
{
	struct vitrt_st_tensor *t = &c->t[c->n];
	va_list ap;

	if (c->n == MAX_TENSORS || !(c->names[c->n] = strdup(name))) {
		fprintf(stderr, "mkvit: too many tensors, or out of memory\n");
		exit(1);
	}
	*t = (struct vitrt_st_tensor){ .name = c->names[c->n], .dtype = "F32", .ndim = ndim,
				       .count = 1 };
	va_start(ap, ndim);
	for (uint32_t d = 0; d < ndim; d++)
		t->count *= t->shape[d] = va_arg(ap, uint32_t);
	va_end(ap);
	t->data = malloc(t->count * sizeof(float));
	if (!t->data) {
		fprintf(stderr, "mkvit: out of memory for %s\n", name);
		exit(1);
	}
	for (uint64_t i = 0; i < t->count; i++)
		t->data[i] = how == ONES ? 1.0f : how == ZEROS ? 0.0f : normal(&c->rng, 0.02);
	c->n++;
}

static void block(struct ckpt *c, uint32_t l, uint32_t dim)
{
	char n[64];

#define NAME(s) (snprintf(n, sizeof(n), "blocks.%u." s, l), n)
	add(c, ONES, NAME("norm1.weight"), 1, dim);
	add(c, ZEROS, NAME("norm1.bias"), 1, dim);
	add(c, NORMAL, NAME("attn.qkv.weight"), 2, 3 * dim, dim);
	add(c, NORMAL, NAME("attn.qkv.bias"), 1, 3 * dim);
	add(c, NORMAL, NAME("attn.proj.weight"), 2, dim, dim);
	add(c, NORMAL, NAME("attn.proj.bias"), 1, dim);
	add(c, ONES, NAME("norm2.weight"), 1, dim);
	add(c, ZEROS, NAME("norm2.bias"), 1, dim);
	add(c, NORMAL, NAME("mlp.fc1.weight"), 2, 4 * dim, dim);
	add(c, NORMAL, NAME("mlp.fc1.bias"), 1, 4 * dim);
	add(c, NORMAL, NAME("mlp.fc2.weight"), 2, dim, 4 * dim);
	add(c, NORMAL, NAME("mlp.fc2.bias"), 1, dim);
#undef NAME
}

static int sidecar(const char *ckpt, uint32_t heads)
{
	char path[4096];
	json_t *j = json_pack("{s:I, s:f, s:[f,f,f], s:[f,f,f]}", "heads", (json_int_t)heads,
			      "eps", 1e-6, "mean", 0.485, 0.456, 0.406, "std", 0.229, 0.224, 0.225);

	snprintf(path, sizeof(path), "%s.json", ckpt);
	if (!j || json_dump_file(j, path, JSON_INDENT(1))) {
		fprintf(stderr, "mkvit: %s: cannot write\n", path);
		json_decref(j);
		return 1;
	}
	json_decref(j);
	return 0;
}

static uint32_t arg(int argc, char **argv, int i, uint32_t dflt)
{
	return i < argc ? (uint32_t)strtoul(argv[i], NULL, 0) : dflt;
}

int main(int argc, char **argv)
{
	static struct ckpt c;
	uint32_t dim = arg(argc, argv, 2, 0), depth = arg(argc, argv, 3, 0);
	uint32_t heads = arg(argc, argv, 4, 0), img = arg(argc, argv, 5, 224);
	uint32_t patch = arg(argc, argv, 6, 16), chans = arg(argc, argv, 7, 3);
	uint32_t classes = arg(argc, argv, 8, 1000), tokens;
	char msg[512];
	int err;

	if (argc < 5 || !dim || !depth || depth > 64 || !heads || dim % heads || !patch ||
	    img % patch || !chans || !classes) {
		fprintf(stderr, "usage: mkvit OUT.safetensors DIM DEPTH HEADS [IMG PATCH CHANS "
			"CLASSES SEED]\n");
		return 2;
	}
	c.rng = VTEST_RNG(arg(argc, argv, 9, 1));
	tokens = (img / patch) * (img / patch) + 1;
	add(&c, NORMAL, "cls_token", 3, 1, 1, dim);
	add(&c, NORMAL, "pos_embed", 3, 1, tokens, dim);
	add(&c, NORMAL, "patch_embed.proj.weight", 4, dim, chans, patch, patch);
	add(&c, NORMAL, "patch_embed.proj.bias", 1, dim);
	for (uint32_t l = 0; l < depth; l++)
		block(&c, l, dim);
	add(&c, ONES, "norm.weight", 1, dim);
	add(&c, ZEROS, "norm.bias", 1, dim);
	add(&c, NORMAL, "head.weight", 2, classes, dim);
	add(&c, NORMAL, "head.bias", 1, classes);
	err = vitrt_st_write(argv[1], c.t, c.n, msg, sizeof(msg));
	if (err)
		fprintf(stderr, "mkvit: %s\n", msg);
	for (uint32_t i = 0; i < c.n; i++) {
		free(c.t[i].data);
		free(c.names[i]);
	}
	return err ? 1 : sidecar(argv[1], heads);
}
