// SPDX-License-Identifier: MIT
/*
 * The compiled program against the graph it was lowered from.  The fake-quant graph is the
 * FP32 forward with weights and every tap rounded to their integer grids; the integer program
 * differs from it only by rounding (operand reordering, the integer Shiftmax, ShiftGELU and
 * I-LayerNorm), so a large difference is a compiler bug or scales the integer ops cannot
 * represent, caught before the file is written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vitrt_calib.h"
#include "vitrt_exec.h"
#include "vitrt_image.h"
#include "vitrt_prog.h"
#include "vitrt_verify.h"
#include "vitrt_vit.h"

/* Buffers of one comparison, sized for the model. */
struct verify_ws {
	uint8_t *pix;
	float *in, *fq;
	int16_t *q;
};

static int ws_alloc(struct verify_ws *w, const struct vitrt_vit_config *c)
{
	size_t npix = (size_t)c->img * c->img;

	w->pix = malloc(c->chans * npix);
	w->in = malloc(c->chans * npix * sizeof(*w->in));
	w->fq = malloc(c->classes * sizeof(*w->fq));
	w->q = malloc(c->classes * sizeof(*w->q));
	return w->pix && w->in && w->fq && w->q ? 0 : VITRT_ENOMEM;
}

static void ws_free(struct verify_ws *w)
{
	free(w->pix);
	free(w->in);
	free(w->fq);
	free(w->q);
}

/* One image's logits both ways, folded into @r. */
static void compare(const struct verify_ws *w, uint32_t classes, float scale, uint32_t image,
		    struct vitrt_verify *r)
{
	float lo = INFINITY, hi = -INFINITY, d = 0;
	uint32_t ai = 0, af = 0;
	double err;

	for (uint32_t c = 0; c < classes; c++) {
		lo = fminf(lo, w->fq[c]);
		hi = fmaxf(hi, w->fq[c]);
		d = fmaxf(d, fabsf(w->q[c] * scale - w->fq[c]));
		ai = w->q[c] > w->q[ai] ? c : ai;
		af = w->fq[c] > w->fq[af] ? c : af;
	}
	err = d / fmax(hi - lo, 1e-6);
	r->agree += ai == af;
	r->mean_err = (r->mean_err * r->images + err) / (r->images + 1);
	if (err > r->max_err || !r->images) {
		r->max_err = err;
		r->worst = image;
	}
	r->images++;
}

double vitrt_verify_bound(uint32_t scheme, bool mean)
{
	if (vitrt_scheme_act_bits(scheme) == 4)
		return mean ? VITRT_VERIFY_MEAN_ERR_A4 : VITRT_VERIFY_MAX_ERR_A4;
	return mean ? VITRT_VERIFY_MEAN_ERR : VITRT_VERIFY_MAX_ERR;
}

int vitrt_verify_program(const struct vitrt_prog *p, const struct vitrt_vit *fake,
			 const struct vitrt_scales *sc, const struct vitrt_dataset *ds,
			 const struct vitrt_prep *prep, uint32_t first, uint32_t count,
			 bool strict, struct vitrt_verify *r, char *msg, size_t cap)
{
	const struct vitrt_vit_config *c = &fake->cfg;
	struct verify_ws w = { 0 };
	struct vitrt_dev *dev = NULL;
	struct vitrt_session *s = NULL;
	int err = ws_alloc(&w, c);

	*r = (struct vitrt_verify){ 0 };
	if (cap)
		msg[0] = 0;
	if (!err)
		dev = vitrt_dev_open("sim", &err);
	if (dev)
		s = vitrt_session_new(dev, p, &err);
	for (uint32_t i = first; s && i < ds->count && r->images < count && !err; i++) {
		int32_t label;

		err = vitrt_dataset_get(ds, i, prep, w.pix, &label, msg, cap);
		if (err && !strict && err != VITRT_ENOMEM) {
			r->skipped++;
			err = 0;
			continue;
		}
		vitrt_image_to_input(w.in, w.pix, c->chans, c->chans, (size_t)c->img * c->img,
				     c->mean, c->std);
		err = err ?: vitrt_vit_forward(fake, w.in, w.fq, vitrt_fakequant_hook, (void *)sc);
		err = err ?: vitrt_session_run(s, w.pix, w.q);
		if (!err)
			compare(&w, c->classes, p->info.logit_scale, i, r);
	}
	if (err && cap && !msg[0])
		snprintf(msg, cap, "checking the program: %s", vitrt_strerror(err));
	vitrt_session_free(s);
	vitrt_dev_close(dev);
	ws_free(&w);
	return err;
}
