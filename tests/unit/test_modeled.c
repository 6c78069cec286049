// SPDX-License-Identifier: MIT
/*
 * libvitrt's modeled utilization report (vitrt_modeled.c) against shapes stated here from the
 * reference, on arrays that are not square, so that an M/N/K mix-up in the call to the cycle
 * model shows.  Cycle totals are never written down: they come from vitsa_model_cycles on the
 * shapes below, so a change of the hardware's formula does not break this test.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "vitrt_image.h"
#include "vitrt_modeled.h"
#include "vitrt_prog.h"
#include "vitsa_model.h"

struct shape {
	const char *name;
	uint32_t m, n, k;
	uint64_t count;
};

/* DeiT-S at 224: 197 tokens, dim 384, 6 heads of 64, MLP 1536, depth 12, 1000 classes. */
static const struct shape deit_s[VITRT_MODELED_COUNT] = {
	{ "embed", 196, 384, 768, 1 },     { "qkv", 197, 1152, 384, 12 },
	{ "q.k^T", 197, 197, 64, 72 },     { "attn.v", 197, 64, 197, 72 },
	{ "proj", 197, 384, 384, 12 },     { "fc1", 197, 1536, 384, 12 },
	{ "fc2", 197, 384, 1536, 12 },     { "head", 1, 1000, 384, 1 },
};

static const uint32_t arrays[][2] = { { 16, 16 }, { 8, 24 }, { 32, 4 }, { 1, 256 } };

static void check_layers(const struct vitrt_modeled *r)
{
	struct vitsa_model_cfg cfg = { .rows = r->rows, .cols = r->cols };

	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		const struct vitrt_modeled_layer *l = &r->layers[i];
		const struct shape *s = &deit_s[i];

		CHECK(!strcmp(l->name, s->name) && l->m == s->m && l->n == s->n && l->k == s->k &&
		      l->count == s->count, "%ux%u layer %d: %s %ux%ux%u x%llu", r->rows, r->cols,
		      i, l->name, l->m, l->n, l->k, (unsigned long long)l->count);
		CHECK(l->cycles == vitsa_model_cycles(&cfg, s->m, s->n, s->k),
		      "%ux%u %s: %llu cycles", r->rows, r->cols, s->name,
		      (unsigned long long)l->cycles);
	}
}

TEST(deit_s_layers_on_every_array)
{
	struct vitrt_modeled r;

	for (size_t a = 0; a < sizeof(arrays) / sizeof(arrays[0]); a++) {
		int err = vitrt_modeled_compute(vitrt_modeled_find("deit-s"), arrays[a][0],
						arrays[a][1], &r);

		CHECK(!err && r.rows == arrays[a][0] && r.cols == arrays[a][1] && r.tokens == 197,
		      "compute %ux%u: %d", arrays[a][0], arrays[a][1], err);
		if (!err)
			check_layers(&r);
	}
}

TEST(totals_and_utilization)
{
	struct vitrt_modeled r;
	uint64_t cycles = 0;

	CHECK(!vitrt_modeled_compute(vitrt_modeled_find("deit-s"), 8, 24, &r), "compute");
	for (int i = 0; i < VITRT_MODELED_COUNT; i++)
		cycles += r.layers[i].cycles * r.layers[i].count;
	CHECK(r.cycles == cycles, "total %llu, layers %llu", (unsigned long long)r.cycles,
	      (unsigned long long)cycles);
	CHECK(r.macs == 4598882304ull, "DeiT-S MACs %llu", (unsigned long long)r.macs);
	CHECK(fabs(r.utilization - (double)r.macs / ((double)cycles * 8 * 24)) < 1e-12,
	      "utilization %.9f", r.utilization);
	CHECK(fabs(r.layers[VITRT_MODELED_FC1].utilization -
		   116195328.0 / ((double)r.layers[VITRT_MODELED_FC1].cycles * 8 * 24)) < 1e-12,
	      "fc1 utilization %.9f", r.layers[VITRT_MODELED_FC1].utilization);
}

