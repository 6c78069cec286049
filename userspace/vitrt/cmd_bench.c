// SPDX-License-Identifier: MIT
/*
 * vitrt bench MODEL: images per second of the integer program on a backend and, with --fp32,
 * of the FP32 reference forward, on the same images in the same run.
 * vitrt bench --modeled --model deit-s: the modeled whole inference of a DeiT image (GEMMs,
 * vector ops, memory stalls) and the array-only figure of its GEMMs (libvitrt's
 * vitrt_modeled), as tables, JSON or a PNG chart.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vitrt_cli.h"
#include "vitrt_infer.h"
#include "vitrt_modeled.h"
#include "vitrt_pool.h"
#include "vitrt_prog.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct bench_opts {
	const char *model, *fp32, *backend;	/* measured */
	const char *devices;			/* measured, sharded over devices */
	const char *trace;			/* measured: --trace FILE */
	uint32_t n, batch;
	bool modeled, json;
	bool kernels;				/* the GEMM kernel microbenchmark */
	const char *vit, *plot;
	uint32_t rows, cols;			/* 0 until --array: 16x16, as the sim's array */
	uint32_t spad_kib, dram_bw;		/* 0 until --spad, --dram-bw */
	struct prep_opts given;			/* --mean, --std for the checkpoint */
};

static int usage(int status)
{
	printf("usage: vitrt bench MODEL [--fp32 CKPT [--mean M --std S]] [-n IMAGES]\n"
	       "                   [-b BACKEND] [--batch B] [--threads N] [--json]\n"
	       "                   [--trace FILE]\n"
	       "       vitrt bench --modeled --model NAME [--array RxC] [--spad KIB]\n"
	       "                   [--dram-bw BYTES] [--json] [--plot FILE.png]\n"
	       "       vitrt bench --kernels [--json]\n"
	       "Images per second of the compiled model (and of the FP32 checkpoint) on\n"
	       "pseudo-random images, after one warm-up image each.  --threads N (taken by every\n"
	       "command) sets the threads of the in-process device and the integer CPU ops;\n"
	       "VITRT_CPU its GEMM kernel (vitrt --help).  --batch B (1..%u) classifies B images\n"
	       "per call: in-process, B images at once, one per thread.\n"
	       DEVICES_USAGE
	       "                      (and per device: jobs and modeled cycles; images/s by\n"
	       "                      the busiest device's cycles at 1 GHz)\n"
	       TRACE_USAGE
	       "                      (the warm-up batch too; tracing slows the run down)\n"
	       NORM_USAGE
	       "      --json          one JSON object: model, checkpoint (the file names as\n"
	       "                      given; null without --fp32), images, img, scheme,\n"
	       "                      backend (sim or dev), device (its node, or in-process),\n"
	       "                      kernel and threads (null on dev), batch, schedule (whole\n"
	       "                      or split), in_flight (batches the device holds at once:\n"
	       "                      2 on a /dev/vitsaN running whole batches, else 1),\n"
	       "                      int_images_per_s, int_ms_per_image,\n"
	       "                      fp32_images_per_s, fp32_ms_per_image, speedup (null\n"
	       "                      without --fp32), devices [{images, jobs, cycles}] and\n"
	       "                      device_images_per_s (null without --devices)\n\n"
	       "With --kernels, every GEMM kernel this CPU runs on DeiT-S's GEMM shapes, one\n"
	       "thread, then the best one on all threads: GMAC/s and the fraction of the\n"
	       "kernel's peak (its multiply instruction alone, per core).\n\n"
	       "With --modeled, no model file: one 224x224 image of a DeiT on the modeled\n"
	       "accelerator (Documentation/hw/vitsa.rst).  First every GEMM as a job of its own\n"
	       "on the array alone (the array-only utilization, MACs / (cycles * rows * cols));\n"
	       "then the whole inference: GEMMs waiting for DRAM, the I-ViT ops on the vector\n"
	       "unit, both scheduled, per layer kind and in total.\n"
	       "      --model NAME    deit-t, deit-s or deit-b\n"
	       "      --array RxC     PE rows x columns, 1..%u each (default 16x16)\n"
	       "      --spad KIB      scratchpad KiB, 1..%u (default %u)\n"
	       "      --dram-bw B     DRAM bytes per cycle, 1..%u (default %u)\n"
	       "      --json          one object: model, array, rows, cols, tokens, cycles, macs,\n"
	       "                      utilization (0..1) and layers [{name, m, n, k, count,\n"
	       "                      cycles, macs, utilization}] (array only, cycles and macs\n"
	       "                      of one GEMM), and whole {spad_kib, dram_bw, chunks, tc,\n"
	       "                      spilled [names], cycles, macs, utilization, array_busy,\n"
	       "                      vector_busy, dram_bytes, layers [{name, steps, macs, array,\n"
	       "                      stall, vector, dram_bytes, critical}]}, and plot (the\n"
	       "                      --plot file name as given, or null)\n"
	       "      --plot FILE     a %ux%u PNG bar chart of per-layer utilization\n",
	       VITRT_MAX_BATCH, VITRT_ARRAY_MAX_SIDE, VITRT_MODELED_MAX_SPAD_KIB,
	       VITRT_MODELED_SPAD_KIB, VITRT_MODELED_MAX_BW, VITRT_MODELED_DRAM_BW,
	       VITRT_MODELED_PLOT_W, VITRT_MODELED_PLOT_H);
	return status;
}

