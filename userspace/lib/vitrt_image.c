// SPDX-License-Identifier: MIT
/* libvitrt: PNG / JPEG images, IDX arrays and the datasets made of them. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "vitrt_image.h"
#include "vitrt_priv.h"

enum vitrt_image_format vitrt_image_probe(const char *path)
{
	static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char b[8];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return VITRT_IMAGE_UNKNOWN;
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	if (n == 8 && !memcmp(b, png_sig, 8))
		return VITRT_IMAGE_PNG;
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return VITRT_IMAGE_JPEG;
	if (n >= 4 && ((b[0] == 0 && b[1] == 0 && b[2] == 0x08) || (b[0] == 0x1f && b[1] == 0x8b)))
		return VITRT_IMAGE_IDX;	/* or a gzip'ed one */
	return VITRT_IMAGE_UNKNOWN;
}

/* ---- channel conversion ---- */

/* PIL's "L": (19595 R + 38470 G + 7471 B + 2^15) >> 16, the ITU-R 601 weights in 16 bits. */
static uint8_t luma(uint8_t r, uint8_t g, uint8_t b)
{
	return (uint8_t)((19595u * r + 38470u * g + 7471u * b + 0x8000u) >> 16);
}

/* Interleaved @in_chans (1 or 3) samples to planar @chans (1 or 3). */
static void to_planar(uint8_t *out, const uint8_t *in, uint32_t in_chans, uint32_t chans,
		      size_t npix)
{
	for (size_t i = 0; i < npix; i++) {
		const uint8_t *p = in + i * in_chans;

		if (chans == 1) {
			out[i] = in_chans == 1 ? p[0] : luma(p[0], p[1], p[2]);
			continue;
		}
		for (uint32_t c = 0; c < 3; c++)
			out[c * npix + i] = in_chans == 1 ? p[0] : p[c];
	}
}

void vitrt_image_to_input(float *out, const uint8_t *pix, uint32_t in_chans, uint32_t chans,
			  size_t npix, const float *mean, const float *std)
{
	for (uint32_t c = 0; c < chans; c++) {
		float m = mean ? mean[c] : 0.0f, s = std ? std[c] : 1.0f;
		float *o = out + c * npix;

		for (size_t i = 0; i < npix; i++) {
			uint8_t v;

			if (in_chans == chans)
				v = pix[c * npix + i];
			else if (in_chans == 1)
				v = pix[i];
			else
				v = luma(pix[i], pix[npix + i], pix[2 * npix + i]);
			o[i] = ((float)v / 255.0f - m) / s;
		}
	}
}

/* ---- PNG ---- */

static int check_size(const char *path, uint32_t w, uint32_t h, uint32_t size, char *msg,
		      size_t cap)
{
	if (size && (w != size || h != size))
		return vitrt_file_error(msg, cap, VITRT_EINVAL, path,
				"image is %ux%u, the model wants %ux%u (images are not resized)",
				w, h, size, size);
	if ((uint64_t)w * h > (1u << 28))
		return vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path, "image %ux%u is too large", w, h);
	return 0;
}

/* Drop every @n-th sample of @npix pixels of @n samples each (the alpha), in place. */
static void drop_alpha(uint8_t *buf, size_t npix, uint32_t n)
{
	for (size_t i = 0; i < npix; i++)
		memmove(buf + i * (n - 1), buf + i * n, n - 1);
}

/*
 * Decode into interleaved samples, gray or RGB as the file is; palettes expand to RGB, alpha
 * is read as it is and dropped (not composited: PIL's convert("RGB")).
 */
