// SPDX-License-Identifier: MIT
/* vitrt info MODEL: what a compiled model holds and what one inference costs on the array. */
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

int cmd_info(int argc, char **argv)
{
	char msg[512];
	uint32_t per_op[VITRT_OP_COUNT];
	uint64_t macs, cycles;
	struct vitrt_prog *p;
	const struct vitrt_prog_info *in;
	int err;

	if (argc != 2 || argv[1][0] == '-') {
		printf("usage: vitrt info MODEL\nDescribe a compiled model (from vitrt quantize).\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	p = vitrt_prog_load(argv[1], &err, msg, sizeof(msg));
	if (!p)
		return die("%s", msg);
	in = &p->info;
	count_ops(p, per_op, &macs, &cycles);
	printf("%s: vitsa compiled model, scheme %s\n", argv[1], vitrt_scheme_name(in->scheme));
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
	vitrt_prog_free(p);
	return 0;
}
