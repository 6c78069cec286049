// SPDX-License-Identifier: MIT
/*
 * libvitrt's modeled utilization report (vitrt_modeled.c) against shapes stated here from the
 * reference, on arrays that are not square, so that an M/N/K mix-up in the call to the cycle
 * model shows.  Cycle totals are never written down: they come from vitsa_model_cycles on the
 * shapes below, so a change of the hardware's formula does not break this test.
 *
 * The whole-inference model: a GEMM job with memory (hw/model/vitsa_timing.c) against
 * vitsa_model_cycles at unbounded bandwidth, against closed forms on jobs simple enough to
 * have one, and against a cycle-by-cycle replay of the documented rules on random small jobs;
 * the schedule of an image against the bounds any two-engine schedule must keep.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "vtest.h"
#include "vitrt_image.h"
#include "vitrt_modeled.h"
#include "vitrt_prog.h"
#include "vitsa_model.h"
#include "vitsa_timing.h"

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

static const uint8_t bar_rgb[3] = { VITRT_CHART_BAR }, accent_rgb[3] = { VITRT_CHART_ACCENT };

static bool pixel_is(const struct vitrt_image *img, int x, int y, const uint8_t rgb[3])
{
	size_t plane = (size_t)img->width * img->height, i = (size_t)y * img->width + x;

	return img->pix[i] == rgb[0] && img->pix[plane + i] == rgb[1] &&
	       img->pix[2 * plane + i] == rgb[2];
}

/*
 * @path holds a chart of the documented size whose bar i (of n, on a percent axis or the
 * value axis of chart @c) rises to u[i] exactly: its centre column has the bar's colour from
 * that row down and not above it.  The last bar is the accented one.  Returns the picture.
 */
static struct vitrt_image check_bars(const char *path, const struct vitrt_chart *c,
				     const double *u, uint32_t n)
{
	const struct vitrt_chart geometry = c ? *c : (struct vitrt_chart){ .percent = true,
									   .nbars = n };
	struct vitrt_image img = { 0 };
	char msg[256];

	CHECK(!vitrt_image_read(path, 0, 0, &img, msg, sizeof(msg)), "read back: %s", msg);
	CHECK(img.chans == 3 && img.width == VITRT_MODELED_PLOT_W &&
	      img.height == VITRT_MODELED_PLOT_H, "%u channels, %ux%u", img.chans, img.width,
	      img.height);
	for (uint32_t i = 0; i < n && img.pix; i++) {
		int x = vitrt_chart_bar_x(&geometry, i), top = vitrt_chart_bar_top(&geometry, u[i]);
		const uint8_t *rgb = i + 1 == n ? accent_rgb : bar_rgb;

		CHECK(pixel_is(&img, x, top, rgb) && pixel_is(&img, x, top + 5, rgb) &&
		      !pixel_is(&img, x, top - 1, rgb), "%s: bar %u (%.4f) does not top at row %d",
		      path, i, u[i], top);
	}
	return img;
}

/* Both charts read back through libpng, every bar at its height, the level line in place. */
TEST(plot_reads_back)
{
	char dir[] = "/tmp/vitrt-plot-XXXXXX", path[sizeof(dir) + sizeof("/u.png")], msg[256];
	const struct vitrt_chart geometry = { .percent = true };
	double u[VITRT_MODELED_COUNT + 1];
	struct vitrt_modeled r;
	struct vitrt_modeled_whole w;
	struct vitrt_modeled_hw hw = { 16, 16, VITRT_MODELED_SPAD_KIB, VITRT_MODELED_DRAM_BW };
	uint64_t pes = 16 * 16;
	struct vitrt_image img;
	uint32_t dashes = 0;
	int y;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/u.png", dir);
	CHECK(!vitrt_modeled_compute(vitrt_modeled_find("deit-s"), 16, 16, &r), "compute");
	CHECK(!vitrt_modeled_whole(r.vit, &hw, 0, &w), "whole");
	CHECK(!vitrt_modeled_plot(&r, NULL, path, msg, sizeof(msg)), "plot: %s", msg);
	for (int i = 0; i < VITRT_MODELED_COUNT; i++)
		u[i] = r.layers[i].utilization;
	u[VITRT_MODELED_COUNT] = r.utilization;
	img = check_bars(path, NULL, u, VITRT_MODELED_COUNT + 1);
	vitrt_image_release(&img);
	CHECK(!vitrt_modeled_plot(&r, &w, path, msg, sizeof(msg)), "whole plot: %s", msg);
	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		const struct vitrt_modeled_cost *c = &w.costs[i];

		u[i] = (double)c->macs / ((double)(c->array + c->stall) * pes);
	}
	u[VITRT_MODELED_COUNT] = w.utilization;
	img = check_bars(path, NULL, u, VITRT_MODELED_COUNT + 1);
	/* the dashed line at the array-only total, behind the bars: in the gaps between them */
	y = vitrt_chart_bar_top(&geometry, r.utilization);
	for (uint32_t x = 0; img.pix && x < img.width; x++)
		dashes += pixel_is(&img, x, y, accent_rgb);
	CHECK(dashes > img.width / 8, "%u accent pixels on row %d", dashes, y);
	vitrt_image_release(&img);
	unlink(path);
	rmdir(dir);
	CHECK(vitrt_modeled_plot(&r, NULL, "/nonexistent/dir/u.png", msg, sizeof(msg)) != 0 &&
	      strstr(msg, "/nonexistent/dir/u.png"), "unwritable path: '%s'", msg);
}