static int png_read(const char *path, uint32_t size, struct vitrt_image *img, uint8_t **buf,
		    char *msg, size_t cap)
{
	png_image pi;
	uint32_t alpha;
	int ret;

	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&pi, path))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "PNG: %s", pi.message);
	ret = check_size(path, pi.width, pi.height, size, msg, cap);
	if (ret) {
		png_image_free(&pi);
		return ret;
	}
	/* 16-bit samples without gAMA: take them as sRGB (as PIL does), not as linear light */
	pi.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
	img->width = pi.width;
	img->height = pi.height;
	img->chans = pi.format & PNG_FORMAT_FLAG_COLOR ? 3 : 1;
	alpha = pi.format & PNG_FORMAT_FLAG_ALPHA ? 1 : 0;
	pi.format = (img->chans == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY) |
		    (alpha ? PNG_FORMAT_FLAG_ALPHA : 0);
	*buf = calloc(1, PNG_IMAGE_SIZE(pi));
	if (!*buf) {
		png_image_free(&pi);
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
	}
	if (!png_image_finish_read(&pi, NULL, *buf, 0, NULL)) {
		png_image_free(&pi);
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "PNG: %s", pi.message);
	}
	if (alpha)
		drop_alpha(*buf, (size_t)img->width * img->height, img->chans + 1);
	return 0;
}

int vitrt_image_write_png(const char *path, const struct vitrt_image *img, char *msg, size_t cap)
{
	size_t npix = (size_t)img->width * img->height;
	png_image pi;
	uint8_t *buf;
	char *tmp;
	int ret = 0, fd;

	if (img->chans != 1 && img->chans != 3)
		return vitrt_file_error(msg, cap, VITRT_EINVAL, path, "%u channels (1 or 3 can be written)",
				img->chans);
	buf = malloc(npix * img->chans);
	if (!buf || asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		free(buf);
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
	}
	for (size_t i = 0; i < npix; i++)
		for (uint32_t c = 0; c < img->chans; c++)
			buf[i * img->chans + c] = img->pix[c * npix + i];
	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	pi.width = img->width;
	pi.height = img->height;
	pi.format = img->chans == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = vitrt_file_error(msg, cap, VITRT_ESYS, path, "cannot create %s: %s", tmp, strerror(errno));
	} else {
		close(fd);
		if (!png_image_write_to_file(&pi, tmp, 0, buf, 0, NULL))
			ret = vitrt_file_error(msg, cap, VITRT_ESYS, path, "PNG: %s", pi.message);
		else if (chmod(tmp, 0644) || rename(tmp, path))
			ret = vitrt_file_error(msg, cap, VITRT_ESYS, path, "%s", strerror(errno));
		if (ret)
			unlink(tmp);
	}
	free(tmp);
	free(buf);
	return ret;
}

/* ---- JPEG ---- */

struct jpeg_ctx {
	struct jpeg_decompress_struct d;
	struct jpeg_error_mgr err;
	jmp_buf jb;
	char last[JMSG_LENGTH_MAX];	/* the last error or warning */
	FILE *f;
	uint8_t *buf;
};

static void jpeg_on_error(j_common_ptr cinfo)
{
	struct jpeg_ctx *j = (struct jpeg_ctx *)cinfo;	/* d is the first member */

	cinfo->err->format_message(cinfo, j->last);
	longjmp(j->jb, 1);
}

/* Warnings (corrupt or truncated data) are remembered and turned into errors at the end. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
	struct jpeg_ctx *j = (struct jpeg_ctx *)cinfo;

	if (level < 0) {
		cinfo->err->num_warnings++;
		cinfo->err->format_message(cinfo, j->last);
	}
}

/* Everything after setjmp, in its own frame so no local is live across the longjmp. */
static int jpeg_decode(struct jpeg_ctx *j, const char *path, uint32_t size,
		       struct vitrt_image *img, char *msg, size_t cap)
{
	struct jpeg_decompress_struct *d = &j->d;
	int ret;

	jpeg_stdio_src(d, j->f);
	jpeg_read_header(d, TRUE);
	ret = check_size(path, d->image_width, d->image_height, size, msg, cap);
	if (ret)
		return ret;
	if (d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK)
		return vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path, "CMYK JPEG images are not supported");
	d->out_color_space = d->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(d);
	img->width = d->output_width;
	img->height = d->output_height;
	img->chans = (uint32_t)d->output_components;
	j->buf = malloc((size_t)img->width * img->height * img->chans);
	if (!j->buf)
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
	while (d->output_scanline < d->output_height) {
		JSAMPROW row = j->buf + (size_t)d->output_scanline * img->width * img->chans;

		jpeg_read_scanlines(d, &row, 1);
	}
	jpeg_finish_decompress(d);
	if (j->err.num_warnings)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "JPEG: %s", j->last);
	return 0;
}

