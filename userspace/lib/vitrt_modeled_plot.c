// SPDX-License-Identifier: MIT
/*
 * libvitrt: the per-layer utilization chart of vitrt bench --modeled (the array alone, or the
 * whole inference with the array-only total as a line), drawn by vitrt_chart.c.
 */
#include <stdio.h>

#include "vitrt_chart.h"
#include "vitrt_modeled.h"

/* One bar per GEMM kind and the total: names and sub-labels live in @sub. */
struct modeled_chart {
	struct vitrt_chart c;
	struct vitrt_chart_bar bars[VITRT_MODELED_COUNT + 1];
	char sub[VITRT_MODELED_COUNT][32];
	char title[160], note[160], level[64];
};

static void array_only(struct modeled_chart *m, const struct vitrt_modeled *r)
{
	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		snprintf(m->sub[i], sizeof(m->sub[i]), "x%llu",
			 (unsigned long long)r->layers[i].count);
		m->bars[i] = (struct vitrt_chart_bar){ r->layers[i].name, m->sub[i],
						       r->layers[i].utilization, false };
	}
	m->bars[VITRT_MODELED_COUNT] = (struct vitrt_chart_bar){ "total", NULL, r->utilization,
								 true };
	snprintf(m->title, sizeof(m->title), "%s %u on %ux%u: %.1f%% modeled utilization",
		 r->vit->name, r->vit->img, r->rows, r->cols, r->utilization * 100);
	snprintf(m->note, sizeof(m->note), "bars: one GEMM of each layer (under it: GEMMs per "
		 "image); total: all GEMMs of an image");
}

/*
 * The whole inference: per GEMM kind its utilization with memory stalls and (under it) its
 * share of the critical path; the whole inference; the array-only total as a line.
 */
static void whole(struct modeled_chart *m, const struct vitrt_modeled *r,
		  const struct vitrt_modeled_whole *w)
{
	uint64_t vcrit = 0, pes = (uint64_t)w->hw.rows * w->hw.cols;

	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		const struct vitrt_modeled_cost *c = &w->costs[i];
		uint64_t cyc = c->array + c->stall;

		snprintf(m->sub[i], sizeof(m->sub[i]), "%.1f%% of path",
			 100.0 * c->critical / w->cycles);
		m->bars[i] = (struct vitrt_chart_bar){
			c->name, m->sub[i], cyc ? (double)c->macs / ((double)cyc * pes) : 0, false };
	}
	for (int i = VITRT_MODELED_COUNT; i < VITRT_MODELED_ROWS; i++)
		vcrit += w->costs[i].critical;
	m->bars[VITRT_MODELED_COUNT] = (struct vitrt_chart_bar){ "whole", NULL, w->utilization,
								 true };
	snprintf(m->title, sizeof(m->title), "%s %u on %ux%u, %u KiB, %u B/cycle: %.1f%% whole "
		 "inference", w->vit->name, w->vit->img, w->hw.rows, w->hw.cols, w->hw.spad_kib,
		 w->hw.dram_bw, w->utilization * 100);
	snprintf(m->level, sizeof(m->level), "dashed: the array alone, %.1f%%",
		 r->utilization * 100);
	snprintf(m->note, sizeof(m->note), "bars: the GEMMs of each kind with memory stalls "
		 "(under it: share of the critical path); vector ops %.1f%% of the path",
		 100.0 * vcrit / w->cycles);
	m->c.level_label = m->level;
	m->c.level = r->utilization;
}

int vitrt_modeled_plot(const struct vitrt_modeled *r, const struct vitrt_modeled_whole *w,
		       const char *path, char *msg, size_t cap)
{
	struct modeled_chart m = { .c = { .unit = "utilization", .percent = true } };

	if (w)
		whole(&m, r, w);
	else
		array_only(&m, r);
	m.c.title = m.title;
	m.c.note = m.note;
	m.c.bars = m.bars;
	m.c.nbars = VITRT_MODELED_COUNT + 1;
	return vitrt_chart_png(&m.c, path, msg, cap);
}
