// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the image and dataset readers.  The first byte picks the reader, the
 * second the model's input (channels, size, filter, crop); the rest is the file(s):
 *   0  PNG/JPEG through vitrt_image_probe, vitrt_image_read and vitrt_image_load (resize and
 *      centre crop to a small size)
 *   1  IDX through vitrt_idx_read
 *   2  an IDX pair (fuzz_split: images, then labels) through vitrt_dataset_open, _check, _get
 *   3  two images in an ImageFolder tree, the second one folder down (bit 7 of the second
 *      byte: a flat folder) through vitrt_dataset_open_path and vitrt_dataset_get
 */
#include <stdbool.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "vitrt_image.h"

#define FUZZ_MAX_ITEMS	4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vitrt_prep fuzz_prep(uint8_t b)
{
	static const double crop[4] = { 0.875, 1.0, 0.5, 0.9 };
	struct vitrt_prep p = VITRT_PREP_INIT(b & 1 ? 3 : 1, 1 + ((b >> 1) & 15));

	p.interp = b & 0x20 ? VITRT_INTERP_BILINEAR : VITRT_INTERP_BICUBIC;
	p.crop_pct = crop[(b >> 6) & 3];
	return p;
}

static void get_items(const struct vitrt_dataset *ds, const struct vitrt_prep *p)
{
	uint8_t pix[3 * 16 * 16];
	char msg[512];
	int32_t label;
	uint32_t i;

	for (i = 0; i < ds->count && i < FUZZ_MAX_ITEMS; i++)
		vitrt_dataset_get(ds, i, p, pix, &label, msg, sizeof(msg));
}

static void one_image(const uint8_t *data, size_t size, const struct vitrt_prep *p)
{
	struct vitrt_image img = { 0 };
	char path[128], msg[512];

	fuzz_write("img", data, size, path, sizeof(path));
	vitrt_image_probe(path);
	if (!vitrt_image_read(path, 0, 0, &img, msg, sizeof(msg)))
		vitrt_image_release(&img);
	if (!vitrt_image_load(path, p, &img, msg, sizeof(msg)))
		vitrt_image_release(&img);
}

static void one_idx(const uint8_t *data, size_t size)
{
	struct vitrt_idx idx = { 0 };
	char path[128], msg[512];

	fuzz_write("idx", data, size, path, sizeof(path));
	if (!vitrt_idx_read(path, &idx, msg, sizeof(msg)))
		vitrt_idx_release(&idx);
}

static void idx_pair(const uint8_t *data, size_t size, const struct vitrt_prep *p)
{
	char images[128], labels[128], msg[512];
	const uint8_t *a, *b;
	struct vitrt_dataset *ds;
	size_t alen, blen;
	int err;

	fuzz_split(data, size, &a, &alen, &b, &blen);
	fuzz_write("images", a, alen, images, sizeof(images));
	fuzz_write("labels", b, blen, labels, sizeof(labels));
	ds = vitrt_dataset_open(images, labels, &err, msg, sizeof(msg));
	if (!ds)
		return;
	vitrt_dataset_check(ds, ds->height, 10, msg, sizeof(msg));
	get_items(ds, p);
	vitrt_dataset_close(ds);
}

static void folder(const uint8_t *data, size_t size, const struct vitrt_prep *p, bool flat)
{
	/* in the tree, the second image one folder down: class folders are walked */
	static const char *const tree[2][2] = {
		{ "tree/a/x.png", "tree/b/in/y.jpg" }, { "tree/x.png", "tree/y.jpg" },
	};
	static const char *const dirs[3] = { "a", "b", "b/in" };
	char path[128], msg[512];
	const uint8_t *a, *b;
	struct vitrt_dataset *ds;
	size_t alen, blen;
	int err, i;

	fuzz_split(data, size, &a, &alen, &b, &blen);
	for (i = 0; i < 2; i++)
		fuzz_unlink(tree[!flat][i]);
	for (i = 2; flat && i >= 0; i--) {
		snprintf(path, sizeof(path), "%s/tree/%s", fuzz_tmpdir(), dirs[i]);
		rmdir(path);	/* empty now */
	}
	snprintf(path, sizeof(path), "%s/tree", fuzz_tmpdir());
	mkdir(path, 0700);
	for (i = 0; !flat && i < 3; i++) {
		snprintf(path, sizeof(path), "%s/tree/%s", fuzz_tmpdir(), dirs[i]);
		mkdir(path, 0700);
	}
	fuzz_write(tree[flat][0], a, alen, path, sizeof(path));
	fuzz_write(tree[flat][1], b, blen, path, sizeof(path));
	snprintf(path, sizeof(path), "%s/tree", fuzz_tmpdir());
	ds = vitrt_dataset_open_path(path, "train", &err, msg, sizeof(msg));
	if (!ds)
		return;
	vitrt_dataset_check(ds, p->size, 2, msg, sizeof(msg));
	get_items(ds, p);
	vitrt_dataset_close(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vitrt_prep p;

	if (size < 2)
		return 0;
	p = fuzz_prep(data[1]);
	switch (data[0] & 3) {
	case 0:
		one_image(data + 2, size - 2, &p);
		break;
	case 1:
		one_idx(data + 2, size - 2);
		break;
	case 2:
		idx_pair(data + 2, size - 2, &p);
		break;
	default:
		folder(data + 2, size - 2, &p, data[1] & 0x80);
		break;
	}
	return 0;
}
