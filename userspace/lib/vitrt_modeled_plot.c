// SPDX-License-Identifier: MIT
/*
 * libvitrt: the per-layer utilization chart of vitrt bench --modeled (the array alone, or the
 * whole inference with the array-only total as a line).  A few filled
 * rectangles and a 3x5 bitmap font on an RGB canvas, written by vitrt_image_write_png (which
 * already does the temporary file and rename): no plotting library to depend on.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_image.h"
#include "vitrt_modeled.h"

/* Planar RGB, as struct vitrt_image holds it. */
struct canvas {
	uint32_t w, h;
	uint8_t *pix;		/* [3][h][w] */
};

struct rgb {
	uint8_t r, g, b;
};

static const struct rgb WHITE = { 255, 255, 255 }, BLACK = { 0, 0, 0 },
			GRID = { 225, 225, 225 }, BAR = { 70, 110, 180 },
			TOTAL = { 220, 120, 40 };

/*
 * The font: glyph i of font_chars is 5 rows, top first, each an octal digit whose bits 4, 2, 1
 * are the left, middle and right pixel.  Letters are capitals; text is matched case-blind.
 */
static const char font_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz.%^-_:()/";
static const char font_rows[][6] = {
	"75557", "26227", "71747", "71317", "55711", "74717", "74757", "71122", "75757", "75717",
	"25755", "65656", "34443", "65556", "74647", "74644", "34553", "55755", "72227", "11152",
	"55655", "44447", "57755", "65555", "25552", "65644", "25563", "65655", "34216", "72222",
	"55557", "55552", "55775", "55255", "55222", "71247", "00002", "51245", "25000", "00700",
	"00007", "02020", "12221", "42224", "11244",
};
_Static_assert(sizeof(font_rows) / sizeof(font_rows[0]) == sizeof(font_chars) - 1,
	       "one glyph per font character");

#define GLYPH_W 3
#define GLYPH_H 5

/* Clipped to the canvas, so callers need not check their arithmetic at the edges. */
static void fill(struct canvas *cv, int x0, int y0, int x1, int y1, struct rgb c)
{
	size_t plane = (size_t)cv->w * cv->h;

	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > (int)cv->w ? (int)cv->w : x1;
	y1 = y1 > (int)cv->h ? (int)cv->h : y1;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++) {
			size_t i = (size_t)y * cv->w + x;

			cv->pix[i] = c.r;
			cv->pix[plane + i] = c.g;
			cv->pix[2 * plane + i] = c.b;
		}
}

static void glyph(struct canvas *cv, int x, int y, int scale, char ch, struct rgb c)
{
	const char *at = strchr(font_chars, tolower((unsigned char)ch));

	if (!ch || !at)		/* spaces and unknown characters stay blank */
		return;
	for (int row = 0; row < GLYPH_H; row++) {
		int bits = font_rows[at - font_chars][row] - '0';

		for (int col = 0; col < GLYPH_W; col++)
			if (bits & (4 >> col))
				fill(cv, x + col * scale, y + row * scale, x + (col + 1) * scale,
				     y + (row + 1) * scale, c);
	}
}

/* Pixels @s takes at @scale: glyphs one pixel column apart. */
static int text_width(const char *s, int scale)
{
	size_t n = strlen(s);

	return n ? (int)(n * (GLYPH_W + 1) - 1) * scale : 0;
}

static void text(struct canvas *cv, int x, int y, int scale, const char *s, struct rgb c)
{
	for (; *s; s++, x += (GLYPH_W + 1) * scale)
		glyph(cv, x, y, scale, *s, c);
}

/* Text centred on @cx. */
static void text_c(struct canvas *cv, int cx, int y, int scale, const char *s, struct rgb c)
{
	text(cv, cx - text_width(s, scale) / 2, y, scale, s, c);
}

/* The plot area, in pixels: 100% at top, 0% at bottom. */
enum { LEFT = 64, RIGHT = 624, TOP = 56, BOTTOM = 336 };

static int y_of(double u)
{
	u = u < 0 ? 0 : u > 1 ? 1 : u;
	return BOTTOM - (int)(u * (BOTTOM - TOP) + 0.5);
}

/* Axes, a tick every 10% and a labelled grid line every 20%. */
static void axes(struct canvas *cv)
{
	char label[16];	/* room for any int: -O1 cannot prove p <= 100 */

	for (int p = 0; p <= 100; p += 10) {
		int y = y_of(p / 100.0), major = p % 20 == 0;

		if (major && p)
			fill(cv, LEFT + 1, y, RIGHT, y + 1, GRID);
		fill(cv, LEFT - (major ? 8 : 4), y, LEFT, y + 1, BLACK);
		if (major) {
			snprintf(label, sizeof(label), "%d%%", p);
			text(cv, LEFT - 12 - text_width(label, 2), y - GLYPH_H, 2, label, BLACK);
		}
	}
	fill(cv, LEFT - 1, TOP - 4, LEFT, BOTTOM + 1, BLACK);
	fill(cv, LEFT - 1, BOTTOM, RIGHT, BOTTOM + 1, BLACK);
}

