// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa removal selftests, in the test VM; they run after every other selftest binary.
 *
 *  - rmmod while a file or only a mapping of /dev/vitsa0 is open is refused, and the module's
 *    reference count falls back to 0 once both are gone (init.sh's vm-unload then unloads it);
 *  - PCI hot-unplug of /dev/vitsa1 through QEMU's monitor while it runs jobs and a thread is
 *    blocked in WAIT: the waiter wakes, the unfinished jobs are ABORTED, new work fails with
 *    -ENODEV, the mappings stay, close works, the device disappears, /dev/vitsa0 still works.
 *
 * The unplug needs tests/vm/run.sh: it boots the pc machine (ACPI PCI hotplug on the root
 * bus) with vitsa.hotplug=1 on the kernel command line, and answers a console line
 * "vitsa-vm: unplug <qdev id>" with device_del on a second monitor.  Without that flag the
 * unplug test is skipped (for instance on q35 in the IOMMU VM, whose root bus cannot).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vitsa_util.h"

#define UNPLUG_DEV	"/dev/vitsa1"
#define UNPLUG_QDEV	"vitsa1"		/* its id on QEMU's command line (run.sh) */
/*
 * The busy work: a ring full of M x N x K jobs, M = N = BUSY_MN (C is 4 MiB, the largest
 * object), K sized to the device's speed (A and B at most 4 MiB too) so that the queue lasts
 * about BUSY_SECONDS, far longer than an unplug takes.
 */
#define BUSY_MN		1024
#define BUSY_K_MAX	4096
#define BUSY_SECONDS	20
#define WAKE_SECONDS	60			/* a waiter not woken by then: the unplug failed */
#define GONE_SECONDS	30

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

/* The reference count of a loaded module, or -1. */
static long module_refcnt(const char *name)
{
	char path[128];
	uint64_t v;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	return sysfs_read_u64(path, &v) ? -1 : (long)v;
}

static bool kernel_cmdline_has(const char *word)
{
	char buf[4096], *tok, *save;
	ssize_t n;
	int fd;

	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return true;
	return false;
}

/* Wait up to @seconds for @path to vanish. */
static bool gone_within(const char *path, int seconds)
{
	uint64_t deadline = now_ns() + seconds * NSEC_PER_SEC;

	while (!access(path, F_OK)) {
		if (now_ns() > deadline)
			return false;
		usleep(50 * 1000);
	}
	return true;
}

/* A small job on /dev/vitsa0 against the reference. */
static void vitsa0_still_works(struct __test_metadata *_metadata)
{
	struct vitsa_gemm g = {
		.m = 23, .n = 17, .k = 31,
		.flags = VITSA_GEMM_B_TRANS,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_U4, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 31 }, .b = { .offset = 5, .stride = 16 }, .c = { .stride = 68 },
	};
	struct bo a, b, c;
	int fd = vitsa_open();

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", vitsa_path(), strerror(errno));
	bo_new_mapped(_metadata, fd, 4096, &a);
	bo_new_mapped(_metadata, fd, 4096, &b);
	bo_new_mapped(_metadata, fd, 4096, &c);
	g.a.handle = a.handle;
	g.b.handle = b.handle;
	g.c.handle = c.handle;
	fill_random(a.map, a.size);
	fill_random(b.map, b.size);
	gemm_check(_metadata, fd, &g, &a, &b, &c, NULL, NULL);
	bo_unmap(&a);
	bo_unmap(&b);
	bo_unmap(&c);
	EXPECT_EQ(0, close(fd));
}

FIXTURE(removal) {
};

FIXTURE_SETUP(removal)
{
}

FIXTURE_TEARDOWN(removal)
{
}

/*
 * The open file pins the module, and so does a mapping that outlives it (its VMA holds the
 * file).  The kernel's delete_module(2) answers a module in use with EWOULDBLOCK.
 */
