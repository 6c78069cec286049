// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa driver selftests: run inside the test VM against /dev/vitsa0 (or $VITSA_DEV).
 *
 * The ABI under test is uapi/vitsa.h as described in Documentation/uapi.rst: parameters,
 * buffer objects and their mappings, GEMMs and vector jobs checked against a CPU reference,
 * every argument check with its exact errno, fences and waits, and the isolation of one open
 * file from another.  Output is KTAP from the kernel's kselftest harness.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vitsa_util.h"
#include "vitsa_hw.h"

#define ALL_VEC_OPS	0x7ffu	/* VITSA_PARAM_VEC_OPS with the vector unit: 0x10..0x1a */

/* ---- device parameters and ioctl dispatch ---- */

FIXTURE(vitsa) {
	int fd;
	uint64_t max_dim;
	uint64_t max_bo_size;
	long page;
};

FIXTURE_SETUP(vitsa)
{
	self->fd = vitsa_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", vitsa_path(), strerror(errno));
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_MAX_DIM, &self->max_dim));
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_MAX_BO_SIZE, &self->max_bo_size));
	self->page = sysconf(_SC_PAGESIZE);
}

FIXTURE_TEARDOWN(vitsa)
{
	close(self->fd);
}

TEST_F(vitsa, get_param_values)
{
	uint64_t v;

	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_UAPI_VERSION, &v));
	EXPECT_EQ(VITSA_UAPI_MAJOR, v >> 16);
	EXPECT_LE(VITSA_UAPI_MINOR, v & 0xffff);
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_HW_VERSION, &v));
	EXPECT_EQ(1, v >> 16);
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_ARRAY_ROWS, &v));
	EXPECT_EQ(16, v);
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_ARRAY_COLS, &v));
	EXPECT_EQ(16, v);
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_DTYPES, &v));
	EXPECT_EQ((1u << VITSA_TYPE_S8) | (1u << VITSA_TYPE_U8) | (1u << VITSA_TYPE_S4) |
		  (1u << VITSA_TYPE_U4), v);
	EXPECT_EQ(32768, self->max_dim);
	EXPECT_EQ(4u << 20, self->max_bo_size);
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_RING_ENTRIES, &v));
	EXPECT_LE(2, v);
	EXPECT_EQ(0, v & (v - 1));
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_GEMM_FLAGS, &v));
	EXPECT_EQ(VITSA_GEMM_FLAGS, v);
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_JOB_TIMEOUT_MS, &v));
	EXPECT_LE(1, v);
	EXPECT_GE(3600000, v);
	/* The test VM's devices have the vector unit: all 11 ops. */
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_VEC_OPS, &v));
	EXPECT_EQ(ALL_VEC_OPS, v);
}

TEST_F(vitsa, get_param_unknown)
{
	uint64_t v;

	EXPECT_EQ(-EINVAL, get_param(self->fd, VITSA_PARAM_COUNT, &v));
	EXPECT_EQ(-EINVAL, get_param(self->fd, 0x80000000u, &v));
	EXPECT_EQ(-EINVAL, get_param(self->fd, UINT32_MAX, &v));
}

TEST_F(vitsa, get_param_pad)
{
	struct vitsa_get_param args = { .param = VITSA_PARAM_MAX_DIM, .pad = 1 };

	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_GET_PARAM, &args));
	args.pad = 0x80000000u;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_GET_PARAM, &args));
}

TEST_F(vitsa, get_param_bad_pointer)
{
	EXPECT_EQ(-EFAULT, vitsa_ioctl(self->fd, VITSA_IOCTL_GET_PARAM, NULL));
	EXPECT_EQ(-EFAULT, vitsa_ioctl(self->fd, VITSA_IOCTL_GET_PARAM, (void *)8));
}

TEST_F(vitsa, unknown_ioctl)
{
	struct vitsa_wait big = { 0 };
	uint64_t small = 0;

	/* Unused numbers, wrong sizes, wrong directions, another ioctl type: all -ENOTTY. */
	EXPECT_EQ(-ENOTTY, vitsa_ioctl(self->fd, _IO(VITSA_IOCTL_BASE, 0x05), NULL));
	EXPECT_EQ(-ENOTTY, vitsa_ioctl(self->fd, _IOWR(VITSA_IOCTL_BASE, 0x05, struct vitsa_wait),
				       &big));
	EXPECT_EQ(-ENOTTY, vitsa_ioctl(self->fd, _IOWR(VITSA_IOCTL_BASE, 0xff, struct vitsa_wait),
				       &big));
	EXPECT_EQ(-ENOTTY, vitsa_ioctl(self->fd, _IOWR(VITSA_IOCTL_BASE, 0x00, uint64_t), &small));
	EXPECT_EQ(-ENOTTY, vitsa_ioctl(self->fd,
				       _IOW(VITSA_IOCTL_BASE, 0x00, struct vitsa_get_param), &big));
	EXPECT_EQ(-ENOTTY, vitsa_ioctl(self->fd,
				       _IOWR(VITSA_IOCTL_BASE, 0x04, struct vitsa_submit), &big));
	EXPECT_EQ(-ENOTTY, vitsa_ioctl(self->fd, _IOWR('x', 0x00, struct vitsa_get_param), &big));
	EXPECT_EQ(-ENOTTY, vitsa_ioctl(self->fd, _IO(0, 0), NULL));
}

/* ---- buffer objects ---- */

TEST_F(vitsa, bo_create_map_write_read_destroy)
{
	struct bo bo, again;
	uint64_t i;

	ASSERT_EQ(0, bo_create(self->fd, 5000, &bo));
	EXPECT_NE(0, bo.handle);
	EXPECT_EQ(2 * self->page, bo.size);
	EXPECT_EQ(0, bo.mmap_offset % self->page);
	ASSERT_EQ(0, bo_map(self->fd, &bo));
	for (i = 0; i < bo.size; i++)
		ASSERT_EQ(0, bo.map[i]) TH_LOG("new object not zeroed at byte %llu",
					       (unsigned long long)i);
	for (i = 0; i < bo.size; i++)
		bo.map[i] = (uint8_t)(i * 7 + 3);
	bo_unmap(&bo);

	/* A second mapping sees what the first wrote. */
	again = bo;
	ASSERT_EQ(0, bo_map(self->fd, &again));
	for (i = 0; i < again.size; i++)
		ASSERT_EQ((uint8_t)(i * 7 + 3), again.map[i]);
	bo_unmap(&again);

	EXPECT_EQ(0, bo_destroy(self->fd, bo.handle));
	EXPECT_EQ(-ENOENT, bo_destroy(self->fd, bo.handle));
}

TEST_F(vitsa, bo_size_rounding_and_limits)
{
	struct bo bo, other;

	ASSERT_EQ(0, bo_create(self->fd, 1, &bo));
	EXPECT_EQ(self->page, bo.size);
	ASSERT_EQ(0, bo_create(self->fd, self->page + 1, &other));
	EXPECT_EQ(2 * self->page, other.size);
	EXPECT_NE(bo.handle, other.handle);
	EXPECT_NE(bo.mmap_offset, other.mmap_offset);
	EXPECT_EQ(0, bo_destroy(self->fd, bo.handle));
	EXPECT_EQ(0, bo_destroy(self->fd, other.handle));

	ASSERT_EQ(0, bo_create(self->fd, self->max_bo_size, &bo));
	EXPECT_EQ(self->max_bo_size, bo.size);
	EXPECT_EQ(0, bo_destroy(self->fd, bo.handle));

	EXPECT_EQ(-EINVAL, bo_create(self->fd, 0, &bo));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, self->max_bo_size + 1, &bo));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, UINT64_MAX, &bo));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, UINT64_MAX - self->page + 2, &bo));
}

TEST_F(vitsa, bo_create_flags)
{
	struct vitsa_bo_create args = { .size = 4096, .flags = 1 };

	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_BO_CREATE, &args));
	args.flags = 0x80000000u;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_BO_CREATE, &args));
}

TEST_F(vitsa, bo_destroy_bad)
{
	struct vitsa_bo_destroy args = { 0 };
	struct bo bo;

	ASSERT_EQ(0, bo_create(self->fd, 4096, &bo));
	args.handle = bo.handle;
	args.pad = 1;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_BO_DESTROY, &args));
	EXPECT_EQ(-ENOENT, bo_destroy(self->fd, 0));
	EXPECT_EQ(-ENOENT, bo_destroy(self->fd, bo.handle + 1));
	EXPECT_EQ(-ENOENT, bo_destroy(self->fd, UINT32_MAX));
	/* The rejected calls left the object alone. */
	EXPECT_EQ(0, bo_destroy(self->fd, bo.handle));
}

/*
 * BO_DESTROY of handle 0 is -ENOENT and nothing else: handles created afterwards are still
 * never 0, with or without objects alive (found by vitsa_fuzz).
 */
TEST_F(vitsa, bo_destroy_zero_keeps_handles_nonzero)
{
	struct bo bo[4];
	int i;

	EXPECT_EQ(-ENOENT, bo_destroy(self->fd, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, bo_create(self->fd, 4096, &bo[i]));
		EXPECT_NE(0, bo[i].handle);
	}
	EXPECT_EQ(-ENOENT, bo_destroy(self->fd, 0));
	for (i = 2; i < 4; i++) {
		ASSERT_EQ(0, bo_create(self->fd, 4096, &bo[i]));
		EXPECT_NE(0, bo[i].handle) TH_LOG("object %d after BO_DESTROY of handle 0", i);
	}
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, bo_destroy(self->fd, bo[i].handle));
}

TEST_F(vitsa, bo_mmap_bad)
{
	struct bo bo;
	void *p;

	ASSERT_EQ(0, bo_create(self->fd, 2 * self->page, &bo));

	p = mmap(NULL, bo.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, bo.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, bo.size + self->page, PROT_READ, MAP_SHARED, self->fd, bo.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->fd,
		 bo.mmap_offset + 1000 * self->page);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	/* A shorter mapping from the start is fine. */
	p = mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->fd, bo.mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, self->page);

	ASSERT_EQ(0, bo_destroy(self->fd, bo.handle));
	p = mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->fd, bo.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

/* A file opened read-only still gets shared mappings, read-only ones. */
TEST_F(vitsa, bo_map_read_only_open)
{
	struct bo bo;
	void *p;
	int fd;

	fd = open(vitsa_path(), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bo_create(fd, self->page, &bo));
	p = mmap(NULL, bo.size, PROT_READ, MAP_SHARED, fd, bo.mmap_offset);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0, ((uint8_t *)p)[0]);
	munmap(p, bo.size);
	p = mmap(NULL, bo.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, bo.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	close(fd);
}

TEST_F(vitsa, bo_mapping_outlives_handle)
{
	struct bo bo;
	uint64_t i;

	bo_new_mapped(_metadata, self->fd, 3 * self->page, &bo);
	ASSERT_EQ(0, bo_destroy(self->fd, bo.handle));
	for (i = 0; i < bo.size; i++)
		bo.map[i] = (uint8_t)i;
	for (i = 0; i < bo.size; i++)
		ASSERT_EQ((uint8_t)i, bo.map[i]);
	bo_unmap(&bo);
}

/* ---- memory limits: the file's budget, the memory cgroup ---- */

#define FILE_BO_MB	"/sys/module/vitsa/parameters/file_bo_mb"
#define MIB		(1ull << 20)

/* Each test sets file_bo_mb to 8 and gets its old value back, whatever happens. */
FIXTURE(budget) {
	char old[32];
	int fd, fd2;
};

FIXTURE_SETUP(budget)
{
	int fd = open(FILE_BO_MB, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	self->fd = self->fd2 = -1;
	ASSERT_LE(0, fd) TH_LOG("%s: %s", FILE_BO_MB, strerror(errno));
	n = read(fd, self->old, sizeof(self->old) - 1);
	close(fd);
	ASSERT_LT(0, n);
	self->old[n] = 0;
	ASSERT_EQ(0, sysfs_write(FILE_BO_MB, "8"));
	self->fd = vitsa_open();
	self->fd2 = vitsa_open();
	ASSERT_LE(0, self->fd);
	ASSERT_LE(0, self->fd2);
}

FIXTURE_TEARDOWN(budget)
{
	close(self->fd);
	close(self->fd2);
	sysfs_write(FILE_BO_MB, self->old);
}

/* A file holds at most file_bo_mb of objects, counted until their pages are freed. */
TEST_F(budget, file_bo_mb_per_file)
{
	struct bo a, b, c, other;

	ASSERT_EQ(0, bo_create(self->fd, 4 * MIB, &a));
	ASSERT_EQ(0, bo_create_mapped(self->fd, 4 * MIB - 4096, &b));
	EXPECT_EQ(-EDQUOT, bo_create(self->fd, 4096 + 1, &c));
	ASSERT_EQ(0, bo_create(self->fd, 4096, &c));
	EXPECT_EQ(-EDQUOT, bo_create(self->fd, 1, &other));
	/* Another file has a budget of its own. */
	ASSERT_EQ(0, bo_create(self->fd2, 4 * MIB, &other));

	EXPECT_EQ(0, bo_destroy(self->fd, a.handle));
	ASSERT_EQ(0, bo_create(self->fd, 4 * MIB, &a));
	/* A mapping keeps its object's pages, and the charge, after the handle is gone. */
	EXPECT_EQ(0, bo_destroy(self->fd, b.handle));
	EXPECT_EQ(-EDQUOT, bo_create(self->fd, 4096, &other));
	bo_unmap(&b);
	EXPECT_EQ(0, bo_create(self->fd, 4 * MIB - 4096, &b));
}

/* A larger budget takes effect at the next BO_CREATE; a smaller one does not take back. */
TEST_F(budget, file_bo_mb_changes_apply_to_new_objects)
{
	struct bo a, b;

	ASSERT_EQ(0, bo_create(self->fd, 4 * MIB, &a));
	ASSERT_EQ(0, sysfs_write(FILE_BO_MB, "4"));
	EXPECT_EQ(-EDQUOT, bo_create(self->fd, 4096, &b));
	EXPECT_EQ(0, bo_destroy(self->fd, a.handle));
	ASSERT_EQ(0, sysfs_write(FILE_BO_MB, "12"));
	EXPECT_EQ(0, bo_create(self->fd, 4 * MIB, &a));
	EXPECT_EQ(0, bo_create(self->fd, 4 * MIB, &b));
	EXPECT_EQ(0, bo_create(self->fd, 4 * MIB, &b));
	EXPECT_EQ(-EDQUOT, bo_create(self->fd, 4096, &b));
}

#define CGROOT		"/sys/fs/cgroup"
#define CGTEST		CGROOT "/vitsa-test"
#define CG_MAX_BYTES	(10 * MIB)

/* cgroup v2 with the memory controller for children of the root, or a reason why not. */
static const char *memcg_setup(void)
{
	if (access(CGROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CGROOT, "cgroup2", 0, NULL))
		return "cannot mount cgroup2";
	if (sysfs_write(CGROOT "/cgroup.subtree_control", "+memory"))
		return "no memory controller";
	if (mkdir(CGTEST, 0755) && errno != EEXIST)
		return "cannot create a cgroup";
	return NULL;
}

/* What the child in the cgroup saw, for the parent to check. */
struct memcg_res {
	uint64_t big, big_errno;	/* 4 MiB objects made, then the failure's errno */
	uint64_t held, freed;		/* memory.current with them, and once destroyed */
	uint64_t again;			/* 4 MiB objects made again (2 tried) */
	uint64_t small, small_errno;	/* then 4 KiB objects until a failure, and its errno */
};

/* Up to @max objects of @size into @h; how many, with the failure's errno in @err. */
static uint64_t memcg_fill(int fd, uint64_t size, uint32_t *h, uint64_t max, uint64_t *err)
{
	struct bo bo;
	uint64_t n = 0;
	int ret = 0;

	while (n < max && !(ret = bo_create(fd, size, &bo)))
		h[n++] = bo.handle;
	*err = -ret;
	return n;
}

/*
 * In CGTEST with memory.max CG_MAX_BYTES: 4 MiB objects until BO_CREATE fails, destroyed and
 * made again, then 4 KiB ones until it fails (a small allocation at the limit is where the
 * cgroup's OOM killer would step in).  Writes a struct memcg_res to @out.
 */
static void memcg_child(int out)
{
	static uint32_t h[4096];
	struct memcg_res r = { 0 };
	uint64_t err;
	char pid[16];
	int fd;

	/*
	 * Anything the child charges while the cgroup is full (a page of its own, the pipe's
	 * buffer) meets the OOM killer: touch its memory before it joins, empty it before it
	 * writes.
	 */
	memset(h, 0xff, sizeof(h));
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (sysfs_write(CGTEST "/cgroup.procs", pid) || (fd = vitsa_open()) < 0)
		_exit(2);
	r.big = memcg_fill(fd, 4 * MIB, h, 8, &r.big_errno);
	sysfs_read_u64(CGTEST "/memory.current", &r.held);
	for (uint64_t i = 0; i < r.big; i++)
		bo_destroy(fd, h[i]);
	sysfs_read_u64(CGTEST "/memory.current", &r.freed);
	r.again = memcg_fill(fd, 4 * MIB, h, 2, &err);
	r.small = memcg_fill(fd, 4096, h + 2, 4000, &r.small_errno);
	close(fd);
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(3);
	_exit(0);
}

/* Objects are charged to the creator's memory cgroup: memory.max stops BO_CREATE. */
TEST(bo_charged_to_memcg)
{
	struct memcg_res r;
	char max[32];
	const char *why;
	int pipefd[2], status;
	pid_t pid;

	/* The test VM's kernel has cgroup v2 and its memory controller: without them, fail. */
	why = memcg_setup();
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	snprintf(max, sizeof(max), "%llu", CG_MAX_BYTES);
	ASSERT_EQ(0, sysfs_write(CGTEST "/memory.max", max));
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		memcg_child(pipefd[1]);
	close(pipefd[1]);
	ASSERT_EQ(sizeof(r), read(pipefd[0], &r, sizeof(r))) TH_LOG("the child died");
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("child status %#x (killed by the cgroup's OOM killer?)", status);
	EXPECT_EQ(0, rmdir(CGTEST)) TH_LOG("rmdir: %s", strerror(errno));

	TH_LOG("memory.max %llu: %llu objects of 4 MiB, then errno %llu; memory.current %llu, "
	       "%llu destroyed; again %llu; then %llu of 4 KiB, errno %llu", CG_MAX_BYTES,
	       (unsigned long long)r.big, (unsigned long long)r.big_errno,
	       (unsigned long long)r.held, (unsigned long long)r.freed,
	       (unsigned long long)r.again, (unsigned long long)r.small,
	       (unsigned long long)r.small_errno);
	EXPECT_EQ(CG_MAX_BYTES / (4 * MIB), r.big);
	EXPECT_EQ(ENOMEM, r.big_errno);
	EXPECT_LE(r.big * 4 * MIB, r.held);
	/* Freed objects are uncharged: the same two fit again. */
	EXPECT_GE(r.held - r.big * 4 * MIB, r.freed);
	EXPECT_EQ(2, r.again);
	/* At most the 2 MiB left, then ENOMEM, not the OOM killer. */
	EXPECT_GT((CG_MAX_BYTES - 2 * 4 * MIB) / 4096, r.small);
	EXPECT_EQ(ENOMEM, r.small_errno);
}

/* ---- GEMMs against the CPU reference ---- */

TEST_F(vitsa, gemm_s8_s32)
{
	struct vitsa_gemm g = {
		.m = 37, .n = 29, .k = 71,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .offset = 13, .stride = 71 + 5 },
		.b = { .offset = 100, .stride = 29 + 3 },
		.c = { .offset = 64, .stride = 4 * 29 + 8 },
	};
	struct bo a, b, c;

	bo_new_mapped(_metadata, self->fd, 4 * self->page, &a);
	bo_new_mapped(_metadata, self->fd, 4 * self->page, &b);
	bo_new_mapped(_metadata, self->fd, 8 * self->page, &c);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	gemm_check(_metadata, self->fd, &g, &a, &b, &c, NULL, NULL);
}