/* Bar @i of @n: its value above it, its name and @sub (if any) below the axis. */
static void bar(struct canvas *cv, int i, int n, double u, const char *name, const char *sub,
		struct rgb c)
{
	int slot = (RIGHT - LEFT) / n, cx = LEFT + slot * i + slot / 2, half = slot * 7 / 20;
	char label[24];

	fill(cv, cx - half, y_of(u), cx + half, BOTTOM, c);
	snprintf(label, sizeof(label), "%.1f", u * 100);
	text_c(cv, cx, y_of(u) - 2 * GLYPH_H - 4, 2, label, BLACK);
	text_c(cv, cx, BOTTOM + 10, 2, name, BLACK);
	if (sub)
		text_c(cv, cx, BOTTOM + 28, 2, sub, BLACK);
}

/* A dashed line across the plot at @u, explained under the title (bar labels crowd it). */
static void level(struct canvas *cv, double u, const char *label)
{
	int y = y_of(u);

	for (int x = LEFT; x < RIGHT; x += 12)
		fill(cv, x, y, x + 6, y + 2, TOTAL);
	text_c(cv, cv->w / 2, 32, 1, label, BLACK);
}

static void draw(struct canvas *cv, const struct vitrt_modeled *r)
{
	char title[96], sub[24];
	int n = VITRT_MODELED_COUNT + 1;

	fill(cv, 0, 0, cv->w, cv->h, WHITE);
	snprintf(title, sizeof(title), "%s %u on %ux%u: %.1f%% modeled utilization",
		 r->vit->name, r->vit->img, r->rows, r->cols, r->utilization * 100);
	text_c(cv, cv->w / 2, 14, 2, title, BLACK);
	axes(cv);
	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		snprintf(sub, sizeof(sub), "x%llu", (unsigned long long)r->layers[i].count);
		bar(cv, i, n, r->layers[i].utilization, r->layers[i].name, sub, BAR);
	}
	bar(cv, n - 1, n, r->utilization, "total", NULL, TOTAL);
	text_c(cv, cv->w / 2, cv->h - 14, 1,
	       "bars: one gemm of each layer (x gemms per image); total: all gemms of an image", BLACK);
}

/*
 * The whole inference: per GEMM kind its utilization with memory stalls and (below) its share
 * of the critical path; the whole inference's utilization; the array-only total as a line.
 */
static void draw_whole(struct canvas *cv, const struct vitrt_modeled *r,
		       const struct vitrt_modeled_whole *w)
{
	char title[128], sub[32];
	int n = VITRT_MODELED_COUNT + 1;
	uint64_t vcrit = 0, pes = (uint64_t)w->hw.rows * w->hw.cols;

	fill(cv, 0, 0, cv->w, cv->h, WHITE);
	snprintf(title, sizeof(title), "%s %u on %ux%u %u kib %u b/cycle: %.1f%% whole inference",
		 w->vit->name, w->vit->img, w->hw.rows, w->hw.cols, w->hw.spad_kib, w->hw.dram_bw,
		 w->utilization * 100);
	text_c(cv, cv->w / 2, 14, 2, title, BLACK);
	axes(cv);
	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		const struct vitrt_modeled_cost *c = &w->costs[i];
		uint64_t cyc = c->array + c->stall;

		snprintf(sub, sizeof(sub), "%.1f%%", 100.0 * c->critical / w->cycles);
		bar(cv, i, n, cyc ? (double)c->macs / ((double)cyc * pes) : 0, c->name, sub, BAR);
	}
	for (int i = VITRT_MODELED_COUNT; i < VITRT_MODELED_ROWS; i++)
		vcrit += w->costs[i].critical;
	bar(cv, n - 1, n, w->utilization, "whole", NULL, TOTAL);
	snprintf(sub, sizeof(sub), "dashed: array only %.1f%%", r->utilization * 100);
	level(cv, r->utilization, sub);
	snprintf(title, sizeof(title), "bars: the gemms of each kind with memory stalls (below: "
		 "share of the critical path); vector ops %.1f%% of it", 100.0 * vcrit / w->cycles);
	text_c(cv, cv->w / 2, cv->h - 14, 1, title, BLACK);
}

int vitrt_modeled_plot(const struct vitrt_modeled *r, const struct vitrt_modeled_whole *w,
		       const char *path, char *msg, size_t cap)
{
	struct canvas cv = { VITRT_MODELED_PLOT_W, VITRT_MODELED_PLOT_H, NULL };
	struct vitrt_image img = { .chans = 3, .height = cv.h, .width = cv.w };
	int err;

	cv.pix = malloc(3 * (size_t)cv.w * cv.h);
	if (!cv.pix) {
		snprintf(msg, cap, "%s: out of memory", path);
		return VITRT_ENOMEM;
	}
	if (w)
		draw_whole(&cv, r, w);
	else
		draw(&cv, r);
	img.pix = cv.pix;
	err = vitrt_image_write_png(path, &img, msg, cap);
	free(cv.pix);
	return err;
}