static int jpeg_read(const char *path, uint32_t size, struct vitrt_image *img, uint8_t **buf,
		     char *msg, size_t cap)
{
	struct jpeg_ctx *j = calloc(1, sizeof(*j));
	int ret;

	if (!j)
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
	j->f = fopen(path, "rb");
	if (!j->f) {
		free(j);
		return vitrt_file_error(msg, cap, VITRT_ESYS, path, "%s", strerror(errno));
	}
	j->d.err = jpeg_std_error(&j->err);
	j->err.error_exit = jpeg_on_error;
	j->err.emit_message = jpeg_on_message;
	jpeg_create_decompress(&j->d);
	if (setjmp(j->jb))
		ret = vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "JPEG: %s", j->last);
	else
		ret = jpeg_decode(j, path, size, img, msg, cap);
	jpeg_destroy_decompress(&j->d);
	fclose(j->f);
	if (ret)
		free(j->buf);
	else
		*buf = j->buf;
	free(j);
	return ret;
}

int vitrt_image_read(const char *path, uint32_t chans, uint32_t size, struct vitrt_image *img,
		     char *msg, size_t cap)
{
	enum vitrt_image_format fmt;
	uint8_t *buf = NULL;
	size_t npix;
	int ret;

	memset(img, 0, sizeof(*img));
	if (chans != 0 && chans != 1 && chans != 3)
		return vitrt_file_error(msg, cap, VITRT_EINVAL, path, "%u channels asked (1 or 3)", chans);
	if (access(path, R_OK))
		return vitrt_file_error(msg, cap, VITRT_ESYS, path, "%s", strerror(errno));
	fmt = vitrt_image_probe(path);
	if (fmt == VITRT_IMAGE_PNG)
		ret = png_read(path, size, img, &buf, msg, cap);
	else if (fmt == VITRT_IMAGE_JPEG)
		ret = jpeg_read(path, size, img, &buf, msg, cap);
	else
		ret = vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path,
			       fmt == VITRT_IMAGE_IDX ? "an IDX file, not a single image" :
			       "not a PNG or JPEG image");
	if (ret) {
		free(buf);
		memset(img, 0, sizeof(*img));
		return ret;
	}
	npix = (size_t)img->width * img->height;
	if (!chans)
		chans = img->chans;
	img->pix = malloc(npix * chans);
	if (!img->pix) {
		free(buf);
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
	}
	to_planar(img->pix, buf, img->chans, chans, npix);
	img->chans = chans;
	free(buf);
	return 0;
}

void vitrt_image_release(struct vitrt_image *img)
{
	free(img->pix);
	memset(img, 0, sizeof(*img));
}

/* Planar @img to @chans channels (1 or 3) as vitrt_image_read converts. */
static int image_convert(struct vitrt_image *img, uint32_t chans)
{
	size_t npix = (size_t)img->width * img->height;
	uint8_t *pix;

	if (img->chans == chans)
		return 0;
	pix = malloc(npix * chans);
	if (!pix)
		return VITRT_ENOMEM;
	for (size_t i = 0; i < npix; i++) {
		if (chans == 1)
			pix[i] = luma(img->pix[i], img->pix[npix + i], img->pix[2 * npix + i]);
		else
			pix[i] = pix[npix + i] = pix[2 * npix + i] = img->pix[i];
	}
	free(img->pix);
	img->pix = pix;
	img->chans = chans;
	return 0;
}

/* A decoded picture made the model's input by @p: the same steps for files and IDX images. */
static int image_prepare(struct vitrt_image *img, const struct vitrt_prep *p)
{
	int ret = 0;

	/* to gray before resizing and to RGB after: what PIL gives, with less work */
	if (p->chans == 1)
		ret = image_convert(img, 1);
	if (!ret)
		ret = vitrt_image_fit(img, p);
	if (!ret)
		ret = image_convert(img, p->chans);
	return ret;
}

