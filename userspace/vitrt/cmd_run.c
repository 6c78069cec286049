// SPDX-License-Identifier: MIT
/*
 * vitrt run: classify images with a compiled model (integer-only, on a backend) or, with
 * --fp32, with the floating-point reference forward of a checkpoint.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_cli.h"
#include "vitrt_image.h"
#include "vitrt_infer.h"

struct run_opts {
	const char *backend, *fp32, *devices;
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
	       "  -j, --json        one JSON object per image: top 5 and all logits\n"
	       "      --batch B     images of an IDX file per call (default 1): in-process, at\n"
	       "                    once, one per thread; the same results for every B\n"
	       DEVICES_USAGE
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

static void print_json(const char *name, const struct vitrt_result *r, char *const *labels)
{
	printf("{\"image\": ");
	json_str(name);
	printf(", \"top5\": [");
	for (int i = 0; i < 5 && i < (int)r->classes; i++) {
		printf("%s{\"class\": %u, \"label\": ", i ? ", " : "", r->top[i]);
		json_str(labels ? labels[r->top[i]] : "");
		printf(", \"prob\": %.6f}", r->prob[r->top[i]]);
	}
	printf("], \"logits\": [");
	for (uint32_t c = 0; c < r->classes; c++)
		printf("%s%.6g", c ? ", " : "", r->logits[c]);
	printf("]}\n");
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

/* Classify every image of @path: one for PNG/JPEG, up to @limit for an IDX file. */
static int run_file(struct vitrt_infer *inf, const char *path, const struct run_opts *o)
{
	struct vitrt_result r[VITRT_MAX_BATCH];
	struct vitrt_idx idx = { 0 };
	struct vitrt_image img = { 0 };
	size_t per = (size_t)o->prep.chans * o->prep.size * o->prep.size;
	uint8_t *pix = malloc(per * o->batch);
	uint32_t n = 1, b;
	char msg[1200], name[1100];
	int err = pix ? 0 : VITRT_ENOMEM;

	if (err)
		snprintf(msg, sizeof(msg), "%s: out of memory", path);
	else if (vitrt_image_probe(path) == VITRT_IMAGE_IDX)
		err = vitrt_idx_read(path, &idx, msg, sizeof(msg));
	else
		err = vitrt_image_load(path, &o->prep, &img, msg, sizeof(msg));
	if (idx.data)
		n = idx.dims[0] < o->limit ? idx.dims[0] : o->limit;
	for (uint32_t i = 0; i < n && !err; i += o->batch) {
		err = load_batch(&idx, &img, path, i, n, o, pix, &b, msg, sizeof(msg));
		if (err)
			break;
		err = vitrt_infer_run_batch(inf, pix, b, r);
		for (uint32_t j = 0; j < b; j++) {
			snprintf(name, sizeof(name), idx.data ? "%s#%u" : "%s", path, i + j);
			if (err)
				snprintf(msg, sizeof(msg), "%s: %s", name, vitrt_strerror(err));
			else if (o->json)
				print_json(name, &r[j], vitrt_infer_labels(inf));
			else
				print_text(name, &r[j], vitrt_infer_labels(inf));
		}
	}
	vitrt_idx_release(&idx);
	vitrt_image_release(&img);
	free(pix);
	return err ? die("%s", msg) : 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "backend", 1, 0, 'b' }, { "fp32", 1, 0, 'F' }, { "limit", 1, 0, 'n' },
		{ "json", 0, 0, 'j' }, { "batch", 1, 0, 'B' }, { "help", 0, 0, 'h' },
		{ "devices", 1, 0, 'D' }, PREP_LONG_OPTIONS, { 0 },
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
	if (o.fp32 && o.devices)
		return die("run: --devices runs a compiled model, not --fp32"), 2;
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
	for (int i = optind; i < argc; i++)
		failed |= run_file(inf, argv[i], &o);
	vitrt_infer_free(inf);
	return failed;
}
