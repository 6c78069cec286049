// SPDX-License-Identifier: MIT
/*
 * vitrt eval MODEL --dataset DIR: top-1 and top-5 of the integer program on a labelled test
 * set (IDX, or an ImageFolder tree streamed one batch at a time), side by side with the FP32
 * checkpoint's, and how often the two agree.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vitrt_cli.h"
#include "vitrt_image.h"
#include "vitrt_infer.h"

struct eval_opts {
	const char *model, *dataset, *fp32, *backend, *split, *predictions, *devices, *trace;
	struct cli_trace *tracer;	/* --trace: the integer program's */
	uint32_t limit, batch;
	bool json, strict;
	struct prep_opts given;		/* --interpolation, --crop-pct, --mean, --std */
	struct vitrt_prep prep;		/* the checkpoint's (else the model's), options applied */
};

static int usage(int status)
{
	printf("usage: vitrt eval MODEL --dataset DIR [OPTIONS]\n"
	       "Top-1 and top-5 accuracy of a compiled model on DIR/<split>-images-idx3-ubyte[.gz]\n"
	       "and DIR/<split>-labels-idx1-ubyte[.gz], or on an ImageFolder tree\n"
	       "DIR/<class>/**/*.{jpg,png} (classes sorted by name, images at any depth in\n"
	       "torchvision's order, read one batch at a time), with\n"
	       "the FP32 checkpoint side by side.\n\n"
	       "  -d, --dataset DIR   e.g. /usr/share/datasets/fashion-mnist\n"
	       "      --split S       t10k (default) or train\n"
	       "      --fp32 CKPT     the checkpoint the model was compiled from, for comparison\n"
	       "  -n, --limit N       only the first N images\n"
	       "  -b, --backend B     sim, dev, dev:/dev/vitsaN or auto (default)\n"
	       "      --batch B       B images per call (default 8): in-process, at once, one\n"
	       "                      per thread; the same results for every B\n"
	       DEVICES_USAGE
	       TRACE_USAGE
	       "      --strict        an unreadable image is an error (default: named, skipped)\n"
	       "      --predictions FILE  one line per image classified, in dataset order:\n"
	       "                      LABEL INT FP32, the true class, the integer program's\n"
	       "                      top-1 and the checkpoint's (- without --fp32)\n"
	       PREP_USAGE
	       "  -j, --json          one JSON object: images, scheme, model, dataset,\n"
	       "                      checkpoint (the file names as given; null without\n"
	       "                      --fp32), fp32_top1, int_top1, agreement, fp32_top5,\n"
	       "                      int_top5 (percentages; null without --fp32), skipped\n");
	return status;
}

static int parse(int argc, char **argv, struct eval_opts *o)
{
	static const struct option longs[] = {
		{ "dataset", 1, 0, 'd' }, { "split", 1, 0, 'S' }, { "fp32", 1, 0, 'F' },
		{ "limit", 1, 0, 'n' }, { "backend", 1, 0, 'b' }, { "json", 0, 0, 'j' },
		{ "batch", 1, 0, 'B' }, { "help", 0, 0, 'h' }, { "strict", 0, 0, 'T' },
		{ "predictions", 1, 0, 'P' }, { "devices", 1, 0, 'D' }, { "trace", 1, 0, 'R' },
		PREP_LONG_OPTIONS, { 0 },
	};
	int c;

	*o = (struct eval_opts){ .split = "t10k", .limit = UINT32_MAX, .batch = 8,
		.given = PREP_OPTS_INIT };
	while ((c = getopt_long(argc, argv, "d:n:b:jh", longs, NULL)) != -1) {
		switch (c) {
		case 'd': o->dataset = optarg; break;
		case 'S': o->split = optarg; break;
		case 'F': o->fp32 = optarg; break;
		case 'n': o->limit = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'b': o->backend = optarg; break;
		case 'j': o->json = true; break;
		case 'B': o->batch = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'T': o->strict = true; break;
		case 'P': o->predictions = optarg; break;
		case 'D': o->devices = optarg; break;
		case 'R': o->trace = optarg; break;
		case PREP_OPT_INTERP:
		case PREP_OPT_CROP:
		case PREP_OPT_MEAN:
		case PREP_OPT_STD:
			if (prep_option(c, optarg, &o->given, "eval"))
				return 2;
			break;
		case 'h': exit(usage(0));
		default: return usage(2);
		}
	}
	if (optind + 1 != argc || !o->dataset)
		return die("eval: need MODEL and --dataset DIR (see --help)"), 2;
	if (!o->batch || o->batch > VITRT_MAX_BATCH)
		return die("eval: --batch wants 1..%u", VITRT_MAX_BATCH), 2;
	if (!o->fp32 && prep_norm_unused(&o->given, "eval"))
		return 2;
	o->model = argv[optind];
	return 0;
}