/* Options of the two forms; the form's own checks follow in parse_rest. */
static int parse_rest(int argc, char **argv, struct bench_opts *o)
{
	if (o->kernels) {
		if (optind != argc || o->modeled || o->fp32 || o->backend || o->vit || o->plot ||
		    o->spad_kib || o->dram_bw || o->trace)
			return die("bench: --kernels takes only --json and --threads"), 2;
		return 0;
	}
	if (o->modeled) {
		if (optind != argc)
			return die("bench: --modeled takes no MODEL file (see --help)"), 2;
		if (!o->vit)
			return die("bench: --modeled needs --model %s", vitrt_modeled_names()), 2;
		if (o->fp32 || o->backend || o->devices || o->trace)
			return die("bench: --fp32, --backend, --devices and --trace measure a MODEL "
				   "file, not --modeled"), 2;
		return 0;
	}
	if (o->vit || o->plot || o->rows || o->spad_kib || o->dram_bw)
		return die("bench: --model, --array, --spad, --dram-bw and --plot go with "
			   "--modeled"), 2;
	if (!o->fp32 && prep_norm_unused(&o->given, "bench"))
		return 2;
	if (!o->batch || o->batch > VITRT_MAX_BATCH)
		return die("bench: --batch wants 1..%u", VITRT_MAX_BATCH), 2;
	if (optind + 1 != argc || !o->n)
		return die("bench: need MODEL and a positive image count (see --help)"), 2;
	o->model = argv[optind];
	return 0;
}

/* A decimal @lo..@hi into *@out, or a message naming @opt. */
static int parse_range(const char *opt, const char *arg, uint32_t lo, uint32_t hi,
		       uint32_t *out)
{
	char *end;
	unsigned long v;

	if (arg[0] < '0' || arg[0] > '9' ||
	    (errno = 0, v = strtoul(arg, &end, 10), errno || *end) || v < lo || v > hi)
		return die("bench: %s wants a whole number %u..%u, not '%s'", opt, lo, hi, arg), 2;
	*out = (uint32_t)v;
	return 0;
}