TEST_F_TIMEOUT(removal, rmmod_refused_while_open, 60)
{
	struct bo bo;
	long before = module_refcnt("vitsa");
	int fd, ret;

	ASSERT_LE(0, before) TH_LOG("no /sys/module/vitsa/refcnt");
	fd = vitsa_open();
	ASSERT_LE(0, fd);
	EXPECT_LT(before, module_refcnt("vitsa"));
	ret = delete_module("vitsa");
	ASSERT_NE(0, ret) TH_LOG("vitsa unloaded with %s open", vitsa_path());
	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EBUSY) TH_LOG("delete_module: %d", ret);
	TH_LOG("rmmod with a file open: %s", strerror(-ret));

	ASSERT_EQ(0, bo_create_mapped(fd, 4096, &bo));
	ASSERT_EQ(0, close(fd));
	ret = delete_module("vitsa");
	ASSERT_NE(0, ret) TH_LOG("vitsa unloaded under a live mapping");
	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EBUSY) TH_LOG("delete_module: %d", ret);
	bo.map[0] = 1;
	bo_unmap(&bo);

	/* Nothing holds it now: rmmod would succeed (vm-unload does it at the end). */
	EXPECT_EQ(before, module_refcnt("vitsa"));
	vitsa0_still_works(_metadata);
}

/* The waiter: one WAIT for the last fence, with a timeout far beyond the unplug. */
struct waiter {
	int fd;
	uint64_t fence;
	int ret;
	struct vitsa_wait w;
	uint64_t woken_ns;
	volatile int started, done;
};

static void *waiter_main(void *arg)
{
	struct waiter *wt = arg;

	wt->started = 1;
	wt->ret = wait_fence(wt->fd, wt->fence, (WAKE_SECONDS + 30) * NSEC_PER_SEC, &wt->w);
	wt->woken_ns = now_ns();
	wt->done = 1;
	return NULL;
}

static uint32_t sum(const uint8_t *p, uint64_t n)
{
	uint32_t s = 0;

	while (n--)
		s = s * 31 + *p++;
	return s;
}

/* One busy job of depth @k on the objects @a (M x K), @b (K x N), @c (M x N, int32). */
static struct vitsa_gemm busy_job(uint32_t k, const struct bo *a, const struct bo *b,
				  const struct bo *c)
{
	return (struct vitsa_gemm){
		.m = BUSY_MN, .n = BUSY_MN, .k = k,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { a->handle, 0, 0, k }, .b = { b->handle, 0, 0, BUSY_MN },
		.c = { c->handle, 0, 0, 4 * BUSY_MN },
	};
}

/*
 * K for the busy work on @fd: the model's speed depends on the host (with its AVX-512 VNNI
 * kernels a 512^3 job takes about a millisecond, with the plain C path a hundred times more),
 * so one job of K = BUSY_MN is timed and K scaled to make @jobs of them last BUSY_SECONDS.
 */
static uint32_t busy_k(struct __test_metadata *_metadata, int fd, uint32_t jobs)
{
	uint64_t t0, ns, fence, k;
	struct vitsa_gemm g;
	struct bo a, b, c;

	bo_new_mapped(_metadata, fd, (uint64_t)BUSY_MN * BUSY_MN, &a);
	bo_new_mapped(_metadata, fd, (uint64_t)BUSY_MN * BUSY_MN, &b);
	bo_new_mapped(_metadata, fd, 4ull * BUSY_MN * BUSY_MN, &c);
	g = busy_job(BUSY_MN, &a, &b, &c);
	t0 = now_ns();
	ASSERT_EQ(0, submit(fd, &g, 1, &fence));
	wait_ok(_metadata, fd, fence);
	ns = now_ns() - t0;
	k = BUSY_MN * (BUSY_SECONDS * NSEC_PER_SEC / jobs) / (ns ? ns : 1);
	k = k < BUSY_MN ? BUSY_MN : k > BUSY_K_MAX ? BUSY_K_MAX : k;
	TH_LOG("a %ux%ux%u job took %.1f ms: K = %llu", BUSY_MN, BUSY_MN, BUSY_MN, ns / 1e6,
	       (unsigned long long)k);
	bo_unmap(&a);
	bo_unmap(&b);
	bo_unmap(&c);
	EXPECT_EQ(0, bo_destroy(fd, a.handle));
	EXPECT_EQ(0, bo_destroy(fd, b.handle));
	EXPECT_EQ(0, bo_destroy(fd, c.handle));
	return k;
}

