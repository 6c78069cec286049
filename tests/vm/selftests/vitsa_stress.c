// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa concurrency selftest: several processes, each with its own open file of /dev/vitsa0
 * (or $VITSA_DEV), keep the one device busy at once with batches of mixed GEMM jobs (every
 * operand type including int4, int32 and requantized results, bias, B transposed, odd
 * offsets and strides), each process on its own data; every result is compared bit for bit
 * with the CPU reference, and every byte of C outside the results must be left alone.
 * Then the same on /dev/vitsa0 and /dev/vitsa1 at once, and the handles of a file of one
 * device checked to mean nothing in a file of the other (both skipped without vitsa1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vitsa_util.h"

#define PROCS		8
#define JOBS_PER_PROC	1000
#define MAX_BATCH	8	/* jobs per SUBMIT: 1..MAX_BATCH */
#define SLOTS		2	/* batches each process keeps in flight */

/* Object sizes of one slot: room for MAX_BATCH jobs of the largest shapes job_make() picks. */
#define A_SIZE		(64 << 10)
#define B_SIZE		(64 << 10)
#define C_SIZE		(160 << 10)
#define BIAS_SIZE	(4 << 10)
#define RQ_SIZE		(8 << 10)

/* What one worker did, in memory shared with the parent. */
struct worker_result {
	uint64_t jobs_verified;
	uint64_t batches;
	uint64_t int4_jobs;
	uint64_t requant_jobs;
	uint64_t bias_jobs;
	uint64_t b_trans_jobs;
	uint64_t max_batch;
	int failed;
	char msg[512];
};

/* One batch in flight: its own objects, its jobs, and what C must hold once it is done. */
struct slot {
	struct bo a, b, c, bias, rq;
	struct vitsa_gemm jobs[MAX_BATCH];
	uint32_t count;
	uint64_t fence;
	uint64_t c_used;	/* bytes of C from 0 that the batch's jobs and gaps cover */
	uint8_t *expect;
};

static void fail(struct worker_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = 1;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* Mostly small dimensions, now and then up to 64: many jobs, each cheap to check on the CPU. */
static uint32_t pick_dim(void)
{
	return rng() % 4 ? 1 + rng() % 16 : 1 + rng() % 64;
}

static uint32_t pick_operand_type(void)
{
	static const uint32_t types[] = {
		VITSA_TYPE_S8, VITSA_TYPE_U8, VITSA_TYPE_S4, VITSA_TYPE_U4,
	};

	return types[rng() % ARRAY_SIZE(types)];
}

static uint32_t pick_result_type(void)
{
	static const uint32_t types[] = {
		VITSA_TYPE_S8, VITSA_TYPE_U8, VITSA_TYPE_S4, VITSA_TYPE_U4, VITSA_TYPE_S16,
	};

	return types[rng() % ARRAY_SIZE(types)];
}

/*
 * Place a matrix of @rows rows of @rb bytes at the cursor @cur of an object of @size bytes,
 * with a random gap before it and a random stride pad: false when it does not fit.
 */
static bool place(struct vitsa_mem *mem, uint32_t handle, uint64_t *cur, uint64_t size,
		  uint32_t rows, uint64_t rb, bool strided)
{
	uint64_t stride = strided ? rb + (rng() % 3 ? 0 : rng() % 8) : 0;
	uint64_t offset = *cur + rng() % 16;
	uint64_t extent = (uint64_t)(rows - 1) * stride + rb;

	if (offset + extent > size)
		return false;
	*mem = (struct vitsa_mem){ .handle = handle, .offset = offset, .stride = stride };
	*cur = offset + extent;
	return true;
}

/* The requant table of a job: random multipliers, shifts 0..62, some at the edges. */
static void fill_rq(uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		int32_t mult = (int32_t)rng();
		uint32_t shift;

		switch (rng() % 8) {
		case 0:
			shift = 0;
			break;
		case 1:
			shift = 62;
			break;
		default:
			shift = 8 + rng() % 24;
			break;
		}
		if (rng() % 4 == 0)
			mult >>= rng() % 31;
		memcpy(p + 8 * i, &mult, 4);
		memcpy(p + 8 * i + 4, &shift, 4);
	}
}

/* A random job that fits at the cursors @cur (a, b, c, bias, rq); false when it does not. */
static bool job_make(struct slot *s, struct vitsa_gemm *g, uint64_t cur[5])
{
	uint32_t b_rows, b_cols, i;
	int32_t bv;

	*g = (struct vitsa_gemm){
		.m = pick_dim(), .n = pick_dim(), .k = pick_dim(),
		.a_type = pick_operand_type(), .b_type = pick_operand_type(),
		.c_type = VITSA_TYPE_S32,
	};
	g->flags = rng() & VITSA_GEMM_FLAGS;
	if (g->flags & VITSA_GEMM_REQUANT) {
		g->c_type = pick_result_type();
		g->c_zero = rng() % 4 ? (int32_t)(rng() % 256) - 128 : (int32_t)rng();
	}
	b_rows = g->flags & VITSA_GEMM_B_TRANS ? g->n : g->k;
	b_cols = g->flags & VITSA_GEMM_B_TRANS ? g->k : g->n;

	if (!place(&g->a, s->a.handle, &cur[0], s->a.size, g->m, row_bytes(g->a_type, g->k),
		   true) ||
	    !place(&g->b, s->b.handle, &cur[1], s->b.size, b_rows, row_bytes(g->b_type, b_cols),
		   true) ||
	    !place(&g->c, s->c.handle, &cur[2], s->c.size, g->m, row_bytes(g->c_type, g->n),
		   true))
		return false;
	if ((g->flags & VITSA_GEMM_BIAS) &&
	    !place(&g->bias, s->bias.handle, &cur[3], s->bias.size, 1, 4ull * g->n, false))
		return false;
	if ((g->flags & VITSA_GEMM_REQUANT) &&
	    !place(&g->rq, s->rq.handle, &cur[4], s->rq.size, 1, 8ull * g->n, false))
		return false;

	if (g->flags & VITSA_GEMM_BIAS) {
		for (i = 0; i < g->n; i++) {
			bv = rng() % 4 ? (int32_t)(rng() % 200001) - 100000 : (int32_t)rng();
			memcpy(s->bias.map + g->bias.offset + 4 * i, &bv, 4);
		}
	}
	if (g->flags & VITSA_GEMM_REQUANT)
		fill_rq(s->rq.map + g->rq.offset, g->n);
	return true;
}

/*
 * Fill a slot with a new batch of up to @max jobs on fresh data, and compute its expected C;
 * false when not even one job fits (the objects are sized so that it always does).
 */
static bool batch_make(struct slot *s, uint32_t max)
{
	uint32_t want = 1 + rng() % MAX_BATCH, j;
	uint64_t cur[5] = { 0 };

	if (want > max)
		want = max;
	fill_random(s->a.map, s->a.size);
	fill_random(s->b.map, s->b.size);
	for (s->count = 0; s->count < want; s->count++)
		if (!job_make(s, &s->jobs[s->count], cur))
			break;
	if (!s->count)
		return false;
	s->c_used = cur[2];
	memset(s->c.map, SENTINEL, s->c_used);
	memset(s->expect, SENTINEL, s->c_used);
	for (j = 0; j < s->count; j++)
		gemm_ref(&s->jobs[j], &s->a, &s->b, &s->bias, &s->rq, s->expect);
	return true;
}

/* The job of a batch whose C rows span byte @off, or -1 when @off lies in a gap. */
static int job_at(const struct slot *s, uint64_t off)
{
	uint32_t j;

	for (j = 0; j < s->count; j++) {
		const struct vitsa_gemm *g = &s->jobs[j];
		uint64_t end = g->c.offset + (uint64_t)(g->m - 1) * g->c.stride +
			       row_bytes(g->c_type, g->n);

		if (off >= g->c.offset && off < end)
			return j;
	}
	return -1;
}

/* Wait for the slot's batch and compare C with the reference; false on any difference. */
static bool batch_check(int fd, struct slot *s, struct worker_result *r)
{
	const struct vitsa_gemm *g;
	struct vitsa_wait w;
	uint64_t i;
	uint32_t j;
	int ret, job;

	ret = wait_fence(fd, s->fence, WAIT_LONG_NS, &w);
	if (ret || w.error_fence) {
		fail(r, "batch %llu fence %llu: WAIT %d, error_fence %llu status %u (%s)",
		     (unsigned long long)r->batches, (unsigned long long)s->fence, ret,
		     (unsigned long long)w.error_fence, w.error, vitsa_job_status_name(w.error));
		return false;
	}
	i = first_diff(s->c.map, s->expect, s->c_used);
	if (i < s->c_used) {
		job = job_at(s, i);
		g = &s->jobs[job < 0 ? 0 : job];
		fail(r, "batch %llu fence %llu: C byte %llu is %#x, reference %#x (%s %d: m %u n %u k %u flags %#x types %u %u %u)",
		     (unsigned long long)r->batches, (unsigned long long)s->fence,
		     (unsigned long long)i, s->c.map[i], s->expect[i],
		     job < 0 ? "gap before job" : "job", job, g->m, g->n, g->k, g->flags,
		     g->a_type, g->b_type, g->c_type);
		return false;
	}
	for (j = 0; j < s->count; j++) {
		g = &s->jobs[j];
		r->int4_jobs += g->a_type >= VITSA_TYPE_S4 || g->b_type >= VITSA_TYPE_S4 ||
				g->c_type == VITSA_TYPE_S4 || g->c_type == VITSA_TYPE_U4;
		r->requant_jobs += !!(g->flags & VITSA_GEMM_REQUANT);
		r->bias_jobs += !!(g->flags & VITSA_GEMM_BIAS);
		r->b_trans_jobs += !!(g->flags & VITSA_GEMM_B_TRANS);
	}
	r->jobs_verified += s->count;
	r->batches++;
	if (s->count > r->max_batch)
		r->max_batch = s->count;
	s->count = 0;
	return true;
}

static bool slot_init(int fd, struct slot *s, struct worker_result *r)
{
	int ret;

	memset(s, 0, sizeof(*s));
	ret = bo_create_mapped(fd, A_SIZE, &s->a);
	if (!ret)
		ret = bo_create_mapped(fd, B_SIZE, &s->b);
	if (!ret)
		ret = bo_create_mapped(fd, C_SIZE, &s->c);
	if (!ret)
		ret = bo_create_mapped(fd, BIAS_SIZE, &s->bias);
	if (!ret)
		ret = bo_create_mapped(fd, RQ_SIZE, &s->rq);
	if (ret) {
		fail(r, "creating the objects: %s", strerror(-ret));
		return false;
	}
	s->expect = malloc(s->c.size);
	if (!s->expect) {
		fail(r, "out of memory");
		return false;
	}
	return true;
}

/* One process: its own file, @jobs jobs in batches, SLOTS batches in flight. */
static void worker(const char *path, uint32_t seed, uint32_t jobs, struct worker_result *r)
{
	struct slot slots[SLOTS];
	uint32_t queued = 0, i = 0;
	int fd, ret;

	rng_seed(seed);
	fd = vitsa_open_path(path);
	if (fd < 0) {
		fail(r, "open %s: %s", path, strerror(errno));
		return;
	}
	for (i = 0; i < SLOTS; i++)
		if (!slot_init(fd, &slots[i], r))
			return;

	for (i = 0; queued < jobs; i = (i + 1) % SLOTS) {
		struct slot *s = &slots[i];

		if (s->count && !batch_check(fd, s, r))
			return;
		if (!batch_make(s, jobs - queued)) {
			fail(r, "no job fits into the objects");
			return;
		}
		ret = submit(fd, s->jobs, s->count, &s->fence);
		if (ret) {
			fail(r, "SUBMIT of %u jobs: %s", s->count, strerror(-ret));
			return;
		}
		queued += s->count;
	}
	for (i = 0; i < SLOTS; i++)
		if (slots[i].count && !batch_check(fd, &slots[i], r))
			return;
	if (close(fd))
		fail(r, "close: %s", strerror(errno));
}

/*
 * Fork @procs workers on @paths[i % npaths], wait for all of them and check each one's
 * result; the results live in @res, shared memory the caller provides.
 */
static void run_workers(struct __test_metadata *_metadata, const char *const *paths,
			int npaths, int procs, uint32_t jobs, struct worker_result *res)
{
	uint64_t t0 = now_ns(), total = 0, int4 = 0, requant = 0, bias = 0, trans = 0;
	pid_t pids[PROCS];
	int i, status;

	ASSERT_LE(procs, PROCS);
	memset(res, 0, procs * sizeof(*res));
	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			worker(paths[i % npaths], 0x9e3779b9u * (i + 1), jobs, &res[i]);
			_exit(res[i].failed);
		}
	}
	for (i = 0; i < procs; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
			TH_LOG("process %d on %s: status %#x: %s", i, paths[i % npaths], status,
			       res[i].failed ? res[i].msg : "(no message)");
		}
		TH_LOG("process %d on %s: %llu jobs verified in %llu SUBMITs (up to %llu jobs each)",
		       i, paths[i % npaths], (unsigned long long)res[i].jobs_verified,
		       (unsigned long long)res[i].batches, (unsigned long long)res[i].max_batch);
		EXPECT_EQ(jobs, res[i].jobs_verified);
		total += res[i].jobs_verified;
		int4 += res[i].int4_jobs;
		requant += res[i].requant_jobs;
		bias += res[i].bias_jobs;
		trans += res[i].b_trans_jobs;
	}
	TH_LOG("%llu jobs verified bit-exact (%llu int4, %llu requantized, %llu with bias, %llu B_TRANS) by %d processes in %.1f s",
	       (unsigned long long)total, (unsigned long long)int4,
	       (unsigned long long)requant, (unsigned long long)bias,
	       (unsigned long long)trans, procs, (now_ns() - t0) / 1e9);
}

