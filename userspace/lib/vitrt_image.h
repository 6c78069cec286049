/* SPDX-License-Identifier: MIT */
/*
 * Images and datasets: PNG (libpng), JPEG (libjpeg) and IDX files (MNIST / Fashion-MNIST,
 * plain or gzip'ed); struct vitrt_image, struct vitrt_prep and vitrt_image_load are public
 * (<vitrt/image.h>).  Every reader checks magic, sizes and counts before use, never resizes,
 * and starts each error message with the file's path.  Functions return 0 or a negative
 * VITRT_E* code (VITRT_EFORMAT malformed, VITRT_EUNSUPPORTED well-formed but not handled,
 * VITRT_EINVAL wrong size for the model, VITRT_ESYS, VITRT_ENOMEM); constructors return NULL
 * and report through *err.
 */
#ifndef VITRT_IMAGE_H
#define VITRT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <vitrt/image.h>

#include "vitrt.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vitrt_image_format {
	VITRT_IMAGE_UNKNOWN, VITRT_IMAGE_PNG, VITRT_IMAGE_JPEG, VITRT_IMAGE_IDX
};

/* The format of @path by its first bytes (VITRT_IMAGE_UNKNOWN also when unreadable). */
enum vitrt_image_format vitrt_image_probe(const char *path);

/*
 * Read a PNG or JPEG as @chans channels (1 or 3; 0 keeps the file's own): gray is replicated
 * to RGB, RGB becomes gray by ITU-R 601 luma (as PIL's convert("L")); alpha is dropped (as
 * PIL's convert("RGB"), what timm and torchvision do); palettes are expanded; 16-bit samples
 * are reduced to 8.  Unless @size is 0, the image must be @size x @size: anything else is VITRT_EINVAL
 * with "<path>: image is WxH, the model wants SxS".
 */
int vitrt_image_read(const char *path, uint32_t chans, uint32_t size,
		     struct vitrt_image *img, char *msg, size_t cap);
/* Write @img as an 8-bit gray or RGB PNG (temporary file, then rename). */
int vitrt_image_write_png(const char *path, const struct vitrt_image *img, char *msg, size_t cap);

/*
 * The model's input from planar 8-bit pixels: @in_chans converted to @chans as above, then
 * out[c][i] = (pix / 255 - mean[c]) / std[c] over @npix pixels per channel.
 */
void vitrt_image_to_input(float *out, const uint8_t *pix, uint32_t in_chans,
			  uint32_t chans, size_t npix, const float *mean,
			  const float *std);

/* ---- resize and crop (vitrt_resize.c) ---- */

/* "bicubic" or "bilinear" (any case) to its enum value, or VITRT_EINVAL. */
int vitrt_interp_parse(const char *s);
const char *vitrt_interp_name(enum vitrt_interp interp);

/*
 * Resize @in to @w x @h as Pillow's Image.resize (reducing_gap None) does: separable
 * filter, fixed-point weights, u8 between the passes.  @out is allocated.  VITRT_EINVAL on a
 * bad size or filter, VITRT_ENOMEM.
 */
int vitrt_image_resize(const struct vitrt_image *in, uint32_t w, uint32_t h,
		       enum vitrt_interp interp, struct vitrt_image *out);
/* The @w x @h window of @in at (@x0, @y0) into @out (allocated); VITRT_EINVAL if outside. */
int vitrt_image_crop(const struct vitrt_image *in, uint32_t x0, uint32_t y0,
		     uint32_t w, uint32_t h, struct vitrt_image *out);
/* The size a @width x @height picture is resized to before the crop. */
void vitrt_prep_sizes(uint32_t width, uint32_t height, const struct vitrt_prep *p,
		      uint32_t *w, uint32_t *h);
/*
 * Resize and centre crop @img in place to p->size (channels untouched).  An image already
 * p->size x p->size is a prepared input and stays as it is.
 */
int vitrt_image_fit(struct vitrt_image *img, const struct vitrt_prep *p);

/* ---- IDX ---- */

#define VITRT_IDX_MAX_DIMS	4
#define VITRT_IDX_MAX_BYTES	(4ull << 30)

