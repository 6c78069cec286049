// SPDX-License-Identifier: MIT
/*
 * libvitrt: bar charts drawn with cairo in DejaVu Sans (fontconfig picks the nearest face if
 * it is missing).  The picture goes out through vitrt_image_write_png, which writes a
 * temporary file and renames it, so a failed write leaves no half a PNG behind.
 */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_chart.h"
#include "vitrt_image.h"
#include "vitrt_utf8.h"

/* The plot area in pixels; the axis' value 0 is at BOTTOM. */
enum { LEFT = 96, RIGHT = VITRT_CHART_WIDTH - 32, TOP = 84, BOTTOM = VITRT_CHART_HEIGHT - 124 };

/* 8-bit colours, so that the picture holds exactly these values where they are solid. */
struct rgb {
	uint8_t r, g, b;
};

static const struct rgb INK = { 34, 34, 34 }, GRID = { 225, 225, 225 },
			BAR = { VITRT_CHART_BAR }, ACCENT = { VITRT_CHART_ACCENT },
			MUTED = { 100, 100, 100 };

#define FONT "DejaVu Sans"

static void colour(cairo_t *cr, struct rgb c)
{
	cairo_set_source_rgb(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0);
}

/*
 * @s at @size with its centre at @cx and its baseline at @y (rotated by @deg about it).  cairo
 * takes only UTF-8, and a title may hold a file name: other bytes show as U+FFFD.
 */
static void text_at(cairo_t *cr, const char *s, double size, bool bold, double cx, double y,
		    double deg)
{
	char *text = vitrt_utf8_repair(s, NULL);
	cairo_text_extents_t e;

	if (!text)
		return;		/* out of memory: the label is left out */
	s = text;

	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
	cairo_text_extents(cr, s, &e);
	cairo_save(cr);
	cairo_translate(cr, cx, y);
	cairo_rotate(cr, deg * M_PI / 180);
	/* rotated labels hang from their end, so that they end under their bar */
	cairo_move_to(cr, deg ? -e.x_advance : -e.x_advance / 2, 0);
	cairo_show_text(cr, s);
	cairo_restore(cr);
	free(text);
}

/* The axis' top value: 100% for percent charts, else 1, 2 or 5 x 10^k above the largest bar. */
static double axis_max(const struct vitrt_chart *c)
{
	static const double nice[] = { 1, 2, 5, 10 };
	double top = 0, step;

	if (c->percent)
		return 1;
	for (uint32_t i = 0; i < c->nbars; i++)
		top = c->bars[i].value > top ? c->bars[i].value : top;
	if (!(top > 0))
		return 1;
	step = pow(10, floor(log10(top)));
	for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]); i++)
		if (nice[i] * step >= top * 1.08)	/* room for the value over the tallest bar */
			return nice[i] * step;
	return 20 * step;
}

int vitrt_chart_bar_top(const struct vitrt_chart *c, double value)
{
	double u = value / axis_max(c);

	u = u < 0 ? 0 : u > 1 ? 1 : u;
	return BOTTOM - (int)lround(u * (BOTTOM - TOP));
}

int vitrt_chart_bar_x(const struct vitrt_chart *c, uint32_t i)
{
	double slot = (double)(RIGHT - LEFT) / (c->nbars ? c->nbars : 1);

	return LEFT + (int)lround(slot * i + slot / 2);
}

