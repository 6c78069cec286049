// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: a safetensors checkpoint and its sidecar through vitrt_vit_load (the
 * safetensors reader, the JSON parser, the ViT's shape checks), then, when it loads, one FP32
 * forward of a fixed image and a fold of the norms.
 *
 * Input: 2 bytes (little-endian length of the sidecar), the sidecar "<ckpt>.json" (none when
 * the length is 0), the checkpoint.
 */
#include <math.h>

#include "fuzz_util.h"
#include "vitrt_vit.h"

/* Forwards larger than this are skipped: the time goes to the readers, not to sgemm. */
#define FUZZ_MAX_MACS	(8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_forward(const struct vitrt_vit *m)
{
	const struct vitrt_vit_config *cfg = &m->cfg;
	size_t n = (size_t)cfg->chans * cfg->img * cfg->img, i;
	float *image, *logits;

	if (vitrt_vit_macs(cfg) > FUZZ_MAX_MACS)
		return;
	image = malloc(n * sizeof(*image));
	logits = malloc((size_t)cfg->classes * sizeof(*logits));
	if (!image || !logits)
		abort();
	for (i = 0; i < n; i++)
		image[i] = (float)((i * 37) % 255) / 255.0f - 0.5f;
	if (!vitrt_vit_forward(m, image, logits, NULL, NULL))
		for (i = 0; i < cfg->classes; i++)
			(void)isfinite(logits[i]);
	free(logits);
	free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *side, *ckpt;
	size_t side_len, ckpt_len;
	char path[128], side_path[128], msg[512];
	struct vitrt_vit *m;
	int err;

	fuzz_split(data, size, &side, &side_len, &ckpt, &ckpt_len);
	fuzz_write("m.safetensors", ckpt, ckpt_len, path, sizeof(path));
	if (side_len)
		fuzz_write("m.safetensors.json", side, side_len, side_path, sizeof(side_path));
	else
		fuzz_unlink("m.safetensors.json");

	m = vitrt_vit_load(path, &err, msg, sizeof(msg));
	if (!m)
		return 0;
	run_forward(m);
	vitrt_vit_fold_norms(m);
	run_forward(m);
	vitrt_vit_free(m);
	return 0;
}