TEST_F(vitsa, gemm_int4_and_int8_odd_sizes)
{
	struct vitsa_gemm g = {
		.m = 19, .n = 33, .k = 47,
		.a_type = VITSA_TYPE_U4, .b_type = VITSA_TYPE_S4, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 24 },		/* ceil(47 / 2): the tightest int4 stride */
		.b = { .offset = 7, .stride = 17 },	/* ceil(33 / 2) */
		.c = { .stride = 4 * 33 },
	};
	struct bo a, b, c;

	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, 2 * self->page, &c);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	gemm_check(_metadata, self->fd, &g, &a, &b, &c, NULL, NULL);

	/* The same buffers read as u8 x s8. */
	g.a_type = VITSA_TYPE_U8;
	g.a.stride = 47;
	g.b_type = VITSA_TYPE_S8;
	g.b.stride = 33;
	gemm_check(_metadata, self->fd, &g, &a, &b, &c, NULL, NULL);
}

TEST_F(vitsa, gemm_b_trans_bias_requant)
{
	static const uint32_t c_types[] = {
		VITSA_TYPE_S8, VITSA_TYPE_U8, VITSA_TYPE_S4, VITSA_TYPE_U4, VITSA_TYPE_S16,
	};
	struct vitsa_gemm g = {
		.m = 21, .n = 27, .k = 35,
		.flags = VITSA_GEMM_B_TRANS | VITSA_GEMM_BIAS | VITSA_GEMM_REQUANT,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_zero = -3,
		.a = { .stride = 40 },
		.b = { .offset = 8, .stride = 35 },	/* N rows of K */
		.c = { .offset = 3, .stride = 64 },
		.bias = { .offset = 12 },
		.rq = { .offset = 16 },
	};
	struct bo a, b, c, bias, rq;
	unsigned int i;
	uint32_t n;

	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, 2 * self->page, &c);
	bo_new_mapped(_metadata, self->fd, self->page, &bias);
	bo_new_mapped(_metadata, self->fd, self->page, &rq);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	g.bias.handle = bias.handle;
	g.rq.handle = rq.handle;
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	for (n = 0; n < g.n; n++) {
		int32_t bv = (int32_t)(rng() % 20001) - 10000;
		int32_t mult = (int32_t)(rng() % (1u << 20)) - (1 << 18);
		uint32_t shift = n == 0 ? 0 : 8 + rng() % 18;

		memcpy(bias.map + g.bias.offset + 4 * n, &bv, 4);
		memcpy(rq.map + g.rq.offset + 8 * n, &mult, 4);
		memcpy(rq.map + g.rq.offset + 8 * n + 4, &shift, 4);
	}
	for (i = 0; i < ARRAY_SIZE(c_types); i++) {
		g.c_type = c_types[i];
		gemm_check(_metadata, self->fd, &g, &a, &b, &c, &bias, &rq);
	}
}

/* Many small jobs in one SUBMIT, more than the ring holds; each writes its own rows of C. */
TEST_F(vitsa, gemm_batch_larger_than_ring)
{
	const uint32_t count = 600, dim = 8;
	struct vitsa_gemm *jobs = calloc(count, sizeof(*jobs));
	uint64_t ring, fence, fence2;
	struct bo a, b, c;
	uint32_t j, m, n, k;

	ASSERT_NE(NULL, jobs);
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_RING_ENTRIES, &ring));
	ASSERT_LT(ring, count);
	bo_new_mapped(_metadata, self->fd, count * dim * dim, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, count * dim * dim * 4, &c);
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	memset(c.map, SENTINEL, c.size);
	for (j = 0; j < count; j++) {
		jobs[j] = (struct vitsa_gemm){
			.m = dim, .n = dim, .k = dim,
			.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_U8,
			.c_type = VITSA_TYPE_S32,
			.a = { a.handle, 0, j * dim * dim, dim },
			.b = { b.handle, 0, 0, dim },
			.c = { c.handle, 0, (uint64_t)j * dim * dim * 4, dim * 4 },
		};
	}
	ASSERT_EQ(0, submit(self->fd, jobs, count, &fence));
	EXPECT_EQ(count, fence);
	wait_ok(_metadata, self->fd, fence);

	for (j = 0; j < count; j++) {
		for (m = 0; m < dim; m++) {
			for (n = 0; n < dim; n++) {
				int32_t acc = 0, got;

				for (k = 0; k < dim; k++)
					acc += (int8_t)a.map[j * dim * dim + m * dim + k] *
					       b.map[k * dim + n];
				memcpy(&got, c.map + 4 * (j * dim * dim + m * dim + n), 4);
				ASSERT_EQ(acc, got) TH_LOG("job %u C[%u][%u]", j, m, n);
			}
		}
	}

	/* Fences continue where the batch ended. */
	ASSERT_EQ(0, submit(self->fd, jobs, 3, &fence2));
	EXPECT_EQ(fence + 3, fence2);
	wait_ok(_metadata, self->fd, fence2);
	free(jobs);
}

/* Single-job SUBMITs, never waiting in between: the ring wraps several times. */
TEST_F(vitsa, gemm_many_submits_wrap_ring)
{
	struct vitsa_gemm g = {
		.m = 4, .n = 4, .k = 4,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 4 }, .b = { .stride = 4 }, .c = { .stride = 16 },
	};
	struct bo a, b, c;
	uint64_t fence, i;

	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, self->page, &c);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	for (i = 1; i <= 1000; i++) {
		ASSERT_EQ(0, submit(self->fd, &g, 1, &fence));
		ASSERT_EQ(i, fence);
	}
	wait_ok(_metadata, self->fd, fence);
	gemm_check(_metadata, self->fd, &g, &a, &b, &c, NULL, NULL);
}

/* ---- SUBMIT arguments other than the jobs ---- */

TEST_F(vitsa, submit_args)
{
	struct vitsa_gemm jobs[2] = { 0 };
	struct vitsa_submit args = { .jobs = (uintptr_t)jobs, .count = 1 };

	args.count = 0;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_SUBMIT, &args));
	args.count = VITSA_SUBMIT_MAX_JOBS + 1;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_SUBMIT, &args));
	args.count = UINT32_MAX;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_SUBMIT, &args));
	args.count = 1;
	args.flags = 1u << 2;	/* the first bit after VITSA_SUBMIT_JOBS */
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_SUBMIT, &args));
	args.flags = 0x80000000u;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_SUBMIT, &args));
	args.flags = 0;
	args.jobs = 0;
	EXPECT_EQ(-EFAULT, vitsa_ioctl(self->fd, VITSA_IOCTL_SUBMIT, &args));
	args.jobs = 8;
	EXPECT_EQ(-EFAULT, vitsa_ioctl(self->fd, VITSA_IOCTL_SUBMIT, &args));
	args.jobs = UINT64_MAX - 7;
	EXPECT_EQ(-EFAULT, vitsa_ioctl(self->fd, VITSA_IOCTL_SUBMIT, &args));
	/* Nothing above was queued: there is no fence 1 to wait for. */
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 1, 0, NULL));
}

/* One bad job in a batch: nothing runs, no fence is used up. */
TEST_F(vitsa, submit_all_or_nothing)
{
	struct vitsa_gemm jobs[3];
	struct bo a, b, c;
	uint64_t fence, i;

	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, self->page, &c);
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	memset(c.map, SENTINEL, c.size);
	for (i = 0; i < 3; i++) {
		jobs[i] = (struct vitsa_gemm){
			.m = 8, .n = 8, .k = 8,
			.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8,
			.c_type = VITSA_TYPE_S32,
			.a = { a.handle, 0, 0, 8 }, .b = { b.handle, 0, 0, 8 },
			.c = { c.handle, 0, i * 256, 32 },
		};
	}
	jobs[2].k = 0;
	EXPECT_EQ(-EINVAL, submit(self->fd, jobs, 3, NULL));
	jobs[2].k = 8;
	jobs[2].b.handle = 12345;
	EXPECT_EQ(-ENOENT, submit(self->fd, jobs, 3, NULL));
	jobs[2].b.handle = b.handle;
	jobs[2].c.offset = c.size;
	EXPECT_EQ(-EINVAL, submit(self->fd, jobs, 3, NULL));

	/* Give the device time to run anything that was (wrongly) queued, then look. */
	jobs[2].c.offset = 2 * 256;
	usleep(100 * 1000);
	for (i = 0; i < c.size; i++)
		ASSERT_EQ(SENTINEL, c.map[i]) TH_LOG("byte %llu of C written by a rejected batch",
						     (unsigned long long)i);
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 1, 0, NULL));

	ASSERT_EQ(0, submit(self->fd, jobs, 3, &fence));
	EXPECT_EQ(3, fence);
	wait_ok(_metadata, self->fd, fence);
}

/*
 * C may not overlap an input of its own object (uapi.rst, hw 1.2): such a job is refused at
 * SUBMIT, alone or in a batch, before anything is queued; C touching A is fine.
 */
TEST_F(vitsa, submit_c_overlaps_input)
{
	struct vitsa_gemm jobs[2];
	uint8_t *before, *expect;
	uint64_t fence, i;
	struct bo bo, c;

	/* A [0, 64) and B [512, 576) of one object, 8 x 8 s8; C 8 x 8 s32, 256 bytes. */
	bo_new_mapped(_metadata, self->fd, self->page, &bo);
	bo_new_mapped(_metadata, self->fd, self->page, &c);
	fill_random(bo.map, bo.size);
	memset(c.map, SENTINEL, c.size);
	before = malloc(bo.size);
	expect = malloc(bo.size);
	ASSERT_NE(NULL, before);
	ASSERT_NE(NULL, expect);
	memcpy(before, bo.map, bo.size);
	for (i = 0; i < 2; i++) {
		jobs[i] = (struct vitsa_gemm){
			.m = 8, .n = 8, .k = 8,
			.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8,
			.c_type = VITSA_TYPE_S32,
			.a = { bo.handle, 0, 0, 8 }, .b = { bo.handle, 0, 512, 8 },
			.c = { c.handle, 0, 0, 32 },
		};
	}
	/* C over A's last byte, alone and as the second job of a batch */
	jobs[1].c = (struct vitsa_mem){ bo.handle, 0, 63, 32 };
	EXPECT_EQ(-EINVAL, submit(self->fd, &jobs[1], 1, NULL));
	EXPECT_EQ(-EINVAL, submit(self->fd, jobs, 2, NULL));
	/* C ending on B's first byte */
	jobs[1].c.offset = 512 - 256 + 1;
	EXPECT_EQ(-EINVAL, submit(self->fd, &jobs[1], 1, NULL));

	usleep(100 * 1000);
	for (i = 0; i < c.size; i++)
		ASSERT_EQ(SENTINEL, c.map[i]) TH_LOG("byte %llu of C written by a rejected job",
						     (unsigned long long)i);
	i = first_diff(bo.map, before, bo.size);
	ASSERT_EQ(bo.size, i) TH_LOG("byte %llu of A's object written by a rejected job",
				     (unsigned long long)i);
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 1, 0, NULL));

	/* C [64, 320) touching A's end and B moved to its end: accepted, fence 1, exact. */
	jobs[1].c.offset = 64;
	jobs[1].b.offset = 320;
	memcpy(expect, bo.map, bo.size);
	gemm_ref(&jobs[1], &bo, &bo, NULL, NULL, expect);
	ASSERT_EQ(0, submit(self->fd, &jobs[1], 1, &fence));
	EXPECT_EQ(1, fence);
	wait_ok(_metadata, self->fd, fence);
	i = first_diff(bo.map, expect, bo.size);
	ASSERT_EQ(bo.size, i) TH_LOG("object byte %llu: device %#x, reference %#x",
				     (unsigned long long)i, bo.map[i], expect[i]);
	free(before);
	free(expect);
}

/* ---- WAIT ---- */

TEST_F(vitsa, wait_bad_fence)
{
	struct vitsa_gemm g = {
		.m = 1, .n = 1, .k = 1,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		/* A and B share byte 0, C lies past them: it may not overlap an input */
		.a = { .stride = 1 }, .b = { .stride = 1 }, .c = { .offset = 64, .stride = 4 },
	};
	struct vitsa_wait w = { 0 };
	uint64_t fence;
	struct bo bo;

	/* Nothing submitted yet: no fence exists. */
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, UINT64_MAX, WAIT_LONG_NS, NULL));

	ASSERT_EQ(0, bo_create(self->fd, self->page, &bo));
	g.a.handle = g.b.handle = g.c.handle = bo.handle;
	ASSERT_EQ(0, submit(self->fd, &g, 1, &fence));
	ASSERT_EQ(1, fence);
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 0, WAIT_LONG_NS, NULL));
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 2, WAIT_LONG_NS, NULL));

	w.fence = fence;
	w.timeout_ns = WAIT_LONG_NS;
	w.flags = 1;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_WAIT, &w));
	w.flags = 0x80000000u;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_WAIT, &w));
	wait_ok(_metadata, self->fd, fence);
}

/* ---- JOB_TIMES ---- */

static int job_times(int fd, uint64_t fence, struct vitsa_job_times *t)
{
	*t = (struct vitsa_job_times){ .fence = fence };
	return vitsa_ioctl(fd, VITSA_IOCTL_JOB_TIMES, t);
}

/*
 * The driver's times of each retired job, kept for the file's last VITSA_JOB_TIMES_KEPT:
 * queued <= started <= done, all between the SUBMIT and now on CLOCK_MONOTONIC, and a job
 * starts no earlier than the one before it retired (the ring runs in order).  Older ones
 * -ENOENT, fences not handed out and nonzero flags or pad -EINVAL.
 */