FIXTURE(stress) {
	struct worker_result *res;
};

FIXTURE_SETUP(stress)
{
	self->res = mmap(NULL, PROCS * sizeof(*self->res), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->res);
}

FIXTURE_TEARDOWN(stress)
{
	munmap(self->res, PROCS * sizeof(*self->res));
}

/* PROCS processes, one file each, JOBS_PER_PROC jobs each, all on one device. */
TEST_F_TIMEOUT(stress, processes_share_one_device, 600)
{
	const char *path = vitsa_path();
	uint64_t done0, failed0, done1, failed1;

	ASSERT_EQ(0, vitsa_stat_read(path, "jobs_completed", &done0));
	ASSERT_EQ(0, vitsa_stat_read(path, "jobs_failed", &failed0));
	run_workers(_metadata, &path, 1, PROCS, JOBS_PER_PROC, self->res);

	/* The device's counters agree: nothing else ran meanwhile. */
	ASSERT_EQ(0, vitsa_stat_read(path, "jobs_completed", &done1));
	ASSERT_EQ(0, vitsa_stat_read(path, "jobs_failed", &failed1));
	EXPECT_EQ(PROCS * JOBS_PER_PROC, done1 - done0);
	EXPECT_EQ(failed0, failed1);
}

/* ---- two devices ---- */

