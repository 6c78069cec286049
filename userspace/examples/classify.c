// SPDX-License-Identifier: MIT
/*
 * classify: the smallest application of libvitrt.  It classifies one picture with a compiled
 * model (a .vitsa file from `vitrt quantize`) and prints the best class and every logit:
 *
 *	top1 CLASS LABEL
 *	logits L0 L1 ...
 *
 * Build it against an installed libvitrt:
 *	cc classify.c -o classify $(pkg-config --cflags --libs vitrt)
 * Run it: ./classify MODEL IMAGE [BACKEND]   (BACKEND: auto, sim, dev or dev:/dev/vitsaN)
 */
#include <stdio.h>

#include <vitrt/vitrt.h>

/*
 * The library must be the major version these headers describe (the SONAME already ensures
 * that) and not older than them: a newer header may declare what an older library lacks.
 */
static int version_ok(void)
{
	unsigned int v = vitrt_version();

	if (v >> 16 == VITRT_VERSION_MAJOR && v >= VITRT_VERSION)
		return 1;
	fprintf(stderr, "classify: built for libvitrt %s, running with %u.%u.%u\n",
		VITRT_VERSION_STRING, v >> 16, (v >> 8) & 0xff, v & 0xff);
	return 0;
}

static void print_result(const struct vitrt_result *r, char *const *labels)
{
	uint32_t best = r->top[0];

	printf("top1 %u %s\n", best, labels ? labels[best] : "");
	printf("logits");
	for (uint32_t c = 0; c < r->classes; c++)
		printf(" %g", r->logits[c]);
	printf("\n");
}

/* The picture @path made the model's input, classified and printed: 0, or an error code. */
static int classify(struct vitrt_infer *inf, const char *path)
{
	struct vitrt_image img = { 0 };
	struct vitrt_result r;
	struct vitrt_prep prep;
	char msg[1024];
	int err;

	vitrt_infer_prep(inf, &prep);
	err = vitrt_image_load(path, &prep, &img, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "classify: %s\n", msg);
		return err;
	}
	err = vitrt_infer_run(inf, img.pix, &r);
	if (err)
		fprintf(stderr, "classify: %s: %s\n", path, vitrt_strerror(err));
	else
		print_result(&r, vitrt_infer_labels(inf));
	vitrt_image_release(&img);
	return err;
}

int main(int argc, char **argv)
{
	struct vitrt_infer *inf;
	char msg[1024];
	int err;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: classify MODEL IMAGE [BACKEND]\n");
		return 2;
	}
	if (!version_ok())
		return 1;
	inf = vitrt_infer_int(argv[1], argc > 3 ? argv[3] : NULL, &err, msg, sizeof(msg));
	if (!inf) {
		fprintf(stderr, "classify: %s\n", msg);
		return 1;
	}
	err = classify(inf, argv[2]);
	vitrt_infer_free(inf);
	return err ? 1 : 0;
}