/* An IDX array of unsigned bytes (element type 0x08; other types are VITRT_EUNSUPPORTED). */
struct vitrt_idx {
	uint32_t ndim;
	uint32_t dims[VITRT_IDX_MAX_DIMS];	/* each >= 1 */
	uint64_t count;				/* product of dims */
	uint8_t *data;
};

/* Read @path (gzip'ed or not: decided by content); the file must end with the data. */
int vitrt_idx_read(const char *path, struct vitrt_idx *idx, char *msg, size_t cap);
void vitrt_idx_release(struct vitrt_idx *idx);
/*
 * Image @i of @idx (3 dimensions: gray; 4: count, rows, columns, 1 or 3 channels) made the
 * model's input by @p as a picture file would be (channels, resize, crop) into @pix
 * (p->chans * p->size * p->size bytes); errors name @path.
 */
int vitrt_idx_image(const struct vitrt_idx *idx, uint32_t i,
		    const struct vitrt_prep *p, uint8_t *pix, const char *path,
		    char *msg, size_t cap);
/* Write @idx to @path, gzip'ed when @path ends in ".gz" (temporary file, then rename). */
int vitrt_idx_write(const char *path, const struct vitrt_idx *idx, char *msg, size_t cap);

/* ---- datasets ---- */

enum vitrt_dataset_kind {
	VITRT_DATASET_IDX,	/* an IDX pair, in memory */
	VITRT_DATASET_FOLDERS,	/* an ImageFolder tree: root/<class>/.../<image>, labelled */
	VITRT_DATASET_FLAT,	/* a folder of images without labels */
};

/*
 * Images one after another.  IDX: labelled images [count][height][width] (gray) or
 * [count][height][width][channels] (1 or 3) and labels [count] in memory.  Folders
 * (vitrt_folder.c): only names are held.  Either way every image is converted to the model's
 * channels, resized and cropped when vitrt_dataset_get asks for it.
 */
struct vitrt_dataset {
	uint32_t count, chans, height, width;	/* chans, height, width: IDX only */
	const uint8_t *pix;		/* IDX: [count][height][width][chans]; else NULL */
	const uint8_t *labels;		/* IDX: [count]; else NULL */
	const char *images_path, *labels_path;	/* folders: the root, NULL */
	enum vitrt_dataset_kind kind;
	uint32_t classes;		/* FOLDERS: the class folders; else 0 */
	char *const *class_names;	/* FOLDERS: [classes], sorted */
};

struct vitrt_dataset *vitrt_dataset_open(const char *images, const char *labels,
					 int *err, char *msg, size_t cap);
/*
 * @dir holding <split>-images-idx3-ubyte and <split>-labels-idx1-ubyte (each possibly with
 * ".gz"), e.g. /usr/share/datasets/fashion-mnist with split "t10k" or "train".
 */
struct vitrt_dataset *vitrt_dataset_open_dir(const char *dir, const char *split,
					     int *err, char *msg, size_t cap);
/*
 * @path as the dataset it holds: the IDX pair of @split (as vitrt_dataset_open_dir) when
 * there is one, else an ImageFolder tree (only sub-folders, each with images at any depth,
 * in torchvision's order) or a flat folder (only images).  An empty folder, a class folder
 * without images, or a mix of images and folders is VITRT_EFORMAT naming the folder.
 */
struct vitrt_dataset *vitrt_dataset_open_path(const char *path, const char *split,
					      int *err, char *msg, size_t cap);
void vitrt_dataset_close(struct vitrt_dataset *ds);
/*
 * Image @i as the model's input by @p into @pix (p->chans * p->size * p->size bytes) and its
 * class into *label (-1 when the dataset has no labels).  An image that cannot be read or
 * fitted is an error naming its file; the dataset stays usable for the next one.
 */
int vitrt_dataset_get(const struct vitrt_dataset *ds, uint32_t i,
		      const struct vitrt_prep *p, uint8_t *pix, int32_t *label,
		      char *msg, size_t cap);
/*
 * Fit for a model of @classes classes (0: labels not checked): VITRT_EINVAL naming the file
 * ("label 12 of image 345 is not below 10"; "3 class folders, the model has 10 classes").
 * Images of any size fit (@size is unused: they are resized as they are read).
 */
int vitrt_dataset_check(const struct vitrt_dataset *ds, uint32_t size,
			uint32_t classes, char *msg, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* VITRT_IMAGE_H */
