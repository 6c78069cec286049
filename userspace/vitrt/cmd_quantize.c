// SPDX-License-Identifier: MIT
/*
 * vitrt quantize CKPT --calib DIR -o MODEL: load a floating-point ViT, fold its LayerNorm
 * affines, calibrate activation scales on training images, lower to the integer program,
 * check it against its fake-quant graph on images calibration did not use, and write it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vitrt_calib.h"
#include "vitrt_cli.h"
#include "vitrt_image.h"
#include "vitrt_verify.h"

struct quantize_opts {
	const char *ckpt, *calib, *out;
	uint32_t scheme, count, rows, cols;
	uint32_t check;			/* images the program is checked on */
	double max_err;			/* the largest logit error it may have there */
	double mean_err;		/* and the largest mean over the images */
	bool strict, json;
	struct prep_opts given;		/* --interpolation, --crop-pct, --mean, --std */
	struct vitrt_prep prep;		/* the checkpoint's, with the options given */
};

static int usage(int status)
{
	printf("usage: vitrt quantize CKPT --calib DIR -o MODEL [OPTIONS]\n"
	       "Compile a floating-point ViT checkpoint (safetensors, timm or torchvision names,\n"
	       "with its sidecar CKPT.json; or a timm / Hugging Face folder with\n"
	       "model.safetensors and config.json) into an integer-only program for the vitsa\n"
	       "array.\n\n"
	       "  -c, --calib DIR     calibration images: DIR/train-images-idx3-ubyte[.gz] (IDX),\n"
	       "                      an ImageFolder tree DIR/<class>/**/*.{jpg,png} or a folder\n"
	       "                      of images, read one at a time\n"
	       "  -o, --output MODEL  the compiled model to write\n"
	       "  -s, --scheme S      w8a8 (default), w4a8 (4-bit weights) or w4a4 (4-bit weights\n"
	       "                      and Linear inputs; patch embedding and head inputs 8-bit)\n"
	       "  -n, --count N       calibration images (default 256)\n"
	       "      --check N       images, after the calibration ones, on which the integer\n"
	       "                      program is compared with its fake-quant graph before it\n"
	       "                      is written (default 32)\n"
	       "      --max-logit-error X  the largest |integer - fake-quant| logit there, as a\n"
	       "                      fraction of the image's logit range, before it is an\n"
	       "                      error and nothing is written (default %.2f, w4a4 %.2f)\n"
	       "      --mean-logit-error X  the same for its mean over the images (default %.2f,\n"
	       "                      w4a4 %.2f)\n"
	       "  -j, --json          one JSON object: scheme, checkpoint, calib, output (the\n"
	       "                      file names as given), calibration and check figures\n"
	       "      --array RxC     array the schedule is made for (default 16x16)\n"
	       "      --strict        an unreadable image is an error (default: named, skipped)\n"
	       PREP_USAGE, VITRT_VERIFY_MAX_ERR, VITRT_VERIFY_MAX_ERR_A4, VITRT_VERIFY_MEAN_ERR,
	       VITRT_VERIFY_MEAN_ERR_A4);
	return status;
}