/* @done of @total images looked at, @n of them classified. */
static void progress(uint32_t done, uint32_t total, uint32_t n, uint32_t int_ok)
{
	int width = 40, fill = (int)((uint64_t)done * width / total);

	if (!isatty(2) && done != total && done % 1000)
		return;
	fprintf(stderr, "\r[%.*s%*s] %u/%u  int top-1 %.2f%%", fill,
		"########################################", width - fill, "", done, total,
		n ? 100.0 * int_ok / n : 0.0);
	if (done == total)
		fputc('\n', stderr);
}

/*
 * Every image is fitted to the model as it is read (channels, size); eval needs labels: IDX
 * files or one class folder per class.
 */
static int check_data(const struct vitrt_dataset *ds, const struct vitrt_infer *in,
		      char *msg, size_t cap)
{
	if (ds->kind == VITRT_DATASET_FLAT) {
		snprintf(msg, cap, "%s: a folder of images has no labels; eval wants class folders "
			 "(DIR/<class>/*.jpg, an ImageFolder tree) or IDX files", ds->images_path);
		return VITRT_EINVAL;
	}
	return vitrt_dataset_check(ds, vitrt_infer_size(in), vitrt_infer_classes(in), msg, cap);
}

struct tally {
	uint32_t n, skipped, int_ok, fp_ok, agree, int_ok5, fp_ok5;
};

/* Is @label among the best five (or fewer classes) of @r? */
static bool in_top5(const struct vitrt_result *r, int32_t label)
{
	for (uint32_t k = 0; k < VITRT_TOPK && k < r->classes; k++)
		if ((int32_t)r->top[k] == label)
			return true;
	return false;
}

/* Count a batch; with @pred, also write its LABEL INT FP32 lines. */
static void tally_batch(struct tally *t, const struct vitrt_result *ri,
			const struct vitrt_result *rf, const int32_t *labels, uint32_t b,
			FILE *pred)
{
	for (uint32_t j = 0; j < b; j++) {
		t->n++;
		if (pred && rf)
			fprintf(pred, "%d %u %u\n", labels[j], ri[j].top[0], rf[j].top[0]);
		else if (pred)
			fprintf(pred, "%d %u -\n", labels[j], ri[j].top[0]);
		t->int_ok += (int32_t)ri[j].top[0] == labels[j];
		t->int_ok5 += in_top5(&ri[j], labels[j]);
		if (!rf)
			continue;
		t->fp_ok += (int32_t)rf[j].top[0] == labels[j];
		t->fp_ok5 += in_top5(&rf[j], labels[j]);
		t->agree += rf[j].top[0] == ri[j].top[0];
	}
}

/*
 * Fill @buf with up to @batch readable images from *next on (below @count); an unreadable one
 * is named on stderr and counted, or ends the run with --strict.  The number read, or < 0.
 */