TEST_F(vitsa, job_times)
{
	struct vitsa_gemm g = {
		.m = 8, .n = 8, .k = 8,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 8 }, .b = { .stride = 8 }, .c = { .offset = 128, .stride = 32 },
	};
	struct vitsa_job_times t, prev = { 0 };
	uint64_t fence, first, t0, t1;
	struct bo bo;

	ASSERT_EQ(0, bo_create(self->fd, self->page, &bo));
	g.a.handle = g.b.handle = g.c.handle = bo.handle;
	EXPECT_EQ(-EINVAL, job_times(self->fd, 1, &t));		/* nothing submitted */
	t0 = now_ns();
	for (int i = 0; i < VITSA_JOB_TIMES_KEPT + 3; i++)
		ASSERT_EQ(0, submit(self->fd, &g, 1, &fence));
	wait_ok(_metadata, self->fd, fence);
	t1 = now_ns();
	first = fence - VITSA_JOB_TIMES_KEPT + 1;
	for (uint64_t f = first; f <= fence; f++) {
		ASSERT_EQ(0, job_times(self->fd, f, &t)) TH_LOG("fence %llu", (unsigned long long)f);
		ASSERT_EQ(f, t.fence);
		ASSERT_TRUE(t0 <= t.queued_ns && t.queued_ns <= t.started_ns &&
			    t.started_ns <= t.done_ns && t.done_ns <= t1)
			TH_LOG("fence %llu: submit %llu, queued %llu, started %llu, done %llu, now %llu",
			       (unsigned long long)f, (unsigned long long)t0,
			       (unsigned long long)t.queued_ns, (unsigned long long)t.started_ns,
			       (unsigned long long)t.done_ns, (unsigned long long)t1);
		if (f > first)
			ASSERT_LE(prev.done_ns, t.started_ns);
		prev = t;
	}
	EXPECT_EQ(-ENOENT, job_times(self->fd, first - 1, &t));
	EXPECT_EQ(-EINVAL, job_times(self->fd, fence + 1, &t));
	EXPECT_EQ(-EINVAL, job_times(self->fd, 0, &t));
	t = (struct vitsa_job_times){ .fence = fence, .flags = 1 };
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_JOB_TIMES, &t));
	t = (struct vitsa_job_times){ .fence = fence, .pad = 1 };
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_JOB_TIMES, &t));
}

/*
 * Timeouts: 0 only polls; a WAIT that times out has waited at least as long as asked; a
 * finished fence returns 0 at once, with any timeout, as often as asked.  The device may be
 * faster than the short timeouts here, so both outcomes of those calls are accepted.
 */
TEST_F(vitsa, wait_timeout)
{
	const uint32_t dim = 512, count = 8;
	uint64_t fence, t0, t1, timeout = 2 * 1000 * 1000;
	struct vitsa_wait w;
	struct bo a, b, c;
	int ret;

	fence = submit_busy_work(_metadata, self->fd, dim, count, &a, &b, &c);
	ASSERT_EQ(count, fence);

	ret = wait_fence(self->fd, fence, 0, &w);
	ASSERT_TRUE(ret == 0 || ret == -ETIMEDOUT) TH_LOG("poll returned %d", ret);

	t0 = now_ns();
	ret = wait_fence(self->fd, fence, timeout, &w);
	t1 = now_ns();
	ASSERT_TRUE(ret == 0 || ret == -ETIMEDOUT) TH_LOG("2 ms wait returned %d", ret);
	if (ret == -ETIMEDOUT) {
		EXPECT_LE(timeout, t1 - t0);
	} else {
		TH_LOG("the device finished %u jobs of %ux%ux%u within the timeout", count, dim,
		       dim, dim);
	}

	wait_ok(_metadata, self->fd, fence);
	EXPECT_EQ(0, wait_fence(self->fd, fence, 0, &w));
	EXPECT_EQ(0, w.error_fence);
	EXPECT_EQ(0, wait_fence(self->fd, fence - count + 1, 0, &w));
	EXPECT_EQ(0, wait_fence(self->fd, fence, UINT64_MAX, &w));
}

static void on_alarm(int sig)
{
}

/*
 * A signal ends a WAIT with -EINTR, with or without SA_RESTART (a relative timeout is never
 * restarted).  The device may finish first, so 0 is accepted too.
 */
TEST_F(vitsa, wait_interrupted)
{
	const uint32_t dim = 512, count = 8;
	struct itimerval tick = { .it_value = { .tv_usec = 1000 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct bo a, b, c;
	uint64_t fence;
	int pass, ret;

	for (pass = 0; pass < 2; pass++) {
		sa.sa_flags = pass ? SA_RESTART : 0;
		ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
		fence = submit_busy_work(_metadata, self->fd, dim, count, &a, &b, &c);
		ASSERT_EQ(0, setitimer(ITIMER_REAL, &tick, NULL));
		ret = wait_fence(self->fd, fence, WAIT_LONG_NS, NULL);
		ASSERT_EQ(0, setitimer(ITIMER_REAL, &off, NULL));
		ASSERT_TRUE(ret == -EINTR || ret == 0) TH_LOG("pass %d: WAIT returned %d", pass, ret);
		if (!ret)
			TH_LOG("pass %d: the device finished before the signal", pass);
		wait_ok(_metadata, self->fd, fence);
		bo_unmap(&a);
		bo_unmap(&b);
		bo_unmap(&c);
	}
}

/* ---- lifetimes ---- */

/* Handles destroyed and the file closed while jobs run: the jobs still complete. */
TEST_F(vitsa, destroy_and_close_while_busy)
{
	const uint32_t dim = 256;
	struct vitsa_gemm g = {
		.m = dim, .n = dim, .k = dim,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = dim }, .b = { .stride = dim }, .c = { .stride = 4 * dim },
	};
	struct vitsa_gemm batch[16];
	struct bo a, b, c;
	uint64_t fence;
	unsigned int i;
	int fd2;

	/* Another file queues work and closes at once. */
	fd2 = vitsa_open();
	ASSERT_LE(0, fd2);
	bo_new_mapped(_metadata, fd2, dim * dim, &a);
	bo_new_mapped(_metadata, fd2, dim * dim, &b);
	bo_new_mapped(_metadata, fd2, 4 * dim * dim, &c);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	for (i = 0; i < ARRAY_SIZE(batch); i++)
		batch[i] = g;
	ASSERT_EQ(0, submit(fd2, batch, ARRAY_SIZE(batch), &fence));
	bo_unmap(&a);
	bo_unmap(&b);
	bo_unmap(&c);
	ASSERT_EQ(0, close(fd2));

	/* This file destroys its handles right after SUBMIT; the mapping shows the result. */
	bo_new_mapped(_metadata, self->fd, dim * dim, &a);
	bo_new_mapped(_metadata, self->fd, dim * dim, &b);
	bo_new_mapped(_metadata, self->fd, 4 * dim * dim, &c);
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	ASSERT_EQ(0, submit(self->fd, &g, 1, &fence));
	ASSERT_EQ(0, bo_destroy(self->fd, a.handle));
	ASSERT_EQ(0, bo_destroy(self->fd, b.handle));
	ASSERT_EQ(0, bo_destroy(self->fd, c.handle));
	wait_ok(_metadata, self->fd, fence);
	for (i = 0; i < 64; i++) {
		uint32_t m = rng() % dim, n = rng() % dim, k;
		int32_t acc = 0, got;

		for (k = 0; k < dim; k++)
			acc += (int8_t)a.map[m * dim + k] * (int8_t)b.map[k * dim + n];
		memcpy(&got, c.map + 4 * (m * dim + n), 4);
		ASSERT_EQ(acc, got) TH_LOG("C[%u][%u]", m, n);
	}
}

/* ---- isolation between open files ---- */

TEST_F(vitsa, isolation)
{
	struct vitsa_gemm g = {
		.m = 8, .n = 8, .k = 8,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		/* A and B share [0, 64), C lies past them: it may not overlap an input */
		.a = { .stride = 8 }, .b = { .stride = 8 }, .c = { .offset = 256, .stride = 32 },
	};
	struct bo mine, theirs;
	uint64_t fence, fence2, i;
	void *p;
	int fd2;

	bo_new_mapped(_metadata, self->fd, self->page, &mine);
	memset(mine.map, 0x5a, mine.size);
	fd2 = vitsa_open();
	ASSERT_LE(0, fd2);

	/* fd2 has no objects: this file's handles and offsets mean nothing there. */
	g.a.handle = g.b.handle = g.c.handle = mine.handle;
	EXPECT_EQ(-ENOENT, submit(fd2, &g, 1, NULL));
	EXPECT_EQ(-ENOENT, bo_destroy(fd2, mine.handle));
	p = mmap(NULL, self->page, PROT_READ, MAP_SHARED, fd2, mine.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	/* Fences are per file too. */
	ASSERT_EQ(0, submit(self->fd, &g, 1, &fence));
	EXPECT_EQ(-EINVAL, wait_fence(fd2, fence, 0, NULL));

	/* fd2's own object, whatever its handle, is its own zeroed memory. */
	bo_new_mapped(_metadata, fd2, self->page, &theirs);
	for (i = 0; i < theirs.size; i++)
		ASSERT_EQ(0, theirs.map[i]);
	g.a.handle = g.b.handle = g.c.handle = theirs.handle;
	ASSERT_EQ(0, submit(fd2, &g, 1, &fence2));
	EXPECT_EQ(1, fence2);
	wait_ok(_metadata, fd2, fence2);
	wait_ok(_metadata, self->fd, fence);

	/* Closing fd2 leaves this file's object alone. */
	bo_unmap(&theirs);
	close(fd2);
	EXPECT_EQ(0, bo_destroy(self->fd, mine.handle));
}

/* ---- every job field: one bad field per variant, or a boundary that must pass ---- */

/* The objects a job may name, and the limits the variants test against. */
struct submit_ctx {
	uint32_t a, b, c, bias, rq;
	uint64_t bo_size;		/* every object has this size */
	uint64_t max_dim;
};

FIXTURE(submit) {
	int fd;
	struct submit_ctx ctx;
	struct bo c;
};

FIXTURE_VARIANT(submit) {
	void (*mutate)(struct vitsa_gemm *g, const struct submit_ctx *ctx);
	int expected;
};

FIXTURE_SETUP(submit)
{
	struct bo bo;

	self->fd = vitsa_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", vitsa_path(), strerror(errno));
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_MAX_DIM, &self->ctx.max_dim));
	ASSERT_EQ(0, bo_create(self->fd, 8192, &bo));
	self->ctx.a = bo.handle;
	ASSERT_EQ(0, bo_create(self->fd, 8192, &bo));
	self->ctx.b = bo.handle;
	ASSERT_EQ(0, bo_create(self->fd, 8192, &bo));
	self->ctx.bias = bo.handle;
	ASSERT_EQ(0, bo_create(self->fd, 8192, &bo));
	self->ctx.rq = bo.handle;
	bo_new_mapped(_metadata, self->fd, 8192, &self->c);
	self->ctx.c = self->c.handle;
	self->ctx.bo_size = 8192;
}

FIXTURE_TEARDOWN(submit)
{
	close(self->fd);
}

/* The valid job every variant starts from: C[8x16] = A[8x24] x B[24x16], s8 x s8 -> s32. */
static void base_job(struct vitsa_gemm *g, const struct submit_ctx *ctx)
{
	*g = (struct vitsa_gemm){
		.m = 8, .n = 16, .k = 24,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .handle = ctx->a, .stride = 24 },
		.b = { .handle = ctx->b, .stride = 16 },
		.c = { .handle = ctx->c, .stride = 64 },
	};
}

/* A's extent in the base job: 7 strides plus one row. */
#define BASE_A_EXTENT	(7 * 24 + 24)

static void use_bias(struct vitsa_gemm *g, const struct submit_ctx *ctx)
{
	g->flags |= VITSA_GEMM_BIAS;
	g->bias.handle = ctx->bias;
}

static void use_requant(struct vitsa_gemm *g, const struct submit_ctx *ctx)
{
	g->flags |= VITSA_GEMM_REQUANT;
	g->c_type = VITSA_TYPE_S8;
	g->rq.handle = ctx->rq;
}

#define MUTATION(name, expect, body)						\
	static void mutate_##name(struct vitsa_gemm *g, const struct submit_ctx *ctx)	\
	{									\
		(void)ctx;							\
		body;								\
	}									\
	FIXTURE_VARIANT_ADD(submit, name) {					\
		.mutate = mutate_##name,					\
		.expected = expect,						\
	}

/* Valid jobs at the edges. */
MUTATION(valid_base, 0, {});
MUTATION(valid_a_end_exact, 0, g->a.offset = ctx->bo_size - BASE_A_EXTENT);
MUTATION(valid_b_trans, 0, { g->flags = VITSA_GEMM_B_TRANS; g->b.stride = 24; });
MUTATION(valid_bias, 0, use_bias(g, ctx));
MUTATION(valid_bias_end_exact, 0, { use_bias(g, ctx); g->bias.offset = ctx->bo_size - 64; });
MUTATION(valid_requant_c_zero, 0, { use_requant(g, ctx); g->c_zero = -128; });
MUTATION(valid_requant_all_types, 0, {
	use_requant(g, ctx); use_bias(g, ctx); g->flags |= VITSA_GEMM_B_TRANS;
	g->b.stride = 24; g->c_type = VITSA_TYPE_S16; });
MUTATION(valid_s4_odd_k_ceil_stride, 0, {
	g->a_type = VITSA_TYPE_S4; g->k = 23; g->a.stride = 12; });
MUTATION(valid_u4_c_s4_odd_n, 0, {
	use_requant(g, ctx); g->b_type = VITSA_TYPE_U4; g->n = 15; g->b.stride = 8;
	g->c_type = VITSA_TYPE_S4; g->c.stride = 8; });
MUTATION(valid_stride_huge_one_row, 0, { g->m = 1; g->a.stride = UINT64_MAX; });

/* Unknown handles: -ENOENT. */
MUTATION(a_unknown_handle, -ENOENT, g->a.handle = 999);
MUTATION(b_unknown_handle, -ENOENT, g->b.handle = 999);
MUTATION(c_unknown_handle, -ENOENT, g->c.handle = UINT32_MAX);
MUTATION(bias_unknown_handle, -ENOENT, { use_bias(g, ctx); g->bias.handle = 999; });
MUTATION(rq_unknown_handle, -ENOENT, { use_requant(g, ctx); g->rq.handle = 999; });

/* Pads of struct vitsa_mem, used or not. */
MUTATION(a_pad, -EINVAL, g->a.pad = 1);
MUTATION(b_pad, -EINVAL, g->b.pad = 0x80000000u);
MUTATION(c_pad, -EINVAL, g->c.pad = 1);
MUTATION(bias_pad_unused, -EINVAL, g->bias.pad = 1);
MUTATION(bias_pad_used, -EINVAL, { use_bias(g, ctx); g->bias.pad = 1; });
MUTATION(rq_pad_unused, -EINVAL, g->rq.pad = 1);
MUTATION(rq_pad_used, -EINVAL, { use_requant(g, ctx); g->rq.pad = 1; });

/* Flags. */
MUTATION(flags_unknown_bit3, -EINVAL, g->flags = 1u << 3);
MUTATION(flags_unknown_bit31, -EINVAL, g->flags = 1u << 31);
MUTATION(flags_all_ones, -EINVAL, g->flags = UINT32_MAX);

/* Types in their places. */
MUTATION(a_type_s16, -EINVAL, g->a_type = VITSA_TYPE_S16);
MUTATION(a_type_s32, -EINVAL, g->a_type = VITSA_TYPE_S32);
MUTATION(a_type_6, -EINVAL, g->a_type = 6);
MUTATION(a_type_huge, -EINVAL, g->a_type = UINT32_MAX);
MUTATION(b_type_s32, -EINVAL, g->b_type = VITSA_TYPE_S32);
MUTATION(b_type_32, -EINVAL, g->b_type = 32);
MUTATION(c_type_s8_without_requant, -EINVAL, g->c_type = VITSA_TYPE_S8);
MUTATION(c_type_s16_without_requant, -EINVAL, g->c_type = VITSA_TYPE_S16);
MUTATION(c_type_s32_with_requant, -EINVAL, { use_requant(g, ctx); g->c_type = VITSA_TYPE_S32; });
MUTATION(c_type_6_with_requant, -EINVAL, { use_requant(g, ctx); g->c_type = 6; });
MUTATION(c_zero_without_requant, -EINVAL, g->c_zero = 1);
MUTATION(c_zero_negative_without_requant, -EINVAL, g->c_zero = -1);

/* Dimensions: 1..MAX_DIM. */
MUTATION(m_zero, -EINVAL, g->m = 0);
MUTATION(n_zero, -EINVAL, g->n = 0);
MUTATION(k_zero, -EINVAL, g->k = 0);
MUTATION(m_above_max, -EINVAL, g->m = ctx->max_dim + 1);
MUTATION(n_above_max, -EINVAL, g->n = ctx->max_dim + 1);
MUTATION(k_above_max, -EINVAL, g->k = ctx->max_dim + 1);
MUTATION(m_huge, -EINVAL, g->m = UINT32_MAX);
MUTATION(m_max_too_big_for_object, -EINVAL, g->m = ctx->max_dim);