int vitrt_image_load(const char *path, const struct vitrt_prep *p, struct vitrt_image *img,
		     char *msg, size_t cap)
{
	uint32_t w = 0, h = 0;
	int ret;

	if (p->chans != 1 && p->chans != 3)
		return vitrt_file_error(msg, cap, VITRT_EINVAL, path, "%u channels asked (1 or 3)",
				p->chans);
	ret = vitrt_image_read(path, 0, 0, img, msg, cap);
	if (ret)
		return ret;
	w = img->width;
	h = img->height;
	ret = image_prepare(img, p);
	if (!ret)
		return 0;
	vitrt_image_release(img);
	return vitrt_file_error(msg, cap, ret, path, "cannot resize the %ux%u image to %ux%u: %s",
			w, h, p->size, p->size, vitrt_strerror(ret));
}

/* ---- IDX ---- */

/* Read exactly @n bytes: 0, or the number of bytes that were there (short), or -1. */
static int64_t gz_read_full(gzFile gz, void *buf, uint64_t n)
{
	uint8_t *p = buf;
	uint64_t got = 0;

	while (got < n) {
		unsigned chunk = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
		int r = gzread(gz, p + got, chunk);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (unsigned)r;
	}
	return (int64_t)got;
}

static int gz_fail(gzFile gz, const char *path, char *msg, size_t cap)
{
	int zerr;
	const char *s = gzerror(gz, &zerr);

	if (zerr == Z_ERRNO)
		return vitrt_file_error(msg, cap, VITRT_ESYS, path, "%s", strerror(errno));
	return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "gzip: %s", s);
}

/* The header: magic (0, 0, type, ndim) and ndim big-endian 32-bit dimensions. */
static int idx_header(gzFile gz, const char *path, struct vitrt_idx *idx, char *msg, size_t cap)
{
	uint8_t h[4 + 4 * VITRT_IDX_MAX_DIMS];
	int64_t got;

	got = gz_read_full(gz, h, 4);
	if (got < 0)
		return gz_fail(gz, path, msg, cap);
	if (got < 4)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "only %lld bytes: not an IDX file",
				(long long)got);
	if (h[0] || h[1])
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				"not an IDX file (magic %02x %02x %02x %02x)", h[0], h[1], h[2], h[3]);
	if (h[2] != 0x08)
		return vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path,
				"IDX element type 0x%02x (only unsigned bytes, 0x08)", h[2]);
	if (h[3] < 1 || h[3] > VITRT_IDX_MAX_DIMS)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "IDX with %u dimensions (1 to %d)",
				h[3], VITRT_IDX_MAX_DIMS);
	idx->ndim = h[3];
	got = gz_read_full(gz, h + 4, 4 * idx->ndim);
	if (got < 0)
		return gz_fail(gz, path, msg, cap);
	if (got < 4 * idx->ndim)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "file ends inside the IDX header");
	idx->count = 1;
	for (uint32_t i = 0; i < idx->ndim; i++) {
		const uint8_t *d = h + 4 + 4 * i;

		idx->dims[i] = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
		if (!idx->dims[i])
			return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "IDX dimension %u is 0", i);
		idx->count *= idx->dims[i];
		if (idx->count > VITRT_IDX_MAX_BYTES)
			return vitrt_file_error(msg, cap, VITRT_EUNSUPPORTED, path,
					"IDX data larger than %llu bytes", VITRT_IDX_MAX_BYTES);
	}
	return 0;
}

/* The first buffer for IDX data; it doubles as data arrives, up to the header's count. */
#define IDX_FIRST_ALLOC	(16u << 20)

/*
 * The data, into a buffer that grows with what the file holds: a header announcing gigabytes
 * in a short (or gzip'ed) file costs no more memory than the bytes that are there.
 */
