// SPDX-License-Identifier: MIT
/*
 * vitrt eval MODEL --dataset DIR: top-1 of the integer program on a labelled test set, side
 * by side with the FP32 checkpoint's, and how often the two agree.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vitrt_cli.h"
#include "vitrt_image.h"
#include "vitrt_infer.h"

struct eval_opts {
	const char *model, *dataset, *fp32, *backend, *split;
	uint32_t limit, batch;
	bool json;
};

static int usage(int status)
{
	printf("usage: vitrt eval MODEL --dataset DIR [OPTIONS]\n"
	       "Top-1 accuracy of a compiled model on DIR/<split>-images-idx3-ubyte[.gz] and\n"
	       "DIR/<split>-labels-idx1-ubyte[.gz], with the FP32 checkpoint side by side.\n\n"
	       "  -d, --dataset DIR   e.g. /usr/share/datasets/fashion-mnist\n"
	       "      --split S       t10k (default) or train\n"
	       "      --fp32 CKPT     the checkpoint the model was compiled from, for comparison\n"
	       "  -n, --limit N       only the first N images\n"
	       "  -b, --backend B     sim, dev, dev:/dev/vitsaN or auto (default)\n"
	       "      --batch B       B images per call (default 8): in-process, at once, one\n"
	       "                      per thread; the same results for every B\n"
	       "  -j, --json          one JSON object: images, scheme, fp32_top1, int_top1,\n"
	       "                      agreement (percentages; null without --fp32)\n");
	return status;
}

static int parse(int argc, char **argv, struct eval_opts *o)
{
	static const struct option longs[] = {
		{ "dataset", 1, 0, 'd' }, { "split", 1, 0, 'S' }, { "fp32", 1, 0, 'F' },
		{ "limit", 1, 0, 'n' }, { "backend", 1, 0, 'b' }, { "json", 0, 0, 'j' },
		{ "batch", 1, 0, 'B' }, { "help", 0, 0, 'h' }, { 0 },
	};
	int c;

	*o = (struct eval_opts){ .split = "t10k", .limit = UINT32_MAX, .batch = 8 };
	while ((c = getopt_long(argc, argv, "d:n:b:jh", longs, NULL)) != -1) {
		switch (c) {
		case 'd': o->dataset = optarg; break;
		case 'S': o->split = optarg; break;
		case 'F': o->fp32 = optarg; break;
		case 'n': o->limit = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'b': o->backend = optarg; break;
		case 'j': o->json = true; break;
		case 'B': o->batch = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h': exit(usage(0));
		default: return usage(2);
		}
	}
	if (optind + 1 != argc || !o->dataset)
		return die("eval: need MODEL and --dataset DIR (see --help)"), 2;
	if (!o->batch || o->batch > VITRT_MAX_BATCH)
		return die("eval: --batch wants 1..%u", VITRT_MAX_BATCH), 2;
	o->model = argv[optind];
	return 0;
}

static void progress(uint32_t done, uint32_t total, uint32_t int_ok)
{
	int width = 40, fill = (int)((uint64_t)done * width / total);

	if (!isatty(2) && done != total && done % 1000)
		return;
	fprintf(stderr, "\r[%.*s%*s] %u/%u  int top-1 %.2f%%", fill,
		"########################################", width - fill, "", done, total,
		100.0 * int_ok / done);
	if (done == total)
		fputc('\n', stderr);
}

/* Every image is the model's input as is: channels are not converted nor images resized. */
static int check_data(const struct vitrt_dataset *ds, const struct vitrt_infer *in,
		      const char *model, char *msg, size_t cap)
{
	uint32_t chans = vitrt_infer_chans(in);

	if (ds->chans != chans) {
		snprintf(msg, cap, "%s: images have %u channel%s, the model %s wants %u",
			 ds->images_path, ds->chans, ds->chans == 1 ? "" : "s", model, chans);
		return VITRT_EINVAL;
	}
	return vitrt_dataset_check(ds, vitrt_infer_size(in), vitrt_infer_classes(in), msg, cap);
}