static int parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longs[] = {
		{ "fp32", 1, 0, 'F' }, { "images", 1, 0, 'n' }, { "backend", 1, 0, 'b' },
		{ "modeled", 0, 0, 'M' }, { "model", 1, 0, 'm' }, { "array", 1, 0, 'A' },
		{ "json", 0, 0, 'j' }, { "plot", 1, 0, 'P' }, { "kernels", 0, 0, 'K' },
		{ "batch", 1, 0, 'B' }, { "devices", 1, 0, 'D' }, { "spad", 1, 0, 'S' },
		{ "dram-bw", 1, 0, 'W' }, { "trace", 1, 0, 'T' }, NORM_LONG_OPTIONS,
		{ "help", 0, 0, 'h' }, { 0 },
	};
	int c;

	*o = (struct bench_opts){ .n = 200, .batch = 1, .given = PREP_OPTS_INIT };
	while ((c = getopt_long(argc, argv, "n:b:h", longs, NULL)) != -1) {
		switch (c) {
		case 'F': o->fp32 = optarg; break;
		case 'n': o->n = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'b': o->backend = optarg; break;
		case 'M': o->modeled = true; break;
		case 'K': o->kernels = true; break;
		case 'B': o->batch = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'D': o->devices = optarg; break;
		case 'T': o->trace = optarg; break;
		case 'm': o->vit = optarg; break;
		case 'A':
			if (vitrt_array_parse(optarg, &o->rows, &o->cols))
				return die("bench: --array wants RxC with each side 1..%u, not '%s'",
					   VITRT_ARRAY_MAX_SIDE, optarg), 2;
			break;
		case 'S':
			if (parse_range("--spad", optarg, 1, VITRT_MODELED_MAX_SPAD_KIB, &o->spad_kib))
				return 2;
			break;
		case 'W':
			if (parse_range("--dram-bw", optarg, 1, VITRT_MODELED_MAX_BW, &o->dram_bw))
				return 2;
			break;
		case 'j': o->json = true; break;
		case 'P': o->plot = optarg; break;
		case PREP_OPT_MEAN:
		case PREP_OPT_STD:
			if (prep_option(c, optarg, &o->given, "bench"))
				return 2;
			break;
		case 'h': exit(usage(0));
		default: return usage(2);
		}
	}
	return parse_rest(argc, argv, o);
}

/*
 * @n images (rounded up to whole batches) of @pix, with as many batches in flight as @inf
 * takes (vitrt_infer_depth): the device computes one while the host collects another.
 * Every batch is collected, also after an error: the first error is returned.
 */
static int batches(struct cli_trace *tr, struct vitrt_infer *inf, const uint8_t *pix,
		   uint32_t batch, uint32_t n, struct cli_progress *bar)
{
	struct vitrt_result r[VITRT_MAX_BATCH];
	uint32_t depth = vitrt_infer_depth(inf), queued = 0, done = 0, got;
	int err = 0, e;

	while (queued || (done < n && !err)) {
		if (done < n && !err && queued < depth) {
			err = cli_trace_submit_batch(tr, inf, pix, batch);
			queued += !err;
			done += batch;
			continue;
		}
		e = cli_trace_collect_batch(tr, inf, r, &got);
		err = err ?: e;
		queued--;
		if (bar)
			cli_progress_add(bar, got);
	}
	return err;
}

/*
 * Seconds per image over @n images (rounded up to whole batches), after a warm-up batch for
 * each set of sessions in flight; with @tr (--trace), every batch traced.
 */
static double timed(struct cli_trace *tr, struct vitrt_infer *inf, const uint8_t *pix,
		    uint32_t batch, uint32_t n, const char *what, int *err)
{
	struct cli_progress bar;
	uint32_t done = (n + batch - 1) / batch * batch;
	double t0, t;

	*err = vitrt_infer_set_batch(inf, batch);
	if (!*err)
		*err = batches(tr, inf, pix, batch, batch * vitrt_infer_depth(inf), NULL);
	if (*err)
		return 0;
	cli_progress_start(&bar, what, n);
	t0 = now_s();
	*err = batches(tr, inf, pix, batch, n, &bar);
	t = now_s() - t0;
	cli_progress_end(&bar);
	return t / (done ? done : 1);
}

/*
 * Images/s at 1 GHz that the busiest device allows, its cycles against all images (the
 * warm-up included): the devices' own time, whatever the host adds between jobs; 0 if idle.
 */
static double device_images_per_s(const struct vitrt_infer *in)
{
	uint64_t images = 0, busiest = 0;
	struct vitrt_run_stats st;

	for (uint32_t d = 0; d < vitrt_infer_devices(in); d++) {
		vitrt_infer_device_stats(in, d, &st);
		images += st.images;
		busiest = st.cycles > busiest ? st.cycles : busiest;
	}
	return busiest ? images * 1e9 / busiest : 0;
}

