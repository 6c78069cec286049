// SPDX-License-Identifier: MIT
/*
 * vitrt bench --kernels: each GEMM kernel this CPU runs, on the GEMM shapes of a DeiT-S
 * block at 224 (batch 1), through the in-process device on one thread, as multiply-
 * accumulates per second and as a fraction of the kernel's own peak (its multiply instruction
 * alone); then the best kernel on every thread.  Figures to read, never to assert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vitrt.h"
#include "vitrt_cli.h"
#include "vitrt_pool.h"

struct shape {
	const char *name;
	uint32_t m, n, k;
	enum vitrt_type a;
	uint32_t flags;
};

/* DeiT-S, 197 tokens, dim 384, 6 heads of 64, MLP 1536: every GEMM kind of a block. */
static const struct shape shapes[] = {
	{ "qkv", 197, 1152, 384, VITRT_S8, VITRT_GEMM_B_TRANS | VITRT_GEMM_BIAS },
	{ "q.k^T", 197, 197, 64, VITRT_S8, VITRT_GEMM_B_TRANS },
	{ "p.v", 197, 64, 197, VITRT_U8, 0 },
	{ "proj", 197, 384, 384, VITRT_S8, VITRT_GEMM_B_TRANS | VITRT_GEMM_BIAS },
	{ "fc1", 197, 1536, 384, VITRT_S8, VITRT_GEMM_B_TRANS | VITRT_GEMM_BIAS },
	{ "fc2", 197, 384, 1536, VITRT_S8, VITRT_GEMM_B_TRANS | VITRT_GEMM_BIAS },
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One buffer per operand, filled with a fixed pseudo-random pattern; shifts in range. */
static struct vitrt_buf *operand(struct vitrt_dev *dev, size_t size, int *err)
{
	struct vitrt_buf *b = vitrt_buf_new(dev, size, err);
	uint8_t *p = b ? vitrt_buf_map(b) : NULL;

	for (size_t i = 0; p && i < size; i++)
		p[i] = (uint8_t)(i * 2654435761u >> 13);
	return b;
}

/* Multiply-accumulates per second of @s on @dev, over about 0.2 s. */
static double time_shape(struct vitrt_dev *dev, const struct shape *s, int *err)
{
	struct vitrt_buf *a = operand(dev, (size_t)s->m * s->k, err);
	struct vitrt_buf *b = a ? operand(dev, (size_t)s->n * s->k, err) : NULL;
	struct vitrt_buf *c = b ? operand(dev, (size_t)s->m * s->n, err) : NULL;
	struct vitrt_buf *t = c ? operand(dev, 12ull * s->n, err) : NULL;
	struct vitrt_gemm g = {
		.m = s->m, .n = s->n, .k = s->k, .flags = s->flags | VITRT_GEMM_REQUANT,
		.a_type = s->a, .b_type = VITRT_S8, .c_type = VITRT_S8,
		.a = { a, 0, s->k }, .b = { b, 0, (s->flags & VITRT_GEMM_B_TRANS) ? s->k : s->n },
		.c = { c, 0, s->n }, .rq = { t, 4ull * s->n, 0 },
		.bias = { (s->flags & VITRT_GEMM_BIAS) ? t : NULL, 0, 0 },
	};
	double t0, sec = 0;
	uint64_t fence, runs = 0;

	for (uint32_t j = 0; t && j < s->n; j++) {	/* requant table: {mult, shift 24} */
		uint32_t *rq = (uint32_t *)((uint8_t *)vitrt_buf_map(t) + 4ull * s->n) + 2 * j;

		rq[1] = 24;
	}
	t0 = now_s();
	while (t && !*err && sec < 0.2) {
		*err = vitrt_submit(dev, &g, 1, &fence) ?:
		       vitrt_wait(dev, fence, 10ull << 30, NULL);
		runs++;
		sec = now_s() - t0;
	}
	vitrt_buf_del(t);
	vitrt_buf_del(c);
	vitrt_buf_del(b);
	vitrt_buf_del(a);
	return t && !*err ? (double)runs * s->m * s->n * s->k / sec : 0;
}

/* @kern's figures on @threads as {kernel, threads, peak_gmacs_per_core, shapes [...]}. */
static json_t *kernel_json(const char *kern, uint32_t threads, double peak, const double *r)
{
	json_t *shp = json_array();
	int err = 0;

	for (size_t i = 0; i < NSHAPES && !err; i++)
		err = cli_json_push(shp, json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}",
			"name", shapes[i].name, "m", (json_int_t)shapes[i].m,
			"n", (json_int_t)shapes[i].n, "k", (json_int_t)shapes[i].k,
			"gmacs", cli_json_fixed(r[i] * 1e-9, 1),
			"of_peak", cli_json_fixed(peak ? r[i] / (peak * threads) : 0, 3)));
	if (err) {
		json_decref(shp);
		shp = NULL;
	}
	return json_pack("{s:s, s:I, s:o, s:o}", "kernel", kern, "threads", (json_int_t)threads,
			 "peak_gmacs_per_core", cli_json_fixed(peak * 1e-9, 1), "shapes", shp);
}