static int idx_body(gzFile gz, const char *path, struct vitrt_idx *idx, char *msg, size_t cap)
{
	uint64_t size = idx->count < IDX_FIRST_ALLOC ? idx->count : IDX_FIRST_ALLOC, got = 0;
	uint8_t extra, *p;
	int64_t r;

	for (;;) {
		p = realloc(idx->data, size);
		if (!p)
			return vitrt_file_error(msg, cap, VITRT_ENOMEM, path,
					"out of memory for %llu bytes", (unsigned long long)size);
		idx->data = p;
		r = gz_read_full(gz, idx->data + got, size - got);
		if (r < 0)
			return gz_fail(gz, path, msg, cap);
		got += (uint64_t)r;
		if (got < size || size == idx->count)
			break;
		size = size > idx->count / 2 ? idx->count : 2 * size;
	}
	if (got < idx->count)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				"file ends after %llu of %llu data bytes (truncated?)",
				(unsigned long long)got, (unsigned long long)idx->count);
	r = gz_read_full(gz, &extra, 1);
	if (r < 0)
		return gz_fail(gz, path, msg, cap);
	if (r)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path,
				"bytes after the %llu data bytes the header announces",
				(unsigned long long)idx->count);
	return 0;
}

int vitrt_idx_read(const char *path, struct vitrt_idx *idx, char *msg, size_t cap)
{
	gzFile gz;
	int ret;

	memset(idx, 0, sizeof(*idx));
	errno = 0;
	gz = gzopen(path, "rb");
	if (!gz)
		return vitrt_file_error(msg, cap, errno ? VITRT_ESYS : VITRT_ENOMEM, path, "%s",
				errno ? strerror(errno) : "out of memory");
	ret = idx_header(gz, path, idx, msg, cap);
	if (!ret)
		ret = idx_body(gz, path, idx, msg, cap);
	gzclose(gz);
	if (ret)
		vitrt_idx_release(idx);
	return ret;
}

void vitrt_idx_release(struct vitrt_idx *idx)
{
	free(idx->data);
	memset(idx, 0, sizeof(*idx));
}

static int idx_write_gz(gzFile gz, const struct vitrt_idx *idx)
{
	uint8_t h[4 + 4 * VITRT_IDX_MAX_DIMS] = { 0, 0, 0x08, (uint8_t)idx->ndim };

	for (uint32_t i = 0; i < idx->ndim; i++)
		for (int b = 0; b < 4; b++)
			h[4 + 4 * i + b] = (uint8_t)(idx->dims[i] >> (24 - 8 * b));
	if (gzwrite(gz, h, 4 + 4 * idx->ndim) != (int)(4 + 4 * idx->ndim))
		return VITRT_ESYS;
	for (uint64_t off = 0; off < idx->count; ) {
		unsigned n = idx->count - off > (1u << 30) ? (1u << 30) : (unsigned)(idx->count - off);

		if (gzwrite(gz, idx->data + off, n) != (int)n)
			return VITRT_ESYS;
		off += n;
	}
	return 0;
}

