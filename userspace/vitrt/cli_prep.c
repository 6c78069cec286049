// SPDX-License-Identifier: MIT
/* The input options that run, eval, quantize and bench share (vitrt_cli.h). */
#include <stdlib.h>

#include "vitrt_cli.h"
#include "vitrt_image.h"

/* "0.485,0.456,0.406": one to VITRT_VIT_MAX_CHANS numbers into @v; 0, or -1. */
static int parse_floats(const char *arg, float *v, uint32_t *n)
{
	const char *s = arg;
	char *end;

	for (*n = 0; *n < VITRT_VIT_MAX_CHANS; s = end + 1) {
		double d = strtod(s, &end);

		if (end == s || (*end && *end != ','))
			return -1;
		v[(*n)++] = (float)d;
		if (!*end)
			return 0;
	}
	return -1;
}

static int norm_option(int opt, const char *arg, struct vitrt_vit_opts *o, const char *cmd)
{
	const char *name = opt == PREP_OPT_MEAN ? "mean" : "std";
	float *v = opt == PREP_OPT_MEAN ? o->mean : o->std;
	uint32_t *n = opt == PREP_OPT_MEAN ? &o->nmean : &o->nstd;

	if (parse_floats(arg, v, n))
		return die("%s: --%s wants 1 to %u numbers separated by commas, not '%s'", cmd,
			   name, VITRT_VIT_MAX_CHANS, arg), 2;
	for (uint32_t i = 0; opt == PREP_OPT_STD && i < *n; i++)
		if (!(v[i] > 0))
			return die("%s: --std values must be positive, not '%s'", cmd, arg), 2;
	return 0;
}

int prep_option(int opt, const char *arg, struct prep_opts *p, const char *cmd)
{
	char *end;
	int i;

	if (opt == PREP_OPT_MEAN || opt == PREP_OPT_STD)
		return norm_option(opt, arg, &p->norm, cmd);
	if (opt == PREP_OPT_INTERP) {
		i = vitrt_interp_parse(arg);
		if (i < 0)
			return die("%s: --interpolation wants bicubic or bilinear, not '%s'", cmd, arg),
			       2;
		p->interp = i;
		return 0;
	}
	p->crop_pct = strtod(arg, &end);
	/* the resized side is size / crop_pct: below 0.05 it would be 20 times the model's */
	if (end == arg || *end || !(p->crop_pct >= 0.05 && p->crop_pct <= 1.0))
		return die("%s: --crop-pct wants a number in [0.05, 1], not '%s'", cmd, arg), 2;
	return 0;
}

int prep_norm_unused(const struct prep_opts *p, const char *cmd)
{
	if (!p->norm.nmean && !p->norm.nstd)
		return 0;
	return die("%s: --mean and --std are a checkpoint's (--fp32 CKPT); a compiled model "
		   "has its normalization built in", cmd);
}

void prep_apply(const struct prep_opts *o, struct vitrt_prep *p)
{
	if (o->interp >= 0)
		p->interp = (enum vitrt_interp)o->interp;
	if (o->crop_pct > 0)
		p->crop_pct = o->crop_pct;
}