/* Strides: at least one row. */
MUTATION(a_stride_short, -EINVAL, g->a.stride = 23);
MUTATION(a_stride_zero, -EINVAL, g->a.stride = 0);
MUTATION(b_stride_short, -EINVAL, g->b.stride = 15);
MUTATION(b_trans_stride_short, -EINVAL, g->flags = VITSA_GEMM_B_TRANS);
MUTATION(c_stride_short, -EINVAL, g->c.stride = 63);
MUTATION(s4_odd_k_stride_short, -EINVAL, {
	g->a_type = VITSA_TYPE_S4; g->k = 23; g->a.stride = 11; });
MUTATION(s4_c_stride_short, -EINVAL, {
	use_requant(g, ctx); g->c_type = VITSA_TYPE_S4; g->n = 15; g->b.stride = 15;
	g->c.stride = 7; });
MUTATION(s16_c_stride_short, -EINVAL, {
	use_requant(g, ctx); g->c_type = VITSA_TYPE_S16; g->c.stride = 31; });

/* Ranges against the object's size. */
MUTATION(a_offset_at_end, -EINVAL, g->a.offset = ctx->bo_size);
MUTATION(a_end_one_past, -EINVAL, g->a.offset = ctx->bo_size - BASE_A_EXTENT + 1);
MUTATION(b_offset_past_end, -EINVAL, g->b.offset = 1ull << 40);
MUTATION(c_stride_past_end, -EINVAL, g->c.stride = ctx->bo_size);
MUTATION(bias_end_one_past, -EINVAL, { use_bias(g, ctx); g->bias.offset = ctx->bo_size - 63; });
MUTATION(rq_past_end, -EINVAL, { use_requant(g, ctx); g->rq.offset = ctx->bo_size - 8; });

/* u64 arithmetic that wraps: (rows - 1) * stride, + row bytes, + offset. */
MUTATION(a_stride_mul_overflow, -EINVAL, g->a.stride = 1ull << 63);
MUTATION(a_stride_max, -EINVAL, g->a.stride = UINT64_MAX);
MUTATION(a_stride_add_row_overflow, -EINVAL, {
	g->m = 2; g->a.stride = UINT64_MAX - 10; });
MUTATION(a_offset_overflow, -EINVAL, g->a.offset = UINT64_MAX - 10);
MUTATION(a_end_wraps_to_zero, -EINVAL, g->a.offset = 0 - (uint64_t)BASE_A_EXTENT);
MUTATION(c_stride_wraps_to_small, -EINVAL, {
	g->m = 3; g->c.stride = (UINT64_MAX >> 1) + 1; });
MUTATION(bias_offset_overflow, -EINVAL, { use_bias(g, ctx); g->bias.offset = UINT64_MAX; });

/* Used operands need a handle; unused ones must be all zero; bias and rq have no stride. */
MUTATION(a_handle_zero, -EINVAL, g->a.handle = 0);
MUTATION(c_handle_zero, -EINVAL, g->c.handle = 0);
MUTATION(bias_missing, -EINVAL, g->flags = VITSA_GEMM_BIAS);
MUTATION(rq_missing, -EINVAL, { g->flags = VITSA_GEMM_REQUANT; g->c_type = VITSA_TYPE_S8; });
MUTATION(bias_handle_unused, -EINVAL, g->bias.handle = ctx->bias);
MUTATION(bias_offset_unused, -EINVAL, g->bias.offset = 4);
MUTATION(rq_stride_unused, -EINVAL, g->rq.stride = 8);
MUTATION(rq_unknown_handle_unused, -EINVAL, g->rq.handle = 999);
MUTATION(bias_stride_used, -EINVAL, { use_bias(g, ctx); g->bias.stride = 64; });
MUTATION(rq_stride_used, -EINVAL, { use_requant(g, ctx); g->rq.stride = 128; });

/*
 * C sharing a byte of its object with an input (uapi.rst: the gaps between rows count,
 * touching extents do not overlap); the base job's C is [0, 7 * 64 + 64) = [0, 512).
 */
MUTATION(c_on_a, -EINVAL, { g->c.handle = ctx->a; g->c.offset = BASE_A_EXTENT - 1; });
MUTATION(c_in_a_row_gap, -EINVAL, {
	g->a.stride = 1024; g->c.handle = ctx->a; g->c.offset = 100; });
MUTATION(c_on_b, -EINVAL, { g->c.handle = ctx->b; g->b.offset = 511; });
MUTATION(c_on_bias, -EINVAL, {
	use_bias(g, ctx); g->bias.handle = ctx->c; g->bias.offset = 512 - 64; });
MUTATION(c_on_rq, -EINVAL, { use_requant(g, ctx); g->rq.handle = ctx->c; g->rq.offset = 0; });
MUTATION(valid_c_after_a_same_object, 0, { g->c.handle = ctx->a; g->c.offset = BASE_A_EXTENT; });
MUTATION(valid_bias_after_c_same_object, 0, {
	use_bias(g, ctx); g->bias.handle = ctx->c; g->bias.offset = 512; });
MUTATION(valid_b_on_a_same_object, 0, { g->b.handle = ctx->a; g->b.offset = 0; });

TEST_F(submit, check)
{
	struct vitsa_gemm g;
	uint64_t fence = 0, i;
	int ret;

	memset(self->c.map, SENTINEL, self->c.size);
	base_job(&g, &self->ctx);
	variant->mutate(&g, &self->ctx);
	ret = submit(self->fd, &g, 1, &fence);
	ASSERT_EQ(variant->expected, ret);
	if (!ret) {
		ASSERT_EQ(1, fence);
		wait_ok(_metadata, self->fd, fence);
		return;
	}

	/* Rejected: nothing ran, no fence was used up, the file still works. */
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 1, 0, NULL));
	for (i = 0; i < self->c.size; i++)
		ASSERT_EQ(SENTINEL, self->c.map[i]);
	base_job(&g, &self->ctx);
	ASSERT_EQ(0, submit(self->fd, &g, 1, &fence));
	ASSERT_EQ(1, fence);
	wait_ok(_metadata, self->fd, fence);
}

/* ---- vector jobs (uapi 1.3): VITSA_SUBMIT_JOBS ---- */

#define MEM(h, off, str)	((struct vitsa_mem){ .handle = (h), .offset = (off), \
						     .stride = (str) })
#define NO_MEM			((struct vitsa_mem){ 0 })

/* A vector job; the union's bytes past struct vitsa_vec are 0, as the driver demands. */
static struct vitsa_job vec_job(uint32_t op, uint32_t rows, uint32_t cols, struct vitsa_mem in0,
				struct vitsa_mem in1, struct vitsa_mem out)
{
	struct vitsa_job j;

	memset(&j, 0, sizeof(j));
	j.kind = VITSA_JOB_KIND_VEC;
	j.vec = (struct vitsa_vec){
		.op = op, .rows = rows, .cols = cols, .in0 = in0, .in1 = in1, .out = out,
	};
	return j;
}

/* ADD with both sides at scale 1 (mult 1, shift 0): out = sat16(in0 + in1). */
static struct vitsa_job add_job(uint32_t rows, uint32_t cols, struct vitsa_mem in0,
				struct vitsa_mem in1, struct vitsa_mem out)
{
	struct vitsa_job j = vec_job(VITSA_VEC_ADD, rows, cols, in0, in1, out);

	j.vec.param[0] = 1;
	j.vec.param[2] = 1;
	return j;
}

static struct vitsa_job gemm_job(const struct vitsa_gemm *g)
{
	return (struct vitsa_job){ .kind = VITSA_JOB_KIND_GEMM, .gemm = *g };
}

static int16_t ld16(const uint8_t *p)
{
	int16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void st16(uint8_t *p, int16_t v)
{
	memcpy(p, &v, 2);
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * The expected out object of an ADD at scale 1 whose in0 and in1 lie in the mappings @in0 and
 * @in1: @expect starts as a copy of out's object and gets the sums' rows; returns how many
 * sums saturated.  Read before the job runs, so in place is right too.
 */
static uint64_t add_ref(const struct vitsa_vec *v, const uint8_t *in0, const uint8_t *in1,
			uint8_t *expect)
{
	uint64_t saturated = 0;
	uint32_t r, c;

	for (r = 0; r < v->rows; r++) {
		for (c = 0; c < v->cols; c++) {
			int32_t sum = ld16(in0 + v->in0.offset + r * v->in0.stride + 2 * c) +
				      ld16(in1 + v->in1.offset + r * v->in1.stride + 2 * c);

			saturated += sum != clamp(sum, INT16_MIN, INT16_MAX);
			st16(expect + v->out.offset + r * v->out.stride + 2 * c,
			     clamp(sum, INT16_MIN, INT16_MAX));
		}
	}
	return saturated;
}

/* Every byte of @got is @expect's, or the test fails naming the first that is not. */
static void expect_bytes(struct __test_metadata *_metadata, const uint8_t *got,
			 const uint8_t *expect, uint64_t size, const char *what)
{
	uint64_t i = first_diff(got, expect, size);

	ASSERT_EQ(size, i) TH_LOG("%s byte %llu: device %#x, expected %#x", what,
				  (unsigned long long)i, got[i], expect[i]);
}

/*
 * Run one ADD at scale 1 on @in0 and @in1 (mappings of the objects it names) into @out: the
 * rows hold the saturated sums, every other byte of out's object is unchanged.  Returns how
 * many sums saturated.
 */
static uint64_t add_check(struct __test_metadata *_metadata, int fd, const struct vitsa_job *j,
			  const uint8_t *in0, const uint8_t *in1, const struct bo *out)
{
	uint8_t *expect = malloc(out->size);
	uint64_t fence, saturated;

	ASSERT_NE(NULL, expect);
	memcpy(expect, out->map, out->size);
	saturated = add_ref(&j->vec, in0, in1, expect);
	ASSERT_EQ(0, submit_jobs(fd, j, 1, &fence));
	wait_ok(_metadata, fd, fence);
	expect_bytes(_metadata, out->map, expect, out->size, "out");
	free(expect);
	return saturated;
}

/* s16 extremes at the start of @a and @b, so that sums saturate both ways and just do not. */
static void add_extremes(uint8_t *a, uint8_t *b)
{
	static const int16_t pairs[][2] = {
		{ INT16_MAX, 1 }, { INT16_MIN, -1 }, { INT16_MAX, INT16_MAX },
		{ INT16_MIN, INT16_MIN }, { INT16_MAX, INT16_MIN }, { INT16_MAX, 0 },
		{ INT16_MIN, 0 }, { 32766, 1 }, { -32767, -1 }, { 100, -100 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pairs); i++) {
		st16(a + 2 * i, pairs[i][0]);
		st16(b + 2 * i, pairs[i][1]);
	}
}

TEST_F(vitsa, vec_add_exact_sums)
{
	const uint32_t rows = 13, cols = 37;
	struct bo a, b, c;
	struct vitsa_job j;

	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, 2 * self->page, &c);
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	memset(c.map, SENTINEL, c.size);
	/* in0's rows start at 6, in1's at 0, out's at 2; each with a gap after its rows */
	add_extremes(a.map + 6, b.map);
	j = add_job(rows, cols, MEM(a.handle, 6, 2 * cols + 10), MEM(b.handle, 0, 2 * cols),
		    MEM(c.handle, 2, 2 * cols + 6));
	EXPECT_LT(0, add_check(_metadata, self->fd, &j, a.map, b.map, &c));
}

/* out may be in0 or in1 exactly (same object, offset and stride), or both. */
TEST_F(vitsa, vec_add_in_place)
{
	const uint32_t rows = 9, cols = 50;
	const uint64_t stride = 2 * cols + 4;
	struct bo a, b;
	struct vitsa_job j;

	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	add_extremes(a.map + 8, b.map + 8);

	j = add_job(rows, cols, MEM(a.handle, 8, stride), MEM(b.handle, 8, stride),
		    MEM(a.handle, 8, stride));
	EXPECT_LT(0, add_check(_metadata, self->fd, &j, a.map, b.map, &a));

	add_extremes(a.map + 8, b.map + 8);
	j.vec.out = j.vec.in1;
	EXPECT_LT(0, add_check(_metadata, self->fd, &j, a.map, b.map, &b));

	/* in0, in1 and out the same rows: out = sat16(2 in0) */
	add_extremes(a.map + 8, b.map + 8);
	j.vec.in1 = j.vec.out = j.vec.in0;
	EXPECT_LT(0, add_check(_metadata, self->fd, &j, a.map, a.map, &a));
}

/*
 * A GEMM's int32 C read by a JOIN16 queued right behind it in the same SUBMIT: the ring runs
 * them in order, so JOIN16 sees C, not what the object held before (SENTINEL bytes, which
 * would give -128 everywhere).  JOIN16 with lo 0, mult 1, shift 8: out = sat8(C).
 */
TEST_F(vitsa, vec_reads_gemm_result_in_one_submit)
{
	const uint32_t m = 8, n = 24, k = 16;
	struct vitsa_gemm g = {
		.m = m, .n = n, .k = k,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = k }, .b = { .stride = n }, .c = { .offset = 64, .stride = 4 * n },
	};
	struct bo a, b, c, lo, out;
	struct vitsa_job jobs[2];
	uint8_t expect[8 * 24];
	uint64_t fence, i, in_range = 0;
	uint32_t r, col, kk;

	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, self->page, &c);
	bo_new_mapped(_metadata, self->fd, self->page, &lo);
	bo_new_mapped(_metadata, self->fd, self->page, &out);
	/* operands in [-16, 15]: |C| <= 16 * 256, part of it inside s8 and part not */
	for (i = 0; i < a.size; i++) {
		a.map[i] = (uint8_t)(rng() % 32 - 16);
		b.map[i] = (uint8_t)(rng() % 32 - 16);
	}
	memset(c.map, SENTINEL, c.size);
	memset(out.map, SENTINEL, out.size);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	jobs[0] = gemm_job(&g);
	jobs[1] = vec_job(VITSA_VEC_JOIN16, m, n, g.c, MEM(lo.handle, 0, 4 * n),
			  MEM(out.handle, 0, n));
	jobs[1].vec.param[0] = 1;
	jobs[1].vec.param[1] = 8;
	ASSERT_EQ(0, submit_jobs(self->fd, jobs, 2, &fence));
	ASSERT_EQ(2, fence);
	wait_ok(_metadata, self->fd, fence);

	for (r = 0; r < m; r++) {
		for (col = 0; col < n; col++) {
			int32_t acc = 0;

			for (kk = 0; kk < k; kk++)
				acc += (int8_t)a.map[r * k + kk] * (int8_t)b.map[kk * n + col];
			expect[r * n + col] = (uint8_t)clamp(acc, INT8_MIN, INT8_MAX);
			in_range += acc == clamp(acc, INT8_MIN, INT8_MAX);
		}
	}
	expect_bytes(_metadata, out.map, expect, sizeof(expect), "JOIN16 out");
	EXPECT_LT(0, in_range);
	EXPECT_GT(m * n, in_range);
}

/* GEMMs and vector jobs in one SUBMIT_JOBS, each with its own result. */
TEST_F(vitsa, vec_jobs_mixed_with_gemms)
{
	struct vitsa_gemm g = {
		.m = 11, .n = 13, .k = 17,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_U8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 17 }, .b = { .stride = 13 }, .c = { .stride = 4 * 13 },
	};
	struct bo a, b, c, s0, s1, sum;
	uint8_t *expect_c = malloc(self->page), *expect_sum = malloc(self->page);
	struct vitsa_job jobs[4];
	uint64_t fence;

	ASSERT_NE(NULL, expect_c);
	ASSERT_NE(NULL, expect_sum);
	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, self->page, &c);
	bo_new_mapped(_metadata, self->fd, self->page, &s0);
	bo_new_mapped(_metadata, self->fd, self->page, &s1);
	bo_new_mapped(_metadata, self->fd, self->page, &sum);
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	fill_random(s0.map, s0.size);
	fill_random(s1.map, s1.size);
	memset(c.map, SENTINEL, c.size);
	memset(sum.map, SENTINEL, sum.size);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;

	/* GEMM, ADD, the same GEMM into C's second half, ADD in place into sum */
	jobs[0] = gemm_job(&g);
	jobs[1] = add_job(5, 40, MEM(s0.handle, 0, 80), MEM(s1.handle, 0, 80),
			  MEM(sum.handle, 0, 80));
	jobs[2] = jobs[0];
	jobs[2].gemm.c.offset = self->page / 2;
	jobs[3] = add_job(5, 40, MEM(sum.handle, 0, 80), MEM(s1.handle, 1024, 80),
			  MEM(sum.handle, 0, 80));

	memset(expect_c, SENTINEL, self->page);
	gemm_ref(&jobs[0].gemm, &a, &b, NULL, NULL, expect_c);
	gemm_ref(&jobs[2].gemm, &a, &b, NULL, NULL, expect_c);
	memcpy(expect_sum, sum.map, self->page);
	add_ref(&jobs[1].vec, s0.map, s1.map, expect_sum);
	add_ref(&jobs[3].vec, expect_sum, s1.map, expect_sum);

	ASSERT_EQ(0, submit_jobs(self->fd, jobs, 4, &fence));
	ASSERT_EQ(4, fence);
	wait_ok(_metadata, self->fd, fence);
	expect_bytes(_metadata, c.map, expect_c, self->page, "C");
	expect_bytes(_metadata, sum.map, expect_sum, self->page, "sum");
	free(expect_c);
	free(expect_sum);
}