/* The reference's independent MAC counts (../shared/reference/systolic-arrays.md, section 6). */
TEST(macs_of_all_three)
{
	static const struct { const char *name; uint64_t macs; } want[] = {
		{ "deit-t", 1253683200ull }, { "deit-s", 4598882304ull },
		{ "deit-b", 17563828224ull },
	};
	struct vitrt_modeled r;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int err = vitrt_modeled_compute(vitrt_modeled_find(want[i].name), 16, 16, &r);

		CHECK(!err && r.macs == want[i].macs && !strcmp(r.vit->name, want[i].name),
		      "%s: %d, %llu MACs", want[i].name, err, (unsigned long long)r.macs);
	}
	CHECK(!vitrt_modeled_find("deit-x") && !vitrt_modeled_find("DEIT-S"), "unknown names");
}

TEST(bad_shapes_and_arrays)
{
	struct vitrt_modeled_vit v = *vitrt_modeled_find("deit-t");
	struct vitrt_modeled r;

	CHECK(vitrt_modeled_compute(NULL, 16, 16, &r) == VITRT_EINVAL, "no model");
	CHECK(vitrt_modeled_compute(&v, 0, 16, &r) == VITRT_EINVAL, "0 rows");
	CHECK(vitrt_modeled_compute(&v, 16, 257, &r) == VITRT_EINVAL, "257 cols");
	v.heads = 5;	/* 192 does not split into 5 heads */
	CHECK(vitrt_modeled_compute(&v, 16, 16, &r) == VITRT_EINVAL, "dim %% heads");
	v.heads = 3;
	v.patch = 15;	/* 224 is not a whole number of 15-pixel patches */
	CHECK(vitrt_modeled_compute(&v, 16, 16, &r) == VITRT_EINVAL, "img %% patch");
}

TEST(parse_array)
{
	static const char *const bad[] = {
		"", "x", "16", "16x", "x16", "0x16", "16x0", "257x1", "1x257", "-1x16", "+16x16",
		" 16x16", "16x16 ", "16x16x", "16X16", "0x10x4", "16x 16", "99999999999999999999x1",
	};
	uint32_t r, c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = c = 7;
		CHECK(vitrt_array_parse(bad[i], &r, &c) == VITRT_EINVAL && r == 7 && c == 7,
		      "accepted '%s'", bad[i]);
	}
	CHECK(!vitrt_array_parse("8x24", &r, &c) && r == 8 && c == 24, "8x24");
	CHECK(!vitrt_array_parse("256x1", &r, &c) && r == 256 && c == 1, "256x1");
	CHECK(!vitrt_array_parse("016x16", &r, &c) && r == 16 && c == 16, "016x16");
}

/* The chart reads back through libpng as 8-bit RGB of the documented size, with bars on it. */
TEST(plot_reads_back)
{
	char dir[] = "/tmp/vitrt-plot-XXXXXX", path[sizeof(dir) + sizeof("/u.png")], msg[256];
	struct vitrt_image img = { 0 };
	struct vitrt_modeled r;
	size_t bar = 0, plane;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/u.png", dir);
	CHECK(!vitrt_modeled_compute(vitrt_modeled_find("deit-s"), 16, 16, &r), "compute");
	CHECK(!vitrt_modeled_plot(&r, path, msg, sizeof(msg)), "plot: %s", msg);
	CHECK(!vitrt_image_read(path, 0, 0, &img, msg, sizeof(msg)), "read back: %s", msg);
	CHECK(img.chans == 3 && img.width == VITRT_MODELED_PLOT_W &&
	      img.height == VITRT_MODELED_PLOT_H, "%u channels, %ux%u", img.chans, img.width,
	      img.height);
	plane = (size_t)img.width * img.height;
	for (size_t i = 0; img.pix && i < plane; i++)	/* the layer bars' colour, 70,110,180 */
		bar += img.pix[i] == 70 && img.pix[plane + i] == 110 && img.pix[2 * plane + i] == 180;
	CHECK(bar > plane / 20, "%zu bar pixels of %zu", bar, plane);
	vitrt_image_release(&img);
	unlink(path);
	rmdir(dir);
	CHECK(vitrt_modeled_plot(&r, "/nonexistent/dir/u.png", msg, sizeof(msg)) != 0 &&
	      strstr(msg, "/nonexistent/dir/u.png"), "unwritable path: '%s'", msg);
}

TAP_MAIN
