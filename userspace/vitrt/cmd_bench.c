// SPDX-License-Identifier: MIT
/*
 * vitrt bench MODEL: images per second of the integer program on a backend and, with --fp32,
 * of the FP32 reference forward, on the same images in the same run.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vitrt_cli.h"
#include "vitrt_infer.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int usage(int status)
{
	printf("usage: vitrt bench MODEL [--fp32 CKPT] [-n IMAGES] [-b BACKEND]\n"
	       "Images per second of the compiled model (and of the FP32 checkpoint) on\n"
	       "pseudo-random images, after one warm-up image each.\n");
	return status;
}

/* Seconds per image over @n images. */
static double timed(struct vitrt_infer *inf, const uint8_t *pix, size_t per, uint32_t n,
		    int *err)
{
	struct vitrt_result r;
	double t0;

	*err = vitrt_infer_run(inf, pix, &r);
	t0 = now_s();
	for (uint32_t i = 0; i < n && !*err; i++)
		*err = vitrt_infer_run(inf, pix + (i % 8) * per, &r);
	return (now_s() - t0) / n;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "fp32", 1, 0, 'F' }, { "images", 1, 0, 'n' }, { "backend", 1, 0, 'b' },
		{ "help", 0, 0, 'h' }, { 0 },
	};
	const char *fp32 = NULL, *backend = NULL;
	struct vitrt_infer *in, *fp = NULL;
	uint32_t n = 200;
	uint8_t *pix;
	size_t per;
	char msg[1024];
	int c, err;
	double t_int, t_fp = 0;

	while ((c = getopt_long(argc, argv, "n:b:h", longs, NULL)) != -1) {
		switch (c) {
		case 'F': fp32 = optarg; break;
		case 'n': n = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'b': backend = optarg; break;
		case 'h': return usage(0);
		default: return usage(2);
		}
	}
	if (optind + 1 != argc || !n)
		return die("bench: need MODEL and a positive image count (see --help)"), 2;
	in = vitrt_infer_int(argv[optind], backend, &err, msg, sizeof(msg));
	if (in && fp32)
		fp = vitrt_infer_fp32(fp32, &err, msg, sizeof(msg));
	if (!in || (fp32 && !fp)) {
		vitrt_infer_free(in);
		return die("%s", msg);
	}
	per = (size_t)vitrt_infer_chans(in) * vitrt_infer_size(in) * vitrt_infer_size(in);
	pix = malloc(8 * per);
	for (size_t i = 0; pix && i < 8 * per; i++)
		pix[i] = (uint8_t)(i * 2654435761u >> 24);
	t_int = pix ? timed(in, pix, per, n, &err) : (err = VITRT_ENOMEM, 0);
	if (!err && fp)
		t_fp = timed(fp, pix, per, n, &err);
	if (!err) {
		const struct vitrt_prog_info *pi = &vitrt_infer_prog(in)->info;

		printf("%u images, %ux%u, scheme %s, backend %s\n", n, pi->img, pi->img,
		       vitrt_scheme_name(pi->scheme), backend ? backend : "auto");
		printf("  integer program  %9.1f images/s  (%.3f ms/image)\n", 1 / t_int, t_int * 1e3);
		if (fp)
			printf("  fp32 reference   %9.1f images/s  (%.3f ms/image)   integer/fp32 %.2fx\n",
			       1 / t_fp, t_fp * 1e3, t_fp / t_int);
	}
	free(pix);
	vitrt_infer_free(fp);
	vitrt_infer_free(in);
	return err ? die("bench: %s", vitrt_strerror(err)) : 0;
}