/* One line per kernel and thread count, or with @results an object appended to it. */
static int kernel_line(struct vitrt_dev *dev, const char *kern, uint32_t threads,
		       json_t *results)
{
	double peak, r[NSHAPES];
	int err = 0;

	if (vitrt_cpu_select(kern) || vitrt_set_threads(threads))
		return VITRT_EINVAL;
	peak = vitrt_cpu_peak(0.2);
	for (size_t i = 0; i < NSHAPES && !err; i++)
		r[i] = time_shape(dev, &shapes[i], &err);
	if (err)
		return err;
	if (results)
		return cli_json_push(results, kernel_json(kern, threads, peak, r));
	printf("%-11s %7u %9.1f", kern, threads, peak * 1e-9);
	for (size_t i = 0; i < NSHAPES; i++)
		printf("  %6.1f %3.0f%%", r[i] * 1e-9, peak ? 100 * r[i] / (peak * threads) : 0);
	printf("\n");
	return 0;
}

static void print_header(void)
{
	printf("GEMM kernels on DeiT-S's shapes (M x N x K), GMAC/s and %% of the kernel's "
	       "peak (its multiply alone, per core x threads)\n%-11s %7s %9s", "kernel",
	       "threads", "peak/core");
	for (size_t i = 0; i < NSHAPES; i++)
		printf("  %11s", shapes[i].name);
	printf("\n");
}

int bench_kernels(bool json)
{
	uint32_t all = vitrt_threads();
	char kernels[64], best[16] = "", *save, *k;
	json_t *results = json ? json_array() : NULL;
	int err = 0;
	struct vitrt_dev *dev = vitrt_dev_open("sim", &err);

	if (!dev) {
		json_decref(results);
		return die("bench: the in-process device: %s", vitrt_strerror(err));
	}
	snprintf(kernels, sizeof(kernels), "%s", vitrt_cpu_kernels());
	if (json && !results)
		err = VITRT_ENOMEM;
	else if (!json)
		print_header();
	for (k = strtok_r(kernels, " ", &save); k && !err; k = strtok_r(NULL, " ", &save)) {
		err = kernel_line(dev, k, 1, results);
		snprintf(best, sizeof(best), "%s", k);
	}
	if (!err && all > 1)
		err = kernel_line(dev, best, all, results);
	vitrt_dev_close(dev);
	vitrt_set_threads(0);
	if (err) {
		json_decref(results);
		return die("bench: %s", vitrt_strerror(err));
	}
	if (!json)
		return 0;
	return cli_json_print(json_pack("{s:s, s:o}", "cpu_kernels", vitrt_cpu_kernels(),
					"results", results), false);
}
