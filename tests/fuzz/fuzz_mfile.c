// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: a compiled model through vitrt_prog_load (the file reader and its
 * validation), vitrt_prog_validate again, and one inference of a fixed image on the
 * in-process device ("sim": the hw model behind libvitrt's backend).
 *
 * Input: the compiled model file.
 */
#include "fuzz_util.h"
#include "vitrt.h"
#include "vitrt_exec.h"
#include "vitrt_prog.h"

/*
 * Programs asking for more activation memory than this are not run (issue 11 lists the
 * missing limit on the arena; with it the fuzzer would only report out-of-memory).
 */
#define FUZZ_MAX_ACT	(64ull << 20)
#define FUZZ_MAX_PIX	(1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vitrt_dev *sim;

static void run_one(const struct vitrt_prog *p)
{
	const struct vitrt_prog_info *info = &p->info;
	uint64_t npix = (uint64_t)info->chans * info->img * info->img, i;
	struct vitrt_session *s;
	int16_t *logits;
	uint8_t *image;
	int err;

	if (p->arena_size[VITRT_ARENA_ACT] > FUZZ_MAX_ACT || npix > FUZZ_MAX_PIX)
		return;
	if (!sim) {
		sim = vitrt_dev_open("sim", &err);
		if (!sim)
			abort();
	}
	s = vitrt_session_new(sim, p, &err);
	if (!s)
		return;
	image = malloc(npix ? npix : 1);
	logits = calloc(info->classes ? info->classes : 1, sizeof(*logits));
	if (!image || !logits)
		abort();
	for (i = 0; i < npix; i++)
		image[i] = (uint8_t)(i * 37);
	vitrt_session_run(s, image, logits);
	free(logits);
	free(image);
	vitrt_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vitrt_prog *p;
	char path[128], msg[512];
	int err;

	fuzz_write("m.vitrt", data, size, path, sizeof(path));
	p = vitrt_prog_load(path, &err, msg, sizeof(msg));
	if (!p)
		return 0;
	if (vitrt_prog_validate(p, msg, sizeof(msg)))
		abort();	/* loaded, so it was valid */
	run_one(p);
	vitrt_prog_free(p);
	return 0;
}
