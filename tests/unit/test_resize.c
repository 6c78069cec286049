// SPDX-License-Identifier: MIT
/*
 * Preprocessing against Pillow: real photographs (tests/golden/resize/in, from skimage's
 * sample data) decoded by libvitrt, resized (shorter side to 256, bicubic and bilinear) and
 * centre cropped to 224 must be within one u8 step of Pillow's result on every pixel and
 * channel (tests/golden/resize/ref, made by make_refs.py), with the same intermediate size.
 * Plus the resampler's own invariants on synthetic images.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "vitrt_image.h"

static char msg[1024];

static const char *golden_dir(void)
{
	const char *d = getenv("VITRT_RESIZE_GOLDEN");

	return d ? d : "tests/golden/resize";
}

/* Largest |a - b| over @n bytes; *ndiff gets how many differ at all. */
static int max_diff(const uint8_t *a, const uint8_t *b, size_t n, size_t *ndiff)
{
	int m = 0;

	*ndiff = 0;
	for (size_t i = 0; i < n; i++) {
		int d = abs(a[i] - b[i]);

		*ndiff += d != 0;
		m = d > m ? d : m;
	}
	return m;
}

/* One line of refs.txt: input, reference, channels, interpolation, resized w and h. */
static void check_case(const char *input, const char *ref, uint32_t chans, const char *interp,
		       uint32_t rw, uint32_t rh)
{
	struct vitrt_prep p = VITRT_PREP_INIT(chans, 224);
	struct vitrt_image got = { 0 }, want = { 0 }, raw = { 0 };
	char in_path[512], ref_path[512];
	uint32_t w = 0, h = 0;
	size_t ndiff = 0;
	int err, m = -1;

	snprintf(in_path, sizeof(in_path), "%s/%s", golden_dir(), input);
	snprintf(ref_path, sizeof(ref_path), "%s/%s", golden_dir(), ref);
	p.interp = (enum vitrt_interp)vitrt_interp_parse(interp);
	err = vitrt_image_read(in_path, 0, 0, &raw, msg, sizeof(msg));
	CHECK(!err, "%s", msg);
	if (!err)
		vitrt_prep_sizes(raw.width, raw.height, &p, &w, &h);
	CHECK(w == rw && h == rh, "%s: resized to %ux%u, Pillow %ux%u", input, w, h, rw, rh);
	err = vitrt_image_load(in_path, &p, &got, msg, sizeof(msg));
	CHECK(!err, "%s", msg);
	if (!err)
		err = vitrt_image_read(ref_path, chans, 224, &want, msg, sizeof(msg));
	CHECK(!err, "%s", msg);
	if (!err) {
		CHECK(got.chans == chans && got.width == 224 && got.height == 224,
		      "%s: %ux%ux%u", input, got.chans, got.width, got.height);
		m = max_diff(got.pix, want.pix, (size_t)chans * 224 * 224, &ndiff);
		CHECK(m <= 1, "%s %s: max |diff| %d", input, interp, m);
	}
	printf("# %-24s %-8s %ux%u -> %ux%u -> 224: max |diff| %d, %zu of %u samples differ\n",
	       input, interp, raw.width, raw.height, w, h, m, ndiff, chans * 224 * 224);
	vitrt_image_release(&raw);
	vitrt_image_release(&got);
	vitrt_image_release(&want);
}

TEST(pillow_photos)
{
	char path[512], line[1024], input[256], ref[256], interp[32];
	unsigned chans, rw, rh;
	int cases = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/refs.txt", golden_dir());
	f = fopen(path, "r");
	CHECK(f != NULL, "cannot open %s", path);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%255s %255s %u %31s %u %u", input, ref, &chans, interp, &rw,
			   &rh) != 6) {
			CHECK(0, "%s: bad line: %s", path, line);
			continue;
		}
		check_case(input, ref, chans, interp, rw, rh);
		cases++;
	}
	fclose(f);
	CHECK(cases >= 10, "only %d cases in %s", cases, path);
}

/* A constant image stays constant at any size (the weights sum to one after rounding). */
TEST(constant)
{
	static const enum vitrt_interp modes[] = { VITRT_INTERP_BICUBIC, VITRT_INTERP_BILINEAR };
	uint8_t pix[37 * 23];
	struct vitrt_image in = { .chans = 1, .height = 23, .width = 37, .pix = pix }, out;
	static const uint32_t sizes[][2] = { { 5, 3 }, { 37, 7 }, { 100, 23 }, { 256, 301 } };

	for (int v = 0; v < 256; v += 85) {
		memset(pix, v, sizeof(pix));
		for (int m = 0; m < 2; m++)
			for (int s = 0; s < 4; s++) {
				size_t n = (size_t)sizes[s][0] * sizes[s][1], bad = 0;
				int err = vitrt_image_resize(&in, sizes[s][0], sizes[s][1], modes[m], &out);

				CHECK(!err, "resize: %d", err);
				for (size_t i = 0; !err && i < n; i++)
					bad += out.pix[i] != v;
				CHECK(!bad, "%zu pixels of %u are off", bad, v);
				vitrt_image_release(&out);
			}
	}
}

TEST(crop_and_args)
{
	uint8_t pix[2 * 4 * 5];
	struct vitrt_image in = { .chans = 2, .height = 4, .width = 5, .pix = pix }, out;
	struct vitrt_prep p = VITRT_PREP_INIT(3, 224);
	uint32_t w, h;

	for (int i = 0; i < 40; i++)
		pix[i] = (uint8_t)i;
	CHECK(!vitrt_image_crop(&in, 1, 2, 3, 2, &out), "crop");
	CHECK(out.pix[0] == 11 && out.pix[2] == 13 && out.pix[3] == 16 && out.pix[6] == 31,
	      "crop contents");
	vitrt_image_release(&out);
	CHECK(vitrt_image_crop(&in, 3, 0, 3, 1, &out) == VITRT_EINVAL, "crop outside");
	CHECK(vitrt_image_resize(&in, 0, 3, VITRT_INTERP_BILINEAR, &out) == VITRT_EINVAL, "0 wide");
	CHECK(vitrt_interp_parse("BiCubic") == VITRT_INTERP_BICUBIC, "parse");
	CHECK(vitrt_interp_parse("nearest") == VITRT_EINVAL, "parse nearest");
	/* torchvision truncates the longer side: 256 * 500 / 375 = 341.33 */
	vitrt_prep_sizes(500, 375, &p, &w, &h);
	CHECK(w == 341 && h == 256, "%ux%u", w, h);
	p.crop_pct = 1.0;
	vitrt_prep_sizes(300, 600, &p, &w, &h);
	CHECK(w == 224 && h == 448, "%ux%u", w, h);
	p.crop_pct = 0.0;
	CHECK(vitrt_image_fit(&in, &p) == VITRT_EINVAL, "crop_pct 0");
}

TAP_MAIN