int vitrt_idx_write(const char *path, const struct vitrt_idx *idx, char *msg, size_t cap)
{
	size_t plen = strlen(path);
	bool gzip = plen > 3 && !strcmp(path + plen - 3, ".gz");
	uint64_t count = 1;
	gzFile gz;
	char *tmp;
	int fd, ret;

	if (idx->ndim < 1 || idx->ndim > VITRT_IDX_MAX_DIMS)
		return vitrt_file_error(msg, cap, VITRT_EINVAL, path, "%u dimensions", idx->ndim);
	for (uint32_t i = 0; i < idx->ndim; i++)
		count *= idx->dims[i];
	if (count != idx->count)
		return vitrt_file_error(msg, cap, VITRT_EINVAL, path, "count does not match the dimensions");
	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0)
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = vitrt_file_error(msg, cap, VITRT_ESYS, path, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return ret;
	}
	gz = gzdopen(fd, gzip ? "wb9" : "wbT");
	if (!gz) {
		close(fd);
		ret = VITRT_ENOMEM;
	} else {
		ret = idx_write_gz(gz, idx);
		if (gzclose(gz) != Z_OK && !ret)
			ret = VITRT_ESYS;
	}
	if (!ret && (chmod(tmp, 0644) || rename(tmp, path)))
		ret = VITRT_ESYS;
	if (ret) {
		vitrt_file_error(msg, cap, ret, path, "write failed: %s", strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return ret;
}

/* ---- datasets ---- */

/* Channels of IDX images: 1 for [count][rows][cols], the last dimension of 4, else 0. */
static uint32_t idx_chans(const struct vitrt_idx *idx)
{
	if (idx->ndim == 3)
		return 1;
	return idx->ndim == 4 && (idx->dims[3] == 1 || idx->dims[3] == 3) ? idx->dims[3] : 0;
}

struct dataset {
	struct vitrt_dataset pub;	/* first: the handle callers get */
	struct vitrt_idx images, labels;
	char *images_path, *labels_path;
};

static int dataset_load(struct dataset *d, char *msg, size_t cap)
{
	struct vitrt_idx *im = &d->images, *lb = &d->labels;
	int ret;

	ret = vitrt_idx_read(d->images_path, im, msg, cap);
	if (ret)
		return ret;
	if (!idx_chans(im))
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, d->images_path,
				"%u dimensions%s, images need 3 (count, rows, columns) or 4 (count, "
				"rows, columns, 1 or 3 channels)", im->ndim,
				im->ndim == 4 ? " (channels not 1 or 3)" : "");
	ret = vitrt_idx_read(d->labels_path, lb, msg, cap);
	if (ret)
		return ret;
	if (lb->ndim != 1)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, d->labels_path,
				"%u dimensions, labels need 1", lb->ndim);
	if (lb->dims[0] != im->dims[0])
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, d->labels_path,
				"%u labels for the %u images of %s", lb->dims[0], im->dims[0],
				d->images_path);
	d->pub = (struct vitrt_dataset){
		.count = im->dims[0], .chans = idx_chans(im),
		.height = im->dims[1], .width = im->dims[2],
		.pix = im->data, .labels = lb->data,
		.images_path = d->images_path, .labels_path = d->labels_path,
	};
	return 0;
}

struct vitrt_dataset *vitrt_dataset_open(const char *images, const char *labels, int *err,
					 char *msg, size_t cap)
{
	struct dataset *d = calloc(1, sizeof(*d));

	if (d) {
		d->images_path = strdup(images);
		d->labels_path = strdup(labels);
	}
	if (!d || !d->images_path || !d->labels_path) {
		*err = vitrt_file_error(msg, cap, VITRT_ENOMEM, images, "out of memory");
	} else {
		*err = dataset_load(d, msg, cap);
		if (!*err)
			return &d->pub;
	}
	vitrt_dataset_close(d ? &d->pub : NULL);
	return NULL;
}

/* "<dir>/<split>-<kind>-idx<n>-ubyte", or the same with ".gz" when only that exists. */
static char *dataset_file(const char *dir, const char *split, const char *kind, int n)
{
	char *p;

	if (asprintf(&p, "%s/%s-%s-idx%d-ubyte.gz", dir, split, kind, n) < 0)
		return NULL;
	if (!access(p, F_OK))
		return p;
	p[strlen(p) - 3] = '\0';
	return p;
}

struct vitrt_dataset *vitrt_dataset_open_dir(const char *dir, const char *split, int *err,
					     char *msg, size_t cap)
{
	char *images = dataset_file(dir, split, "images", 3);
	char *labels = dataset_file(dir, split, "labels", 1);
	struct vitrt_dataset *ds = NULL;

	if (!images || !labels)
		*err = vitrt_file_error(msg, cap, VITRT_ENOMEM, dir, "out of memory");
	else
		ds = vitrt_dataset_open(images, labels, err, msg, cap);
	free(images);
	free(labels);
	return ds;
}

