// SPDX-License-Identifier: MIT
/*
 * vitrt run: classify images with a compiled model (integer-only, on a backend) or, with
 * --fp32, with the floating-point reference forward of a checkpoint.
 */
#define _GNU_SOURCE	/* asprintf */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_cli.h"
#include "vitrt_image.h"
#include "vitrt_infer.h"

struct run_opts {
	const char *backend, *fp32, *devices, *trace;
	struct cli_trace *tracer;	/* --trace */
	bool json;
	uint32_t limit, batch;
	struct prep_opts given;		/* --interpolation, --crop-pct, --mean, --std */
	struct vitrt_prep prep;		/* the model's, with the options given */
};

static int usage(int status)
{
	printf("usage: vitrt run MODEL IMAGE... [OPTIONS]\n"
	       "       vitrt run --fp32 CKPT IMAGE... [OPTIONS]\n"
	       "Classify images (PNG, JPEG, or IDX files of many images) and print the top 5.\n"
	       "Every image (a PNG or JPEG of any size, or one of an IDX file: gray or RGB) is\n"
	       "resized and centre cropped to the model's size.\n\n"
	       "  -b, --backend B   sim, dev, dev:/dev/vitsaN or auto (default)\n"
	       "      --fp32 CKPT   the floating-point reference forward of a checkpoint instead\n"
	       "                    (a safetensors file, or a folder with config.json)\n"
	       "  -n, --limit N     at most N images of each IDX file (default 16)\n"
	       "  -j, --json        one JSON object per image: image (the file name as given,\n"
	       "                    #N for an IDX file's), top5 [{class, label, prob}], logits\n"
	       "      --batch B     images of an IDX file per call (default 1): in-process, at\n"
	       "                    once, one per thread; the same results for every B\n"
	       DEVICES_USAGE
	       TRACE_USAGE
	       PREP_USAGE);
	return status;
}

static void print_text(const char *name, const struct vitrt_result *r, char *const *labels)
{
	printf("%s:", name);
	for (int i = 0; i < 5 && i < (int)r->classes; i++) {
		uint32_t c = r->top[i];

		if (labels)
			printf("  %s %.1f%%", labels[c], 100.0 * r->prob[c]);
		else
			printf("  class %u %.1f%%", c, 100.0 * r->prob[c]);
	}
	printf("\n");
}

/* {"image", "top5": [{"class", "label", "prob"}], "logits"}: 0, or 1 after a message. */
static int print_json(const char *name, const struct vitrt_result *r, char *const *labels)
{
	json_t *top5 = json_array(), *logits = json_array();
	int err = 0;

	for (int i = 0; i < 5 && i < (int)r->classes; i++) {
		uint32_t c = r->top[i];

		err |= cli_json_push(top5, json_pack("{s:i, s:o, s:o}", "class", (int)c, "label",
						     cli_json_str(labels ? labels[c] : ""),
						     "prob", cli_json_fixed(r->prob[c], 6)));
	}
	for (uint32_t c = 0; c < r->classes; c++)
		err |= cli_json_push(logits, cli_json_sig(r->logits[c], 6));
	if (err) {
		json_decref(top5);
		json_decref(logits);
		top5 = logits = NULL;
	}
	return cli_json_print(json_pack("{s:o, s:o, s:o}", "image", cli_json_str(name),
					"top5", top5, "logits", logits), false);
}

/*
 * Images @i.. (up to o->batch, @n in all) of @path into @pix as the model's input: the
 * picture @img, or those of the IDX array @idx; the count in *b.
 */
static int load_batch(const struct vitrt_idx *idx, const struct vitrt_image *img,
		      const char *path, uint32_t i, uint32_t n, const struct run_opts *o,
		      uint8_t *pix, uint32_t *b, char *msg, size_t cap)
{
	size_t per = (size_t)o->prep.chans * o->prep.size * o->prep.size;
	int err = 0;

	*b = n - i < o->batch ? n - i : o->batch;
	if (!idx->data) {
		memcpy(pix, img->pix, per);
		return 0;
	}
	for (uint32_t j = 0; j < *b && !err; j++)
		err = vitrt_idx_image(idx, i + j, &o->prep, pix + j * per, path, msg, cap);
	return err;
}

/*
 * Image @i of the IDX file @path ("path#i"), or the picture @path (@i < 0): its result @r, or
 * the run's error @err; 0, or 1 after a message.
 */
static int print_result(const char *path, int64_t i, const struct vitrt_result *r, int err,
			const struct run_opts *o, char *const *labels)
{
	char *name = NULL;
	int ret;

	/* whole, however long the path: it names the image in the output */
	if (i < 0)
		name = strdup(path);
	else if (asprintf(&name, "%s#%" PRId64, path, i) < 0)
		name = NULL;
	if (!name)
		return die("%s: out of memory", path);
	if (err)
		ret = die("%s: %s", name, vitrt_strerror(err));
	else if (o->json)
		ret = print_json(name, r, labels);
	else
		ret = (print_text(name, r, labels), 0);
	free(name);
	return ret;
}

/*
 * The results of the oldest batch in flight, whose first image is @i of @path (-1: a
 * picture): printed, or the error of its run; only collected when an earlier batch of the
 * file @failed.  0, or 1 after a message.
 */