static int fill_batch(const struct vitrt_dataset *ds, const struct eval_opts *o, uint32_t *next,
		      uint32_t count, uint8_t *buf, int32_t *labels, struct tally *t)
{
	size_t per = (size_t)o->prep.chans * o->prep.size * o->prep.size;
	char msg[1200];
	uint32_t b = 0;
	int err;

	while (b < o->batch && *next < count) {
		err = vitrt_dataset_get(ds, (*next)++, &o->prep, buf + b * per, &labels[b], msg,
					sizeof(msg));
		if (!err) {
			b++;
		} else if (o->strict || err == VITRT_ENOMEM) {
			die("%s", msg);
			return err;
		} else {
			t->skipped++;
			fprintf(stderr, "%svitrt: %s (skipped)\n", isatty(2) ? "\n" : "", msg);
		}
	}
	return (int)b;
}

/*
 * A batch in flight on the integer program: its labels and the checkpoint's answers (only
 * their top classes are read, which the results hold themselves), computed while the device
 * ran it.
 */
struct pending {
	uint32_t b;
	int32_t labels[VITRT_MAX_BATCH];
	struct vitrt_result rf[VITRT_MAX_BATCH];
};

/* The oldest batch in flight collected and tallied with *@p's; its error, or 0. */
static int collect(struct vitrt_infer *in, const struct eval_opts *o, struct pending *p,
		   struct tally *t, FILE *pred, bool fp)
{
	struct vitrt_result ri[VITRT_MAX_BATCH];
	uint32_t b;
	int err = cli_trace_collect_batch(o->tracer, in, ri, &b);

	if (!err)
		tally_batch(t, ri, fp ? p->rf : NULL, p->labels, b, pred);
	return err;
}

/*
 * Every image below @count, a batch at a time, with as many batches in flight as @in takes:
 * the host reads the next batch and runs the checkpoint on it while the device computes.
 */
static int evaluate(struct vitrt_infer *in, struct vitrt_infer *fp, const struct vitrt_dataset *ds,
		    const struct eval_opts *o, uint32_t count, struct tally *t, FILE *pred)
{
	size_t per = (size_t)o->prep.chans * o->prep.size * o->prep.size;
	struct pending *p = calloc(VITRT_MAX_IN_FLIGHT, sizeof(*p));
	uint8_t *buf = malloc(per * o->batch);
	int err = buf && p ? vitrt_infer_set_batch(in, o->batch) : VITRT_ENOMEM, b = 0;
	uint32_t next = 0, head = 0, queued = 0, depth = vitrt_infer_depth(in);

	if (!err && fp)
		err = vitrt_infer_set_batch(fp, o->batch);
	while (!err && (next < count || queued)) {
		struct pending *q = &p[(head + queued) % VITRT_MAX_IN_FLIGHT];

		if (next < count && queued < depth) {
			b = fill_batch(ds, o, &next, count, buf, q->labels, t);
			if (b <= 0) {	/* < 0: fill_batch said why */
				err = b;
				continue;
			}
			q->b = (uint32_t)b;
			err = cli_trace_submit_batch(o->tracer, in, buf, q->b);
			queued += !err;
			if (!err && fp)
				err = vitrt_infer_run_batch(fp, buf, q->b, q->rf);
			continue;
		}
		err = collect(in, o, &p[head], t, pred, fp);
		head = (head + 1) % VITRT_MAX_IN_FLIGHT;
		queued--;
		progress(next, count, t->n, t->int_ok);
	}
	for (; queued; queued--) {	/* after an error: what the device holds, dropped */
		struct vitrt_result ri[VITRT_MAX_BATCH];
		uint32_t n;

		cli_trace_collect_batch(o->tracer, in, ri, &n);
	}
	if (err && b >= 0)
		die("eval: %s", vitrt_strerror(err));
	free(buf);
	free(p);
	return err;
}

/* A percentage as the text prints it, or null when @have is false (no --fp32). */
static json_t *percent(double v, bool have)
{
	return have ? cli_json_fixed(v, 2) : json_null();
}