/*
 * A parameter out of range is the device's to find: the job is queued, fails with
 * VITSA_JOB_PARAM reported by WAIT, and leaves out alone; the jobs around it run.  Shift 62
 * is still in range (a * 1 >> 62 rounds to 0 here: out = in1).
 */
TEST_F(vitsa, vec_bad_param_fails_job)
{
	struct bo a, b, out;
	struct vitsa_job jobs[3];
	uint8_t *expect = malloc(self->page);
	struct vitsa_wait w;
	uint64_t fence;

	ASSERT_NE(NULL, expect);
	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, self->page, &out);
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	memset(out.map, SENTINEL, out.size);
	memcpy(expect, out.map, out.size);

	jobs[0] = add_job(4, 64, MEM(a.handle, 0, 128), MEM(b.handle, 0, 128),
			  MEM(out.handle, 0, 128));
	jobs[1] = jobs[0];
	jobs[1].vec.param[1] = 63;		/* in0's shift */
	jobs[1].vec.out.offset = 1024;
	jobs[2] = jobs[0];
	jobs[2].vec.param[1] = 62;
	jobs[2].vec.out.offset = 2048;
	add_ref(&jobs[0].vec, a.map, b.map, expect);
	memcpy(expect + 2048, b.map, 4 * 128);

	ASSERT_EQ(0, submit_jobs(self->fd, jobs, 3, &fence));
	ASSERT_EQ(3, fence);
	ASSERT_EQ(0, wait_fence(self->fd, fence, WAIT_LONG_NS, &w));
	EXPECT_EQ(2, w.error_fence);
	EXPECT_EQ(VITSA_JOB_PARAM, w.error);
	ASSERT_EQ(0, wait_fence(self->fd, fence, 0, &w));
	EXPECT_EQ(0, w.error_fence);
	expect_bytes(_metadata, out.map, expect, out.size, "out");
	free(expect);
}

/*
 * VITSA_PARAM_VEC_OPS of one device follows its vector unit: all 11 ops with it (hardware
 * 1.3), none without (1.2), when a vector job is -EINVAL while GEMMs still go through
 * SUBMIT_JOBS.  Returns whether the device has the unit.
 */
static bool vec_ops_check(struct __test_metadata *_metadata, const char *path)
{
	struct vitsa_gemm g = {
		.m = 4, .n = 4, .k = 4,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 4 }, .b = { .stride = 4 }, .c = { .offset = 64, .stride = 16 },
	};
	struct vitsa_job jobs[2];
	uint64_t hw, ops, fence;
	struct bo bo;
	int fd = vitsa_open_path(path);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
	ASSERT_EQ(0, get_param(fd, VITSA_PARAM_HW_VERSION, &hw));
	ASSERT_EQ(0, get_param(fd, VITSA_PARAM_VEC_OPS, &ops));
	TH_LOG("%s: hardware %llu.%llu, VEC_OPS %#llx", path, (unsigned long long)hw >> 16,
	       (unsigned long long)hw & 0xffff, (unsigned long long)ops);
	EXPECT_EQ((hw & 0xffff) >= 3 ? ALL_VEC_OPS : 0, ops);

	ASSERT_EQ(0, bo_create(fd, 4096, &bo));
	g.a.handle = g.b.handle = g.c.handle = bo.handle;
	jobs[0] = gemm_job(&g);
	jobs[1] = add_job(4, 4, MEM(bo.handle, 0, 8), MEM(bo.handle, 0, 8),
			  MEM(bo.handle, 256, 8));
	if (ops) {
		ASSERT_EQ(0, submit_jobs(fd, jobs, 2, &fence));
	} else {
		EXPECT_EQ(-EINVAL, submit_jobs(fd, jobs, 2, &fence));
		jobs[1] = jobs[0];
		ASSERT_EQ(0, submit_jobs(fd, jobs, 2, &fence));
	}
	wait_ok(_metadata, fd, fence);
	close(fd);
	return ops;
}

/* Every /dev/vitsaN of the VM; VITSA_DEV may name another one (say a vector=off device). */
TEST(vec_ops_on_every_device)
{
	char path[32];
	int n, found = 0, vector = 0;

	for (n = 0; n < 16; n++) {
		snprintf(path, sizeof(path), "/dev/vitsa%d", n);
		if (access(path, F_OK))
			continue;
		found++;
		vector += vec_ops_check(_metadata, path);
	}
	if (strncmp(vitsa_path(), "/dev/vitsa", 10)) {
		found++;
		vector += vec_ops_check(_metadata, vitsa_path());
	}
	ASSERT_LT(0, found);
	TH_LOG("%d of %d devices with the vector unit", vector, found);
}

/* ---- every vector job rule: one bad field per variant, or a boundary that must pass ---- */

/* The objects a vector job may name, each of VEC_BO_SIZE bytes. */
#define VEC_BO_SIZE	8192

struct vec_ctx {
	uint32_t in0, in1, out;
	uint64_t max_dim;
};

FIXTURE(vec_submit) {
	int fd;
	struct vec_ctx ctx;
	struct bo out, witness;
};

FIXTURE_VARIANT(vec_submit) {
	void (*mutate)(struct vitsa_job *j, const struct vec_ctx *ctx);
	int expected;
};

FIXTURE_SETUP(vec_submit)
{
	struct bo bo;

	self->fd = vitsa_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", vitsa_path(), strerror(errno));
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_MAX_DIM, &self->ctx.max_dim));
	ASSERT_EQ(0, bo_create(self->fd, VEC_BO_SIZE, &bo));
	self->ctx.in0 = bo.handle;
	ASSERT_EQ(0, bo_create(self->fd, VEC_BO_SIZE, &bo));
	self->ctx.in1 = bo.handle;
	bo_new_mapped(_metadata, self->fd, VEC_BO_SIZE, &self->out);
	self->ctx.out = self->out.handle;
	bo_new_mapped(_metadata, self->fd, VEC_BO_SIZE, &self->witness);
}

FIXTURE_TEARDOWN(vec_submit)
{
	close(self->fd);
}

/* The valid job every variant starts from: ADD of 8 rows of 16 s16, 32 bytes a row. */
static void base_vec_job(struct vitsa_job *j, const struct vec_ctx *ctx)
{
	*j = add_job(8, 16, MEM(ctx->in0, 0, 32), MEM(ctx->in1, 0, 32), MEM(ctx->out, 0, 32));
}

/* The base job's extent in each object: 7 strides plus one row. */
#define BASE_VEC_EXTENT	(7 * 32 + 32)

/* A valid GEMM of 8 x 16 x 16 on the same objects, C into out. */
static void vec_gemm(struct vitsa_job *j, const struct vec_ctx *ctx)
{
	struct vitsa_gemm g = {
		.m = 8, .n = 16, .k = 16,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = MEM(ctx->in0, 0, 16), .b = MEM(ctx->in1, 0, 16), .c = MEM(ctx->out, 0, 64),
	};

	*j = gemm_job(&g);
}

/* LAYERNORM of 8 x 16 s16 to s8, mult 1 shift 0: in1 unused. */
static void vec_layernorm(struct vitsa_job *j, const struct vec_ctx *ctx)
{
	*j = vec_job(VITSA_VEC_LAYERNORM, 8, 16, MEM(ctx->in0, 0, 32), NO_MEM,
		     MEM(ctx->out, 0, 16));
	j->vec.param[0] = 1;
}

/* JOIN16 of two 8 x 16 s32 (64-byte rows) to s8, mult 1 shift 8. */
static void vec_join16(struct vitsa_job *j, const struct vec_ctx *ctx)
{
	*j = vec_job(VITSA_VEC_JOIN16, 8, 16, MEM(ctx->in0, 0, 64), MEM(ctx->in1, 0, 64),
		     MEM(ctx->out, 0, 16));
	j->vec.param[0] = 1;
	j->vec.param[1] = 8;
}

/* MEAN of 8 rows of 16 s16: out one row. */
static void vec_mean(struct vitsa_job *j, const struct vec_ctx *ctx)
{
	*j = vec_job(VITSA_VEC_MEAN, 8, 16, MEM(ctx->in0, 0, 32), NO_MEM, MEM(ctx->out, 0, 32));
}

/* EMBED of @rows rows of 16 s16, @prefix of them tokens: in0 holds rows - prefix. */
static void vec_embed(struct vitsa_job *j, const struct vec_ctx *ctx, uint32_t rows,
		      uint32_t prefix)
{
	*j = vec_job(VITSA_VEC_EMBED, rows, 16, MEM(ctx->in0, 0, 32), MEM(ctx->in1, 0, 32),
		     MEM(ctx->out, 0, 32));
	j->vec.param[0] = prefix;
	if (prefix == rows)
		j->vec.in0 = NO_MEM;
}

/* INPUT of one channel, an 8 x 8 image in 4 x 4 patches: 4 rows of 16 s8. */
static void vec_input(struct vitsa_job *j, const struct vec_ctx *ctx)
{
	*j = vec_job(VITSA_VEC_INPUT, 4, 16, MEM(ctx->in0, 0, 64), MEM(ctx->in1, 0, 256),
		     MEM(ctx->out, 0, 16));
	j->vec.param[0] = 1;
	j->vec.param[1] = 8;
	j->vec.param[2] = 4;
}

/* The bytes of the job's union after struct vitsa_vec. */
static uint8_t *vec_tail(struct vitsa_job *j)
{
	return (uint8_t *)j + offsetof(struct vitsa_job, vec) + sizeof(j->vec);
}

#define VEC_MUTATION(name, expect, body)					\
	static void vec_mutate_##name(struct vitsa_job *j, const struct vec_ctx *ctx)	\
	{									\
		(void)ctx;							\
		body;								\
	}									\
	FIXTURE_VARIANT_ADD(vec_submit, name) {					\
		.mutate = vec_mutate_##name,					\
		.expected = expect,						\
	}

/* Valid jobs at the edges. */
VEC_MUTATION(valid_base, 0, {});
VEC_MUTATION(valid_in_place_in0, 0, j->vec.out = j->vec.in0);
VEC_MUTATION(valid_in_place_in1, 0, j->vec.out = j->vec.in1);
VEC_MUTATION(valid_in_place_both, 0, j->vec.in1 = j->vec.out = j->vec.in0);
VEC_MUTATION(valid_inputs_overlap, 0, j->vec.in1 = MEM(ctx->in0, 2, 32));
VEC_MUTATION(valid_out_after_in0_same_object, 0,
	     j->vec.out = MEM(ctx->in0, BASE_VEC_EXTENT, 32));
VEC_MUTATION(valid_in0_end_exact, 0, j->vec.in0.offset = VEC_BO_SIZE - BASE_VEC_EXTENT);
VEC_MUTATION(valid_one_row_huge_stride, 0, {
	j->vec.rows = 1; j->vec.in0.stride = UINT64_MAX - 1; });
VEC_MUTATION(valid_layernorm_in1_unused, 0, vec_layernorm(j, ctx));
VEC_MUTATION(valid_join16, 0, vec_join16(j, ctx));
VEC_MUTATION(valid_mean_out_one_row_at_end, 0, {
	vec_mean(j, ctx); j->vec.out.offset = VEC_BO_SIZE - 32; });
VEC_MUTATION(valid_embed_prefix_1, 0, vec_embed(j, ctx, 8, 1));
VEC_MUTATION(valid_embed_prefix_all_rows, 0, vec_embed(j, ctx, 2, 2));
VEC_MUTATION(valid_input, 0, vec_input(j, ctx));
VEC_MUTATION(valid_input_u8_odd_offset, 0, { vec_input(j, ctx); j->vec.in0.offset = 1; });
VEC_MUTATION(valid_gemm_kind, 0, vec_gemm(j, ctx));

/* struct vitsa_job: kind, pad, the union's bytes past struct vitsa_vec. */
VEC_MUTATION(kind_3_holding_vec, -EINVAL, j->kind = 3);
VEC_MUTATION(kind_3_holding_gemm, -EINVAL, { vec_gemm(j, ctx); j->kind = 3; });
/* KIND_LIST reads the union as struct vitsa_list_run: a vector job there has pads set */
VEC_MUTATION(kind_list_holding_vec, -EINVAL, j->kind = VITSA_JOB_KIND_LIST);
VEC_MUTATION(kind_list_holding_gemm, -EINVAL, { vec_gemm(j, ctx); j->kind = VITSA_JOB_KIND_LIST; });
VEC_MUTATION(kind_max, -EINVAL, j->kind = UINT32_MAX);
VEC_MUTATION(job_pad, -EINVAL, j->pad = 1);
VEC_MUTATION(tail_first_byte, -EINVAL, vec_tail(j)[0] = 1);
VEC_MUTATION(tail_last_byte, -EINVAL, ((uint8_t *)j)[sizeof(*j) - 1] = 0x80);
VEC_MUTATION(gemm_kind_bad_field, -EINVAL, { vec_gemm(j, ctx); j->gemm.k = 0; });

/* struct vitsa_vec: op, pads, parameters past the op's count. */
VEC_MUTATION(op_zero, -EINVAL, j->vec.op = 0);
VEC_MUTATION(op_gemm_opcode, -EINVAL, j->vec.op = 1);
VEC_MUTATION(op_below_first, -EINVAL, j->vec.op = VITSA_VEC_FIRST - 1);
VEC_MUTATION(op_past_last, -EINVAL, j->vec.op = VITSA_VEC_JOIN16 + 1);
VEC_MUTATION(op_bit_32, -EINVAL, j->vec.op = VITSA_VEC_FIRST + 32);
VEC_MUTATION(op_max, -EINVAL, j->vec.op = UINT32_MAX);
VEC_MUTATION(vec_pad, -EINVAL, j->vec.pad = 1);
VEC_MUTATION(vec_pad2, -EINVAL, j->vec.pad2 = 0x80000000u);
VEC_MUTATION(add_param4, -EINVAL, j->vec.param[4] = 1);
VEC_MUTATION(add_param6, -EINVAL, j->vec.param[6] = 1);
VEC_MUTATION(mean_param0, -EINVAL, { vec_mean(j, ctx); j->vec.param[0] = 1; });
VEC_MUTATION(join16_param2, -EINVAL, { vec_join16(j, ctx); j->vec.param[2] = 1; });

/* Rows and columns: 1..MAX_DIM, and the shape the op's parameters give. */
VEC_MUTATION(rows_zero, -EINVAL, j->vec.rows = 0);
VEC_MUTATION(cols_zero, -EINVAL, j->vec.cols = 0);
VEC_MUTATION(rows_above_max, -EINVAL, j->vec.rows = ctx->max_dim + 1);
VEC_MUTATION(cols_above_max, -EINVAL, j->vec.cols = ctx->max_dim + 1);
VEC_MUTATION(rows_huge, -EINVAL, j->vec.rows = UINT32_MAX);
VEC_MUTATION(rows_max_too_big_for_object, -EINVAL, j->vec.rows = ctx->max_dim);
VEC_MUTATION(input_rows_not_patches, -EINVAL, { vec_input(j, ctx); j->vec.rows = 5; });
VEC_MUTATION(input_cols_not_patch, -EINVAL, { vec_input(j, ctx); j->vec.cols = 15; });
VEC_MUTATION(input_patch_not_dividing, -EINVAL, { vec_input(j, ctx); j->vec.param[2] = 3; });
VEC_MUTATION(input_five_channels, -EINVAL, { vec_input(j, ctx); j->vec.param[0] = 5; });
VEC_MUTATION(embed_prefix_3, -EINVAL, vec_embed(j, ctx, 8, 3));
VEC_MUTATION(embed_prefix_above_rows, -EINVAL, { vec_embed(j, ctx, 1, 1); j->vec.param[0] = 2; });
VEC_MUTATION(shiftmax16_lo_inside_row, -EINVAL, {
	*j = vec_job(VITSA_VEC_SHIFTMAX16, 8, 16, MEM(ctx->in0, 0, 16), NO_MEM,
		     MEM(ctx->out, 0, 64));
	j->vec.param[5] = 15; });

/* Unused operands: every field 0 (an unknown handle is no lookup, just a field). */
VEC_MUTATION(unused_in1_handle, -EINVAL, { vec_layernorm(j, ctx); j->vec.in1.handle = ctx->in1; });
VEC_MUTATION(unused_in1_unknown_handle, -EINVAL, {
	vec_layernorm(j, ctx); j->vec.in1.handle = 999; });