struct tally {
	uint32_t n, int_ok, fp_ok, agree;
};

static int evaluate(struct vitrt_infer *in, struct vitrt_infer *fp, const struct vitrt_dataset *ds,
		    uint32_t count, uint32_t batch, struct tally *t)
{
	size_t per = (size_t)ds->chans * ds->height * ds->width;
	struct vitrt_result ri[VITRT_MAX_BATCH], rf[VITRT_MAX_BATCH];
	int err = vitrt_infer_set_batch(in, batch);

	if (!err && fp)
		err = vitrt_infer_set_batch(fp, batch);
	for (uint32_t i = 0; i < count && !err; i += batch) {
		uint32_t b = count - i < batch ? count - i : batch;

		err = vitrt_infer_run_batch(in, ds->pix + i * per, b, ri);
		if (!err && fp)
			err = vitrt_infer_run_batch(fp, ds->pix + i * per, b, rf);
		for (uint32_t j = 0; j < b && !err; j++) {
			t->n++;
			t->int_ok += ri[j].top[0] == ds->labels[i + j];
			t->fp_ok += fp && rf[j].top[0] == ds->labels[i + j];
			t->agree += fp && rf[j].top[0] == ri[j].top[0];
		}
		progress(t->n, count, t->int_ok);
	}
	return err;
}

static void report(const struct eval_opts *o, const struct tally *t, const char *scheme)
{
	double pi = 100.0 * t->int_ok / t->n, pf = 100.0 * t->fp_ok / t->n;
	double pa = 100.0 * t->agree / t->n;

	if (o->json) {
		printf("{\"images\": %u, \"scheme\": \"%s\", ", t->n, scheme);
		if (o->fp32)
			printf("\"fp32_top1\": %.2f, \"int_top1\": %.2f, \"agreement\": %.2f}\n", pf,
			       pi, pa);
		else
			printf("\"fp32_top1\": null, \"int_top1\": %.2f, \"agreement\": null}\n", pi);
		return;
	}
	printf("%u images, scheme %s\n", t->n, scheme);
	if (o->fp32)
		printf("  fp32 top-1      %6.2f%%\n", pf);
	printf("  integer top-1   %6.2f%%", pi);
	if (o->fp32)
		printf("   (%+.2f points)\n  agreement       %6.2f%%\n", pi - pf, pa);
	else
		printf("\n");
}

int cmd_eval(int argc, char **argv)
{
	struct eval_opts o;
	struct vitrt_infer *in = NULL, *fp = NULL;
	struct vitrt_dataset *ds = NULL;
	struct tally t = { 0 };
	char msg[1024];
	int err = parse(argc, argv, &o), ret = 1;

	if (err)
		return err;
	in = vitrt_infer_int(o.model, o.backend, &err, msg, sizeof(msg));
	if (in && o.fp32)
		fp = vitrt_infer_fp32(o.fp32, &err, msg, sizeof(msg));
	if (!in || (o.fp32 && !fp)) {
		die("%s", msg);
		goto out;
	}
	if (fp && fp32_matches(in, o.model, fp, o.fp32))
		goto out;
	ds = vitrt_dataset_open_dir(o.dataset, o.split, &err, msg, sizeof(msg));
	if (!ds || check_data(ds, in, o.model, msg, sizeof(msg))) {
		die("%s", msg);
		goto out;
	}
	err = evaluate(in, fp, ds, o.limit < ds->count ? o.limit : ds->count, o.batch, &t);
	if (err || !t.n) {
		die("eval: %s", err ? vitrt_strerror(err) : "no images");
		goto out;
	}
	report(&o, &t, vitrt_scheme_name(vitrt_infer_prog(in)->info.scheme));
	ret = 0;
out:
	vitrt_dataset_close(ds);
	vitrt_infer_free(fp);
	vitrt_infer_free(in);
	return ret;
}
