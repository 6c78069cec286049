// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the vitsa selftest binaries (see vitsa_util.h); nothing here depends on
 * the kselftest harness.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vitsa_util.h"
#include "vitsa_hw.h"

const char *vitsa_path(void)
{
	const char *path = getenv("VITSA_DEV");

	return path ? path : "/dev/vitsa0";
}

int vitsa_open_path(const char *path)
{
	return open(path, O_RDWR | O_CLOEXEC);
}

int vitsa_open(void)
{
	return vitsa_open_path(vitsa_path());
}

int vitsa_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) ? -errno : 0;
}

int get_param(int fd, uint32_t param, uint64_t *value)
{
	struct vitsa_get_param args = { .param = param };
	int ret = vitsa_ioctl(fd, VITSA_IOCTL_GET_PARAM, &args);

	*value = args.value;
	return ret;
}

int bo_create(int fd, uint64_t size, struct bo *bo)
{
	struct vitsa_bo_create args = { .size = size };
	int ret = vitsa_ioctl(fd, VITSA_IOCTL_BO_CREATE, &args);

	memset(bo, 0, sizeof(*bo));
	if (!ret) {
		bo->handle = args.handle;
		bo->size = args.size;
		bo->mmap_offset = args.mmap_offset;
	}
	return ret;
}

int bo_destroy(int fd, uint32_t handle)
{
	struct vitsa_bo_destroy args = { .handle = handle };

	return vitsa_ioctl(fd, VITSA_IOCTL_BO_DESTROY, &args);
}

int bo_map(int fd, struct bo *bo)
{
	void *p = mmap(NULL, bo->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, bo->mmap_offset);

	if (p == MAP_FAILED)
		return -errno;
	bo->map = p;
	return 0;
}

void bo_unmap(struct bo *bo)
{
	if (bo->map)
		munmap(bo->map, bo->size);
	bo->map = NULL;
}

int bo_create_mapped(int fd, uint64_t size, struct bo *bo)
{
	int ret = bo_create(fd, size, bo);

	if (ret)
		return ret;
	ret = bo_map(fd, bo);
	if (ret)
		bo_destroy(fd, bo->handle);
	return ret;
}

int submit(int fd, const struct vitsa_gemm *jobs, uint32_t count, uint64_t *fence)
{
	struct vitsa_submit args = { .jobs = (uintptr_t)jobs, .count = count };
	int ret = vitsa_ioctl(fd, VITSA_IOCTL_SUBMIT, &args);

	if (fence)
		*fence = args.fence;
	return ret;
}

int submit_jobs(int fd, const struct vitsa_job *jobs, uint32_t count, uint64_t *fence)
{
	struct vitsa_submit args = {
		.jobs = (uintptr_t)jobs, .count = count, .flags = VITSA_SUBMIT_JOBS,
	};
	int ret = vitsa_ioctl(fd, VITSA_IOCTL_SUBMIT, &args);

	if (fence)
		*fence = args.fence;
	return ret;
}

int wait_fence(int fd, uint64_t fence, uint64_t timeout_ns, struct vitsa_wait *out)
{
	struct vitsa_wait args = { .fence = fence, .timeout_ns = timeout_ns };
	int ret = vitsa_ioctl(fd, VITSA_IOCTL_WAIT, &args);

	if (out)
		*out = args;
	return ret;
}

int list_create(int fd, const struct vitsa_job *jobs, uint32_t count, uint32_t *handle)
{
	struct vitsa_list_create args = { .jobs = (uintptr_t)jobs, .count = count };
	int ret = vitsa_ioctl(fd, VITSA_IOCTL_LIST_CREATE, &args);

	if (!ret && handle)
		*handle = args.handle;
	return ret;
}

int list_destroy(int fd, uint32_t handle)
{
	struct vitsa_list_destroy args = { .handle = handle };

	return vitsa_ioctl(fd, VITSA_IOCTL_LIST_DESTROY, &args);
}

struct vitsa_job list_run(uint32_t handle)
{
	struct vitsa_job j;

	memset(&j, 0, sizeof(j));
	j.kind = VITSA_JOB_KIND_LIST;
	j.list.handle = handle;
	return j;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int sysfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	if (n < 0)
		return -errno;
	return 0;
}

