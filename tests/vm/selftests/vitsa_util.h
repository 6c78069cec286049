/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the vitsa selftest binaries: the ioctls as 0/-errno calls, buffer objects
 * and their mappings, a small PRNG, the CPU reference GEMM and sysfs writes.
 *
 * vitsa_util.c holds everything that does not need the kselftest harness.  The helpers that
 * end the test with ASSERT_*() need the harness's _metadata; they are static inline here and
 * only visible to a file that includes kselftest_harness.h before this header (the harness
 * has non-static definitions, so only one object of a binary may include it).
 */
#ifndef VITSA_UTIL_H
#define VITSA_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vitsa.h"
#include "vtest.h"

#define NSEC_PER_SEC	1000000000ull
#define WAIT_LONG_NS	(30 * NSEC_PER_SEC)	/* a job that takes longer is a failure */
#define SENTINEL	0xa5

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* ---- the device and its ioctls; every call returns 0 or -errno ---- */

/* $VITSA_DEV, or /dev/vitsa0. */
const char *vitsa_path(void);
int vitsa_open(void);
int vitsa_open_path(const char *path);
int vitsa_ioctl(int fd, unsigned long request, void *arg);
int get_param(int fd, uint32_t param, uint64_t *value);

/* A buffer object and, once mapped, its mapping. */
struct bo {
	uint32_t handle;
	uint64_t size;
	uint64_t mmap_offset;
	uint8_t *map;
};

int bo_create(int fd, uint64_t size, struct bo *bo);
int bo_destroy(int fd, uint32_t handle);
/* mmap(2) of the whole object, read-write and shared. */
int bo_map(int fd, struct bo *bo);
void bo_unmap(struct bo *bo);
/* bo_create() then bo_map(); on a failed map the object is destroyed again. */
int bo_create_mapped(int fd, uint64_t size, struct bo *bo);

int submit(int fd, const struct vitsa_gemm *jobs, uint32_t count, uint64_t *fence);
/* SUBMIT with VITSA_SUBMIT_JOBS: jobs of either kind. */
int submit_jobs(int fd, const struct vitsa_job *jobs, uint32_t count, uint64_t *fence);
int wait_fence(int fd, uint64_t fence, uint64_t timeout_ns, struct vitsa_wait *out);

/* Job lists (uapi 1.3): LIST_CREATE of @count jobs (*@handle set on success); LIST_DESTROY. */
int list_create(int fd, const struct vitsa_job *jobs, uint32_t count, uint32_t *handle);
int list_destroy(int fd, uint32_t handle);
/* A SUBMIT_JOBS entry that runs the list @handle. */
struct vitsa_job list_run(uint32_t handle);

uint64_t now_ns(void);

/* Write @value to a sysfs (or any) file. */
int sysfs_write(const char *path, const char *value);
/* Read the one decimal value of a sysfs file (a trailing newline allowed): 0 or -errno. */
int sysfs_read_u64(const char *path, uint64_t *value);
/* The PCI address (e.g. 0000:00:02.0) of the device behind /dev/vitsaN: 0 or -errno. */
int vitsa_pci_name(const char *dev_path, char *out, size_t size);
/* Counter @name of /sys/class/misc/vitsaN/stats/ for the device behind @dev_path. */
int vitsa_stat_read(const char *dev_path, const char *name, uint64_t *value);
/* BAR0 of the device behind @dev_path, through its PCI resource file; NULL on error. */
volatile uint32_t *vitsa_bar0_map(const char *dev_path);
/* The value of @key (e.g. "vitsa-lists") in /proc/self/fdinfo/@fd: 0 or -errno. */
int vitsa_fdinfo_read(int fd, const char *key, uint64_t *value);

/* ---- the shared PRNG (tests/lib/vtest.h) as one global stream, reproducible from its seed ---- */

void rng_seed(uint32_t seed);
uint32_t rng(void);
void fill_random(uint8_t *p, uint64_t n);

/* ---- CPU reference (Documentation/hw/vitsa.rst "Arithmetic") ---- */

unsigned int type_bits(uint32_t type);
/* Bytes of one row of @cols elements; int4 rows take ceil(cols / 2) bytes. */
uint64_t row_bytes(uint32_t type, uint32_t cols);