/*
 * A value axis ends at 1, 2 or 5 x 10^k with 8% room over the tallest bar: 9.5 needs more
 * than 10, so 20 (past 5 x 10^k the search once looped for ever), with 10 halfway; the
 * picture shows both bars at their heights.
 */
TEST(chart_value_axis)
{
	char dir[] = "/tmp/vitrt-chart-XXXXXX", path[sizeof(dir) + sizeof("/c.png")], msg[256];
	const struct vitrt_chart_bar bars[] = { { "tall", NULL, 9.5, false },
						{ "host", "sub", 3.0, true } };
	const struct vitrt_chart c = { .title = "t", .unit = "ms", .bars = bars, .nbars = 2 };
	const double u[] = { bars[0].value, bars[1].value };
	int zero = vitrt_chart_bar_top(&c, 0), top = vitrt_chart_bar_top(&c, 20);
	int ten = vitrt_chart_bar_top(&c, 10);
	struct vitrt_image img;

	CHECK(top == vitrt_chart_bar_top(&c, 1e9) && vitrt_chart_bar_top(&c, 19.9) > top &&
	      abs(2 * ten - zero - top) <= 1, "axis: 0 at %d, 10 at %d, 20 at %d", zero, ten, top);
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/c.png", dir);
	CHECK(!vitrt_chart_png(&c, path, msg, sizeof(msg)), "chart: %s", msg);
	img = check_bars(path, &c, u, 2);
	vitrt_image_release(&img);
	unlink(path);
	rmdir(dir);
}

/* ---- a GEMM job with memory ---- */

static struct vtest_rng rng = VTEST_RNG(0x9e3779b97f4a7c15ull);

static const uint32_t job_arrays[][2] = {
	{ 16, 16 }, { 8, 24 }, { 32, 4 }, { 1, 256 }, { 4, 4 }, { 3, 5 }, { 256, 1 },
};

static struct vitsa_timing_gemm random_job(uint32_t most)
{
	static const uint32_t bits[] = { 4, 8, 16, 32 };
	struct vtest_rng *r = &rng;
	struct vitsa_timing_gemm g = {
		.m = vtest_rng_in(r, 1, most), .n = vtest_rng_in(r, 1, most),
		.k = vtest_rng_in(r, 1, most),
		.a_bits = bits[vtest_rng_in(r, 0, 1)], .b_bits = bits[vtest_rng_in(r, 0, 1)],
		.c_bits = bits[vtest_rng_in(r, 0, 3)], .b_dram = vtest_rng_in(r, 0, 1),
		.c_dram = vtest_rng_in(r, 0, 1),
	};

	g.a_dram = vtest_rng_in(r, 0, 2) == 0;
	g.a_once = !g.a_dram && vtest_rng_in(r, 0, 1);
	return g;
}

/* Any traffic at unbounded bandwidth, or no traffic at any: exactly the array's count. */
TEST(unbounded_bandwidth_is_the_array)
{
	for (int i = 0; i < 3000; i++) {
		const uint32_t *a = job_arrays[i % (sizeof(job_arrays) / sizeof(job_arrays[0]))];
		struct vitsa_model_cfg cfg = { .rows = a[0], .cols = a[1] };
		struct vitsa_timing_gemm g = random_job(i % 2 ? 40 : 700);
		struct vitsa_timing t;
		uint64_t want = vitsa_model_cycles(&cfg, g.m, g.n, g.k);

		vitsa_timing_gemm(&cfg, 0, &g, &t);
		CHECK(t.cycles == want && t.array == want && t.stall == 0,
		      "%ux%u %ux%ux%u unbounded: %llu, array %llu", a[0], a[1], g.m, g.n, g.k,
		      (unsigned long long)t.cycles, (unsigned long long)want);
		g.a_dram = g.a_once = g.b_dram = g.c_dram = false;
		vitsa_timing_gemm(&cfg, vtest_rng_in(&rng, 1, 64), &g, &t);
		CHECK(t.cycles == want && t.dram_bytes == 0, "%ux%u %ux%ux%u on chip: %llu vs %llu",
		      a[0], a[1], g.m, g.n, g.k, (unsigned long long)t.cycles,
		      (unsigned long long)want);
	}
}

/*
 * Full tiles, each fetching f >= p cycles of data: the channel never rests, so t fetches back
 * to back, then the last tile's shift-in (R), its pass (p) and the drain (R + C - 1 + 2).
 */
static uint64_t channel_bound(uint64_t t, uint64_t f, uint32_t R, uint32_t C, uint64_t p)
{
	return t * f + R + p + R + C - 1 + 2;
}

