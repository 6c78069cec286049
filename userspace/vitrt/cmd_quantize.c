// SPDX-License-Identifier: MIT
/*
 * vitrt quantize CKPT --calib DIR -o MODEL: load a floating-point ViT, fold its LayerNorm
 * affines, calibrate activation scales on training images, lower to the integer program and
 * write it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vitrt_calib.h"
#include "vitrt_cli.h"
#include "vitrt_image.h"

struct quantize_opts {
	const char *ckpt, *calib, *out;
	uint32_t scheme, count, rows, cols;
};

static int usage(int status)
{
	printf("usage: vitrt quantize CKPT --calib DIR -o MODEL [OPTIONS]\n"
	       "Compile a floating-point ViT checkpoint (safetensors, timm or torchvision names)\n"
	       "into an integer-only program for the vitsa array.\n\n"
	       "  -c, --calib DIR     calibration images: DIR/train-images-idx3-ubyte[.gz] (IDX)\n"
	       "  -o, --output MODEL  the compiled model to write\n"
	       "  -s, --scheme S      w8a8 (default) or w4a8 (4-bit weights)\n"
	       "  -n, --count N       calibration images (default 256)\n"
	       "      --array RxC     array the schedule is made for (default 16x16)\n");
	return status;
}

static int parse(int argc, char **argv, struct quantize_opts *o)
{
	static const struct option longs[] = {
		{ "calib", 1, 0, 'c' }, { "output", 1, 0, 'o' }, { "scheme", 1, 0, 's' },
		{ "count", 1, 0, 'n' }, { "array", 1, 0, 'A' }, { "help", 0, 0, 'h' }, { 0 },
	};
	int c, s;

	*o = (struct quantize_opts){ .count = 256, .rows = 16, .cols = 16 };
	while ((c = getopt_long(argc, argv, "c:o:s:n:h", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o->calib = optarg; break;
		case 'o': o->out = optarg; break;
		case 's':
			s = vitrt_scheme_parse(optarg);
			if (s < 0 || s == VITRT_SCHEME_W4A4)
				return die("quantize: scheme '%s' is not w8a8 or w4a8", optarg), 2;
			o->scheme = (uint32_t)s;
			break;
		case 'n': o->count = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'A':
			if (vitrt_array_parse(optarg, &o->rows, &o->cols))
				return die("quantize: --array wants RxC with each side 1..%u, not '%s'",
					   VITRT_ARRAY_MAX_SIDE, optarg), 2;
			break;
		case 'h': exit(usage(0));
		default: return usage(2);
		}
	}
	if (optind + 1 != argc || !o->calib || !o->out)
		return die("quantize: need CKPT, --calib DIR and -o MODEL (see --help)"), 2;
	o->ckpt = argv[optind];
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

int cmd_quantize(int argc, char **argv)
{
	struct quantize_opts o;
	struct vitrt_scales sc = { 0 };
	struct vitrt_vit *m = NULL;
	struct vitrt_dataset *ds = NULL;
	struct vitrt_prog *p = NULL;
	char msg[1024];
	int err = parse(argc, argv, &o), ret = 1;

	if (err)
		return err;
	m = vitrt_vit_load(o.ckpt, &err, msg, sizeof(msg));
	if (!m)
		return die("%s", msg);
	ds = vitrt_dataset_open_dir(o.calib, "train", &err, msg, sizeof(msg));
	if (!ds || vitrt_dataset_check(ds, m->cfg.img, m->cfg.classes, msg, sizeof(msg))) {
		die("%s", msg);
		goto out;
	}
	vitrt_vit_fold_norms(m);
	err = vitrt_calib_dataset(m, ds, o.count, &sc, show_progress);
	if (err) {
		die("calibration: %s", vitrt_strerror(err));
		goto out;
	}
	p = vitrt_compile(m, &sc, &(struct vitrt_compile_opts){ .scheme = o.scheme,
		.array_rows = o.rows, .array_cols = o.cols, .fp32_top1 = -1 }, &err, msg,
		sizeof(msg));
	if (!p) {
		die("%s", msg);
		goto out;
	}
	if (vitrt_prog_save(p, o.out, msg, sizeof(msg))) {
		die("%s", msg);
		goto out;
	}
	printf("%s: %s, %u calibration images, %u steps (%u GEMMs), %llu bytes of constants\n",
	       o.out, vitrt_scheme_name(o.scheme), o.count < ds->count ? o.count : ds->count,
	       p->nsteps, p->ngemms, (unsigned long long)p->arena_size[VITRT_ARENA_CONST]);
	ret = 0;
out:
	vitrt_prog_free(p);
	free(sc.layer);
	vitrt_dataset_close(ds);
	vitrt_vit_free(m);
	return ret;
}