int sysfs_read_u64(const char *path, uint64_t *value)
{
	char buf[32], *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	errno = 0;
	*value = strtoull(buf, &end, 10);
	if (end == buf || errno || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

/* "vitsaN" of "/dev/vitsaN". */
static const char *misc_name(const char *dev_path)
{
	const char *slash = strrchr(dev_path, '/');

	return slash ? slash + 1 : dev_path;
}

int vitsa_pci_name(const char *dev_path, char *out, size_t size)
{
	char sys[128], link[256];
	const char *base;
	ssize_t n;

	snprintf(sys, sizeof(sys), "/sys/class/misc/%s/device", misc_name(dev_path));
	n = readlink(sys, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	base = strrchr(link, '/');
	snprintf(out, size, "%s", base ? base + 1 : link);
	return 0;
}

int vitsa_stat_read(const char *dev_path, const char *name, uint64_t *value)
{
	char path[192];

	snprintf(path, sizeof(path), "/sys/class/misc/%s/stats/%s", misc_name(dev_path), name);
	return sysfs_read_u64(path, value);
}

volatile uint32_t *vitsa_bar0_map(const char *dev_path)
{
	char path[320], pci[64];
	void *p;
	int fd;

	if (vitsa_pci_name(dev_path, pci, sizeof(pci)))
		return NULL;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", pci);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, VITSA_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

int vitsa_fdinfo_read(int fd, const char *key, uint64_t *value)
{
	char path[64], line[128];
	size_t len = strlen(key);
	int ret = -ENOENT;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		if (strncmp(line, key, len) || line[len] != ':')
			continue;
		*value = strtoull(line + len + 1, NULL, 10);
		ret = 0;
	}
	fclose(fp);
	return ret;
}

/* ---- PRNG ---- */

static struct vtest_rng rng_stream = VTEST_RNG(0x2545f491);

void rng_seed(uint32_t seed)
{
	rng_stream = VTEST_RNG(seed);
}

uint32_t rng(void)
{
	return (uint32_t)(vtest_rng_u64(&rng_stream) >> 32);
}

void fill_random(uint8_t *p, uint64_t n)
{
	vtest_rng_fill(&rng_stream, p, n);
}

/* ---- CPU reference ---- */

unsigned int type_bits(uint32_t type)
{
	static const unsigned int bits[] = {
		[VITSA_TYPE_S8] = 8, [VITSA_TYPE_U8] = 8, [VITSA_TYPE_S4] = 4,
		[VITSA_TYPE_U4] = 4, [VITSA_TYPE_S16] = 16, [VITSA_TYPE_S32] = 32,
	};

	return bits[type];
}

uint64_t row_bytes(uint32_t type, uint32_t cols)
{
	return ((uint64_t)cols * type_bits(type) + 7) / 8;
}

/* Element @c of the row at @row, of an operand type. */
static int32_t operand_get(const uint8_t *row, uint32_t type, uint32_t c)
{
	uint8_t nib = (row[c / 2] >> (c % 2 * 4)) & 0xf;

	switch (type) {
	case VITSA_TYPE_S8:
		return (int8_t)row[c];
	case VITSA_TYPE_U8:
		return row[c];
	case VITSA_TYPE_S4:
		return (int32_t)(nib ^ 8) - 8;
	default:
		return nib;
	}
}

/* floor((p + 2^(s-1)) / 2^s) for s > 0, written without shifting negative numbers. */
static int64_t rshift_round(int64_t p, uint32_t s)
{
	int64_t div, x, q;

	if (!s)
		return p;
	div = (int64_t)1 << s;
	x = p + ((int64_t)1 << (s - 1));
	q = x / div;
	if (x % div < 0)
		q--;
	return q;
}

static int64_t clamp_to(uint32_t type, int64_t v)
{
	int64_t lo, hi;

	switch (type) {
	case VITSA_TYPE_S8:
		lo = -128, hi = 127;
		break;
	case VITSA_TYPE_U8:
		lo = 0, hi = 255;
		break;
	case VITSA_TYPE_S4:
		lo = -8, hi = 7;
		break;
	case VITSA_TYPE_U4:
		lo = 0, hi = 15;
		break;
	default:
		lo = -32768, hi = 32767;
		break;
	}
	return v < lo ? lo : v > hi ? hi : v;
}

/* Store result element @c into the row at @row (int4 rows are zeroed by the caller). */
static void result_put(uint8_t *row, uint32_t type, uint32_t c, int64_t v)
{
	switch (type) {
	case VITSA_TYPE_S32:
		memcpy(row + 4 * c, &(int32_t){ (int32_t)v }, 4);
		break;
	case VITSA_TYPE_S16:
		memcpy(row + 2 * c, &(int16_t){ (int16_t)v }, 2);
		break;
	case VITSA_TYPE_S4:
	case VITSA_TYPE_U4:
		row[c / 2] |= ((uint8_t)v & 0xf) << (c % 2 * 4);
		break;
	default:
		row[c] = (uint8_t)v;
		break;
	}
}

void gemm_ref(const struct vitsa_gemm *g, const struct bo *a, const struct bo *b,
	      const struct bo *bias, const struct bo *rq, uint8_t *out)
{
	uint32_t m, n, k;

	for (m = 0; m < g->m; m++) {
		const uint8_t *arow = a->map + g->a.offset + m * g->a.stride;
		uint8_t *crow = out + g->c.offset + m * g->c.stride;

		memset(crow, 0, row_bytes(g->c_type, g->n));
		for (n = 0; n < g->n; n++) {
			uint32_t acc = 0;	/* two's complement wrap-around */
			int64_t v;

			for (k = 0; k < g->k; k++) {
				const uint8_t *brow;
				uint32_t bcol;

				if (g->flags & VITSA_GEMM_B_TRANS) {
					brow = b->map + g->b.offset + n * g->b.stride;
					bcol = k;
				} else {
					brow = b->map + g->b.offset + k * g->b.stride;
					bcol = n;
				}
				acc += (uint32_t)(operand_get(arow, g->a_type, k) *
						  operand_get(brow, g->b_type, bcol));
			}
			if (g->flags & VITSA_GEMM_BIAS) {
				int32_t bv;

				memcpy(&bv, bias->map + g->bias.offset + 4 * n, 4);
				acc += (uint32_t)bv;
			}
			v = (int32_t)acc;
			if (g->flags & VITSA_GEMM_REQUANT) {
				int32_t mult;
				uint32_t shift;

				memcpy(&mult, rq->map + g->rq.offset + 8 * n, 4);
				memcpy(&shift, rq->map + g->rq.offset + 8 * n + 4, 4);
				v = rshift_round(v * mult, shift);
				v = clamp_to(g->c_type, v + g->c_zero);
			}
			result_put(crow, g->c_type, n, v);
		}
	}
}

uint64_t first_diff(const uint8_t *got, const uint8_t *expect, uint64_t size)
{
	uint64_t i;

	for (i = 0; i < size; i++)
		if (got[i] != expect[i])
			break;
	return i;
}