TEST(closed_form_head_like)
{
	/* the classifier: M = 1, 16x16 int8 weight tiles of 256 bytes at 8 bytes per cycle */
	struct vitsa_model_cfg cfg = { 16, 16 };
	struct vitsa_timing_gemm g = { .m = 1, .n = 64 * 16, .k = 24 * 16, .a_bits = 8,
				       .b_bits = 8, .c_bits = 16, .b_dram = true };
	struct vitsa_timing t;

	vitsa_timing_gemm(&cfg, 8, &g, &t);
	CHECK(t.cycles == channel_bound(64 * 24, 32, 16, 16, 16) &&
	      t.dram_bytes == 64ull * 24 * 256, "head-like: %llu cycles, %llu bytes",
	      (unsigned long long)t.cycles, (unsigned long long)t.dram_bytes);
	CHECK(t.stall == t.cycles - vitsa_model_cycles(&cfg, g.m, g.n, g.k), "stall %llu",
	      (unsigned long long)t.stall);
	/* int4 weights: half the bytes, 16 cycles a tile = R = p: the array's count + one fetch */
	g.b_bits = 4;
	vitsa_timing_gemm(&cfg, 8, &g, &t);
	CHECK(t.cycles == vitsa_model_cycles(&cfg, g.m, g.n, g.k) + 16 &&
	      t.dram_bytes == 64ull * 24 * 128, "int4 head: %llu cycles",
	      (unsigned long long)t.cycles);
}

/* A side of 0 is no work: all zero, whatever the rest (not a tile loop running to UINT64_MAX). */
TEST(empty_job_is_no_work)
{
	struct vitsa_model_cfg cfg = { 16, 16 };
	struct vitsa_timing t;

	for (int side = 0; side < 3; side++) {
		struct vitsa_timing_gemm g = { .m = side ? 197 : 0, .n = side == 1 ? 0 : 64,
					       .k = side == 2 ? 0 : 384, .a_bits = 8, .b_bits = 8,
					       .c_bits = 8, .b_dram = true, .c_dram = true };

		memset(&t, 0xff, sizeof(t));
		vitsa_timing_gemm(&cfg, 16, &g, &t);
		CHECK(!t.cycles && !t.array && !t.stall && !t.dram_bytes,
		      "side %d: %llu cycles, %llu bytes", side, (unsigned long long)t.cycles,
		      (unsigned long long)t.dram_bytes);
	}
}

/* A re-read for every column tile: 64 x 4 bytes of A and 4 x 4 of B per tile, 4 bytes/cycle. */
TEST(closed_form_a_off_chip)
{
	struct vitsa_model_cfg cfg = { 4, 4 };
	struct vitsa_timing_gemm g = { .m = 64, .n = 12, .k = 8, .a_bits = 8, .b_bits = 8,
				       .c_bits = 8, .a_dram = true, .b_dram = true };
	struct vitsa_timing t;

	vitsa_timing_gemm(&cfg, 4, &g, &t);
	CHECK(t.cycles == channel_bound(6, 68, 4, 4, 64) && t.dram_bytes == 6 * 272,
	      "A off chip: %llu cycles, %llu bytes", (unsigned long long)t.cycles,
	      (unsigned long long)t.dram_bytes);
	/* loaded once: the first column's two fetches go back to back (2 x 68, one more than p
	 * behind the array's pace), then the small ones hide under the passes */
	g.a_dram = false;
	g.a_once = true;
	vitsa_timing_gemm(&cfg, 4, &g, &t);
	CHECK(t.cycles == vitsa_model_cycles(&cfg, 64, 12, 8) + 2 * 68 - 64 &&
	      t.dram_bytes == 2 * 256 + 6 * 16, "A once: %llu cycles, %llu bytes",
	      (unsigned long long)t.cycles, (unsigned long long)t.dram_bytes);
}

/*
 * C to DRAM only (3 columns of 64 x 4 int16 = 512 bytes, 1 byte per cycle): the first
 * column's pass ends at R + p, then the channel writes the three columns back to back.
 */
TEST(closed_form_c_write)
{
	struct vitsa_model_cfg cfg = { 4, 4 };
	struct vitsa_timing_gemm g = { .m = 64, .n = 12, .k = 4, .a_bits = 8, .b_bits = 8,
				       .c_bits = 16, .c_dram = true };
	struct vitsa_timing t;

	vitsa_timing_gemm(&cfg, 1, &g, &t);
	CHECK(t.cycles == 4 + 64 + 3 * 512 && t.dram_bytes == 3 * 512, "C write: %llu, %llu bytes",
	      (unsigned long long)t.cycles, (unsigned long long)t.dram_bytes);
	/* fast enough to hide under the next column: only the last column's write shows */
	vitsa_timing_gemm(&cfg, 16, &g, &t);
	CHECK(t.cycles == 4 + 3 * 64 + 32, "hidden C write: %llu", (unsigned long long)t.cycles);
}

/* ---- a cycle-by-cycle replay of the rules in Documentation/hw/vitsa.rst ---- */

#define MAX_TILES 4096

/* One transfer on the channel: tile idx's fetch, or column idx's C write. */
struct xfer {
	uint64_t bytes, idx;
	bool write;
};