#define SECOND_DEV	"/dev/vitsa1"

/*
 * Two processes on each of /dev/vitsa0 and /dev/vitsa1 at once, every result checked; the
 * two are different PCI devices.
 */
TEST_F_TIMEOUT(stress, two_devices_at_once, 600)
{
	const char *paths[2] = { vitsa_path(), SECOND_DEV };
	char pci0[256], pci1[256];

	if (access(SECOND_DEV, F_OK))
		SKIP(return, "no %s", SECOND_DEV);
	ASSERT_EQ(0, vitsa_pci_name(paths[0], pci0, sizeof(pci0)));
	ASSERT_EQ(0, vitsa_pci_name(paths[1], pci1, sizeof(pci1)));
	ASSERT_STRNE(pci0, pci1);
	TH_LOG("%s is %s, %s is %s", paths[0], pci0, paths[1], pci1);

	run_workers(_metadata, paths, 2, 4, JOBS_PER_PROC / 2, self->res);
}

/*
 * Handles, mmap offsets and fences of a file of one device mean nothing in a file of the
 * other, with the same numbers in use on both sides or not.
 */
TEST(two_devices_handles_are_per_file)
{
	struct vitsa_gemm g = {
		.m = 4, .n = 4, .k = 4,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		/* A and B share bytes, C lies past them: it may not overlap an input */
		.a = { .stride = 4 }, .b = { .stride = 4 }, .c = { .offset = 64, .stride = 16 },
	};
	struct bo bo0, bo1, big;
	uint64_t fence;
	int fd0, fd1;
	void *p;

	if (access(SECOND_DEV, F_OK))
		SKIP(return, "no %s", SECOND_DEV);
	fd0 = vitsa_open();
	fd1 = vitsa_open_path(SECOND_DEV);
	ASSERT_LE(0, fd0);
	ASSERT_LE(0, fd1) TH_LOG("open %s: %s", SECOND_DEV, strerror(errno));

	/* vitsa1's file holds nothing yet: vitsa0's handle, offset and fence are unknown there. */
	ASSERT_EQ(0, bo_create_mapped(fd0, 4096, &bo0));
	g.a.handle = g.b.handle = g.c.handle = bo0.handle;
	ASSERT_EQ(0, submit(fd0, &g, 1, &fence));
	EXPECT_EQ(-ENOENT, submit(fd1, &g, 1, NULL));
	EXPECT_EQ(-ENOENT, bo_destroy(fd1, bo0.handle));
	EXPECT_EQ(-EINVAL, wait_fence(fd1, fence, 0, NULL));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd1, bo0.mmap_offset);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	wait_ok(_metadata, fd0, fence);

	/* And the other way round. */
	ASSERT_EQ(0, bo_create_mapped(fd1, 8192, &bo1));
	ASSERT_EQ(0, bo_create(fd1, 8192, &big));
	ASSERT_NE(bo0.handle, big.handle);
	g.a.handle = g.b.handle = g.c.handle = big.handle;
	EXPECT_EQ(-ENOENT, submit(fd0, &g, 1, NULL));
	EXPECT_EQ(-ENOENT, bo_destroy(fd0, big.handle));

	/* The same handle number on both: each file's own object, its own memory. */
	ASSERT_EQ(bo0.handle, bo1.handle) TH_LOG("handles are allocated per file from the same start");
	memset(bo0.map, 0x11, bo0.size);
	memset(bo1.map, 0x22, bo1.size);
	g.a.handle = g.b.handle = g.c.handle = bo1.handle;
	g.c.offset = 4096;
	ASSERT_EQ(0, submit(fd1, &g, 1, &fence));
	EXPECT_EQ(1, fence);
	wait_ok(_metadata, fd1, fence);
	EXPECT_EQ(0x11, bo0.map[bo0.size - 1]);
	EXPECT_EQ(4 * 0x22 * 0x22, *(int32_t *)(bo1.map + 4096));
	EXPECT_EQ(0, bo_destroy(fd0, bo0.handle));
	EXPECT_EQ(0, bo_destroy(fd1, bo1.handle));
	EXPECT_EQ(0, bo_destroy(fd1, big.handle));
	bo_unmap(&bo0);
	bo_unmap(&bo1);
	EXPECT_EQ(0, close(fd0));
	EXPECT_EQ(0, close(fd1));
}

TEST_HARNESS_MAIN
