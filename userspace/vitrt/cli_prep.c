// SPDX-License-Identifier: MIT
/* The preprocessing options that run, eval and quantize share (vitrt_cli.h). */
#include <stdlib.h>

#include "vitrt_cli.h"
#include "vitrt_image.h"

int prep_option(int opt, const char *arg, struct vitrt_prep *p, const char *cmd)
{
	char *end;
	int i;

	if (opt == PREP_OPT_INTERP) {
		i = vitrt_interp_parse(arg);
		if (i < 0)
			return die("%s: --interpolation wants bicubic or bilinear, not '%s'", cmd, arg),
			       2;
		p->interp = (enum vitrt_interp)i;
		return 0;
	}
	p->crop_pct = strtod(arg, &end);
	/* the resized side is size / crop_pct: below 0.05 it would be 20 times the model's */
	if (end == arg || *end || !(p->crop_pct >= 0.05 && p->crop_pct <= 1.0))
		return die("%s: --crop-pct wants a number in [0.05, 1], not '%s'", cmd, arg), 2;
	return 0;
}