struct replay {
	const struct vitsa_model_cfg *cfg;
	const struct vitsa_timing_gemm *g;
	uint64_t kt, nt, p;
	uint64_t start[MAX_TILES], fetched[MAX_TILES];	/* UINT64_MAX: not yet */
	struct xfer q[2 * MAX_TILES + 1];
	size_t nq;
	uint64_t bytes;
};

static uint64_t elem_bytes(uint64_t elems, uint32_t bits)
{
	return (elems * bits + 7) / 8;
}

/* The channel's transfers in order: each tile's fetch, a column's C after the next column's
 * first fetch, the last column's C at the end. */
static void replay_queue(struct replay *r)
{
	const struct vitsa_timing_gemm *g = r->g;
	uint32_t R = r->cfg->rows, C = r->cfg->cols;

	for (uint64_t j = 0; j < r->nt; j++) {
		uint64_t cols = (j + 1) * C <= g->n ? C : g->n - j * C;

		for (uint64_t i = 0; i < r->kt; i++) {
			uint64_t rows = (i + 1) * R <= g->k ? R : g->k - i * R, b = 0;

			b += g->b_dram ? elem_bytes(rows * cols, g->b_bits) : 0;
			b += g->a_dram || (g->a_once && !j) ? elem_bytes(g->m * rows, g->a_bits) : 0;
			r->q[r->nq++] = (struct xfer){ b, j * r->kt + i, false };
			if (g->c_dram && j && !i)
				r->q[r->nq++] = (struct xfer){ elem_bytes(g->m * C, g->c_bits), j - 1,
							       true };
		}
	}
	if (g->c_dram) {
		uint64_t last = g->n - (r->nt - 1) * C;

		r->q[r->nq++] = (struct xfer){ elem_bytes(g->m * last, g->c_bits), r->nt - 1, true };
	}
}

/* May transfer @x begin in cycle @cy: its buffer free, or its column's last pass over? */
static bool replay_ready(const struct replay *r, const struct xfer *x, uint64_t cy)
{
	if (!x->write)
		return x->idx < 2 || r->start[x->idx - 2] <= cy;
	uint64_t last = (x->idx + 1) * r->kt - 1;

	return r->start[last] != UINT64_MAX && cy >= r->start[last] + r->p;
}

static uint64_t replay(const struct vitsa_model_cfg *cfg, uint32_t bw,
		       const struct vitsa_timing_gemm *g, uint64_t *bytes)
{
	static struct replay r;
	uint64_t next = 0, rem = 0, end = 0, cy;
	size_t qi = 0;

	r = (struct replay){ .cfg = cfg, .g = g, .kt = (g->k + cfg->rows - 1) / cfg->rows,
			     .nt = (g->n + cfg->cols - 1) / cfg->cols };
	r.p = g->m > cfg->rows ? g->m : cfg->rows;
	memset(r.start, 0xff, sizeof(r.start));
	memset(r.fetched, 0xff, sizeof(r.fetched));
	replay_queue(&r);
	*bytes = 0;
	for (size_t i = 0; i < r.nq; i++)
		*bytes += r.q[i].bytes;
	rem = r.nq ? r.q[0].bytes : 0;
	for (cy = 0; next < r.kt * r.nt || qi < r.nq; cy++) {
		/* the array: the next tile starts once its weights have shifted in */
		if (next < r.kt * r.nt && r.fetched[next] != UINT64_MAX &&
		    cy >= r.fetched[next] + cfg->rows && (!next || cy >= r.start[next - 1] + r.p))
			r.start[next++] = cy;
		/* the channel: empty transfers finish as they begin; bw bytes a cycle otherwise */
		while (qi < r.nq && replay_ready(&r, &r.q[qi], cy)) {
			uint64_t done = cy;

			if (rem) {
				rem -= rem < bw ? rem : bw;
				if (rem)
					break;
				done = cy + 1;
			}
			if (!r.q[qi].write)
				r.fetched[r.q[qi].idx] = done;
			end = r.q[qi].write ? done : end;
			rem = ++qi < r.nq ? r.q[qi].bytes : 0;
			if (done > cy)
				break;
		}
	}
	cy = r.start[r.kt * r.nt - 1] + r.p + cfg->rows + cfg->cols - 1 + 2;
	return cy > end ? cy : end;
}

TEST(replay_random_jobs)
{
	for (int i = 0; i < 1500; i++) {
		const uint32_t *a = job_arrays[i % 6];
		struct vitsa_model_cfg cfg = { .rows = a[0], .cols = a[1] };
		struct vitsa_timing_gemm g = random_job(48);
		uint32_t bw = vtest_rng_in(&rng, 1, 48);
		struct vitsa_timing t;
		uint64_t bytes, want = replay(&cfg, bw, &g, &bytes);

		vitsa_timing_gemm(&cfg, bw, &g, &t);
		CHECK(t.cycles == want && t.dram_bytes == bytes,
		      "%ux%u %ux%ux%u bw %u a%d%d b%d c%d: %llu cycles %llu bytes, replay %llu %llu",
		      a[0], a[1], g.m, g.n, g.k, bw, g.a_dram, g.a_once, g.b_dram, g.c_dram,
		      (unsigned long long)t.cycles, (unsigned long long)t.dram_bytes,
		      (unsigned long long)want, (unsigned long long)bytes);
	}
}