static int collect(struct vitrt_infer *inf, const char *path, int64_t i, bool failed,
		   const struct run_opts *o)
{
	struct vitrt_result r[VITRT_MAX_BATCH];
	uint32_t b;
	int e = cli_trace_collect_batch(o->tracer, inf, r, &b);

	if (failed)
		return 1;
	for (uint32_t j = 0; j < (e ? 1 : b) && !failed; j++)
		failed = print_result(path, i < 0 ? -1 : i + j, &r[j], e, o,
				      vitrt_infer_labels(inf));
	return failed;
}

/*
 * Classify every image of @path: one for PNG/JPEG, up to @limit for an IDX file, with as
 * many batches in flight as @inf takes (the next is loaded while the device runs the last).
 */
static int run_file(struct vitrt_infer *inf, const char *path, const struct run_opts *o)
{
	struct vitrt_idx idx = { 0 };
	struct vitrt_image img = { 0 };
	size_t per = (size_t)o->prep.chans * o->prep.size * o->prep.size;
	uint8_t *pix = malloc(per * o->batch);
	uint32_t n = 1, b, queued = 0, at[VITRT_MAX_IN_FLIGHT], depth = vitrt_infer_depth(inf);
	char msg[1200];
	int err = pix ? 0 : VITRT_ENOMEM, failed = 0;

	if (err)
		snprintf(msg, sizeof(msg), "%s: out of memory", path);
	else if (vitrt_image_probe(path) == VITRT_IMAGE_IDX)
		err = vitrt_idx_read(path, &idx, msg, sizeof(msg));
	else
		err = vitrt_image_load(path, &o->prep, &img, msg, sizeof(msg));
	if (idx.data)
		n = idx.dims[0] < o->limit ? idx.dims[0] : o->limit;
	for (uint32_t i = 0; queued || (i < n && !err && !failed);) {
		if (i < n && !err && !failed && queued < depth) {
			int e;

			err = load_batch(&idx, &img, path, i, n, o, pix, &b, msg, sizeof(msg));
			e = err ? 0 : cli_trace_submit_batch(o->tracer, inf, pix, b);
			if (e)		/* the error as the result of the batch's first image */
				failed = print_result(path, idx.data ? (int64_t)i : -1, NULL, e, o,
						      NULL);
			else if (!err)
				at[queued++] = i;
			i += o->batch;
			continue;
		}
		/* a batch loaded before a load error still prints, as it did before the error */
		failed = collect(inf, path, idx.data ? (int64_t)at[0] : -1, failed, o);
		memmove(at, at + 1, --queued * sizeof(*at));
	}
	vitrt_idx_release(&idx);
	vitrt_image_release(&img);
	free(pix);
	if (err && !failed)
		die("%s", msg);
	return err || failed;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "backend", 1, 0, 'b' }, { "fp32", 1, 0, 'F' }, { "limit", 1, 0, 'n' },
		{ "json", 0, 0, 'j' }, { "batch", 1, 0, 'B' }, { "help", 0, 0, 'h' },
		{ "devices", 1, 0, 'D' }, { "trace", 1, 0, 'T' }, PREP_LONG_OPTIONS, { 0 },
	};
	struct run_opts o = { .limit = 16, .batch = 1, .given = PREP_OPTS_INIT };
	struct vitrt_infer *inf;
	char msg[1024];
	int c, err, failed = 0;

	while ((c = getopt_long(argc, argv, "b:n:jh", longs, NULL)) != -1) {
		switch (c) {
		case 'b': o.backend = optarg; break;
		case 'F': o.fp32 = optarg; break;
		case 'n': o.limit = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'j': o.json = true; break;
		case 'B': o.batch = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'D': o.devices = optarg; break;
		case 'T': o.trace = optarg; break;
		case 'h': return usage(0);
		case PREP_OPT_INTERP:
		case PREP_OPT_CROP:
		case PREP_OPT_MEAN:
		case PREP_OPT_STD:
			if (prep_option(c, optarg, &o.given, "run"))
				return 2;
			break;
		default: return usage(2);
		}
	}
	if (argc - optind < (o.fp32 ? 1 : 2))
		return die("run: need %sIMAGE... (see --help)", o.fp32 ? "" : "MODEL "), 2;
	if (!o.batch || o.batch > VITRT_MAX_BATCH)
		return die("run: --batch wants 1..%u", VITRT_MAX_BATCH), 2;
	if (!o.fp32 && prep_norm_unused(&o.given, "run"))
		return 2;
	if (o.fp32 && (o.devices || o.trace))
		return die("run: --devices and --trace run a compiled model, not --fp32"), 2;
	if (o.fp32) {
		inf = vitrt_infer_fp32(o.fp32, &o.given.norm, &err, msg, sizeof(msg));
		if (!inf)
			return die("%s", msg);
	} else if (!(inf = cli_infer_int(argv[optind++], o.backend, o.devices, "run"))) {
		return 1;
	}
	vitrt_infer_prep(inf, &o.prep);
	prep_apply(&o.given, &o.prep);
	err = vitrt_infer_set_batch(inf, o.batch);
	if (err) {
		vitrt_infer_free(inf);
		return die("run: %s", vitrt_strerror(err));
	}
	if (o.trace && !(o.tracer = cli_trace_open(o.trace, inf, "run"))) {
		vitrt_infer_free(inf);
		return 1;
	}
	for (int i = optind; i < argc; i++)
		failed |= run_file(inf, argv[i], &o);
	failed |= cli_trace_close(o.tracer, !failed);
	vitrt_infer_free(inf);
	return failed;
}