static int parse(int argc, char **argv, struct quantize_opts *o)
{
	static const struct option longs[] = {
		{ "calib", 1, 0, 'c' }, { "output", 1, 0, 'o' }, { "scheme", 1, 0, 's' },
		{ "count", 1, 0, 'n' }, { "array", 1, 0, 'A' }, { "help", 0, 0, 'h' },
		{ "strict", 0, 0, 'T' }, { "check", 1, 0, 'K' }, { "json", 0, 0, 'j' },
		{ "max-logit-error", 1, 0, 'E' }, { "mean-logit-error", 1, 0, 'M' },
		PREP_LONG_OPTIONS, { 0 },
	};
	int c, s;
	char *end;
	double bound;

	*o = (struct quantize_opts){ .count = 256, .rows = 16, .cols = 16, .check = 32,
		.given = PREP_OPTS_INIT };
	while ((c = getopt_long(argc, argv, "c:o:s:n:jh", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o->calib = optarg; break;
		case 'o': o->out = optarg; break;
		case 's':
			s = vitrt_scheme_parse(optarg);
			if (s < 0)
				return die("quantize: scheme '%s' is not w8a8, w4a8 or w4a4", optarg), 2;
			o->scheme = (uint32_t)s;
			break;
		case 'n': o->count = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'A':
			if (vitrt_array_parse(optarg, &o->rows, &o->cols))
				return die("quantize: --array wants RxC with each side 1..%u, not '%s'",
					   VITRT_ARRAY_MAX_SIDE, optarg), 2;
			break;
		case 'T': o->strict = true; break;
		case 'j': o->json = true; break;
		case 'E':
		case 'M':
			bound = strtod(optarg, &end);
			if (end == optarg || *end || !(bound > 0))
				return die("quantize: --%s-logit-error wants a positive number, "
					   "not '%s'", c == 'E' ? "max" : "mean", optarg), 2;
			*(c == 'E' ? &o->max_err : &o->mean_err) = bound;
			break;
		case 'K':
			o->check = (uint32_t)strtoul(optarg, NULL, 0);
			if (!o->check)
				return die("quantize: --check wants a positive count, not '%s'",
					   optarg), 2;
			break;
		case PREP_OPT_INTERP:
		case PREP_OPT_CROP:
		case PREP_OPT_MEAN:
		case PREP_OPT_STD:
			if (prep_option(c, optarg, &o->given, "quantize"))
				return 2;
			break;
		case 'h': exit(usage(0));
		default: return usage(2);
		}
	}
	if (optind + 1 != argc || !o->calib || !o->out)
		return die("quantize: need CKPT, --calib DIR and -o MODEL (see --help)"), 2;
	o->ckpt = argv[optind];
	if (!o->max_err)
		o->max_err = vitrt_verify_bound(o->scheme, false);
	if (!o->mean_err)
		o->mean_err = vitrt_verify_bound(o->scheme, true);
	return o->count ? 0 : (die("quantize: --count must be positive"), 2);
}

/* Calibration progress on a terminal. */
static void show_progress(uint32_t done, uint32_t total)
{
	if (!isatty(2))
		return;
	fprintf(stderr, "\rcalibrating: %u/%u images", done, total);
	if (done == total)
		fputc('\n', stderr);
}

static void show_skip(const char *msg)
{
	fprintf(stderr, "%svitrt: %s (skipped)\n", isatty(2) ? "\n" : "", msg);
}

/* Open and check the calibration set, then calibrate on it. */
static int calibrate(const struct quantize_opts *o, struct vitrt_vit *m, struct vitrt_scales *sc,
		     struct vitrt_calib_opts *co)
{
	struct vitrt_dataset *ds;
	char msg[1024];
	int err;

	ds = vitrt_dataset_open_path(o->calib, "train", &err, msg, sizeof(msg));
	/* labels matter for IDX only (a bad one means a broken file); folders need none */
	if (!ds || vitrt_dataset_check(ds, m->cfg.img, ds->kind == VITRT_DATASET_IDX ?
				       m->cfg.classes : 0, msg, sizeof(msg))) {
		vitrt_dataset_close(ds);
		return die("%s", msg);
	}
	vitrt_vit_fold_norms(m);
	err = vitrt_calib_images(m, ds, co, sc);
	if (err == VITRT_EINVAL && !co->used)
		die("calibration: %s: none of the %u images could be read", o->calib, ds->count);
	else if (err && co->strict)
		die("calibration: %s", co->msg);
	else if (err)
		die("calibration: %s", vitrt_strerror(err));
	vitrt_dataset_close(ds);
	return err ? 1 : 0;
}

/*
 * The program against its fake-quant graph on up to o->check images from @first on (those
 * calibration did not read), or the set's last ones when calibration read them all.
 */
static int check_program(const struct quantize_opts *o, const struct vitrt_prog *p,
			 const struct vitrt_scales *sc, uint32_t first, struct vitrt_verify *r,
			 bool *held_out)
{
	struct vitrt_dataset *ds = NULL;
	struct vitrt_vit *fake;
	char msg[1024];
	int err;

	fake = vitrt_vit_load_opts(o->ckpt, &o->given.norm, &err, msg, sizeof(msg));
	if (fake)
		ds = vitrt_dataset_open_path(o->calib, "train", &err, msg, sizeof(msg));
	if (ds) {
		vitrt_vit_fold_norms(fake);
		err = vitrt_fakequant_weights(fake, sc, o->scheme);
		*held_out = first < ds->count;
		if (!*held_out)
			first = ds->count > o->check ? ds->count - o->check : 0;
		if (err)
			snprintf(msg, sizeof(msg), "checking the program: %s", vitrt_strerror(err));
		else
			err = vitrt_verify_program(p, fake, sc, ds, &o->prep, first, o->check, o->strict,
					   r, msg, sizeof(msg));
	}
	if (!err && !r->images)
		snprintf(msg, sizeof(msg), "%s: no readable image to check the program on",
			 o->calib), err = VITRT_EINVAL;
	if (err)
		die("%s", msg);
	vitrt_dataset_close(ds);
	vitrt_vit_free(fake);
	return err ? 1 : 0;
}

static int report_json(const struct quantize_opts *o, const struct vitrt_prog *p,
		       const struct vitrt_calib_opts *co, const struct vitrt_verify *r,
		       bool held_out)
{
	json_t *check = json_pack("{s:I, s:b, s:o, s:o, s:o, s:o, s:o}",
				  "images", (json_int_t)r->images, "held_out", (int)held_out,
				  "agreement", cli_json_fixed(100.0 * r->agree / r->images, 2),
				  "max_logit_error", cli_json_fixed(r->max_err, 4),
				  "bound", cli_json_fixed(o->max_err, 2),
				  "mean_logit_error", cli_json_fixed(r->mean_err, 4),
				  "mean_bound", cli_json_fixed(o->mean_err, 2));

	return cli_json_print(json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o}",
		"scheme", vitrt_scheme_name(o->scheme), "checkpoint", cli_json_str(o->ckpt),
		"calib", cli_json_str(o->calib), "output", cli_json_str(o->out),
		"calibration_images", (json_int_t)co->used, "skipped", (json_int_t)co->skipped,
		"steps", (json_int_t)p->nsteps, "gemms", (json_int_t)p->ngemms,
		"const_bytes", (json_int_t)p->arena_size[VITRT_ARENA_CONST], "check", check),
		false);
}