/* Each device's share of the run, then device_images_per_s. */
static void print_devices(const struct vitrt_infer *in)
{
	uint32_t n = vitrt_infer_devices(in);
	double ips = device_images_per_s(in);
	struct vitrt_run_stats st;

	for (uint32_t d = 0; d < n; d++) {
		vitrt_infer_device_stats(in, d, &st);
		printf("  device %u         %9" PRIu64 " images  %9" PRIu64 " jobs  %12" PRIu64
		       " cycles\n", d, st.images, st.jobs, st.cycles);
	}
	if (ips)
		printf("  %u devices        %9.1f images/s by device time (busiest device, 1 GHz)\n",
		       n, ips);
}

/* print_devices' lines: [{images, jobs, cycles}], one per device; NULL when out of memory. */
static json_t *devices_json(const struct vitrt_infer *in)
{
	json_t *devs = json_array();
	struct vitrt_run_stats st;
	int err = 0;

	for (uint32_t d = 0; d < vitrt_infer_devices(in) && !err; d++) {
		vitrt_infer_device_stats(in, d, &st);
		err = cli_json_push(devs, json_pack("{s:I, s:I, s:I}", "images",
						    (json_int_t)st.images, "jobs",
						    (json_int_t)st.jobs, "cycles",
						    (json_int_t)st.cycles));
	}
	if (err) {
		json_decref(devs);
		return NULL;
	}
	return devs;
}

/* Names of the tensors kept in DRAM, or NULL when out of memory. */
static json_t *spilled_json(uint32_t spilled)
{
	json_t *a = json_array();
	int err = 0;

	for (int t = 0; t < VITRT_MODELED_T_COUNT && !err; t++)
		if (spilled >> t & 1)
			err = cli_json_push(a, json_string(vitrt_modeled_tensor_name(t)));
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *whole_json(const struct vitrt_modeled_whole *w)
{
	json_t *layers = json_array();
	int err = 0;

	for (int i = 0; i < VITRT_MODELED_ROWS && !err; i++) {
		const struct vitrt_modeled_cost *c = &w->costs[i];

		err = cli_json_push(layers, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"name", c->name, "steps", (json_int_t)c->steps, "macs", (json_int_t)c->macs,
			"array", (json_int_t)c->array, "stall", (json_int_t)c->stall,
			"vector", (json_int_t)c->vector, "dram_bytes", (json_int_t)c->dram_bytes,
			"critical", (json_int_t)c->critical));
	}
	if (err) {
		json_decref(layers);
		layers = NULL;
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:I, s:I, s:o}",
		"spad_kib", (json_int_t)w->hw.spad_kib, "dram_bw", (json_int_t)w->hw.dram_bw,
		"chunks", (json_int_t)w->chunks, "tc", (json_int_t)w->tc,
		"spilled", spilled_json(w->spilled), "cycles", (json_int_t)w->cycles,
		"macs", (json_int_t)w->macs, "utilization", cli_json_fixed(w->utilization, 10),
		"array_busy", (json_int_t)w->array_busy, "vector_busy", (json_int_t)w->vector_busy,
		"dram_bytes", (json_int_t)w->dram_bytes, "layers", layers);
}

static int modeled_json(const struct vitrt_modeled *r, const struct vitrt_modeled_whole *w,
			const char *plot)
{
	json_t *layers = json_array();
	char array[24];
	int err = 0;

	for (int i = 0; i < VITRT_MODELED_COUNT && !err; i++) {
		const struct vitrt_modeled_layer *l = &r->layers[i];

		err = cli_json_push(layers, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			"name", l->name, "m", (json_int_t)l->m, "n", (json_int_t)l->n,
			"k", (json_int_t)l->k, "count", (json_int_t)l->count,
			"cycles", (json_int_t)l->cycles, "macs", (json_int_t)l->macs,
			"utilization", cli_json_fixed(l->utilization, 10)));
	}
	if (err) {
		json_decref(layers);
		layers = NULL;
	}
	snprintf(array, sizeof(array), "%ux%u", r->rows, r->cols);
	return cli_json_print(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
		"model", r->vit->name, "array", array, "rows", (json_int_t)r->rows,
		"cols", (json_int_t)r->cols, "tokens", (json_int_t)r->tokens,
		"cycles", (json_int_t)r->cycles, "macs", (json_int_t)r->macs,
		"utilization", cli_json_fixed(r->utilization, 10), "layers", layers,
		"whole", whole_json(w), "plot", cli_json_str(plot)), false);
}