struct vitrt_dataset *vitrt_dataset_open_path(const char *path, const char *split, int *err,
					      char *msg, size_t cap)
{
	struct stat st;
	char *images;
	bool idx;

	if (stat(path, &st)) {
		*err = vitrt_file_error(msg, cap, VITRT_ESYS, path, "%s", strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		*err = vitrt_file_error(msg, cap, VITRT_EINVAL, path,
				"not a folder (an IDX folder, an ImageFolder tree or a folder of images)");
		return NULL;
	}
	images = dataset_file(path, split, "images", 3);
	if (!images) {
		*err = vitrt_file_error(msg, cap, VITRT_ENOMEM, path, "out of memory");
		return NULL;
	}
	idx = !access(images, F_OK);
	free(images);
	if (idx)
		return vitrt_dataset_open_dir(path, split, err, msg, cap);
	return vitrt_folder_open(path, err, msg, cap);
}

int vitrt_idx_image(const struct vitrt_idx *idx, uint32_t i, const struct vitrt_prep *p,
		    uint8_t *pix, const char *path, char *msg, size_t cap)
{
	uint32_t chans = idx_chans(idx);
	size_t npix = (size_t)idx->dims[1] * idx->dims[2];
	struct vitrt_image img = { .chans = chans, .height = idx->dims[1], .width = idx->dims[2] };
	const uint8_t *src;
	int ret = 0;

	if (!chans)
		return vitrt_file_error(msg, cap, VITRT_EFORMAT, path, "%u dimensions: not images",
				idx->ndim);
	if (i >= idx->dims[0] || (p->chans != 1 && p->chans != 3))
		return vitrt_file_error(msg, cap, VITRT_EINVAL, path, "image %u of %u as %u "
				"channels", i, idx->dims[0], p->chans);
	src = idx->data + (size_t)i * chans * npix;
	img.pix = malloc(chans * npix);
	ret = img.pix ? 0 : VITRT_ENOMEM;
	for (uint32_t c = 0; !ret && c < chans; c++)
		for (size_t k = 0; k < npix; k++)
			img.pix[c * npix + k] = src[k * chans + c];
	ret = ret ?: image_prepare(&img, p);
	if (!ret)
		memcpy(pix, img.pix, (size_t)p->chans * p->size * p->size);
	vitrt_image_release(&img);
	if (ret)
		return vitrt_file_error(msg, cap, ret, path, "image %u (%ux%ux%u) as %ux%ux%u: %s",
				i, chans, idx->dims[1], idx->dims[2], p->chans, p->size,
				p->size, vitrt_strerror(ret));
	return 0;
}

/* IDX image @i as the model's input (vitrt_idx_image) and its label. */
static int idx_get(const struct vitrt_dataset *ds, uint32_t i, const struct vitrt_prep *p,
		   uint8_t *pix, int32_t *label, char *msg, size_t cap)
{
	const struct dataset *d = (const struct dataset *)ds;
	int ret = vitrt_idx_image(&d->images, i, p, pix, ds->images_path, msg, cap);

	if (!ret)
		*label = ds->labels[i];
	return ret;
}

int vitrt_dataset_get(const struct vitrt_dataset *ds, uint32_t i, const struct vitrt_prep *p,
		      uint8_t *pix, int32_t *label, char *msg, size_t cap)
{
	if (i >= ds->count)
		return vitrt_file_error(msg, cap, VITRT_EINVAL, ds->images_path,
				"image %u of %u", i, ds->count);
	if (ds->kind == VITRT_DATASET_IDX)
		return idx_get(ds, i, p, pix, label, msg, cap);
	return vitrt_folder_get(ds, i, p, pix, label, msg, cap);
}

void vitrt_dataset_close(struct vitrt_dataset *ds)
{
	struct dataset *d = (struct dataset *)ds;

	if (!d)
		return;
	if (ds->kind != VITRT_DATASET_IDX) {
		vitrt_folder_close(ds);
		return;
	}
	vitrt_idx_release(&d->images);
	vitrt_idx_release(&d->labels);
	free(d->images_path);
	free(d->labels_path);
	free(d);
}

int vitrt_dataset_check(const struct vitrt_dataset *ds, uint32_t size, uint32_t classes,
			char *msg, size_t cap)
{
	if (ds->kind == VITRT_DATASET_FOLDERS && classes && ds->classes != classes)
		return vitrt_file_error(msg, cap, VITRT_EINVAL, ds->images_path,
				"%u class folders, the model has %u classes", ds->classes, classes);
	(void)size;	/* every image is fitted as it is read */
	if (ds->kind != VITRT_DATASET_IDX)
		return 0;
	for (uint32_t i = 0; classes && i < ds->count; i++)
		if (ds->labels[i] >= classes)
			return vitrt_file_error(msg, cap, VITRT_EINVAL, ds->labels_path,
					"label %u of image %u is not below the model's %u classes",
					ds->labels[i], i, classes);
	return 0;
}