static void value_text(const struct vitrt_chart *c, double v, char *buf, size_t cap)
{
	if (c->percent)
		snprintf(buf, cap, "%.1f%%", v * 100);
	else
		snprintf(buf, cap, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
}

/* Grid lines and labels at ten steps of the axis, a caption along it. */
static void axes(cairo_t *cr, const struct vitrt_chart *c)
{
	double max = axis_max(c);
	char label[32];

	cairo_set_line_width(cr, 1);
	for (int i = 0; i <= 10; i++) {
		double y = BOTTOM - (BOTTOM - TOP) * i / 10.0 + 0.5;

		colour(cr, i ? GRID : INK);
		cairo_move_to(cr, LEFT, y);
		cairo_line_to(cr, RIGHT, y);
		cairo_stroke(cr);
		if (i % 2)
			continue;
		if (c->percent)
			snprintf(label, sizeof(label), "%d%%", i * 10);
		else
			value_text(c, max * i / 10, label, sizeof(label));
		colour(cr, INK);
		text_at(cr, label, 13, false, LEFT - 30, y + 4, 0);
	}
	colour(cr, MUTED);
	text_at(cr, c->unit, 14, false, 26, (TOP + BOTTOM) / 2.0, -90);
}

static void bars(cairo_t *cr, const struct vitrt_chart *c)
{
	double slot = (double)(RIGHT - LEFT) / c->nbars, half = slot * 0.34;
	bool tilt = false;
	char label[32];

	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 13);
	for (uint32_t i = 0; i < c->nbars; i++) {	/* names tilt when one is wider than its slot */
		cairo_text_extents_t e;

		cairo_text_extents(cr, c->bars[i].name, &e);
		tilt |= e.x_advance > slot - 6;
	}
	for (uint32_t i = 0; i < c->nbars; i++) {
		const struct vitrt_chart_bar *b = &c->bars[i];
		int x = vitrt_chart_bar_x(c, i), top = vitrt_chart_bar_top(c, b->value);

		colour(cr, b->accent ? ACCENT : BAR);
		cairo_rectangle(cr, x - half, top, 2 * half, BOTTOM - top);
		cairo_fill(cr);
		colour(cr, INK);
		value_text(c, b->value, label, sizeof(label));
		text_at(cr, label, 12, false, x, top - 7, 0);
		text_at(cr, b->name, 13, b->accent, tilt ? x + 6 : x, BOTTOM + 20, tilt ? -35 : 0);
		if (b->sub && !tilt) {
			colour(cr, MUTED);
			text_at(cr, b->sub, 12, false, x, BOTTOM + 38, 0);
		}
	}
}

/* A dashed line across the plot at @c->level, its meaning under the title. */
static void level(cairo_t *cr, const struct vitrt_chart *c)
{
	double y = vitrt_chart_bar_top(c, c->level) + 0.5;
	const double dash[] = { 8, 5 };

	colour(cr, ACCENT);
	cairo_set_line_width(cr, 2);
	cairo_set_dash(cr, dash, 2, 0);
	cairo_move_to(cr, LEFT, y);
	cairo_line_to(cr, RIGHT, y);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0);
	text_at(cr, c->level_label, 13, false, VITRT_CHART_WIDTH / 2.0, 62, 0);
}

static void draw(cairo_t *cr, const struct vitrt_chart *c)
{
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	colour(cr, INK);
	text_at(cr, c->title, 19, true, VITRT_CHART_WIDTH / 2.0, 36, 0);
	axes(cr, c);
	if (c->level_label)	/* behind the bars, like the grid */
		level(cr, c);
	if (c->nbars)
		bars(cr, c);
	if (c->note) {
		colour(cr, MUTED);
		text_at(cr, c->note, 12, false, VITRT_CHART_WIDTH / 2.0, VITRT_CHART_HEIGHT - 14, 0);
	}
}

/* cairo's native-endian xRGB words as planar RGB. */
static void to_planar(cairo_surface_t *s, uint8_t *pix)
{
	const uint8_t *data = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	size_t plane = (size_t)VITRT_CHART_WIDTH * VITRT_CHART_HEIGHT;

	for (uint32_t y = 0; y < VITRT_CHART_HEIGHT; y++)
		for (uint32_t x = 0; x < VITRT_CHART_WIDTH; x++) {
			uint32_t v;
			size_t i = (size_t)y * VITRT_CHART_WIDTH + x;

			memcpy(&v, data + (size_t)y * stride + 4 * x, 4);
			pix[i] = v >> 16;
			pix[plane + i] = v >> 8;
			pix[2 * plane + i] = v;
		}
}

int vitrt_chart_png(const struct vitrt_chart *c, const char *path, char *msg, size_t cap)
{
	struct vitrt_image img = { .chans = 3, .height = VITRT_CHART_HEIGHT, .width = VITRT_CHART_WIDTH };
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, VITRT_CHART_WIDTH,
							VITRT_CHART_HEIGHT);
	cairo_t *cr = cairo_create(s);
	int err = VITRT_ENOMEM;

	draw(cr, c);
	cairo_surface_flush(s);
	img.pix = malloc(3ull * VITRT_CHART_WIDTH * VITRT_CHART_HEIGHT);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
		snprintf(msg, cap, "%s: drawing failed: %s", path,
			 cairo_status_to_string(cairo_status(cr)));
	} else if (!img.pix) {
		snprintf(msg, cap, "%s: out of memory", path);
	} else {
		to_planar(s, img.pix);
		err = vitrt_image_write_png(path, &img, msg, cap);
	}
	free(img.pix);
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	return err;
}