static int report(const struct quantize_opts *o, const struct vitrt_prog *p,
		  const struct vitrt_calib_opts *co, const struct vitrt_verify *r, bool held_out)
{
	double agree = 100.0 * r->agree / r->images;
	unsigned long long consts = p->arena_size[VITRT_ARENA_CONST];

	if (o->json)
		return report_json(o, p, co, r, held_out);
	printf("%s: %s, %u calibration images, %u steps (%u GEMMs), %llu bytes of constants\n",
	       o->out, vitrt_scheme_name(o->scheme), co->used, p->nsteps, p->ngemms, consts);
	printf("%s: checked on %u %simages: top-1 agreement %.1f%% with the fake-quant graph, "
	       "logit error %.4f of the logit range at most (bound %.2f), %.4f on average "
	       "(bound %.2f)\n", o->out, r->images, held_out ? "held-out " : "calibration ", agree,
	       r->max_err, o->max_err, r->mean_err, o->mean_err);
	if (co->skipped)
		printf("%s: %u unreadable calibration images skipped\n", o->calib, co->skipped);
	return 0;
}

int cmd_quantize(int argc, char **argv)
{
	struct quantize_opts o;
	struct vitrt_scales sc = { 0 };
	struct vitrt_vit *m = NULL;
	struct vitrt_calib_opts co;
	struct vitrt_prog *p = NULL;
	struct vitrt_verify check;
	bool held_out = false;
	char msg[1024];
	int err = parse(argc, argv, &o), ret = 1;

	if (err)
		return err;
	m = vitrt_vit_load_opts(o.ckpt, &o.given.norm, &err, msg, sizeof(msg));
	if (!m)
		return die("%s", msg);
	if (vitrt_compile_supported(m, msg, sizeof(msg))) {
		die("%s: %s", o.ckpt, msg);	/* before calibrating for nothing */
		goto out;
	}
	o.prep = (struct vitrt_prep){ .chans = m->cfg.chans, .size = m->cfg.img,
		.interp = m->cfg.interp, .crop_pct = m->cfg.crop_pct };
	prep_apply(&o.given, &o.prep);
	co = (struct vitrt_calib_opts){ .prep = &o.prep, .count = o.count,
		.act_bits = vitrt_scheme_act_bits(o.scheme), .strict = o.strict,
		.progress = show_progress, .skip = show_skip };
	if (calibrate(&o, m, &sc, &co))
		goto out;
	p = vitrt_compile(m, &sc, &(struct vitrt_compile_opts){ .scheme = o.scheme,
		.array_rows = o.rows, .array_cols = o.cols, .fp32_top1 = -1 }, &err, msg,
		sizeof(msg));
	if (!p) {
		die("%s", msg);
		goto out;
	}
	p->info.interp = o.prep.interp;		/* as calibrated, options included */
	p->info.crop_pct = (float)o.prep.crop_pct;
	if (check_program(&o, p, &sc, co.next, &check, &held_out))
		goto out;
	if (check.max_err > o.max_err) {
		die("%s: the integer program disagrees with its fake-quant graph: logit error %.4f "
		    "of the logit range on image %u of %s (bound %.2f); nothing written", o.ckpt,
		    check.max_err, check.worst, o.calib, o.max_err);
		goto out;
	}
	if (check.mean_err > o.mean_err) {
		die("%s: the integer program disagrees with its fake-quant graph: logit error %.4f "
		    "of the logit range on average over %u images of %s (bound %.2f); nothing "
		    "written", o.ckpt, check.mean_err, check.images, o.calib, o.mean_err);
		goto out;
	}
	if (vitrt_prog_save(p, o.out, msg, sizeof(msg))) {
		die("%s", msg);
		goto out;
	}
	ret = report(&o, p, &co, &check, held_out);
out:
	vitrt_prog_free(p);
	free(sc.layer);
	vitrt_vit_free(m);
	return ret;
}