static void modeled_table(const struct vitrt_modeled *r)
{
	const struct vitrt_modeled_vit *v = r->vit;
	double ideal = (double)r->macs / ((double)r->rows * r->cols);

	printf("%s at %u: %u tokens, dim %u, %u heads, MLP %u, depth %u, %u classes\n"
	       "array %ux%u, hw cycle model, every GEMM a job of its own\n\n", v->name, v->img,
	       r->tokens, v->dim, v->heads, v->mlp, v->depth, v->classes, r->rows, r->cols);
	printf("%-7s %5s %5s %5s %6s %12s %9s %7s %14s %7s\n", "layer", "M", "N", "K", "count",
	       "MACs/GEMM", "cyc/GEMM", "util", "cycles (all)", "share");
	for (int i = 0; i < VITRT_MODELED_COUNT; i++) {
		const struct vitrt_modeled_layer *l = &r->layers[i];
		uint64_t all = l->cycles * l->count;

		printf("%-7s %5u %5u %5u %6" PRIu64 " %12" PRIu64 " %9" PRIu64 " %6.2f%% %14" PRIu64
		       " %6.1f%%\n", l->name, l->m, l->n, l->k, l->count, l->macs, l->cycles,
		       l->utilization * 100, all, 100.0 * all / r->cycles);
	}
	printf("total: %" PRIu64 " MACs in %" PRIu64 " cycles: utilization %.2f%%\n"
	       "ideal (MACs / %u PEs) %.0f cycles; at 1 GHz %.1f images/s modeled\n", r->macs,
	       r->cycles, r->utilization * 100, r->rows * r->cols, ideal, 1e9 / r->cycles);
}

static void whole_table(const struct vitrt_modeled_whole *w)
{
	printf("\nwhole inference: %u KiB scratchpad, DRAM %u bytes/cycle, vector unit %u lanes;"
	       " phase 2 in %u chunks of <= %u rows; in DRAM:", w->hw.spad_kib, w->hw.dram_bw,
	       w->hw.cols, w->chunks, w->tc);
	for (int t = 0; t < VITRT_MODELED_T_COUNT; t++)
		if (w->spilled >> t & 1)
			printf(" %s", vitrt_modeled_tensor_name(t));
	printf("%s\n\n%-9s %5s %11s %9s %9s %10s %11s %7s\n", w->spilled ? "" : " weights only",
	       "layer", "steps", "array cyc", "stall", "vector", "DRAM KiB", "critical", "share");
	for (int i = 0; i < VITRT_MODELED_ROWS; i++) {
		const struct vitrt_modeled_cost *c = &w->costs[i];

		printf("%-9s %5" PRIu64 " %11" PRIu64 " %9" PRIu64 " %9" PRIu64 " %10.0f %11" PRIu64
		       " %6.1f%%\n", c->name, c->steps, c->array, c->stall, c->vector,
		       c->dram_bytes / 1024.0, c->critical, 100.0 * c->critical / w->cycles);
	}
	printf("whole: %" PRIu64 " MACs in %" PRIu64 " cycles: utilization %.2f%%\n"
	       "array busy %" PRIu64 ", vector busy %" PRIu64 "; DRAM %.2f MB per image; "
	       "at 1 GHz %.1f images/s modeled\n", w->macs, w->cycles, w->utilization * 100,
	       w->array_busy, w->vector_busy, w->dram_bytes / 1e6, 1e9 / w->cycles);
}

