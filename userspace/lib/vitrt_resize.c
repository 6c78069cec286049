// SPDX-License-Identifier: MIT
/*
 * libvitrt: resize and centre crop of 8-bit images, as timm's and torchvision's eval transform
 * does them on a PIL image (Resize of the shorter side, then CenterCrop).
 *
 * The resampling follows the method of Pillow's ImagingResample so that the pixels agree with
 * it: a separable filter, horizontal pass first, whose weights for every output column (row)
 * are computed in double, normalised to sum 1, then turned into fixed point with
 * RESIZE_BITS fraction bits; each pass accumulates u8 * weight in 32-bit integers, rounds and
 * clips back to u8.  The intermediate image is u8 as well, as in Pillow.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vitrt_image.h"

/*
 * Fraction bits of a weight: 8 bits of pixel, 2 of headroom for the weights' sum of
 * magnitudes (a bicubic kernel's is below 1.3), the rest of an int32.
 */
#define RESIZE_BITS	(32 - 8 - 2)

struct resize_filter {
	double support;		/* the kernel is zero outside [-support, support] */
	double (*weight)(double x);
};

static double bilinear_weight(double x)
{
	x = fabs(x);
	return x < 1.0 ? 1.0 - x : 0.0;
}

/* Keys' cubic convolution with a = -0.5, the "bicubic" of PIL and of timm. */
static double bicubic_weight(double x)
{
	const double a = -0.5;

	x = fabs(x);
	if (x < 1.0)
		return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
	if (x < 2.0)
		return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
	return 0.0;
}

static const struct resize_filter resize_filters[] = {
	[VITRT_INTERP_BICUBIC] = { 2.0, bicubic_weight },
	[VITRT_INTERP_BILINEAR] = { 1.0, bilinear_weight },
};

static const char *const interp_names[] = {
	[VITRT_INTERP_BICUBIC] = "bicubic",
	[VITRT_INTERP_BILINEAR] = "bilinear",
};

int vitrt_interp_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof(interp_names) / sizeof(interp_names[0])); i++)
		if (!strcasecmp(s, interp_names[i]))
			return i;
	return VITRT_EINVAL;
}

const char *vitrt_interp_name(enum vitrt_interp interp)
{
	return (unsigned)interp < sizeof(interp_names) / sizeof(interp_names[0]) ?
	       interp_names[interp] : "?";
}

/*
 * The taps of one pass from @in samples to @out: output sample o reads input samples
 * first[o] .. first[o] + count[o] - 1 with the fixed-point weights w[o * ksize ...].
 */
struct resize_taps {
	uint32_t ksize;
	uint32_t *first, *count;
	int32_t *w;
};

static void taps_free(struct resize_taps *t)
{
	free(t->first);
	free(t->count);
	free(t->w);
	memset(t, 0, sizeof(*t));
}

/* Weight @v (normalised) in fixed point, rounded half away from zero. */
static int32_t fixed_weight(double v)
{
	double f = v * (double)(1 << RESIZE_BITS);

	return (int32_t)(v < 0.0 ? f - 0.5 : f + 0.5);
}

/* The weights of output sample @o into @t (scratch @w holds ksize doubles). */
static void taps_one(struct resize_taps *t, uint32_t o, uint32_t in, double scale,
		     double support, const struct resize_filter *f, double *w)
{
	/* when shrinking, the kernel widens by the scale so that every input sample counts */
	double fscale = scale < 1.0 ? 1.0 : scale, inv = 1.0 / fscale;
	double center = (o + 0.5) * scale, sum = 0.0;
	int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);

	if (lo < 0)
		lo = 0;
	if (hi > (int)in)
		hi = (int)in;
	for (int j = 0; j < hi - lo; j++) {
		w[j] = f->weight((j + lo - center + 0.5) * inv);
		sum += w[j];
	}
	for (int j = 0; j < hi - lo; j++)
		t->w[(size_t)o * t->ksize + j] = fixed_weight(sum != 0.0 ? w[j] / sum : w[j]);
	t->first[o] = (uint32_t)lo;
	t->count[o] = (uint32_t)(hi - lo);
}