/* @jobs busy jobs of depth @k on fresh objects of @fd; the last fence. */
static uint64_t busy_submit(struct __test_metadata *_metadata, int fd, uint32_t k, uint32_t jobs,
			    struct bo *a, struct bo *b, struct bo *c)
{
	struct vitsa_gemm *g = calloc(jobs, sizeof(*g));
	uint64_t fence = 0;
	uint32_t j;

	ASSERT_NE(NULL, g);
	bo_new_mapped(_metadata, fd, (uint64_t)BUSY_MN * k, a);
	bo_new_mapped(_metadata, fd, (uint64_t)k * BUSY_MN, b);
	bo_new_mapped(_metadata, fd, 4ull * BUSY_MN * BUSY_MN, c);
	fill_random(a->map, a->size);
	fill_random(b->map, b->size);
	for (j = 0; j < jobs; j++)
		g[j] = busy_job(k, a, b, c);
	EXPECT_EQ(0, submit(fd, g, jobs, &fence));
	free(g);
	return fence;
}

/* C[m][n] of the busy work of depth @k against the CPU, for a few random elements. */
static void busy_result_check(struct __test_metadata *_metadata, uint32_t k_depth,
			      const struct bo *a, const struct bo *b, const struct bo *c)
{
	unsigned int i;

	for (i = 0; i < 64; i++) {
		uint32_t m = rng() % BUSY_MN, n = rng() % BUSY_MN, k;
		int32_t acc = 0, got;

		for (k = 0; k < k_depth; k++)
			acc += (int8_t)a->map[(uint64_t)m * k_depth + k] *
			       (int8_t)b->map[(uint64_t)k * BUSY_MN + n];
		memcpy(&got, c->map + 4 * ((uint64_t)m * BUSY_MN + n), 4);
		ASSERT_EQ(acc, got) TH_LOG("C[%u][%u] after the unplug", m, n);
	}
}

