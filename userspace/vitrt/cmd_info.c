// SPDX-License-Identifier: MIT
/* vitrt info MODEL: what a compiled model holds and what one inference costs on the array. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vitrt_cli.h"
#include "vitrt_compile.h"
#include "vitrt_prog.h"
#include "vitsa_model.h"

static void count_ops(const struct vitrt_prog *p, uint32_t *per_op, uint64_t *macs,
		      uint64_t *cycles)
{
	struct vitsa_model_cfg a = { .rows = p->info.array_rows, .cols = p->info.array_cols };

	memset(per_op, 0, VITRT_OP_COUNT * sizeof(*per_op));
	*macs = *cycles = 0;
	for (uint32_t i = 0; i < p->nsteps; i++)
		per_op[p->steps[i].op]++;
	for (uint32_t i = 0; i < p->ngemms; i++) {
		const struct vitrt_pgemm *g = &p->gemms[i];

		*macs += (uint64_t)g->m * g->n * g->k;
		*cycles += vitsa_model_cycles(&a, g->m, g->n, g->k);
	}
}

static void print_text(const char *path, const struct vitrt_prog *p, const uint32_t *per_op,
		       uint64_t macs, uint64_t cycles)
{
	const struct vitrt_prog_info *in = &p->info;

	printf("%s: vitsa compiled model, scheme %s\n", path, vitrt_scheme_name(in->scheme));
	printf("  ViT        %ux%u x%u input, patch %u, %u tokens, dim %u, depth %u, heads %u, "
	       "mlp %u, %u classes\n", in->img, in->img, in->chans, in->patch, in->tokens, in->dim,
	       in->depth, in->heads, in->mlp, in->classes);
	printf("  pictures   resized %s, centre crop %.3f (as calibrated)\n",
	       vitrt_interp_name(in->interp), in->crop_pct);
	printf("  constants  %" PRIu64 " bytes (weights, biases, requant tables)\n",
	       p->arena_size[VITRT_ARENA_CONST]);
	printf("  activations %" PRIu64 " bytes per image, reused by every block\n",
	       p->arena_size[VITRT_ARENA_ACT]);
	printf("  schedule   %u steps: %u GEMMs in %u submissions, %u layernorm, %u shiftmax, "
	       "%u gelu, %u add\n", p->nsteps, per_op[VITRT_OP_GEMM], per_op[VITRT_OP_SYNC],
	       per_op[VITRT_OP_LAYERNORM] + per_op[VITRT_OP_LAYERNORM_S4],
	       per_op[VITRT_OP_SHIFTMAX] + per_op[VITRT_OP_SHIFTMAX16],
	       per_op[VITRT_OP_GELU] + per_op[VITRT_OP_GELU_U4],
	       per_op[VITRT_OP_ADD]);
	if (per_op[VITRT_OP_SHIFTMAX16])
		printf("  attention  probabilities at 2^-16 in two u8 parts (%u tokens > %u), "
		       "%u joins\n", in->tokens, VITRT_PROBS_ONE_PART_MAX, per_op[VITRT_OP_JOIN16]);
	printf("  per image  %" PRIu64 " MACs, %" PRIu64 " modeled cycles on %ux%u (util %.1f%%)\n",
	       macs, cycles, in->array_rows, in->array_cols,
	       100.0 * macs / ((double)cycles * in->array_rows * in->array_cols));
	if (in->fp32_top1 >= 0)
		printf("  fp32 top-1 %.2f%% (checkpoint, as measured at quantize time)\n", in->fp32_top1);
	if (p->labels)
		printf("  labels     %s, %s, ...\n", p->labels[0], in->classes > 1 ? p->labels[1] : "");
}

/* Every class name, or null when the model has none. */
static json_t *labels_json(const struct vitrt_prog *p)
{
	json_t *a;
	int err = 0;

	if (!p->labels)
		return json_null();
	a = json_array();
	for (uint32_t c = 0; c < p->info.classes && !err; c++)
		err = cli_json_push(a, cli_json_str(p->labels[c]));
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* The text's figures, under the names quantize and bench --modeled give them. */
static int print_json(const char *path, const struct vitrt_prog *p, const uint32_t *per_op,
		      uint64_t macs, uint64_t cycles)
{
	const struct vitrt_prog_info *in = &p->info;
	json_t *vit, *sched, *cost;
	char array[24];

	snprintf(array, sizeof(array), "%ux%u", in->array_rows, in->array_cols);
	vit = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o}",
			"img", (json_int_t)in->img, "chans", (json_int_t)in->chans,
			"patch", (json_int_t)in->patch, "tokens", (json_int_t)in->tokens,
			"dim", (json_int_t)in->dim, "depth", (json_int_t)in->depth,
			"heads", (json_int_t)in->heads, "mlp", (json_int_t)in->mlp,
			"classes", (json_int_t)in->classes,
			"interpolation", vitrt_interp_name(in->interp),
			"crop_pct", cli_json_fixed(in->crop_pct, 3));
	sched = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "steps", (json_int_t)p->nsteps, "gemms", (json_int_t)per_op[VITRT_OP_GEMM],
			  "submissions", (json_int_t)per_op[VITRT_OP_SYNC],
			  "layernorm", (json_int_t)(per_op[VITRT_OP_LAYERNORM] +
						    per_op[VITRT_OP_LAYERNORM_S4]),
			  "shiftmax", (json_int_t)(per_op[VITRT_OP_SHIFTMAX] +
						   per_op[VITRT_OP_SHIFTMAX16]),
			  "gelu", (json_int_t)(per_op[VITRT_OP_GELU] + per_op[VITRT_OP_GELU_U4]),
			  "add", (json_int_t)per_op[VITRT_OP_ADD],
			  "joins", (json_int_t)per_op[VITRT_OP_JOIN16]);
	cost = json_pack("{s:I, s:I, s:s, s:I, s:I, s:o}", "macs", (json_int_t)macs,
			 "cycles", (json_int_t)cycles, "array", array,
			 "rows", (json_int_t)in->array_rows, "cols", (json_int_t)in->array_cols,
			 "utilization", cli_json_fixed((double)macs / ((double)cycles *
						       in->array_rows * in->array_cols), 10));
	return cli_json_print(json_pack("{s:o, s:s, s:o, s:I, s:I, s:o, s:o, s:o, s:o}",
		"model", cli_json_str(path), "scheme", vitrt_scheme_name(in->scheme), "vit", vit,
		"const_bytes", (json_int_t)p->arena_size[VITRT_ARENA_CONST],
		"act_bytes", (json_int_t)p->arena_size[VITRT_ARENA_ACT], "schedule", sched,
		"per_image", cost, "fp32_top1", in->fp32_top1 >= 0 ?
		cli_json_fixed(in->fp32_top1, 2) : json_null(), "labels", labels_json(p)), false);
}