static int bench_modeled(const struct bench_opts *o)
{
	const struct vitrt_modeled_vit *vit = vitrt_modeled_find(o->vit);
	struct vitrt_modeled_hw hw = {
		.rows = o->rows ? o->rows : 16, .cols = o->rows ? o->cols : 16,
		.spad_kib = o->spad_kib ? o->spad_kib : VITRT_MODELED_SPAD_KIB,
		.dram_bw = o->dram_bw ? o->dram_bw : VITRT_MODELED_DRAM_BW,
	};
	struct vitrt_modeled r;
	struct vitrt_modeled_whole w;
	char msg[1024];
	int err;

	if (!vit)
		return die("bench: unknown model '%s' (known: %s)", o->vit, vitrt_modeled_names()),
		       2;
	if ((uint64_t)hw.spad_kib * 1024 < 2ull * hw.rows * hw.cols)
		return die("bench: --spad %u KiB cannot hold the two %ux%u weight-tile buffers",
			   hw.spad_kib, hw.rows, hw.cols), 2;
	err = vitrt_modeled_compute(vit, hw.rows, hw.cols, &r);
	if (!err)
		err = vitrt_modeled_whole(vit, &hw, 0, &w);
	if (err)
		return die("bench: %s: %s", o->vit, vitrt_strerror(err));
	/* The chart first: a failed write leaves no report that looks complete. */
	if (o->plot && (err = vitrt_modeled_plot(&r, &w, o->plot, msg, sizeof(msg))))
		return die("bench: %s", msg);
	if (o->json)
		return modeled_json(&r, &w, o->plot);
	modeled_table(&r);
	whole_table(&w);
	if (o->plot)
		printf("plot: %s (%ux%u PNG)\n", o->plot, VITRT_MODELED_PLOT_W, VITRT_MODELED_PLOT_H);
	return 0;
}

/* The backend as --backend names it: "sim", or "dev:" and the node of (the first) device. */
static void backend_name(const struct vitrt_infer *in, char *buf, size_t cap)
{
	const struct vitrt_dev_info *di = vitrt_dev_info(vitrt_infer_dev(in));
	int32_t cpu = vitrt_infer_submitter_cpu(in);

	if (strcmp(di->backend, "dev"))
		snprintf(buf, cap, "%s", di->backend);
	else if (cpu < 0)
		snprintf(buf, cap, "dev:%s", di->path);
	else
		snprintf(buf, cap, "dev:%s (waits on CPU %d, where it interrupts)", di->path, cpu);
}

/* @t_int and @t_fp (0 without --fp32): seconds per image. */
static void measured_text(const struct bench_opts *o, const struct vitrt_infer *in,
			  double t_int, double t_fp)
{
	const struct vitrt_prog_info *pi = &vitrt_infer_prog(in)->info;
	char backend[160];

	backend_name(in, backend, sizeof(backend));
	printf("%u images, %ux%u, scheme %s, backend %s", o->n, pi->img, pi->img,
	       vitrt_scheme_name(pi->scheme), backend);
	if (!strcmp(backend, "sim"))
		printf(" (kernel %s, %u threads)", vitrt_cpu_kernel(), vitrt_threads());
	printf(", batch %u, %s, %u in flight\n", o->batch, vitrt_infer_whole(in) ?
	       "one submission per batch" : "split at syncs, integer ops on the host",
	       vitrt_infer_depth(in));
	printf("  integer program  %9.1f images/s  (%.3f ms/image)\n", 1 / t_int, t_int * 1e3);
	if (t_fp)
		printf("  fp32 reference   %9.1f images/s  (%.3f ms/image)   integer/fp32 %.2fx\n",
		       1 / t_fp, t_fp * 1e3, t_fp / t_int);
	if (o->devices)
		print_devices(in);
}

