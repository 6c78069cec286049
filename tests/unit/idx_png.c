// SPDX-License-Identifier: MIT
/*
 * idx_png IMAGES LABELS|- DIR FIRST COUNT: images FIRST .. FIRST + COUNT - 1 of a gray IDX
 * file as 8-bit gray PNGs (lossless), so that vitrt reads them through its PNG path (resize,
 * crop, gray to RGB) as it reads a photo.  With LABELS: an ImageFolder tree DIR/<label>/
 * <index>.png; with "-": a flat folder DIR/<index>.png.  Indices are zero-padded to 5 digits,
 * so a class folder sorted by name keeps the IDX order.  Used by tests/unit/accuracy_rgb224.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vitrt_image.h"

int main(int argc, char **argv)
{
	struct vitrt_idx im = { 0 }, lb = { 0 };
	char msg[1200], path[1100];
	unsigned long first, count;
	int err;

	if (argc != 6) {
		fprintf(stderr, "usage: idx_png IMAGES LABELS|- DIR FIRST COUNT\n");
		return 2;
	}
	first = strtoul(argv[4], NULL, 10);
	count = strtoul(argv[5], NULL, 10);
	err = vitrt_idx_read(argv[1], &im, msg, sizeof(msg));
	if (!err && strcmp(argv[2], "-"))
		err = vitrt_idx_read(argv[2], &lb, msg, sizeof(msg));
	if (!err && (im.ndim != 3 || first + count > im.dims[0] ||
		     (lb.data && (lb.ndim != 1 || lb.dims[0] != im.dims[0])))) {
		snprintf(msg, sizeof(msg), "%s: not gray images with %lu..%lu and matching labels",
			 argv[1], first, first + count - 1);
		err = 1;
	}
	mkdir(argv[3], 0755);
	for (unsigned long i = first; !err && i < first + count; i++) {
		size_t npix = (size_t)im.dims[1] * im.dims[2];
		struct vitrt_image img = { .chans = 1, .height = im.dims[1], .width = im.dims[2],
					   .pix = im.data + i * npix };

		if (lb.data) {
			snprintf(path, sizeof(path), "%s/%u", argv[3], lb.data[i]);
			mkdir(path, 0755);
			snprintf(path, sizeof(path), "%s/%u/%05lu.png", argv[3], lb.data[i], i);
		} else {
			snprintf(path, sizeof(path), "%s/%05lu.png", argv[3], i);
		}
		err = vitrt_image_write_png(path, &img, msg, sizeof(msg));
	}
	vitrt_idx_release(&im);
	vitrt_idx_release(&lb);
	if (err) {
		fprintf(stderr, "idx_png: %s\n", msg);
		return 1;
	}
	return 0;
}