/* More bandwidth never costs a job cycles. */
TEST(job_monotone_in_bandwidth)
{
	for (int i = 0; i < 200; i++) {
		const uint32_t *a = job_arrays[i % 6];
		struct vitsa_model_cfg cfg = { .rows = a[0], .cols = a[1] };
		struct vitsa_timing_gemm g = random_job(100);
		struct vitsa_timing t;
		uint64_t prev = UINT64_MAX;

		for (uint32_t bw = 1; bw <= 64; bw++) {
			vitsa_timing_gemm(&cfg, bw, &g, &t);
			CHECK(t.cycles <= prev, "%ux%ux%u: %llu at %u bytes/cycle, %llu below", g.m,
			      g.n, g.k, (unsigned long long)t.cycles, bw, (unsigned long long)prev);
			prev = t.cycles;
		}
	}
}

/* ---- vector unit and the schedule of an image ---- */

/* DeiT-S's rows on 16 lanes: 384 columns are 24 beats, 197 are 13, 1536 are 96. */
TEST(vector_op_cycles)
{
	CHECK(vitsa_vector_cycles(VITSA_VOP_LAYERNORM, 16, 197, 384) == 197 * (24 + 24 + 16),
	      "layernorm");
	CHECK(vitsa_vector_cycles(VITSA_VOP_SHIFTMAX, 16, 25, 197) == 25 * (13 + 13 + 13 + 32),
	      "shiftmax");
	CHECK(vitsa_vector_cycles(VITSA_VOP_GELU, 16, 25, 1536) == 25 * 96, "gelu");
	CHECK(vitsa_vector_cycles(VITSA_VOP_ADD, 16, 197, 384) == 197 * 24, "add");
	CHECK(vitsa_vector_cycles(VITSA_VOP_ADD, 1, 2, 3) == 6, "one lane");
}

static const struct vitrt_modeled_hw hw_target = { 16, 16, VITRT_MODELED_SPAD_KIB,
						   VITRT_MODELED_DRAM_BW };

/* Bounds of any schedule of two engines, and the report's own sums. */
static void check_whole(const struct vitrt_modeled_whole *w, uint64_t macs)
{
	const struct vitrt_modeled_vit *v = w->vit;
	uint64_t crit = 0, dram = 0, steps[VITRT_MODELED_ROWS];

	for (int i = 0; i < VITRT_MODELED_ROWS; i++) {
		crit += w->costs[i].critical;
		dram += w->costs[i].dram_bytes;
		steps[i] = w->costs[i].steps;
	}
	CHECK(w->macs == macs, "%s: %llu MACs", v->name, (unsigned long long)w->macs);
	CHECK(crit == w->cycles && dram == w->dram_bytes, "%s: critical %llu of %llu, dram %llu",
	      v->name, (unsigned long long)crit, (unsigned long long)w->cycles,
	      (unsigned long long)dram);
	CHECK(w->cycles >= w->array_busy && w->cycles >= w->vector_busy,
	      "%s: %llu cycles, engines busy %llu and %llu", v->name,
	      (unsigned long long)w->cycles, (unsigned long long)w->array_busy,
	      (unsigned long long)w->vector_busy);
	CHECK(fabs(w->utilization - (double)macs / ((double)w->cycles * w->hw.rows * w->hw.cols)) <
	      1e-12, "%s: utilization", v->name);
	/* per chunk: every head a q.k^T, Shiftmax, attn.v; two LayerNorms and adds a block */
	CHECK(steps[VITRT_MODELED_QK] == (uint64_t)v->depth * v->heads * w->chunks &&
	      steps[VITRT_MODELED_SHIFTMAX] == steps[VITRT_MODELED_QK] &&
	      steps[VITRT_MODELED_LAYERNORM] == v->depth * (1ull + w->chunks) + 1 &&
	      steps[VITRT_MODELED_ADD] == 1 + 2ull * v->depth * w->chunks &&
	      steps[VITRT_MODELED_HEAD] == 1 && steps[VITRT_MODELED_EMBED] == 1,
	      "%s: step counts", v->name);
}

/* With chunks the vector unit works under the array: less than the two engines one after
 * the other. */
TEST(schedule_overlaps_engines)
{
	struct vitrt_modeled_whole w;
	struct vitrt_modeled r;

	CHECK(!vitrt_modeled_compute(vitrt_modeled_find("deit-s"), 16, 16, &r), "compute");
	for (uint32_t n = 1; n <= 12; n++) {
		int err = vitrt_modeled_whole(vitrt_modeled_find("deit-s"), &hw_target, n, &w);

		CHECK(!err && w.chunks == n && w.tc == (197 + n - 1) / n, "%u chunks: %d", n, err);
		check_whole(&w, r.macs);
		CHECK(n == 1 || w.cycles < w.array_busy + w.vector_busy,
		      "%u chunks: %llu cycles, no overlap", n, (unsigned long long)w.cycles);
	}
	CHECK(vitrt_modeled_whole(vitrt_modeled_find("deit-s"), &hw_target, 13, &w) ==
	      VITRT_EINVAL, "13 chunks of 197 rows on 16 PE rows");
}