/* The same figures as measured_text, as one object; 0, or 1 after a message. */
static int measured_json(const struct bench_opts *o, const struct vitrt_infer *in,
			 double t_int, double t_fp)
{
	const struct vitrt_dev_info *di = vitrt_dev_info(vitrt_infer_dev(in));
	const struct vitrt_prog_info *pi = &vitrt_infer_prog(in)->info;
	bool sim = !strcmp(di->backend, "sim"), fp = t_fp > 0;
	double ips = o->devices ? device_images_per_s(in) : 0;
	int32_t cpu = vitrt_infer_submitter_cpu(in);

	return cli_json_print(json_pack("{s:o, s:o, s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:o, "
					"s:I, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		"model", cli_json_str(o->model), "checkpoint", cli_json_str(o->fp32),
		"images", (json_int_t)o->n, "img", (json_int_t)pi->img,
		"scheme", vitrt_scheme_name(pi->scheme), "backend", di->backend,
		"device", cli_json_str(di->path),
		"kernel", sim ? json_string(vitrt_cpu_kernel()) : json_null(),
		"threads", sim ? json_integer(vitrt_threads()) : json_null(),
		"submitter_cpu", cpu < 0 ? json_null() : json_integer(cpu),
		"batch", (json_int_t)o->batch,
		"schedule", vitrt_infer_whole(in) ? "whole" : "split",
		"in_flight", (json_int_t)vitrt_infer_depth(in),
		"int_images_per_s", cli_json_sig(1 / t_int, 6),
		"int_ms_per_image", cli_json_sig(t_int * 1e3, 6),
		"fp32_images_per_s", fp ? cli_json_sig(1 / t_fp, 6) : json_null(),
		"fp32_ms_per_image", fp ? cli_json_sig(t_fp * 1e3, 6) : json_null(),
		"speedup", fp ? cli_json_sig(t_fp / t_int, 6) : json_null(),
		"devices", o->devices ? devices_json(in) : json_null(),
		"device_images_per_s", ips ? cli_json_sig(ips, 6) : json_null()), false);
}

/* Pseudo-random images for @in, @batch of them; NULL when out of memory. */
static uint8_t *bench_pixels(const struct vitrt_infer *in, uint32_t batch)
{
	size_t per = (size_t)vitrt_infer_chans(in) * vitrt_infer_size(in) * vitrt_infer_size(in);
	uint8_t *pix = malloc(batch * per);

	for (size_t i = 0; pix && i < batch * per; i++)
		pix[i] = (uint8_t)(i * 2654435761u >> 24);
	return pix;
}

/*
 * Seconds per image of the integer program in *@t_int (traced with --trace) and, with @fp,
 * of the checkpoint in *@t_fp: 0, or 1 after a message.
 */
static int measure(const struct bench_opts *o, struct vitrt_infer *in, struct vitrt_infer *fp,
		   double *t_int, double *t_fp)
{
	uint8_t *pix = bench_pixels(in, o->batch);
	struct cli_trace *tr = NULL;
	int err = pix ? 0 : VITRT_ENOMEM;

	if (!err && o->trace && !(tr = cli_trace_open(o->trace, in, "bench"))) {
		free(pix);
		return 1;
	}
	if (!err)
		*t_int = timed(tr, in, pix, o->batch, o->n, "bench: integer", &err);
	if (cli_trace_close(tr, !err)) {
		free(pix);
		return 1;
	}
	if (!err && fp)
		*t_fp = timed(NULL, fp, pix, o->batch, o->n, "bench: fp32   ", &err);
	free(pix);
	return err ? die("bench: %s", vitrt_strerror(err)) : 0;
}

static int bench_measured(const struct bench_opts *o)
{
	struct vitrt_infer *in, *fp = NULL;
	char msg[1024];
	int err, ret;
	double t_int = 0, t_fp = 0;

	in = cli_infer_int(o->model, o->backend, o->devices, "bench");
	if (!in)
		return 1;
	if (o->fp32 && !(fp = vitrt_infer_fp32(o->fp32, &o->given.norm, &err, msg, sizeof(msg)))) {
		vitrt_infer_free(in);
		return die("%s", msg);
	}
	/* both read the same pixels */
	if (fp && fp32_matches(in, o->model, fp, o->fp32)) {
		vitrt_infer_free(fp);
		vitrt_infer_free(in);
		return 1;
	}
	ret = measure(o, in, fp, &t_int, &t_fp);
	if (!ret && o->json)
		ret = measured_json(o, in, t_int, t_fp);
	else if (!ret)
		measured_text(o, in, t_int, t_fp);
	vitrt_infer_free(fp);
	vitrt_infer_free(in);
	return ret;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o;
	int ret = parse(argc, argv, &o);

	if (ret)
		return ret;
	if (o.kernels)
		return bench_kernels(o.json);
	return o.modeled ? bench_modeled(&o) : bench_measured(&o);
}