VEC_MUTATION(unused_in1_offset, -EINVAL, { vec_layernorm(j, ctx); j->vec.in1.offset = 32; });
VEC_MUTATION(unused_in1_stride, -EINVAL, { vec_layernorm(j, ctx); j->vec.in1.stride = 32; });
VEC_MUTATION(unused_in1_pad, -EINVAL, { vec_layernorm(j, ctx); j->vec.in1.pad = 1; });
VEC_MUTATION(unused_in0_all_prefix, -EINVAL, {
	vec_embed(j, ctx, 2, 2); j->vec.in0 = MEM(ctx->in0, 0, 32); });

/* Used operands: a handle of this file, pad 0. */
VEC_MUTATION(in0_handle_zero, -EINVAL, j->vec.in0.handle = 0);
VEC_MUTATION(in1_handle_zero, -EINVAL, j->vec.in1.handle = 0);
VEC_MUTATION(out_handle_zero, -EINVAL, j->vec.out.handle = 0);
VEC_MUTATION(in0_unknown_handle, -ENOENT, j->vec.in0.handle = 999);
VEC_MUTATION(out_unknown_handle, -ENOENT, j->vec.out.handle = UINT32_MAX);
VEC_MUTATION(in0_pad, -EINVAL, j->vec.in0.pad = 1);
VEC_MUTATION(out_pad, -EINVAL, j->vec.out.pad = 0x80000000u);

/* Strides of at least one row, one-row operands included; s16 and s32 aligned. */
VEC_MUTATION(in0_stride_short, -EINVAL, j->vec.in0.stride = 30);
VEC_MUTATION(out_stride_zero, -EINVAL, j->vec.out.stride = 0);
VEC_MUTATION(mean_out_stride_zero, -EINVAL, { vec_mean(j, ctx); j->vec.out.stride = 0; });
VEC_MUTATION(input_in0_stride_zero, -EINVAL, { vec_input(j, ctx); j->vec.in0.stride = 0; });
VEC_MUTATION(input_in1_stride_short, -EINVAL, { vec_input(j, ctx); j->vec.in1.stride = 255; });
VEC_MUTATION(in0_offset_odd, -EINVAL, j->vec.in0.offset = 1);
VEC_MUTATION(in1_stride_odd, -EINVAL, j->vec.in1.stride = 33);
VEC_MUTATION(out_offset_odd, -EINVAL, j->vec.out.offset = 3);
VEC_MUTATION(join16_in0_offset_2, -EINVAL, { vec_join16(j, ctx); j->vec.in0.offset = 2; });
VEC_MUTATION(join16_in1_stride_66, -EINVAL, { vec_join16(j, ctx); j->vec.in1.stride = 66; });

/* Ranges against the object, in u64 arithmetic that must not wrap. */
VEC_MUTATION(in0_offset_at_end, -EINVAL, j->vec.in0.offset = VEC_BO_SIZE);
VEC_MUTATION(in0_end_past, -EINVAL, j->vec.in0.offset = VEC_BO_SIZE - BASE_VEC_EXTENT + 2);
VEC_MUTATION(in1_stride_past_end, -EINVAL, j->vec.in1.stride = VEC_BO_SIZE);
VEC_MUTATION(out_offset_huge, -EINVAL, j->vec.out.offset = 1ull << 40);
VEC_MUTATION(mean_out_end_past, -EINVAL, {
	vec_mean(j, ctx); j->vec.out.offset = VEC_BO_SIZE - 30; });
VEC_MUTATION(in0_stride_mul_overflow, -EINVAL, j->vec.in0.stride = 1ull << 63);
VEC_MUTATION(in0_offset_overflow, -EINVAL, j->vec.in0.offset = UINT64_MAX - 11);
VEC_MUTATION(out_end_wraps_to_zero, -EINVAL, j->vec.out.offset = 0 - (uint64_t)BASE_VEC_EXTENT);

/* out sharing a byte with an input, gaps between rows included, but ADD's exact in place. */
VEC_MUTATION(out_on_in0_shifted, -EINVAL, j->vec.out = MEM(ctx->in0, 2, 32));
VEC_MUTATION(out_on_in0_other_stride, -EINVAL, j->vec.out = MEM(ctx->in0, 0, 64));
VEC_MUTATION(out_in_in0_row_gap, -EINVAL, {
	j->vec.in0.stride = 64; j->vec.out = MEM(ctx->in0, 32, 64); });
VEC_MUTATION(out_on_in1_last_bytes, -EINVAL,
	     j->vec.out = MEM(ctx->in1, BASE_VEC_EXTENT - 2, 32));
VEC_MUTATION(join16_out_on_in0_exact, -EINVAL, { vec_join16(j, ctx); j->vec.out = j->vec.in0; });
VEC_MUTATION(layernorm_out_on_in0, -EINVAL, {
	vec_layernorm(j, ctx); j->vec.out = MEM(ctx->in0, 0, 32); });
VEC_MUTATION(embed_out_on_in1_exact, -EINVAL, {
	vec_embed(j, ctx, 8, 1); j->vec.out = j->vec.in1; });

/*
 * The variant's job between two valid ADDs into the witness object: a bad one fails the
 * whole SUBMIT, so neither ADD runs (the first was checked before it, the second after).
 */
TEST_F(vec_submit, check)
{
	struct vitsa_job jobs[3];
	uint64_t fence = 0, i;
	int ret;

	memset(self->out.map, SENTINEL, self->out.size);
	memset(self->witness.map, SENTINEL, self->witness.size);
	jobs[0] = add_job(8, 16, MEM(self->ctx.in0, 0, 32), MEM(self->ctx.in1, 0, 32),
			  MEM(self->witness.handle, 0, 32));
	jobs[2] = jobs[0];
	jobs[2].vec.out.offset = VEC_BO_SIZE / 2;
	base_vec_job(&jobs[1], &self->ctx);
	variant->mutate(&jobs[1], &self->ctx);

	ret = submit_jobs(self->fd, jobs, 3, &fence);
	ASSERT_EQ(variant->expected, ret);
	if (!ret) {
		ASSERT_EQ(3, fence);
		wait_ok(_metadata, self->fd, fence);
		/* in0 and in1 are zero-filled: their sum is 0 */
		EXPECT_EQ(0, self->witness.map[0]);
		EXPECT_EQ(0, self->witness.map[VEC_BO_SIZE / 2 + BASE_VEC_EXTENT - 1]);
		return;
	}

	/* Rejected: nothing ran, no fence was used up, the file still works. */
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 1, 0, NULL));
	for (i = 0; i < VEC_BO_SIZE; i++) {
		ASSERT_EQ(SENTINEL, self->out.map[i]) TH_LOG("out byte %llu written",
							     (unsigned long long)i);
		ASSERT_EQ(SENTINEL, self->witness.map[i]) TH_LOG("witness byte %llu written",
								 (unsigned long long)i);
	}
	base_vec_job(&jobs[1], &self->ctx);
	ASSERT_EQ(0, submit_jobs(self->fd, jobs, 3, &fence));
	ASSERT_EQ(3, fence);
	wait_ok(_metadata, self->fd, fence);
}

/* ---- job lists (uapi 1.3): LIST_CREATE, runs through SUBMIT_JOBS, LIST_DESTROY ---- */

#define LIST_MAX	4096	/* VITSA_PARAM_LIST_MAX of a device that runs lists */
#define FILE_MAX_LISTS	1024	/* lists one file may hold (uapi.rst "Resource limits") */

/*
 * VITSA_PARAM_LIST_MAX of one device: LIST_MAX with lists, and then a list of one job runs;
 * 0 without, and then LIST_CREATE and a SUBMIT entry of kind LIST are -EINVAL.
 */
static void list_max_check(struct __test_metadata *_metadata, const char *path)
{
	struct vitsa_gemm g = {
		.m = 4, .n = 4, .k = 4,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 4 }, .b = { .stride = 4 }, .c = { .offset = 64, .stride = 16 },
	};
	struct vitsa_job job, run;
	uint64_t max, ops, fence;
	uint32_t handle;
	struct bo bo;
	int fd = vitsa_open_path(path);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
	ASSERT_EQ(0, get_param(fd, VITSA_PARAM_LIST_MAX, &max));
	ASSERT_EQ(0, get_param(fd, VITSA_PARAM_VEC_OPS, &ops));
	TH_LOG("%s: LIST_MAX %llu, VEC_OPS %#llx", path, (unsigned long long)max,
	       (unsigned long long)ops);
	/* The test VM's QEMU gives lists to exactly the devices with the vector unit (1.3). */
	EXPECT_EQ(ops ? LIST_MAX : 0, max);

	ASSERT_EQ(0, bo_create(fd, 4096, &bo));
	g.a.handle = g.b.handle = g.c.handle = bo.handle;
	job = gemm_job(&g);
	if (max) {
		ASSERT_EQ(0, list_create(fd, &job, 1, &handle));
		run = list_run(handle);
		ASSERT_EQ(0, submit_jobs(fd, &run, 1, &fence));
		wait_ok(_metadata, fd, fence);
		EXPECT_EQ(0, list_destroy(fd, handle));
	} else {
		EXPECT_EQ(-EINVAL, list_create(fd, &job, 1, &handle));
		run = list_run(1);
		EXPECT_EQ(-EINVAL, submit_jobs(fd, &run, 1, &fence));
		EXPECT_EQ(-ENOENT, list_destroy(fd, 1));
	}
	close(fd);
}

/* Every /dev/vitsaN of the VM and $VITSA_DEV, as vec_ops_on_every_device. */
TEST(list_max_on_every_device)
{
	char path[32];
	int n, found = 0;

	for (n = 0; n < 16; n++) {
		snprintf(path, sizeof(path), "/dev/vitsa%d", n);
		if (access(path, F_OK))
			continue;
		found++;
		list_max_check(_metadata, path);
	}
	if (strncmp(vitsa_path(), "/dev/vitsa", 10))
		list_max_check(_metadata, vitsa_path());
	ASSERT_LT(0, found);
}

FIXTURE(list) {
	int fd;
	long page;
};

/*
 * Linux 6.1's harness runs a test whose setup SKIPped (later ones do not): each test of the
 * fixtures that may skip starts with this.
 */
#define RETURN_IF_SKIPPED()	do { if (_metadata->skip) return; } while (0)

FIXTURE_SETUP(list)
{
	uint64_t max;

	self->fd = vitsa_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", vitsa_path(), strerror(errno));
	self->page = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_LIST_MAX, &max));
	if (!max)
		SKIP(return, "the device runs no lists (list_max_on_every_device checks that)");
	ASSERT_EQ(LIST_MAX, max);
	rng_seed(0x115);
}

FIXTURE_TEARDOWN(list)
{
	close(self->fd);
}

/* This file's number of lists, from fdinfo. */
static uint64_t lists_held(struct __test_metadata *_metadata, int fd)
{
	uint64_t n = UINT64_MAX;

	EXPECT_EQ(0, vitsa_fdinfo_read(fd, "vitsa-lists", &n));
	return n;
}

/* Operands in [-16, 15], so that a GEMM's C is partly inside s8 and partly not. */
static void fill_small(uint8_t *p, uint64_t n)
{
	while (n--)
		*p++ = (uint8_t)(rng() % 32 - 16);
}

/* What JOIN16 (lo 0, mult 1, shift 8) makes of @m x @n s32 rows at @c: sat8 of each. */
static void join16_ref(const uint8_t *c, uint64_t c_stride, uint32_t m, uint32_t n,
		       uint8_t *out)
{
	uint32_t r, col;
	int32_t v;

	for (r = 0; r < m; r++) {
		for (col = 0; col < n; col++) {
			memcpy(&v, c + r * c_stride + 4 * col, 4);
			out[r * n + col] = (uint8_t)clamp(v, INT8_MIN, INT8_MAX);
		}
	}
}

/*
 * One list [GEMM A x B -> C s32, JOIN16 of that C -> out s8, ADD s0 + s1 -> sum] run three
 * times with fresh inputs: every run gives that run's results (the list reads its operands at
 * each run, not once), and JOIN16 reads the C its GEMM wrote just before, in the same run.
 */
TEST_F(list, gemm_join16_add_three_runs)
{
	const uint32_t m = 8, n = 24, k = 16;
	struct vitsa_gemm g = {
		.m = m, .n = n, .k = k,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = k }, .b = { .stride = n }, .c = { .offset = 64, .stride = 4 * n },
	};
	uint8_t *expect_c = malloc(self->page), *expect_sum = malloc(self->page);
	uint8_t expect_out[8 * 24];
	struct bo a, b, c, lo, out, s0, s1, sum;
	struct vitsa_job jobs[3], run;
	uint32_t handle, r;
	uint64_t fence;

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, expect_c);
	ASSERT_NE(NULL, expect_sum);
	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, self->page, &c);
	bo_new_mapped(_metadata, self->fd, self->page, &lo);
	bo_new_mapped(_metadata, self->fd, self->page, &out);
	bo_new_mapped(_metadata, self->fd, self->page, &s0);
	bo_new_mapped(_metadata, self->fd, self->page, &s1);
	bo_new_mapped(_metadata, self->fd, self->page, &sum);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	jobs[0] = gemm_job(&g);
	jobs[1] = vec_job(VITSA_VEC_JOIN16, m, n, g.c, MEM(lo.handle, 0, 4 * n),
			  MEM(out.handle, 0, n));
	jobs[1].vec.param[0] = 1;
	jobs[1].vec.param[1] = 8;
	jobs[2] = add_job(5, 40, MEM(s0.handle, 0, 80), MEM(s1.handle, 0, 80),
			  MEM(sum.handle, 0, 80));
	ASSERT_EQ(0, list_create(self->fd, jobs, 3, &handle));
	EXPECT_NE(0, handle);
	EXPECT_EQ(1, lists_held(_metadata, self->fd));
	run = list_run(handle);

	for (r = 0; r < 3; r++) {
		fill_small(a.map, a.size);
		fill_small(b.map, b.size);
		fill_random(s0.map, s0.size);
		fill_random(s1.map, s1.size);
		memset(c.map, SENTINEL, c.size);
		memset(out.map, SENTINEL, out.size);
		memset(sum.map, SENTINEL, sum.size);
		memset(expect_c, SENTINEL, self->page);
		gemm_ref(&g, &a, &b, NULL, NULL, expect_c);
		join16_ref(expect_c + g.c.offset, g.c.stride, m, n, expect_out);
		memcpy(expect_sum, sum.map, self->page);
		add_ref(&jobs[2].vec, s0.map, s1.map, expect_sum);

		ASSERT_EQ(0, submit_jobs(self->fd, &run, 1, &fence));
		EXPECT_EQ(r + 1, fence) TH_LOG("a run is one job: one fence");
		wait_ok(_metadata, self->fd, fence);
		expect_bytes(_metadata, c.map, expect_c, self->page, "C");
		expect_bytes(_metadata, out.map, expect_out, sizeof(expect_out), "JOIN16 out");
		expect_bytes(_metadata, sum.map, expect_sum, self->page, "sum");
	}
	EXPECT_EQ(0, list_destroy(self->fd, handle));
	EXPECT_EQ(0, lists_held(_metadata, self->fd));
	free(expect_c);
	free(expect_sum);
}

/*
 * Runs of one list in one SUBMIT, around a plain job, all adding x into acc in place: each run
 * is one fence, and the three run in array order (acc0 + x + x + x, saturating at each step).
 */
TEST_F(list, runs_in_one_submit)
{
	const uint32_t rows = 6, cols = 30;
	struct bo acc, x;
	struct vitsa_job add, jobs[3];
	uint8_t *expect = malloc(self->page);
	uint32_t handle, i;
	uint64_t fence;

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, expect);
	bo_new_mapped(_metadata, self->fd, self->page, &acc);
	bo_new_mapped(_metadata, self->fd, self->page, &x);
	fill_random(acc.map, acc.size);
	for (i = 0; i < x.size; i += 2)		/* |x| < 4096: acc moves, seldom saturates */
		st16(x.map + i, (int16_t)(rng() % 8192) - 4096);
	add = add_job(rows, cols, MEM(acc.handle, 4, 64), MEM(x.handle, 0, 64),
		      MEM(acc.handle, 4, 64));
	ASSERT_EQ(0, list_create(self->fd, &add, 1, &handle));
	jobs[0] = list_run(handle);
	jobs[1] = add;
	jobs[2] = jobs[0];
	memcpy(expect, acc.map, self->page);
	for (i = 0; i < 3; i++)
		add_ref(&add.vec, expect, x.map, expect);

	ASSERT_EQ(0, submit_jobs(self->fd, jobs, 3, &fence));
	EXPECT_EQ(3, fence);
	wait_ok(_metadata, self->fd, fence);
	expect_bytes(_metadata, acc.map, expect, self->page, "acc");
	EXPECT_EQ(0, list_destroy(self->fd, handle));
	free(expect);
}