/* Issue 14's target, a property of the model: DeiT-S on 16x16, 512 KiB, 16 bytes/cycle. */
TEST(target_and_all_three)
{
	static const char *const names[] = { "deit-t", "deit-s", "deit-b" };
	struct vitrt_modeled_whole w;
	struct vitrt_modeled r;

	for (int i = 0; i < 3; i++) {
		const struct vitrt_modeled_vit *v = vitrt_modeled_find(names[i]);
		int err = vitrt_modeled_whole(v, &hw_target, 0, &w);

		CHECK(!err && !vitrt_modeled_compute(v, 16, 16, &r), "%s: %d", names[i], err);
		check_whole(&w, r.macs);
		CHECK(w.utilization < r.utilization, "%s: whole %.4f, array only %.4f", names[i],
		      w.utilization, r.utilization);
		if (i == 1)
			CHECK(w.utilization >= 0.90 && !w.spilled, "deit-s: %.4f, spilled %#x",
			      w.utilization, w.spilled);
	}
	/* DeiT-B's x and qkv alone are 739 KiB */
	CHECK(w.spilled >> VITRT_MODELED_T_QKV & 1, "deit-b: spilled %#x", w.spilled);
}

/* An on-chip W8A8 job's cycles at the default bandwidth; @a_once: A (the image) from DRAM. */
static uint64_t job(uint32_t rows, uint32_t cols, uint32_t m, uint32_t n, uint32_t k,
		    uint32_t c_bits, bool b_dram, bool c_dram, bool a_once)
{
	struct vitsa_model_cfg cfg = { rows, cols };
	struct vitsa_timing_gemm g = { .m = m, .n = n, .k = k, .a_bits = 8, .b_bits = 8,
				       .c_bits = c_bits, .a_once = a_once, .b_dram = b_dram,
				       .c_dram = c_dram };
	struct vitsa_timing t;

	vitsa_timing_gemm(&cfg, VITRT_MODELED_DRAM_BW, &g, &t);
	return t.cycles;
}

/*
 * The array idles while the vector unit does what every later GEMM needs: the embedding's
 * add, each block's LayerNorm 1 and (but the first) the add of the last chunk before it, the
 * final LayerNorm.  DeiT-S in 8 chunks: 197 rows are 5 of 25, then 3 of 24.
 */
TEST(schedule_array_waits_for_vector)
{
	struct vitrt_modeled_whole w;
	uint64_t ln1 = vitsa_vector_cycles(VITSA_VOP_LAYERNORM, 16, 197, 384);
	uint64_t idle = vitsa_vector_cycles(VITSA_VOP_ADD, 16, 197, 384) + 12 * ln1 +
			11 * vitsa_vector_cycles(VITSA_VOP_ADD, 16, 24, 384) +
			vitsa_vector_cycles(VITSA_VOP_LAYERNORM, 16, 1, 384);

	CHECK(!vitrt_modeled_whole(vitrt_modeled_find("deit-s"), &hw_target, 8, &w), "deit-s");
	CHECK(w.cycles >= w.array_busy + idle, "%llu cycles, array %llu + idle %llu",
	      (unsigned long long)w.cycles, (unsigned long long)w.array_busy,
	      (unsigned long long)idle);
}

/*
 * Heads of dimension 4 make Shiftmax (3 passes over T per row) outweigh a head's q.k^T and
 * attn.v: the vector unit is the bottleneck.  In one chunk it waits exactly for the jobs whose
 * results its next op needs: the embedding, each block's qkv and first q.k^T, then the last
 * attn.v, proj, fc1 and fc2, and the head.  The next head's q.k^T hides under Shiftmax only
 * because logits and probabilities have two slots.
 */
TEST(schedule_vector_waits_for_array)
{
	static const struct vitrt_modeled_vit thin = { "thin", 224, 16, 3, 16, 4, 16, 2, 10 };
	struct vitrt_modeled_hw hw = { 16, 16, 4096, VITRT_MODELED_DRAM_BW };
	struct vitrt_modeled_whole w;
	uint64_t block = job(16, 16, 197, 48, 16, 8, true, false, false) +	/* qkv */
			 job(16, 16, 197, 197, 4, 8, false, false, false) +	/* q.k^T */
			 job(16, 16, 197, 4, 197, 8, false, false, false) +	/* attn.v */
			 job(16, 16, 197, 16, 16, 16, true, false, false) +	/* proj */
			 job(16, 16, 197, 16, 16, 8, true, false, false) +	/* fc1 */
			 job(16, 16, 197, 16, 16, 16, true, false, false);	/* fc2 */
	uint64_t idle = job(16, 16, 196, 16, 768, 16, true, false, true) + 2 * block +
			job(16, 16, 1, 10, 16, 16, true, true, false);

	CHECK(!vitrt_modeled_whole(&thin, &hw, 1, &w) && !w.spilled, "thin ViT");
	CHECK(w.vector_busy > w.array_busy && w.cycles == w.vector_busy + idle,
	      "%llu cycles, vector %llu + idle %llu (array %llu)", (unsigned long long)w.cycles,
	      (unsigned long long)w.vector_busy, (unsigned long long)idle,
	      (unsigned long long)w.array_busy);
}