/*
 * C = A x B (+ bias), then raw int32 or requantized, for a job whose operands live in the
 * mapped objects @a, @b, @bias, @rq; writes the expected C rows into @out, laid out like C's
 * object (bytes outside the rows are left alone).
 */
void gemm_ref(const struct vitsa_gemm *g, const struct bo *a, const struct bo *b,
	      const struct bo *bias, const struct bo *rq, uint8_t *out);

/* The index of the first byte where @got and @expect differ, or @size. */
uint64_t first_diff(const uint8_t *got, const uint8_t *expect, uint64_t size);

#ifdef __KSELFTEST_HARNESS_H

/* A mapped object, or the test fails. */
static inline void bo_new_mapped(struct __test_metadata *_metadata, int fd, uint64_t size,
				 struct bo *bo)
{
	ASSERT_EQ(0, bo_create(fd, size, bo));
	ASSERT_EQ(0, bo_map(fd, bo));
}

/* Wait for @fence and demand that no job up to it failed. */
static inline void wait_ok(struct __test_metadata *_metadata, int fd, uint64_t fence)
{
	struct vitsa_wait w;

	ASSERT_EQ(0, wait_fence(fd, fence, WAIT_LONG_NS, &w));
	ASSERT_EQ(0, w.error_fence) TH_LOG("job %llu failed with status %u (%s)",
					   (unsigned long long)w.error_fence, w.error,
					   vitsa_job_status_name(w.error));
	ASSERT_EQ(0, w.error);
}

/* Queue @count jobs of @dim^3 on fresh objects of @fd: enough work to keep the device busy. */
static inline uint64_t submit_busy_work(struct __test_metadata *_metadata, int fd, uint32_t dim,
					uint32_t count, struct bo *a, struct bo *b, struct bo *c)
{
	struct vitsa_gemm *jobs = calloc(count, sizeof(*jobs));
	uint64_t fence = 0;
	uint32_t j;

	ASSERT_NE(NULL, jobs);
	bo_new_mapped(_metadata, fd, (uint64_t)dim * dim, a);
	bo_new_mapped(_metadata, fd, (uint64_t)dim * dim, b);
	bo_new_mapped(_metadata, fd, (uint64_t)dim * dim * 4, c);
	fill_random(a->map, a->size);
	fill_random(b->map, b->size);
	for (j = 0; j < count; j++) {
		jobs[j] = (struct vitsa_gemm){
			.m = dim, .n = dim, .k = dim,
			.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8,
			.c_type = VITSA_TYPE_S32,
			.a = { a->handle, 0, 0, dim }, .b = { b->handle, 0, 0, dim },
			.c = { c->handle, 0, 0, dim * 4 },
		};
	}
	EXPECT_EQ(0, submit(fd, jobs, count, &fence));
	free(jobs);
	return fence;
}

/*
 * Run one job on filled operands and compare C with the reference: every row's bytes must
 * match, and every byte of C's object outside the rows must still hold SENTINEL.
 */
static inline void gemm_check(struct __test_metadata *_metadata, int fd,
			      const struct vitsa_gemm *g, const struct bo *a, const struct bo *b,
			      struct bo *c, const struct bo *bias, const struct bo *rq)
{
	uint64_t fence, rb = row_bytes(g->c_type, g->n), i;
	uint8_t *expect;
	uint32_t m;

	memset(c->map, SENTINEL, c->size);
	expect = malloc(c->size);
	ASSERT_NE(NULL, expect);
	memset(expect, SENTINEL, c->size);
	gemm_ref(g, a, b, bias, rq, expect);

	ASSERT_EQ(0, submit(fd, g, 1, &fence));
	wait_ok(_metadata, fd, fence);

	for (m = 0; m < g->m; m++) {
		uint64_t off = g->c.offset + m * g->c.stride;

		i = first_diff(c->map + off, expect + off, rb);
		ASSERT_EQ(rb, i) TH_LOG("C row %u byte %llu: device %#x, reference %#x", m,
					(unsigned long long)i, c->map[off + i], expect[off + i]);
	}
	i = first_diff(c->map, expect, c->size);
	ASSERT_EQ(c->size, i) TH_LOG("C byte %llu outside the rows changed",
				     (unsigned long long)i);
	free(expect);
}

#endif /* __KSELFTEST_HARNESS_H */

#endif /* VITSA_UTIL_H */