static int taps_make(struct resize_taps *t, uint32_t in, uint32_t out,
		     const struct resize_filter *f)
{
	double scale = (double)in / out;
	double support = f->support * (scale < 1.0 ? 1.0 : scale);
	double *w;

	t->ksize = (uint32_t)ceil(support) * 2 + 1;
	t->first = malloc(out * sizeof(*t->first));
	t->count = malloc(out * sizeof(*t->count));
	t->w = calloc((size_t)out * t->ksize, sizeof(*t->w));
	w = malloc(t->ksize * sizeof(*w));
	if (!t->first || !t->count || !t->w || !w) {
		free(w);
		taps_free(t);
		return VITRT_ENOMEM;
	}
	for (uint32_t o = 0; o < out; o++)
		taps_one(t, o, in, scale, support, f, w);
	free(w);
	return 0;
}

/* Round the accumulator (which started at one half) down to u8, clipping. */
static inline uint8_t clip8(int32_t acc)
{
	if (acc < 0)
		return 0;
	acc >>= RESIZE_BITS;
	return acc > 255 ? 255 : (uint8_t)acc;
}

/* A dot product of the taps of output sample @o with samples @stride apart from @src. */
static inline uint8_t taps_apply(const struct resize_taps *t, uint32_t o, const uint8_t *src,
				 size_t stride)
{
	const int32_t *k = t->w + (size_t)o * t->ksize;
	const uint8_t *p = src + t->first[o] * stride;
	int32_t acc = 1 << (RESIZE_BITS - 1);

	for (uint32_t j = 0; j < t->count[o]; j++)
		acc += (int32_t)p[j * stride] * k[j];
	return clip8(acc);
}

/* Rows @y0 .. @y0 + @rows - 1 of every plane of @in to width @w. */
static void pass_horizontal(const struct vitrt_image *in, uint32_t y0, uint32_t rows, uint32_t w,
			    const struct resize_taps *t, uint8_t *out)
{
	for (uint32_t c = 0; c < in->chans; c++) {
		const uint8_t *plane = in->pix + (size_t)c * in->height * in->width;

		for (uint32_t y = 0; y < rows; y++) {
			const uint8_t *src = plane + (size_t)(y0 + y) * in->width;
			uint8_t *dst = out + ((size_t)c * rows + y) * w;

			for (uint32_t x = 0; x < w; x++)
				dst[x] = taps_apply(t, x, src, 1);
		}
	}
}

/* Every plane of @rows x @w pixels at @in to height @h; the taps count from row @y0. */
static void pass_vertical(const uint8_t *in, uint32_t chans, uint32_t rows, uint32_t w,
			  uint32_t h, uint32_t y0, const struct resize_taps *t, uint8_t *out)
{
	for (uint32_t c = 0; c < chans; c++) {
		const uint8_t *plane = in + (size_t)c * rows * w - (size_t)y0 * w;

		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++)
				out[((size_t)c * h + y) * w + x] = taps_apply(t, y, plane + x, w);
	}
}

/* Both passes, the horizontal one over the input rows that the vertical one reads only. */
static int resize_passes(const struct vitrt_image *in, uint32_t w, uint32_t h,
			 const struct resize_taps *tx, const struct resize_taps *ty, uint8_t *out)
{
	uint32_t y0 = 0, rows = in->height;
	uint8_t *tmp;

	if (w == in->width) {
		pass_vertical(in->pix, in->chans, in->height, w, h, 0, ty, out);
		return 0;
	}
	if (h != in->height) {
		y0 = ty->first[0];
		rows = ty->first[h - 1] + ty->count[h - 1] - y0;
	}
	if (h == in->height) {
		pass_horizontal(in, 0, rows, w, tx, out);
		return 0;
	}
	tmp = malloc((size_t)in->chans * rows * w);
	if (!tmp)
		return VITRT_ENOMEM;
	pass_horizontal(in, y0, rows, w, tx, tmp);
	pass_vertical(tmp, in->chans, rows, w, h, y0, ty, out);
	free(tmp);
	return 0;
}