/*
 * The largest list, LIST_MAX one-row ADDs each into its own row of out: all of them run, in
 * one ring entry (one fence), well within the job timeout however long the whole takes.
 */
TEST_F(list, largest_list)
{
	const uint64_t row = 32;	/* 16 s16 */
	struct vitsa_job *jobs = calloc(LIST_MAX + 1, sizeof(*jobs)), run;
	struct bo in, out;
	uint8_t *expect;
	uint32_t handle, i;
	uint64_t fence;

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, jobs);
	bo_new_mapped(_metadata, self->fd, LIST_MAX * row, &in);
	bo_new_mapped(_metadata, self->fd, LIST_MAX * row, &out);
	expect = malloc(out.size);
	ASSERT_NE(NULL, expect);
	fill_random(in.map, in.size);
	memset(out.map, SENTINEL, out.size);
	memcpy(expect, out.map, out.size);
	for (i = 0; i <= LIST_MAX; i++) {
		uint64_t off = i % LIST_MAX * row;

		/* job i: in's row i doubled, into out's row LIST_MAX - 1 - i */
		jobs[i] = add_job(1, 16, MEM(in.handle, off, row), MEM(in.handle, off, row),
				  MEM(out.handle, (LIST_MAX - 1 - i % LIST_MAX) * row, row));
		if (i < LIST_MAX)
			add_ref(&jobs[i].vec, in.map, in.map, expect);
	}
	EXPECT_EQ(-EINVAL, list_create(self->fd, jobs, LIST_MAX + 1, &handle));
	ASSERT_EQ(0, list_create(self->fd, jobs, LIST_MAX, &handle));
	run = list_run(handle);
	ASSERT_EQ(0, submit_jobs(self->fd, &run, 1, &fence));
	EXPECT_EQ(1, fence);
	wait_ok(_metadata, self->fd, fence);
	expect_bytes(_metadata, out.map, expect, out.size, "out");
	EXPECT_EQ(0, list_destroy(self->fd, handle));
	free(expect);
	free(jobs);
}

/*
 * LIST_DESTROY of a list whose run waits behind another file's long jobs: the handle goes at
 * once (destroying or running it again is -ENOENT), the queued run still runs and its result
 * is right; the memory goes when it retires (budget.list_descriptors_charged checks that).
 */
TEST_F(list, destroy_while_queued)
{
	struct bo a, b, c, s0, s1, sum;
	uint8_t *expect = malloc(self->page);
	struct vitsa_job add, run;
	uint64_t fence, busy;
	uint32_t handle;
	int fd2, ret;

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, expect);
	fd2 = vitsa_open();
	ASSERT_LE(0, fd2);
	bo_new_mapped(_metadata, self->fd, self->page, &s0);
	bo_new_mapped(_metadata, self->fd, self->page, &s1);
	bo_new_mapped(_metadata, self->fd, self->page, &sum);
	fill_random(s0.map, s0.size);
	fill_random(s1.map, s1.size);
	memset(sum.map, SENTINEL, sum.size);
	memcpy(expect, sum.map, self->page);
	add = add_job(16, 64, MEM(s0.handle, 0, 128), MEM(s1.handle, 0, 128),
		      MEM(sum.handle, 0, 128));
	add_ref(&add.vec, s0.map, s1.map, expect);
	ASSERT_EQ(0, list_create(self->fd, &add, 1, &handle));

	busy = submit_busy_work(_metadata, fd2, 512, 8, &a, &b, &c);
	run = list_run(handle);
	ASSERT_EQ(0, submit_jobs(self->fd, &run, 1, &fence));
	ASSERT_EQ(0, list_destroy(self->fd, handle));
	ret = wait_fence(self->fd, fence, 0, NULL);
	if (ret != -ETIMEDOUT)
		TH_LOG("the run completed before its list was destroyed (WAIT %d)", ret);
	EXPECT_EQ(-ENOENT, list_destroy(self->fd, handle));
	EXPECT_EQ(-ENOENT, submit_jobs(self->fd, &run, 1, NULL));
	EXPECT_EQ(0, lists_held(_metadata, self->fd));

	wait_ok(_metadata, self->fd, fence);
	expect_bytes(_metadata, sum.map, expect, self->page, "sum");
	wait_ok(_metadata, fd2, busy);
	close(fd2);
	free(expect);
}

/* LIST_CREATE with @args on @fd; the argument must be left alone when it fails. */
static int list_create_args(struct __test_metadata *_metadata, int fd,
			    struct vitsa_list_create *args)
{
	struct vitsa_list_create before = *args;
	int ret = vitsa_ioctl(fd, VITSA_IOCTL_LIST_CREATE, args);

	if (ret)
		EXPECT_EQ(0, memcmp(&before, args, sizeof(before))) TH_LOG("argument changed");
	return ret;
}

/*
 * Every way LIST_CREATE fails, each with its errno: count, flags, pad, the array's pointer,
 * and any job that SUBMIT would refuse, or of kind LIST, anywhere in the array.  A refused
 * list keeps nothing: no list, no handle used up.
 */
TEST_F(list, create_bad)
{
	struct vitsa_list_create args = { .handle = 0xdeadbeef };
	struct vitsa_job jobs[3], *edge;
	struct bo in, out;
	uint32_t first;
	uint8_t *pages;

	RETURN_IF_SKIPPED();
	bo_new_mapped(_metadata, self->fd, self->page, &in);
	bo_new_mapped(_metadata, self->fd, self->page, &out);
	jobs[0] = add_job(4, 16, MEM(in.handle, 0, 32), MEM(in.handle, 0, 32),
			  MEM(out.handle, 0, 32));
	jobs[1] = jobs[0];
	jobs[1].vec.out.offset = 512;
	jobs[2] = jobs[0];
	jobs[2].vec.out.offset = 1024;
	ASSERT_EQ(0, list_create(self->fd, jobs, 1, &first));
	args.jobs = (uintptr_t)jobs;

	/* the arguments */
	args.count = 0;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	args.count = LIST_MAX + 1;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	args.count = UINT32_MAX;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	args.count = 3;
	args.flags = 1;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	args.flags = 0x80000000u;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	args.flags = 0;
	args.pad = 1;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	args.pad = 0;
	args.jobs = 0;
	EXPECT_EQ(-EFAULT, list_create_args(_metadata, self->fd, &args));
	args.jobs = UINT64_MAX - 7;
	EXPECT_EQ(-EFAULT, list_create_args(_metadata, self->fd, &args));

	/* an array whose third job runs into an unmapped page */
	pages = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, munmap(pages + self->page, self->page));
	edge = (struct vitsa_job *)(pages + self->page) - 2;
	memcpy(edge, jobs, 2 * sizeof(*jobs));
	args.jobs = (uintptr_t)edge;
	EXPECT_EQ(-EFAULT, list_create_args(_metadata, self->fd, &args));
	args.count = 2;
	EXPECT_EQ(0, list_create_args(_metadata, self->fd, &args));
	EXPECT_EQ(0, list_destroy(self->fd, args.handle));
	munmap(pages, self->page);
	args.jobs = (uintptr_t)jobs;
	args.count = 3;
	args.handle = 0xdeadbeef;

	/* the last job bad in each way; checked as SUBMIT checks it (vec_submit has them all) */
	jobs[2] = list_run(first);
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args)) TH_LOG("a list in a list");
	jobs[2].kind = 3;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	jobs[2] = jobs[0];
	jobs[2].pad = 1;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	jobs[2] = jobs[0];
	jobs[2].vec.rows = 0;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args));
	jobs[2] = jobs[0];
	jobs[2].vec.out.offset = self->page;
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args)) TH_LOG("out past its end");
	jobs[2] = jobs[0];
	jobs[2].vec.out = MEM(in.handle, 2, 32);
	EXPECT_EQ(-EINVAL, list_create_args(_metadata, self->fd, &args)) TH_LOG("out on in0");
	jobs[2] = jobs[0];
	jobs[2].vec.in1.handle = 999;
	EXPECT_EQ(-ENOENT, list_create_args(_metadata, self->fd, &args));
	/* ... and in the first place */
	jobs[2] = jobs[0];
	jobs[0].vec.out.handle = 999;
	EXPECT_EQ(-ENOENT, list_create_args(_metadata, self->fd, &args));
	jobs[0] = jobs[2];

	/* Nothing was kept: one list, and the next handle is the next number. */
	EXPECT_EQ(1, lists_held(_metadata, self->fd));
	ASSERT_EQ(0, list_create_args(_metadata, self->fd, &args));
	EXPECT_NE(first, args.handle);
	EXPECT_NE(0, args.handle);
	EXPECT_EQ(2, lists_held(_metadata, self->fd));
	EXPECT_EQ(0, list_destroy(self->fd, args.handle));
	EXPECT_EQ(0, list_destroy(self->fd, first));
}

/*
 * A SUBMIT entry of kind LIST: an unknown handle (0, never made, destroyed, another file's)
 * is -ENOENT; a non-zero pad, list pad or byte of the union past struct vitsa_list_run is
 * -EINVAL; either way nothing of the batch runs.  LIST_DESTROY: pad -EINVAL, unknown -ENOENT.
 */
TEST_F(list, run_and_destroy_bad)
{
	struct vitsa_list_destroy d = { 0 };
	struct vitsa_job jobs[2], add;
	struct bo in, out;
	uint32_t handle, other;
	uint64_t fence, i;
	int fd2;

	RETURN_IF_SKIPPED();
	bo_new_mapped(_metadata, self->fd, self->page, &in);
	bo_new_mapped(_metadata, self->fd, self->page, &out);
	memset(out.map, SENTINEL, out.size);
	add = add_job(4, 16, MEM(in.handle, 0, 32), MEM(in.handle, 0, 32),
		      MEM(out.handle, 0, 32));
	ASSERT_EQ(0, list_create(self->fd, &add, 1, &handle));

	/* Another file: this file's list means nothing there, nor its lists here. */
	fd2 = vitsa_open();
	ASSERT_LE(0, fd2);
	jobs[0] = list_run(handle);
	EXPECT_EQ(-ENOENT, submit_jobs(fd2, jobs, 1, NULL));
	EXPECT_EQ(-ENOENT, list_destroy(fd2, handle));
	ASSERT_EQ(0, bo_create(fd2, self->page, &in));
	add.vec.in0.handle = add.vec.in1.handle = add.vec.out.handle = in.handle;
	add.vec.out.offset = 1024;
	do {
		ASSERT_EQ(0, list_create(fd2, &add, 1, &other));
	} while (other == handle);

	/* a valid ADD first: it must not run when the run after it is refused */
	jobs[0] = add_job(4, 16, MEM(out.handle, 2048, 32), MEM(out.handle, 2048, 32),
			  MEM(out.handle, 2048, 32));
	jobs[1] = list_run(0);
	EXPECT_EQ(-ENOENT, submit_jobs(self->fd, jobs, 2, NULL));
	jobs[1] = list_run(handle + 1);
	EXPECT_EQ(-ENOENT, submit_jobs(self->fd, jobs, 2, NULL));
	jobs[1] = list_run(UINT32_MAX);
	EXPECT_EQ(-ENOENT, submit_jobs(self->fd, jobs, 2, NULL));
	jobs[1] = list_run(other);
	EXPECT_EQ(-ENOENT, submit_jobs(self->fd, jobs, 2, NULL)) TH_LOG("another file's list");
	jobs[1] = list_run(handle);
	jobs[1].pad = 1;
	EXPECT_EQ(-EINVAL, submit_jobs(self->fd, jobs, 2, NULL));
	jobs[1] = list_run(handle);
	jobs[1].list.pad = 1;
	EXPECT_EQ(-EINVAL, submit_jobs(self->fd, jobs, 2, NULL));
	jobs[1] = list_run(handle);
	((uint8_t *)&jobs[1].list)[sizeof(jobs[1].list)] = 1;
	EXPECT_EQ(-EINVAL, submit_jobs(self->fd, jobs, 2, NULL)) TH_LOG("union tail, first byte");
	jobs[1] = list_run(handle);
	((uint8_t *)&jobs[1])[sizeof(jobs[1]) - 1] = 0x80;
	EXPECT_EQ(-EINVAL, submit_jobs(self->fd, jobs, 2, NULL)) TH_LOG("union tail, last byte");

	/* Nothing ran, no fence was used up. */
	usleep(100 * 1000);
	EXPECT_EQ(-EINVAL, wait_fence(self->fd, 1, 0, NULL));
	for (i = 0; i < out.size; i++)
		ASSERT_EQ(SENTINEL, out.map[i]) TH_LOG("out byte %llu written",
						       (unsigned long long)i);

	/* LIST_DESTROY */
	d.handle = handle;
	d.pad = 1;
	EXPECT_EQ(-EINVAL, vitsa_ioctl(self->fd, VITSA_IOCTL_LIST_DESTROY, &d));
	EXPECT_EQ(-ENOENT, list_destroy(self->fd, 0));
	EXPECT_EQ(-ENOENT, list_destroy(self->fd, handle + 1));
	EXPECT_EQ(-ENOENT, list_destroy(self->fd, UINT32_MAX));
	EXPECT_EQ(-ENOENT, list_destroy(self->fd, other));
	EXPECT_EQ(1, lists_held(_metadata, self->fd));

	/* the refused calls left the list alone: it runs, then goes once */
	jobs[1] = list_run(handle);
	ASSERT_EQ(0, submit_jobs(self->fd, jobs, 2, &fence));
	EXPECT_EQ(2, fence);
	wait_ok(_metadata, self->fd, fence);
	EXPECT_EQ(0, list_destroy(self->fd, handle));
	EXPECT_EQ(-ENOENT, list_destroy(self->fd, handle));
	EXPECT_EQ(-ENOENT, submit_jobs(self->fd, &jobs[1], 1, NULL));
	close(fd2);
}

/*
 * A list whose second job has a shift out of range: the device stops the list there, WAIT
 * reports the run's fence with VITSA_JOB_PARAM, the first job's result is written and the
 * third's is not.  The run of another list queued right behind it, of the same file, runs.
 */
TEST_F(list, entry_fails_on_device)
{
	struct bo a, b, out, out2;
	struct vitsa_job bad[3], good, jobs[2];
	uint8_t *expect = malloc(self->page), *expect2 = malloc(self->page);
	uint32_t h_bad, h_good;
	struct vitsa_wait w;
	uint64_t fence;

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, expect);
	ASSERT_NE(NULL, expect2);
	bo_new_mapped(_metadata, self->fd, self->page, &a);
	bo_new_mapped(_metadata, self->fd, self->page, &b);
	bo_new_mapped(_metadata, self->fd, self->page, &out);
	bo_new_mapped(_metadata, self->fd, self->page, &out2);
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	memset(out.map, SENTINEL, out.size);
	memset(out2.map, SENTINEL, out2.size);
	memcpy(expect, out.map, out.size);
	memcpy(expect2, out2.map, out2.size);

	bad[0] = add_job(4, 64, MEM(a.handle, 0, 128), MEM(b.handle, 0, 128),
			 MEM(out.handle, 0, 128));
	bad[1] = bad[0];
	bad[1].vec.param[1] = 63;		/* in0's shift */
	bad[1].vec.out.offset = 1024;
	bad[2] = bad[0];
	bad[2].vec.out.offset = 2048;
	add_ref(&bad[0].vec, a.map, b.map, expect);
	good = bad[0];
	good.vec.out.handle = out2.handle;
	add_ref(&good.vec, a.map, b.map, expect2);
	ASSERT_EQ(0, list_create(self->fd, bad, 3, &h_bad));
	ASSERT_EQ(0, list_create(self->fd, &good, 1, &h_good));

	jobs[0] = list_run(h_bad);
	jobs[1] = list_run(h_good);
	ASSERT_EQ(0, submit_jobs(self->fd, jobs, 2, &fence));
	ASSERT_EQ(2, fence);
	ASSERT_EQ(0, wait_fence(self->fd, fence, WAIT_LONG_NS, &w));
	EXPECT_EQ(1, w.error_fence);
	EXPECT_EQ(VITSA_JOB_PARAM, w.error);
	ASSERT_EQ(0, wait_fence(self->fd, fence, 0, &w));
	EXPECT_EQ(0, w.error_fence);
	expect_bytes(_metadata, out.map, expect, out.size, "out of the failed list");
	expect_bytes(_metadata, out2.map, expect2, out2.size, "out of the list after it");
	EXPECT_EQ(0, list_destroy(self->fd, h_bad));
	EXPECT_EQ(0, list_destroy(self->fd, h_good));
	free(expect);
	free(expect2);
}

#define DEBUGFS		"/sys/kernel/debug"
#define LIVE_OBJECTS	DEBUGFS "/vitsa/objects"