/*
 * DeiT-S on chip in 8 chunks (5 of 25 rows, 3 of 24): DRAM carries the image once, every
 * block's weights (proj, fc1, fc2 once per chunk), the position table and the logits; the
 * q.k^T jobs take the array's count of their chunk's rows.
 */
TEST(deit_s_traffic_and_chunks)
{
	struct vitsa_model_cfg cfg = { 16, 16 };
	struct vitrt_modeled_whole w;
	uint64_t D = 384, weights = 768 * D + 12 * (3 * D * D + 8 * (D * D + 2 * D * 1536)) +
				      D * 1000;
	uint64_t qk = 12 * 6 * (5 * vitsa_model_cycles(&cfg, 25, 197, 64) +
				3 * vitsa_model_cycles(&cfg, 24, 197, 64));

	CHECK(!vitrt_modeled_whole(vitrt_modeled_find("deit-s"), &hw_target, 8, &w) &&
	      !w.spilled && w.tc == 25, "deit-s in 8 chunks");
	CHECK(w.dram_bytes == weights + 196 * 768 + 2 * 197 * D + 2 * 1000,
	      "%llu DRAM bytes", (unsigned long long)w.dram_bytes);
	CHECK(w.costs[VITRT_MODELED_QK].array == qk, "q.k^T: %llu array cycles, want %llu",
	      (unsigned long long)w.costs[VITRT_MODELED_QK].array, (unsigned long long)qk);
}

/*
 * What the scratchpad holds in phase 2 of DeiT-S: x (T x D s16) and qkv (T x 3D), two weight
 * tiles, and per chunk row two slots of logits and probabilities (4T) and attn, y1, y2, LN2
 * and fc1 out (D + 2D + 2D + D + 4D): on chip from the first KiB that holds them all.
 */
TEST(scratchpad_budget)
{
	const struct vitrt_modeled_vit *v = vitrt_modeled_find("deit-s");
	struct vitrt_modeled_whole w;

	for (uint32_t n = 1; n <= 12; n++) {
		uint64_t tc = (197 + n - 1) / n, need = 5 * 197 * 384 + 2 * 256 +
						       tc * (4 * 197 + 10 * 384);
		struct vitrt_modeled_hw hw = { 16, 16, (uint32_t)((need + 1023) / 1024), 16 };

		CHECK(!vitrt_modeled_whole(v, &hw, n, &w) && !w.spilled, "%u chunks in %u KiB: %#x",
		      n, hw.spad_kib, w.spilled);
		hw.spad_kib--;
		CHECK(!vitrt_modeled_whole(v, &hw, n, &w) && w.spilled, "%u chunks in %u KiB", n,
		      hw.spad_kib);
	}
	/* one chunk of 197 rows needs 1.23 MiB: the largest go first until 511.5 KiB are left,
	 * x (a tie with fc1 out at 302592 bytes, broken by order), fc1 out, qkv (226944), y1
	 * (151296, a tie with y2) */
	CHECK(!vitrt_modeled_whole(v, &hw_target, 1, &w) &&
	      w.spilled == (1u << VITRT_MODELED_T_X | 1u << VITRT_MODELED_T_HID |
			    1u << VITRT_MODELED_T_QKV | 1u << VITRT_MODELED_T_Y1),
	      "one chunk: spilled %#x", w.spilled);
}

/* Spilled tensors: a vector op takes at least its DRAM bytes at the channel's rate. */
TEST(vector_ops_stream_dram)
{
	struct vitrt_modeled_hw hw = { 16, 16, 4, 1 };
	struct vitrt_modeled_whole w;

	CHECK(!vitrt_modeled_whole(vitrt_modeled_find("deit-t"), &hw, 0, &w) &&
	      w.spilled >> VITRT_MODELED_T_X & 1, "deit-t in 4 KiB: spilled %#x", w.spilled);
	for (int i = VITRT_MODELED_COUNT; i < VITRT_MODELED_ROWS; i++)
		CHECK(w.costs[i].vector >= w.costs[i].dram_bytes && w.costs[i].dram_bytes,
		      "%s: %llu cycles, %llu bytes at 1 byte/cycle", w.costs[i].name,
		      (unsigned long long)w.costs[i].vector,
		      (unsigned long long)w.costs[i].dram_bytes);
}

/* The i-th step of @kind in the trace, or NULL. */
static const struct vitrt_modeled_step *nth(const struct vitrt_modeled_step *st, size_t n,
					    uint32_t kind, size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (st[k].kind == kind && !i--)
			return &st[k];
	return NULL;
}

