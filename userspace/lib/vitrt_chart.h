/* SPDX-License-Identifier: MIT */
/*
 * libvitrt: bar charts as PNG files, drawn with cairo in a real font (vitrt_chart.c): the
 * per-layer utilization of vitrt bench --modeled and the per-op time of a trace.  The VM's
 * static vitrt has no cairo and no fonts; its vitrt_chart_png says so (vitrt_chart_none.c).
 */
#ifndef VITRT_CHART_H
#define VITRT_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vitrt.h"

struct vitrt_chart_bar {
	const char *name;	/* under the axis */
	const char *sub;	/* a second line under it, or NULL */
	double value;		/* in the chart's unit: a fraction for percent charts */
	bool accent;		/* drawn in the accent colour (a total) */
};

struct vitrt_chart {
	const char *title;
	const char *note;		/* a line at the bottom, or NULL */
	const char *unit;		/* the y axis' caption, e.g. "utilization" or "ms" */
	bool percent;			/* values are fractions, the axis 0..100% */
	const struct vitrt_chart_bar *bars;
	uint32_t nbars;
	const char *level_label;	/* a dashed line at @level, explained by this, or NULL */
	double level;
};

/* Size of every chart; the colours of its bars and of accented ones (and the level), RGB. */
#define VITRT_CHART_WIDTH	960u
#define VITRT_CHART_HEIGHT	600u
#define VITRT_CHART_BAR		70, 110, 180
#define VITRT_CHART_ACCENT	220, 120, 40

/*
 * @c as a VITRT_CHART_WIDTH x _HEIGHT RGB PNG at @path (a temporary file, then renamed).
 * Errors name @path: VITRT_EIO, VITRT_ENOMEM, VITRT_EUNSUPPORTED without cairo.
 */
int vitrt_chart_png(const struct vitrt_chart *c, const char *path, char *msg, size_t cap);

/* Where bar @i of @c would show @value: its centre column and its top row, in pixels. */
int vitrt_chart_bar_x(const struct vitrt_chart *c, uint32_t i);
int vitrt_chart_bar_top(const struct vitrt_chart *c, double value);

#endif /* VITRT_CHART_H */