static int usage(int status)
{
	printf("usage: vitrt info MODEL [--json]\n"
	       "Describe a compiled model (from vitrt quantize).\n\n"
	       "  -j, --json   one JSON object: model (the file name as given), scheme, vit {img,\n"
	       "               chans, patch, tokens, dim, depth, heads, mlp, classes,\n"
	       "               interpolation, crop_pct}, const_bytes, act_bytes, schedule {steps,\n"
	       "               gemms, submissions, layernorm, shiftmax, gelu, add, joins},\n"
	       "               per_image {macs, cycles, array, rows, cols, utilization (0..1)},\n"
	       "               fp32_top1 (null if not measured), labels (null if none)\n");
	return status;
}

int cmd_info(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "json", 0, 0, 'j' }, { "help", 0, 0, 'h' }, { 0 },
	};
	char msg[512];
	uint32_t per_op[VITRT_OP_COUNT];
	uint64_t macs, cycles;
	struct vitrt_prog *p;
	bool json = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "jh", longs, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': return usage(0);
		default: return usage(2);
		}
	}
	if (optind + 1 != argc)
		return die("info: need one MODEL (see --help)"), 2;
	p = vitrt_prog_load(argv[optind], &err, msg, sizeof(msg));
	if (!p)
		return die("%s", msg);
	count_ops(p, per_op, &macs, &cycles);
	err = 0;
	if (json)
		err = print_json(argv[optind], p, per_op, macs, cycles);
	else
		print_text(argv[optind], p, per_op, macs, cycles);
	vitrt_prog_free(p);
	return err;
}