TEST_F_TIMEOUT(removal, hot_unplug_while_busy, 240)
{
	struct waiter wt = { 0 };
	struct pollfd pfd;
	struct timespec until;
	struct bo a, b, c, bo;
	struct vitsa_gemm g;
	char pci[256], sys[300];
	uint64_t fence, prev = 0, aborted = 0, t0, v;
	uint32_t sum_a, sum_b, jobs, k;
	pthread_t thread;
	int ret;

	if (!kernel_cmdline_has("vitsa.hotplug=1"))
		SKIP(return, "no vitsa.hotplug=1: run.sh does not answer unplug requests here");
	ASSERT_EQ(0, access(UNPLUG_DEV, F_OK)) TH_LOG("no %s", UNPLUG_DEV);
	ASSERT_EQ(0, vitsa_pci_name(UNPLUG_DEV, pci, sizeof(pci)));
	snprintf(sys, sizeof(sys), "/sys/bus/pci/devices/%s", pci);
	TH_LOG("%s is %s", UNPLUG_DEV, pci);

	wt.fd = vitsa_open_path(UNPLUG_DEV);
	ASSERT_LE(0, wt.fd);
	/* A full ring: SUBMIT does not block, the device is busy for BUSY_SECONDS. */
	ASSERT_EQ(0, get_param(wt.fd, VITSA_PARAM_RING_ENTRIES, &v));
	jobs = v < VITSA_SUBMIT_MAX_JOBS ? v : VITSA_SUBMIT_MAX_JOBS;
	k = busy_k(_metadata, wt.fd, jobs);
	fence = busy_submit(_metadata, wt.fd, k, jobs, &a, &b, &c);
	ASSERT_EQ(1 + jobs, fence);
	sum_a = sum(a.map, a.size);
	sum_b = sum(b.map, b.size);
	wt.fence = fence;
	ASSERT_EQ(0, pthread_create(&thread, NULL, waiter_main, &wt));
	while (!wt.started)
		usleep(1000);
	usleep(200 * 1000);
	ASSERT_EQ(0, wt.done) TH_LOG("WAIT returned %d before the unplug", wt.ret);

	/* Ask run.sh, on a line of its own, for the unplug. */
	t0 = now_ns();
	printf("vitsa-vm: unplug %s\n", UNPLUG_QDEV);
	fflush(stdout);

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAKE_SECONDS;
	ret = pthread_timedjoin_np(thread, NULL, &until);
	ASSERT_EQ(0, ret) {
		TH_LOG("the WAIT was not woken within %d s: %s %s, %s %s", WAKE_SECONDS, sys,
		       access(sys, F_OK) ? "gone" : "still there", UNPLUG_DEV,
		       access(UNPLUG_DEV, F_OK) ? "gone" : "still there");
		TH_LOG("is run.sh answering \"vitsa-vm: unplug\"? (its monitor log follows the console log)");
	}
	TH_LOG("the waiter woke %.2f s after the request", (wt.woken_ns - t0) / 1e9);
	ASSERT_TRUE(wt.ret == 0 || wt.ret == -ENODEV) TH_LOG("WAIT returned %d", wt.ret);

	/* Each unfinished job is reported ABORTED once, in fence order, the last ones. */
	if (!wt.ret) {
		while (wt.w.error_fence) {
			ASSERT_EQ(VITSA_JOB_ABORTED, wt.w.error);
			ASSERT_EQ(prev ? prev + 1 : wt.w.error_fence, wt.w.error_fence);
			prev = wt.w.error_fence;
			aborted++;
			ASSERT_EQ(0, wait_fence(wt.fd, fence, 0, &wt.w));
		}
		EXPECT_EQ(fence, prev) TH_LOG("the aborted jobs are not the last ones");
	}
	TH_LOG("%llu of %u jobs aborted by the unplug", (unsigned long long)aborted, jobs);
	EXPECT_LT(0, aborted) TH_LOG("every job finished first: the unplug came too late to test");
	if (aborted < jobs)
		busy_result_check(_metadata, k, &a, &b, &c);

	/* The device is gone for this file: no new work, the rest still answers. */
	EXPECT_EQ(-ENODEV, bo_create(wt.fd, 4096, &bo));
	g = (struct vitsa_gemm){
		.m = 1, .n = 1, .k = 1,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { a.handle, 0, 0, 1 }, .b = { b.handle, 0, 0, 1 }, .c = { c.handle, 0, 0, 4 },
	};
	EXPECT_EQ(-ENODEV, submit(wt.fd, &g, 1, NULL));
	EXPECT_EQ(0, wait_fence(wt.fd, fence, 0, NULL));
	EXPECT_EQ(0, get_param(wt.fd, VITSA_PARAM_MAX_DIM, &v));
	pfd = (struct pollfd){ .fd = wt.fd, .events = POLLIN | POLLOUT };
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLERR) TH_LOG("poll revents %#x", pfd.revents);
	EXPECT_EQ(0, bo_destroy(wt.fd, a.handle));

	/* The mappings still hold the data and take writes. */
	EXPECT_EQ(sum_a, sum(a.map, a.size));
	EXPECT_EQ(sum_b, sum(b.map, b.size));
	memset(c.map, 0x5a, c.size);
	EXPECT_EQ(0x5a, c.map[c.size - 1]);
	/* The pages are the kernel's, not the device's: a handle still maps them, data and all. */
	bo = b;
	ASSERT_EQ(0, bo_map(wt.fd, &bo));
	EXPECT_EQ(sum_b, sum(bo.map, bo.size));
	bo_unmap(&bo);
	EXPECT_EQ(0, close(wt.fd));

	/* The node and the PCI device go away; a new open finds nothing. */
	EXPECT_TRUE(gone_within(UNPLUG_DEV, GONE_SECONDS)) TH_LOG("%s still there", UNPLUG_DEV);
	EXPECT_TRUE(gone_within(sys, GONE_SECONDS)) TH_LOG("%s still there", sys);
	EXPECT_GT(0, vitsa_open_path(UNPLUG_DEV));
	EXPECT_EQ(sum_a, sum(a.map, a.size));
	bo_unmap(&a);
	bo_unmap(&b);
	bo_unmap(&c);

	vitsa0_still_works(_metadata);
}

TEST_HARNESS_MAIN