/*
 * The timed steps of DeiT-S in 8 chunks keep the documented rules: an engine runs one step at
 * a time; head q's Shiftmax follows its q.k^T and precedes its attn.v; two slots, so q.k^T of
 * head q + 2 waits for Shiftmax of head q to have read the logits, and Shiftmax of head q + 2
 * for attn.v of head q to have read the probabilities; fc1 of the next chunk waits for fc2
 * (and GELU) to have read fc1's output.
 */
TEST(trace_keeps_the_rules)
{
	static struct vitrt_modeled_step st[4096];
	struct vitrt_modeled_whole w;
	uint64_t busy[2] = { 0 };
	size_t n = 0, heads = 12 * 6 * 8;

	CHECK(!vitrt_modeled_trace(vitrt_modeled_find("deit-s"), &hw_target, 8, st, 4096, &n) &&
	      n == 2 + 12 * (2 + 8 * (3 * 6 + 7)) + 2, "trace: %zu steps", n);
	for (size_t k = 0; k < n && k < 4096; k++) {
		for (size_t j = 0; j < k; j++)
			CHECK(st[j].vector != st[k].vector || st[j].finish <= st[k].start ||
			      st[k].finish <= st[j].start, "steps %zu and %zu overlap", j, k);
		busy[st[k].vector] += st[k].finish - st[k].start;
	}
	CHECK(!vitrt_modeled_whole(vitrt_modeled_find("deit-s"), &hw_target, 8, &w) &&
	      busy[0] == w.array_busy && busy[1] == w.vector_busy, "busy %llu, %llu",
	      (unsigned long long)busy[0], (unsigned long long)busy[1]);
	for (size_t q = 0; q < heads; q++) {
		const struct vitrt_modeled_step *qk = nth(st, n, VITRT_MODELED_QK, q),
			*sm = nth(st, n, VITRT_MODELED_SHIFTMAX, q), *pv = nth(st, n, VITRT_MODELED_AV, q);

		CHECK(qk && sm && pv && sm->start >= qk->finish && pv->start >= sm->finish,
		      "head %zu out of order", q);
		if (q >= 2 && qk && sm)
			CHECK(qk->start >= nth(st, n, VITRT_MODELED_SHIFTMAX, q - 2)->finish &&
			      sm->start >= nth(st, n, VITRT_MODELED_AV, q - 2)->finish,
			      "head %zu reuses a slot too early", q);
	}
	for (size_t c = 1; c < 12 * 8; c++)
		CHECK(nth(st, n, VITRT_MODELED_FC1, c)->start >=
		      nth(st, n, VITRT_MODELED_FC2, c - 1)->finish, "fc1 %zu overwrites", c);
}

/* A larger scratchpad or more bandwidth never costs the whole inference cycles. */
TEST(whole_monotone)
{
	static const uint32_t spads[] = { 32, 64, 128, 256, 384, 512, 1024, 4096 };
	static const uint32_t bws[] = { 2, 4, 8, 16, 32, 64 };
	const struct vitrt_modeled_vit *v = vitrt_modeled_find("deit-t");
	uint64_t by_spad[6] = { 0 };

	for (size_t s = 0; s < sizeof(spads) / sizeof(spads[0]); s++) {
		uint64_t prev = UINT64_MAX;

		for (size_t b = 0; b < sizeof(bws) / sizeof(bws[0]); b++) {
			struct vitrt_modeled_hw hw = { 8, 24, spads[s], bws[b] };
			struct vitrt_modeled_whole w;
			int err = vitrt_modeled_whole(v, &hw, 0, &w);

			CHECK(!err && w.cycles <= prev && (!s || w.cycles <= by_spad[b]),
			      "%u KiB, %u B/cycle: %d, %llu cycles", spads[s], bws[b], err,
			      (unsigned long long)w.cycles);
			prev = by_spad[b] = w.cycles;
		}
	}
}

TEST(whole_bad_parameters)
{
	const struct vitrt_modeled_vit *v = vitrt_modeled_find("deit-t");
	struct vitrt_modeled_hw hw = hw_target;
	struct vitrt_modeled_whole w;

	CHECK(vitrt_modeled_whole(v, NULL, 0, &w) == VITRT_EINVAL, "no hw");
	hw.spad_kib = 0;
	CHECK(vitrt_modeled_whole(v, &hw, 0, &w) == VITRT_EINVAL, "0 KiB");
	hw = (struct vitrt_modeled_hw){ 32, 32, 1, 16 };	/* two 1 KiB tiles in 1 KiB */
	CHECK(vitrt_modeled_whole(v, &hw, 0, &w) == VITRT_EINVAL, "no room for weight tiles");
	hw.spad_kib = 2;
	CHECK(!vitrt_modeled_whole(v, &hw, 0, &w), "2 KiB holds them");
	hw.dram_bw = 0;
	CHECK(vitrt_modeled_whole(v, &hw, 0, &w) == VITRT_EINVAL, "0 bytes/cycle");
	hw.dram_bw = VITRT_MODELED_MAX_BW + 1;
	CHECK(vitrt_modeled_whole(v, &hw, 0, &w) == VITRT_EINVAL, "too fast");
}

TAP_MAIN
