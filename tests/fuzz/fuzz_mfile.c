// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: a compiled model through vitrt_prog_load (the file reader and its
 * validation), vitrt_prog_validate again, and one inference of a fixed image on the
 * in-process device ("sim": the hw model behind libvitrt's backend).
 *
 * Input: the compiled model file.  The file is checksummed, so a mutated input would rarely
 * get past the header: unless bit 0 of the header's last reserved byte (byte 63) is set, the
 * harness writes the input's length and CRC-32 into the header (file_size at byte 16, crc at
 * byte 24, vitrt_mfile.c) first.
 */
#include <zlib.h>

#include "fuzz_util.h"
#include "vitrt.h"
#include "vitrt_exec.h"
#include "vitrt_prog.h"

/*
 * Programs asking for more activation memory than this are not run: the library allows
 * VITRT_MAX_ACT_BYTES (256 MiB) per image; less keeps each input quick and far below
 * libFuzzer's memory limit.
 */
#define FUZZ_MAX_ACT	(64ull << 20)
#define FUZZ_MAX_PIX	(1u << 20)
#define MFILE_HEADER	64

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

/* Make the header's file_size and crc agree with the file (little-endian, as written). */
static uint8_t *fix_header(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	uint64_t len = size;
	uint32_t crc;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	if (size < MFILE_HEADER || (data[MFILE_HEADER - 1] & 1))
		return buf;
	crc = crc32(0, buf + MFILE_HEADER, size - MFILE_HEADER);
	memcpy(buf + 16, &len, sizeof(len));
	memcpy(buf + 24, &crc, sizeof(crc));
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vitrt_prog *p;
	char path[128], msg[512];
	uint8_t *buf;
	int err;

	buf = fix_header(data, size);
	fuzz_write("m.vitrt", buf, size, path, sizeof(path));
	free(buf);
	p = vitrt_prog_load(path, &err, msg, sizeof(msg));
	if (!p)
		return 0;
	if (vitrt_prog_validate(p, msg, sizeof(msg)))
		abort();	/* loaded, so it was valid */
	run_one(p);
	vitrt_prog_free(p);
	return 0;
}
