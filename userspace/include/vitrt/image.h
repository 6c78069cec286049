/* SPDX-License-Identifier: MIT */
/*
 * Pictures as a model's input: read a PNG or JPEG, convert its channels, resize and centre
 * crop it as timm's eval transform does.  Errors start with the file's path.
 */
#ifndef LIBVITRT_IMAGE_H
#define LIBVITRT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <vitrt/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An 8-bit image, planar: pix[c][y][x]. */
struct vitrt_image {
	uint32_t chans;		/* 1 (gray) or 3 (RGB) */
	uint32_t height, width;
	uint8_t *pix;		/* malloc'ed, chans * height * width bytes */
};

enum vitrt_interp { VITRT_INTERP_BICUBIC, VITRT_INTERP_BILINEAR };

/*
 * How a picture becomes the model's input, as timm's eval transform: convert to @chans,
 * resize the shorter side to floor(@size / @crop_pct) (the longer one keeping the aspect,
 * truncated as torchvision does) with @interp, centre crop @size x @size.
 */
struct vitrt_prep {
	uint32_t chans, size;
	enum vitrt_interp interp;
	double crop_pct;		/* (0, 1] */
};

/* timm's defaults for DeiT: bicubic, crop_pct 0.875 (224 from 256). */
#define VITRT_PREP_INIT(c, s) \
	((struct vitrt_prep){ .chans = (c), .size = (s), .interp = VITRT_INTERP_BICUBIC, \
			      .crop_pct = 0.875 })

/*
 * Read a PNG or JPEG of any size and make it the model's input by @p: p->chans planes of
 * p->size x p->size.  Gray is replicated to RGB, RGB becomes gray by ITU-R 601 luma (as
 * PIL's convert("L")); alpha is dropped, palettes are expanded, 16-bit samples reduced to 8.
 * An image already p->size x p->size is taken as it is.  0, or VITRT_EINVAL (p->chans is
 * not 1 or 3), VITRT_EFORMAT (malformed), VITRT_EUNSUPPORTED (well-formed, not handled),
 * VITRT_ESYS or VITRT_ENOMEM, with @msg naming @path.
 */
VITRT_API int vitrt_image_load(const char *path, const struct vitrt_prep *p,
			       struct vitrt_image *img, char *msg, size_t cap);
/* Free @img's pixels (an image never loaded, zero-filled, is fine too). */
VITRT_API void vitrt_image_release(struct vitrt_image *img);

#ifdef __cplusplus
}
#endif

#endif /* LIBVITRT_IMAGE_H */