/* The driver's live files and buffer objects (debugfs, mounted here if it is not). */
static void live_objects(struct __test_metadata *_metadata, uint64_t *files, uint64_t *bos)
{
	unsigned long long f = 0, b = 0;
	FILE *fp;

	if (access(LIVE_OBJECTS, R_OK))
		ASSERT_EQ(0, mount("debugfs", DEBUGFS, "debugfs", 0, NULL)) TH_LOG("%s",
										 strerror(errno));
	fp = fopen(LIVE_OBJECTS, "re");
	ASSERT_NE(NULL, fp) TH_LOG("%s: %s", LIVE_OBJECTS, strerror(errno));
	EXPECT_EQ(2, fscanf(fp, "devices %*d files %llu bos %llu", &f, &b));
	fclose(fp);
	*files = f;
	*bos = b;
}

/*
 * live_objects once the counts are @files and @bos, or after 2 s.  A retired job lets go of
 * its file just after it wakes the waiter (vitsa_job_done: the wake still needs the file), so
 * a close() right after WAIT may be the last reference but one for a moment.
 */
static void live_objects_settled(struct __test_metadata *_metadata, uint64_t want_files,
				 uint64_t want_bos, uint64_t *files, uint64_t *bos)
{
	for (int i = 0; i < 200; i++) {
		live_objects(_metadata, files, bos);
		if (*files == want_files && *bos == want_bos)
			return;
		usleep(10000);
	}
}

/*
 * close(2) destroys a file's lists with its objects: once their runs retired, nothing of the
 * file is left (its context, its objects, the lists' descriptors), whatever it still held.
 */
TEST_F(list, close_frees_lists)
{
	uint64_t files0, bos0, files, bos, fence;
	struct vitsa_job add, run;
	uint32_t handle;
	struct bo bo;
	int fd2;

	RETURN_IF_SKIPPED();
	live_objects(_metadata, &files0, &bos0);
	fd2 = vitsa_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, bo_create(fd2, self->page, &bo));
	add = add_job(4, 16, MEM(bo.handle, 0, 32), MEM(bo.handle, 0, 32),
		      MEM(bo.handle, 1024, 32));
	ASSERT_EQ(0, list_create(fd2, &add, 1, &handle));
	ASSERT_EQ(0, list_create(fd2, &add, 1, &handle));
	run = list_run(handle);
	ASSERT_EQ(0, submit_jobs(fd2, &run, 1, &fence));
	wait_ok(_metadata, fd2, fence);
	live_objects(_metadata, &files, &bos);
	EXPECT_EQ(files0 + 1, files);
	EXPECT_EQ(bos0 + 3, bos) TH_LOG("an object and two lists' descriptors");
	ASSERT_EQ(0, close(fd2));
	live_objects_settled(_metadata, files0, bos0, &files, &bos);
	EXPECT_EQ(files0, files);
	EXPECT_EQ(bos0, bos);
}

/* A file holds at most FILE_MAX_LISTS lists: then -ENOSPC, until one is destroyed. */
TEST_F(list, lists_per_file)
{
	uint32_t *h = calloc(FILE_MAX_LISTS + 1, sizeof(*h)), i, j;
	struct vitsa_job add, add2;
	struct bo bo, bo2;
	int fd2;

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, bo_create(self->fd, self->page, &bo));
	add = add_job(1, 16, MEM(bo.handle, 0, 32), MEM(bo.handle, 0, 32),
		      MEM(bo.handle, 64, 32));
	for (i = 0; i < FILE_MAX_LISTS; i++) {
		ASSERT_EQ(0, list_create(self->fd, &add, 1, &h[i])) TH_LOG("list %u", i);
		ASSERT_NE(0, h[i]);
	}
	for (i = 0; i < FILE_MAX_LISTS; i++)
		for (j = i + 1; j < FILE_MAX_LISTS; j++)
			ASSERT_NE(h[i], h[j]);
	EXPECT_EQ(-ENOSPC, list_create(self->fd, &add, 1, &h[FILE_MAX_LISTS]));
	EXPECT_EQ(FILE_MAX_LISTS, lists_held(_metadata, self->fd));

	/* another file counts its own */
	fd2 = vitsa_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, bo_create(fd2, self->page, &bo2));
	add2 = add;
	add2.vec.in0.handle = add2.vec.in1.handle = add2.vec.out.handle = bo2.handle;
	EXPECT_EQ(0, list_create(fd2, &add2, 1, &j));
	close(fd2);

	EXPECT_EQ(0, list_destroy(self->fd, h[FILE_MAX_LISTS / 2]));
	EXPECT_EQ(0, list_create(self->fd, &add, 1, &h[FILE_MAX_LISTS]));
	EXPECT_EQ(-ENOSPC, list_create(self->fd, &add, 1, &j));
	free(h);
	/* close(2) frees them all (checked by the VM's no_leaked_objects) */
}

/*
 * A list's descriptors count against file_bo_mb as an object of count * 128 bytes, rounded up
 * to pages, from LIST_CREATE until the list is destroyed and its last run has retired.  Jobs
 * are checked before the budget.
 */
TEST_F(budget, list_descriptors_charged)
{
	struct vitsa_job jobs[65], run;
	struct bo a, b, c[3], other;
	uint64_t max, fence, busy;
	uint32_t h, h2;
	int i, ret;

	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_LIST_MAX, &max));
	if (!max)
		SKIP(return, "the device runs no lists");
	ASSERT_EQ(0, bo_create(self->fd, 4 * MIB, &a));
	ASSERT_EQ(0, bo_create(self->fd, 4 * MIB - 8192, &b));	/* two pages left */
	for (i = 0; i < 65; i++)
		jobs[i] = add_job(1, 16, MEM(a.handle, 0, 32), MEM(a.handle, 0, 32),
				  MEM(b.handle, 32 * i, 32));
	ASSERT_EQ(0, list_create(self->fd, jobs, 33, &h)) TH_LOG("33 jobs: two pages");
	EXPECT_EQ(-EDQUOT, list_create(self->fd, jobs, 1, &h2));
	EXPECT_EQ(-EDQUOT, bo_create(self->fd, 1, &other));
	jobs[0].vec.rows = 0;
	EXPECT_EQ(-EINVAL, list_create(self->fd, jobs, 1, &h2)) TH_LOG("checked before the budget");
	jobs[0].vec.rows = 1;
	EXPECT_EQ(0, list_destroy(self->fd, h));
	EXPECT_EQ(-EDQUOT, list_create(self->fd, jobs, 65, &h2)) TH_LOG("65 jobs: three pages");
	ASSERT_EQ(0, list_create(self->fd, jobs, 64, &h));

	/* destroyed while its run waits behind another file's jobs: charged until it retires */
	busy = submit_busy_work(_metadata, self->fd2, 512, 8, &c[0], &c[1], &c[2]);
	run = list_run(h);
	ASSERT_EQ(0, submit_jobs(self->fd, &run, 1, &fence));
	ASSERT_EQ(0, list_destroy(self->fd, h));
	ret = bo_create(self->fd, 4096, &other);
	if (wait_fence(self->fd, fence, 0, NULL) == -ETIMEDOUT) {
		EXPECT_EQ(-EDQUOT, ret) TH_LOG("the run is queued: its list must still be charged");
	} else {
		TH_LOG("the run may have retired before the budget was looked at (BO_CREATE %d)",
		       ret);
		if (!ret)
			EXPECT_EQ(0, bo_destroy(self->fd, other.handle));
	}
	wait_ok(_metadata, self->fd, fence);
	EXPECT_EQ(0, bo_create(self->fd, 8192, &other)) TH_LOG("uncharged once the run retired");
	wait_ok(_metadata, self->fd2, busy);
}

/* ---- the job timeout of a list ---- */

#define LIST_TIMEOUT_MS		100	/* job_timeout_ms during the test */
#define LIST_TIMEOUT_JOBS	20
#define JIFFY_MS		10	/* the detector counts in ticks: it may fire one early */

FIXTURE(list_timeout) {
	int fd;
	char sys[96];			/* /sys/class/misc/vitsaN */
	volatile uint32_t *regs;	/* BAR0, for the device's test-only faults */
	uint64_t saved_timeout;
};

static void timeout_write(const char *sys, uint64_t ms)
{
	char path[160], val[24];

	snprintf(path, sizeof(path), "%s/job_timeout_ms", sys);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)ms);
	sysfs_write(path, val);
}

FIXTURE_SETUP(list_timeout)
{
	const char *name = strrchr(vitsa_path(), '/');
	char path[160];
	uint64_t max;

	self->fd = vitsa_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", vitsa_path(), strerror(errno));
	ASSERT_EQ(0, get_param(self->fd, VITSA_PARAM_LIST_MAX, &max));
	if (!max)
		SKIP(return, "the device runs no lists");
	ASSERT_NE(NULL, name);
	snprintf(self->sys, sizeof(self->sys), "/sys/class/misc/%s", name + 1);
	self->regs = vitsa_bar0_map(vitsa_path());
	ASSERT_NE(NULL, self->regs) TH_LOG("cannot map BAR0 of %s: %s", self->sys,
					   strerror(errno));
	if (!(self->regs[VITSA_REG_CAPS / 4] & VITSA_CAP_FAULT_INJECT))
		SKIP(return, "the device has no fault injection (QEMU -device vitsa,x-fault-inject=on)");
	snprintf(path, sizeof(path), "%s/job_timeout_ms", self->sys);
	ASSERT_EQ(0, sysfs_read_u64(path, &self->saved_timeout));
	timeout_write(self->sys, LIST_TIMEOUT_MS);
}

/* No ASSERT here (see vitsa_recovery.c's teardown for why). */
FIXTURE_TEARDOWN(list_timeout)
{
	if (self->regs) {
		self->regs[VITSA_REG_FAULT_KIND / 4] = VITSA_FAULT_NONE;
		self->regs[VITSA_REG_FAULT_MATCH_K / 4] = 0;
		munmap((void *)self->regs, VITSA_BAR0_SIZE);
		self->regs = NULL;
	}
	if (self->saved_timeout)
		timeout_write(self->sys, self->saved_timeout);
	self->saved_timeout = 0;
	close(self->fd);
}

/*
 * Hang the next descriptor the device fetches, then SUBMIT @job on the idle device: it must
 * fail with VITSA_JOB_TIMEOUT; returns the ms from SUBMIT until WAIT saw that.
 */
static uint64_t hang_ms(struct __test_metadata *_metadata, FIXTURE_DATA(list_timeout) *self,
			const struct vitsa_job *job)
{
	struct vitsa_wait w;
	uint64_t fence, t0;

	self->regs[VITSA_REG_FAULT_MATCH_K / 4] = 0;
	self->regs[VITSA_REG_FAULT_KIND / 4] = VITSA_FAULT_HANG;
	t0 = now_ns();
	EXPECT_EQ(0, submit_jobs(self->fd, job, 1, &fence));
	EXPECT_EQ(0, wait_fence(self->fd, fence, WAIT_LONG_NS, &w));
	t0 = (now_ns() - t0) / 1000000;
	EXPECT_EQ(fence, w.error_fence);
	EXPECT_EQ(VITSA_JOB_TIMEOUT, w.error);
	EXPECT_EQ(VITSA_FAULT_NONE, self->regs[VITSA_REG_FAULT_KIND / 4]) TH_LOG("no hang");
	return t0;
}

/*
 * The job timeout applies to each job of a list (uapi.rst, "Hung jobs and recovery"): a hung
 * run of LIST_TIMEOUT_JOBS jobs is declared hung after that many timeouts, a hung single job
 * after one; the list still runs afterwards.
 */
TEST_F(list_timeout, per_job_of_the_list)
{
	struct vitsa_job jobs[LIST_TIMEOUT_JOBS], run;
	uint64_t one, all, fence;
	uint32_t handle, i;
	struct bo bo;

	RETURN_IF_SKIPPED();
	bo_new_mapped(_metadata, self->fd, 4096, &bo);
	for (i = 0; i < LIST_TIMEOUT_JOBS; i++)
		jobs[i] = add_job(1, 16, MEM(bo.handle, 0, 32), MEM(bo.handle, 0, 32),
				  MEM(bo.handle, 64 + 32 * i, 32));
	ASSERT_EQ(0, list_create(self->fd, jobs, LIST_TIMEOUT_JOBS, &handle));
	run = list_run(handle);

	one = hang_ms(_metadata, self, &jobs[0]);
	all = hang_ms(_metadata, self, &run);
	TH_LOG("hung: a job declared so after %llu ms, a list of %u after %llu ms (timeout %u ms)",
	       (unsigned long long)one, LIST_TIMEOUT_JOBS, (unsigned long long)all,
	       LIST_TIMEOUT_MS);
	EXPECT_LE(LIST_TIMEOUT_MS - JIFFY_MS, one);
	EXPECT_GT(LIST_TIMEOUT_MS * LIST_TIMEOUT_JOBS / 2, one);
	EXPECT_LE(LIST_TIMEOUT_MS * LIST_TIMEOUT_JOBS - JIFFY_MS, all);

	ASSERT_EQ(0, submit_jobs(self->fd, &run, 1, &fence));
	wait_ok(_metadata, self->fd, fence);
	EXPECT_EQ(0, list_destroy(self->fd, handle));
}

/*
 * ---- removal ----
 * The harness runs this first (global tests come before fixtures): it unbinds the driver from
 * the device and binds it again, so every other test also checks the rebound device.
 */

/*
 * Unbind while jobs run: every job either completes or is reported ABORTED, once, in fence
 * order, the aborted ones being the last; the open file refuses new work but keeps its
 * mappings; a fresh bind brings /dev/vitsaN back in working order.  With lists, a run of a
 * list is the last job, and afterwards its handle can only be destroyed.
 */
TEST(unbind_while_busy)
{
	const uint32_t dim = 256, count = 32;
	struct vitsa_gemm g = {
		.m = 8, .n = 8, .k = 8,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 8 }, .b = { .stride = 8 }, .c = { .stride = 32 },
	};
	struct bo a, b, c, bo;
	uint64_t fence, prev = 0, aborted = 0, v, list_max;
	struct vitsa_job job, run;
	struct vitsa_wait w;
	uint32_t handle = 0;
	char pci[64];
	int fd, fd2, ret;

	ret = vitsa_pci_name(vitsa_path(), pci, sizeof(pci));
	ASSERT_EQ(0, ret) TH_LOG("no PCI device behind %s: %s", vitsa_path(), strerror(-ret));

	fd = vitsa_open();
	ASSERT_LE(0, fd);
	fence = submit_busy_work(_metadata, fd, dim, count, &a, &b, &c);
	ASSERT_EQ(count, fence);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	job = (struct vitsa_job){ .kind = VITSA_JOB_KIND_GEMM, .gemm = g };
	ASSERT_EQ(0, get_param(fd, VITSA_PARAM_LIST_MAX, &list_max));
	if (list_max) {
		ASSERT_EQ(0, list_create(fd, &job, 1, &handle));
		run = list_run(handle);
		ASSERT_EQ(0, submit_jobs(fd, &run, 1, &fence));
		ASSERT_EQ(count + 1, fence);
	}
	ASSERT_EQ(0, sysfs_write("/sys/bus/pci/drivers/vitsa/unbind", pci));

	ASSERT_EQ(0, wait_fence(fd, fence, 0, &w));
	while (w.error_fence) {
		ASSERT_EQ(VITSA_JOB_ABORTED, w.error);
		ASSERT_EQ(prev ? prev + 1 : w.error_fence, w.error_fence);
		prev = w.error_fence;
		aborted++;
		ASSERT_EQ(0, wait_fence(fd, fence, 0, &w));
	}
	if (aborted)
		EXPECT_EQ(fence, prev);
	TH_LOG("%llu of %llu jobs aborted by the unbind", (unsigned long long)aborted,
	       (unsigned long long)fence);

	EXPECT_EQ(-ENODEV, bo_create(fd, 4096, &bo));
	EXPECT_EQ(-ENODEV, submit(fd, &g, 1, NULL));
	if (list_max) {
		EXPECT_EQ(-ENODEV, submit_jobs(fd, &run, 1, NULL));
		EXPECT_EQ(-ENODEV, list_create(fd, &job, 1, &handle));
		EXPECT_EQ(0, list_destroy(fd, handle));
	}
	EXPECT_EQ(0, get_param(fd, VITSA_PARAM_MAX_DIM, &v));
	EXPECT_EQ(0, bo_destroy(fd, a.handle));
	a.map[0] ^= 1;
	bo_unmap(&a);
	EXPECT_EQ(0, close(fd));

	ASSERT_EQ(0, sysfs_write("/sys/bus/pci/drivers/vitsa/bind", pci));
	fd2 = vitsa_open();
	ASSERT_LE(0, fd2) TH_LOG("open %s after bind: %s", vitsa_path(), strerror(errno));
	fence = submit_busy_work(_metadata, fd2, 16, 2, &a, &b, &c);
	ASSERT_EQ(2, fence);
	wait_ok(_metadata, fd2, fence);
	close(fd2);
}

TEST_HARNESS_MAIN