static int report_json(const struct eval_opts *o, const struct tally *t, const char *scheme)
{
	bool fp = o->fp32;

	return cli_json_print(json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
		"images", (json_int_t)t->n, "scheme", scheme, "model", cli_json_str(o->model),
		"dataset", cli_json_str(o->dataset), "checkpoint", cli_json_str(o->fp32),
		"fp32_top1", percent(100.0 * t->fp_ok / t->n, fp),
		"int_top1", percent(100.0 * t->int_ok / t->n, true),
		"agreement", percent(100.0 * t->agree / t->n, fp),
		"fp32_top5", percent(100.0 * t->fp_ok5 / t->n, fp),
		"int_top5", percent(100.0 * t->int_ok5 / t->n, true),
		"skipped", (json_int_t)t->skipped), false);
}

static int report(const struct eval_opts *o, const struct tally *t, const char *scheme)
{
	double pi = 100.0 * t->int_ok / t->n, pf = 100.0 * t->fp_ok / t->n;
	double pi5 = 100.0 * t->int_ok5 / t->n, pf5 = 100.0 * t->fp_ok5 / t->n;
	double pa = 100.0 * t->agree / t->n;

	if (o->json)
		return report_json(o, t, scheme);
	printf("%u images, scheme %s\n", t->n, scheme);
	if (t->skipped)
		printf("  %u unreadable images skipped\n", t->skipped);
	if (o->fp32)
		printf("  fp32 top-1      %6.2f%%   top-5 %6.2f%%\n", pf, pf5);
	printf("  integer top-1   %6.2f%%   top-5 %6.2f%%", pi, pi5);
	if (o->fp32)
		printf("   (%+.2f points)\n  agreement       %6.2f%%\n", pi - pf, pa);
	else
		printf("\n");
	return 0;
}

int cmd_eval(int argc, char **argv)
{
	struct eval_opts o;
	struct vitrt_infer *in = NULL, *fp = NULL;
	struct vitrt_dataset *ds = NULL;
	struct tally t = { 0 };
	FILE *pred = NULL;
	char msg[1024];
	int err = parse(argc, argv, &o), ret = 1;

	if (err)
		return err;
	in = cli_infer_int(o.model, o.backend, o.devices, "eval");
	if (!in)
		goto out;
	if (o.fp32 && !(fp = vitrt_infer_fp32(o.fp32, &o.given.norm, &err, msg, sizeof(msg)))) {
		die("%s", msg);
		goto out;
	}
	if (fp && fp32_matches(in, o.model, fp, o.fp32))
		goto out;
	/* the compiled model keeps no resize and crop; its checkpoint's config does */
	vitrt_infer_prep(fp ? fp : in, &o.prep);
	prep_apply(&o.given, &o.prep);
	ds = vitrt_dataset_open_path(o.dataset, o.split, &err, msg, sizeof(msg));
	if (!ds || check_data(ds, in, msg, sizeof(msg))) {
		die("%s", msg);
		goto out;
	}
	if (o.predictions && !(pred = fopen(o.predictions, "w"))) {
		die("eval: %s: %s", o.predictions, strerror(errno));
		goto out;
	}
	if (o.trace && !(o.tracer = cli_trace_open(o.trace, in, "eval")))
		goto out;
	err = evaluate(in, fp, ds, &o, o.limit < ds->count ? o.limit : ds->count, &t, pred);
	if (cli_trace_close(o.tracer, !err) || err)
		goto out;
	if (pred && (ferror(pred) | fclose(pred))) {
		pred = NULL;
		die("eval: %s: write failed", o.predictions);
		goto out;
	}
	pred = NULL;
	if (!t.n) {
		die("eval: %s: no image could be read (%u skipped)", o.dataset, t.skipped);
		goto out;
	}
	ret = report(&o, &t, vitrt_scheme_name(vitrt_infer_prog(in)->info.scheme));
out:
	if (pred)
		fclose(pred);
	vitrt_dataset_close(ds);
	vitrt_infer_free(fp);
	vitrt_infer_free(in);
	return ret;
}