int vitrt_image_resize(const struct vitrt_image *in, uint32_t w, uint32_t h,
		       enum vitrt_interp interp, struct vitrt_image *out)
{
	const struct resize_filter *f;
	struct resize_taps tx = { 0 }, ty = { 0 };
	uint8_t *pix;
	int err;

	if ((unsigned)interp >= sizeof(resize_filters) / sizeof(resize_filters[0]) || !w || !h ||
	    !in->width || !in->height || (uint64_t)w * h > (1u << 28))
		return VITRT_EINVAL;
	f = &resize_filters[interp];
	pix = malloc((size_t)in->chans * w * h);
	if (!pix)
		return VITRT_ENOMEM;
	err = taps_make(&tx, in->width, w, f);
	if (!err)
		err = taps_make(&ty, in->height, h, f);
	if (!err && w == in->width && h == in->height)
		memcpy(pix, in->pix, (size_t)in->chans * w * h);	/* as PIL: a copy */
	else if (!err)
		err = resize_passes(in, w, h, &tx, &ty, pix);
	taps_free(&tx);
	taps_free(&ty);
	if (err) {
		free(pix);
		return err;
	}
	*out = (struct vitrt_image){ .chans = in->chans, .height = h, .width = w, .pix = pix };
	return 0;
}

int vitrt_image_crop(const struct vitrt_image *in, uint32_t x0, uint32_t y0, uint32_t w,
		     uint32_t h, struct vitrt_image *out)
{
	uint8_t *pix;

	if (!w || !h || (uint64_t)x0 + w > in->width || (uint64_t)y0 + h > in->height)
		return VITRT_EINVAL;
	pix = malloc((size_t)in->chans * w * h);
	if (!pix)
		return VITRT_ENOMEM;
	for (uint32_t c = 0; c < in->chans; c++)
		for (uint32_t y = 0; y < h; y++)
			memcpy(pix + ((size_t)c * h + y) * w,
			       in->pix + ((size_t)c * in->height + y0 + y) * in->width + x0, w);
	*out = (struct vitrt_image){ .chans = in->chans, .height = h, .width = w, .pix = pix };
	return 0;
}

/* torchvision's crop offset: round((have - want) / 2) in Python, ties to even. */
static uint32_t centre_offset(uint32_t have, uint32_t want)
{
	uint32_t d = have - want, half = d / 2;

	return (d & 1) && (half & 1) ? half + 1 : half;
}

void vitrt_prep_sizes(uint32_t width, uint32_t height, const struct vitrt_prep *p,
		      uint32_t *w, uint32_t *h)
{
	uint32_t scale = (uint32_t)floor((double)p->size / p->crop_pct);
	uint32_t s = width < height ? width : height, l = width < height ? height : width;
	/* torchvision: the longer side is int(size * long / short), truncated */
	uint32_t nl = (uint32_t)((double)scale * l / s);

	*w = width < height ? scale : nl;
	*h = width < height ? nl : scale;
}

int vitrt_image_fit(struct vitrt_image *img, const struct vitrt_prep *p)
{
	struct vitrt_image sized, crop;
	uint32_t w, h;
	int err;

	if (!(p->crop_pct > 0.0 && p->crop_pct <= 1.0) || !p->size)
		return VITRT_EINVAL;
	/* an image already at the model's size is a prepared input, taken as it is */
	if (img->width == p->size && img->height == p->size)
		return 0;
	vitrt_prep_sizes(img->width, img->height, p, &w, &h);
	err = vitrt_image_resize(img, w, h, p->interp, &sized);
	if (err)
		return err;
	err = vitrt_image_crop(&sized, centre_offset(w, p->size), centre_offset(h, p->size),
			       p->size, p->size, &crop);
	vitrt_image_release(&sized);
	if (err)
		return err;
	vitrt_image_release(img);
	*img = crop;
	return 0;
}
