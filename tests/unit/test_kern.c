// SPDX-License-Identifier: MIT
/*
 * GEMM kernel tests: every kernel this CPU can run (vitsa_kern.h), driven through the model
 * with every operand type pair, K, M and N tails, strides and epilogues, must write exactly
 * the memory the reference (vitsa_ref.c) writes.  Each job runs twice per kernel: through the
 * read/write callbacks on one thread (the QEMU device's way) and in place through map on
 * several threads (the in-process backend's way).  Jobs whose B the host keeps unchanged
 * take it packed from the weight cache (vitsa_wcache.h) and must stay exact.
 *
 * TEST_KERN_QUICK=1 (make check's TSan run): a quarter of the random jobs and narrower extreme
 * jobs, every kernel, type pair and thread still covered.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "tap.h"
#include "vitsa_dtype.h"
#include "vitsa_kern.h"
#include "vitsa_model.h"
#include "vitsa_ref.h"
#include "vtest.h"
#include "vitsa_wcache.h"

struct flat {
	uint8_t *mem;
	size_t size;
};

static int flat_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct flat *f = opaque;

	if (addr > f->size || len > f->size - addr)
		return -1;
	memcpy(buf, f->mem + addr, len);
	return 0;
}

static int flat_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
	struct flat *f = opaque;

	if (addr > f->size || len > f->size - addr)
		return -1;
	memcpy(f->mem + addr, buf, len);
	return 0;
}

static void *flat_map(void *opaque, uint64_t addr, uint64_t len)
{
	struct flat *f = opaque;

	return addr > f->size || len > f->size - addr ? NULL : f->mem + addr;
}

#define WORKERS 3

static uint32_t flat_workers(void *opaque)
{
	(void)opaque;
	return WORKERS;
}

struct par {
	_Atomic uint32_t next;
	uint32_t tasks;
	void (*fn)(void *arg, uint32_t t);
	void *arg;
};

static void *par_worker(void *arg)
{
	struct par *p = arg;

	for (uint32_t t; (t = atomic_fetch_add(&p->next, 1)) < p->tasks;)
		p->fn(p->arg, t);
	return NULL;
}

/* Real threads, so that tasks overlap in time as they do in the runtime's pool. */
static void flat_parallel(void *opaque, uint32_t tasks, void (*fn)(void *arg, uint32_t t),
			  void *arg)
{
	struct par p = { .tasks = tasks, .fn = fn, .arg = arg };
	pthread_t th[WORKERS - 1];

	(void)opaque;
	for (int i = 0; i < WORKERS - 1; i++)
		pthread_create(&th[i], NULL, par_worker, &p);
	par_worker(&p);
	for (int i = 0; i < WORKERS - 1; i++)
		pthread_join(th[i], NULL);
}

/* Ranges of [0, items) cut at multiples of @align, one per real thread. */
struct split {
	void (*fn)(void *arg, uint32_t lo, uint32_t hi);
	void *arg;
	uint32_t items, align;
};

static void split_task(void *arg, uint32_t t)
{
	const struct split *s = arg;
	uint32_t units = (s->items + s->align - 1) / s->align;
	uint32_t lo = units * t / WORKERS * s->align, hi = units * (t + 1) / WORKERS * s->align;

	if (t == WORKERS - 1 || hi > s->items)
		hi = s->items;
	if (lo < hi)
		s->fn(s->arg, lo, hi);
}

static void flat_split(void *opaque, uint32_t items, uint32_t align,
		       void (*fn)(void *arg, uint32_t lo, uint32_t hi), void *arg)
{
	struct split s = { fn, arg, items, align };

	flat_parallel(opaque, WORKERS, split_task, &s);
}

static const struct vitsa_mem_ops copy_ops = { .read = flat_read, .write = flat_write };
static const struct vitsa_mem_ops map_ops = {
	.read = flat_read, .write = flat_write, .map = flat_map,
	.workers = flat_workers, .parallel = flat_parallel,
};

/* As the in-process device: a lone job by rows, a run of jobs by job. */
static const struct vitsa_mem_ops split_ops = {
	.read = flat_read, .write = flat_write, .map = flat_map,
	.workers = flat_workers, .parallel = flat_parallel, .split = flat_split,
};

static const struct vitsa_model_cfg cfg16 = { .rows = 16, .cols = 16 };

static int quick(void)
{
	const char *q = getenv("TEST_KERN_QUICK");

	return q && *q && strcmp(q, "0");
}

static struct vtest_rng rng = VTEST_RNG(0x2545f4914f6cdd1dull);

static const uint32_t operands[] = { VITSA_DTYPE_S8, VITSA_DTYPE_U8, VITSA_DTYPE_S4,
				     VITSA_DTYPE_U4 };

/* Random job of types @ta x @tb: extremes of each type are common, so are K and N tails. */
static size_t make_job(struct vitsa_hw_desc *d, uint8_t **mem, uint32_t ta, uint32_t tb,
		       uint32_t max_dim)
{
	const struct vtest_gemm_opts o = { .max_dim = max_dim, .a_type = (int)ta,
					   .b_type = (int)tb, .row_pad = 4, .gap = 7,
					   .extremes = true };

	return vtest_gemm_new(&rng, &o, d, mem);
}

/* @count random jobs of every type pair through kernel @isa, both ways; failures counted. */
static void kernel_round(uint32_t isa, int count, uint32_t max_dim)
{
	const char *name = vitsa_kern_get(isa)->name;

	CHECK(vitsa_kern_select(name) == 0, "select %s", name);
	for (int i = 0; i < count; i++) {
		struct vitsa_hw_desc d;
		struct vitsa_job_stats st;
		uint8_t *mem;
		size_t size = make_job(&d, &mem, operands[i % 4], operands[i / 4 % 4], max_dim);
		uint8_t *ref = malloc(size), *copy = malloc(size);
		struct flat fm = { mem, size }, fc = { copy, size };
		uint32_t e0, e1, e2;

		memcpy(ref, mem, size);
		memcpy(copy, mem, size);
		e0 = vitsa_ref_gemm(&d, ref, size);
		e1 = vitsa_model_exec(&cfg16, &d, &map_ops, &fm, &st);
		e2 = vitsa_model_exec(&cfg16, &d, &copy_ops, &fc, &st);
		CHECK(!e0 && !e1 && !e2, "%s job %d: ref %u map %u copy %u", name, i, e0, e1, e2);
		CHECK(!memcmp(mem, ref, size) && !memcmp(copy, ref, size),
		      "%s job %d (%ux%ux%u flags %u types %#x): in place %s, copied %s", name, i,
		      d.m, d.n, d.k, d.flags, d.types, memcmp(mem, ref, size) ? "differs" : "ok",
		      memcmp(copy, ref, size) ? "differs" : "ok");
		free(mem);
		free(ref);
		free(copy);
	}
}

static void each_kernel(int count, uint32_t max_dim)
{
	int ran = 0;

	for (uint32_t isa = 0; isa < VITSA_ISA_COUNT; isa++) {
		if (!vitsa_kern_get(isa)) {
			printf("# kernel %u: not supported by this CPU\n", isa);
			continue;
		}
		kernel_round(isa, count, max_dim);
		ran++;
	}
	vitsa_kern_select(vitsa_kern_get(VITSA_ISA_REF)->name);
	CHECK(ran >= 2, "only %d kernels ran", ran);	/* ref and at least AVX2 on x86-64 */
}

TEST(small_jobs_every_kernel_equals_ref)
{
	each_kernel(quick() ? 100 : 400, 24);
}

TEST(large_jobs_every_kernel_equals_ref)
{
	each_kernel(quick() ? 8 : 32, 200);
}

/* The extremes that break a byte kernel: every product at its largest, K long enough to wrap. */
TEST(extreme_values_every_kernel)
{
	const uint32_t n = quick() ? 19 : 67;	/* a column tail either way */

	for (uint32_t isa = 0; isa < VITSA_ISA_COUNT; isa++) {
		static const uint8_t fills[][2] = { { 0x80, 0x80 }, { 0xff, 0xff }, { 0x80, 0x7f },
						    { 0xff, 0x80 } };

		if (!vitsa_kern_get(isa))
			continue;
		vitsa_kern_select(vitsa_kern_get(isa)->name);
		for (uint32_t f = 0; f < 4; f++) {
			for (uint32_t ta = 0; ta < 2; ta++) {
				for (uint32_t tb = 0; tb < 2; tb++) {
					struct vitsa_hw_desc d = {
						.opcode = VITSA_OP_GEMM, .m = 7, .n = n, .k = 32768,
						.flags = VITSA_DESC_B_TRANS,
						.types = VITSA_DESC_TYPES(ta, tb, VITSA_DTYPE_S32),
						.a_stride = 32768, .b_stride = 32768,
						.c_stride = n * 4,
					};
					size_t size = (7 + n) * 32768ull + 7 * n * 4;
					uint8_t *mem = malloc(size), *ref = malloc(size);
					struct flat fm = { mem, size };
					struct vitsa_job_stats st;

					d.b_addr = 7 * 32768;
					d.c_addr = (7 + n) * 32768;
					memset(mem, fills[f][0], d.b_addr);
					memset(mem + d.b_addr, fills[f][1], d.c_addr - d.b_addr);
					memcpy(ref, mem, size);
					CHECK(vitsa_ref_gemm(&d, ref, size) == 0, "ref");
					CHECK(vitsa_model_exec(&cfg16, &d, &map_ops, &fm, &st) == 0, "run");
					CHECK(!memcmp(mem, ref, size), "%s fill %u types %u/%u differs",
					      vitsa_kern_get(isa)->name, f, ta, tb);
					free(mem);
					free(ref);
				}
			}
		}
	}
	vitsa_kern_select("ref");
}

/* A host that keeps the bytes [first, last] unchanged and lends the model a weight cache. */
struct cached {
	struct flat f;			/* first: the flat callbacks take it */
	struct vitsa_wcache *wc;
	uint64_t first, last;
};

static struct vitsa_wcache *cached_wcache(void *opaque, uint64_t addr, uint64_t last)
{
	struct cached *c = opaque;

	return addr >= c->first && last <= c->last ? c->wc : NULL;
}

static const struct vitsa_mem_ops cached_ops = {
	.read = flat_read, .write = flat_write, .map = flat_map,
	.workers = flat_workers, .parallel = flat_parallel, .wcache = cached_wcache,
};

/* @d on @c's memory writes what the reference writes on a copy of it. */
static bool cached_run(const struct vitsa_hw_desc *d, struct cached *c)
{
	uint8_t *ref = malloc(c->f.size);
	struct vitsa_job_stats st;
	bool same;

	memcpy(ref, c->f.mem, c->f.size);
	same = vitsa_ref_gemm(d, ref, c->f.size) == 0 &&
	       vitsa_model_exec(&cfg16, d, &cached_ops, c, &st) == 0 &&
	       !memcmp(ref, c->f.mem, c->f.size);
	free(ref);
	return same;
}

static uint64_t cache_entries(struct vitsa_wcache *wc, uint64_t *hits)
{
	struct vitsa_wcache_stats st;

	vitsa_wcache_stats(wc, &st);
	*hits = st.hits;
	return st.entries;
}

/*
 * Job @i of kernel @name with a cached B: packed by the first run and taken from the cache
 * by the second; A of the other signedness (the kernels flip B by it) gets its own entry; B
 * rewritten after the host dropped it is packed anew.
 */
static void cached_job(const char *name, int i)
{
	uint32_t ta = i % 4, tb = i / 4 % 4;
	struct cached c = { .wc = vitsa_wcache_new(1u << 30) };
	struct vitsa_hw_desc d;
	uint64_t hits;
	bool bt;

	c.f.size = make_job(&d, &c.f.mem, operands[ta], operands[tb], i < 8 ? 24 : 160);
	bt = d.flags & VITSA_DESC_B_TRANS;
	c.first = d.b_addr;
	vitsa_extent_last(d.b_addr, bt ? d.n : d.k, d.b_stride,
			  vitsa_row_bytes(operands[tb], bt ? d.k : d.n), &c.last);
	CHECK(cached_run(&d, &c) && cached_run(&d, &c), "%s job %d: packed or cached B differs",
	      name, i);
	CHECK(cache_entries(c.wc, &hits) == 1 && hits == 1, "%s job %d: %llu hits", name, i,
	      (unsigned long long)hits);
	d.types = VITSA_DESC_TYPES(operands[ta ^ 1], operands[tb], VITSA_DESC_C_TYPE(d.types));
	CHECK(cached_run(&d, &c) && cache_entries(c.wc, &hits) == 2,
	      "%s job %d: A of the other sign", name, i);
	vitsa_wcache_drop(c.wc, c.first, c.last);
	CHECK(cache_entries(c.wc, &hits) == 0, "%s job %d: drop left entries", name, i);
	vtest_rng_fill(&rng, c.f.mem + c.first, c.last - c.first + 1);
	CHECK(cached_run(&d, &c), "%s job %d: B rewritten after the drop", name, i);
	vitsa_wcache_free(c.wc);
	free(c.f.mem);
}

TEST(weight_cache_packs_once_and_stays_exact)
{
	for (uint32_t isa = 0; isa < VITSA_ISA_COUNT; isa++) {
		if (!vitsa_kern_get(isa))
			continue;
		vitsa_kern_select(vitsa_kern_get(isa)->name);
		for (int i = 0; i < 32; i++)
			cached_job(vitsa_kern_get(isa)->name, i);
	}
	vitsa_kern_select("ref");
}

/*
 * A submission's jobs through vitsa_model_exec_group on 3 threads equal the reference run
 * one after another: chains (a job reads the C of the one before), heads (independent jobs
 * side by side), a job whose C is overwritten by a later one, and a job that fails its check.
 * Jobs of up to @dim per side in slots of @slot bytes (A, B at +slot/4, C at +slot/2).
 */
static void group_rounds(const struct vitsa_mem_ops *ops, int rounds, uint32_t dim, uint64_t slot)
{
	enum { N = 12 };
	size_t size = N * 4 * slot;
	uint8_t *mem = malloc(size), *ref = malloc(size);
	struct flat f = { mem, size };

	for (int round = 0; round < rounds; round++) {
		struct vitsa_hw_desc d[N];
		struct vitsa_job_stats st[N];
		uint32_t status[N];

		vtest_rng_fill(&rng, mem, size);
		for (uint32_t j = 0; j < N; j++) {
			uint32_t m = vtest_rng_in(&rng, 1, dim), n = vtest_rng_in(&rng, 1, dim);
			uint32_t k = vtest_rng_in(&rng, 1, dim);
			uint64_t a = vtest_rng_in(&rng, 0, 4 * N - 1) * slot;
			/* C inside the image */
			uint64_t c = vtest_rng_in(&rng, 0, 4 * N - 3) * slot + slot / 2;

			d[j] = (struct vitsa_hw_desc){
				.opcode = VITSA_OP_GEMM, .flags = VITSA_DESC_B_TRANS,
				.m = m, .n = n, .k = k,
				.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32),
				.a_addr = a, .b_addr = a + slot / 4,
				.c_addr = c,
				.a_stride = k, .b_stride = k, .c_stride = 4 * n,
			};
			/* a third read the previous job's results */
			if (j && vtest_rng_in(&rng, 0, 2) == 0)
				d[j].a_addr = d[j - 1].c_addr, d[j].a_stride = d[j - 1].c_stride;
			if (vtest_rng_in(&rng, 0, 19) == 0)
				d[j].opcode = 7;	/* fails its check, touches nothing */
		}
		memcpy(ref, mem, size);
		vitsa_model_exec_group(&cfg16, d, N, ops, &f, st, status);
		for (uint32_t j = 0; j < N; j++) {
			uint32_t want = vitsa_ref_gemm(&d[j], ref, size);

			CHECK(status[j] == want, "round %d job %u: status %u, ref %u", round, j,
			      status[j], want);
			CHECK(!want == (st[j].macs == (uint64_t)d[j].m * d[j].n * d[j].k),
			      "round %d job %u: macs", round, j);
		}
		CHECK(!memcmp(mem, ref, size), "round %d: memory differs from the jobs in order",
		      round);
	}
	free(mem);
	free(ref);
}

TEST(group_equals_jobs_in_order)
{
	vitsa_kern_select(vitsa_kern_active()->name);
	group_rounds(&map_ops, 60, 40, 8192);	/* waves too small for threads: in turn */
	group_rounds(&map_ops, 6, 160, 131072);	/* waves of millions of MACs: in regions */
	group_rounds(&split_ops, quick() ? 1 : 4, 256, 262144);	/* by rows or by jobs */
}

/* A host that records which job vitsa_model_exec_group says comes next, and cancels at one. */
enum { TOLD_JOBS = 8, TOLD_SLOT = 8192 };
struct told {
	struct flat f;			/* first: the flat ops take it */
	uint32_t seen[TOLD_JOBS + 1], n;
	uint32_t cancel_at;		/* cancelled() once this job was told; TOLD_JOBS: never */
	bool cancel;
};

static void told_job(void *opaque, uint32_t j)
{
	struct told *t = opaque;

	if (t->n <= TOLD_JOBS)
		t->seen[t->n++] = j;
	t->cancel |= j == t->cancel_at;
}

static bool told_cancelled(void *opaque)
{
	return ((struct told *)opaque)->cancel;
}

static const struct vitsa_mem_ops told_ops = {
	.read = flat_read, .write = flat_write, .map = flat_map, .workers = flat_workers,
	.parallel = flat_parallel, .cancelled = told_cancelled, .job = told_job,
};

/* Jobs 0-2 side by side (one wave), then a chain: 3 reads C of 2, 4 of 3, and so on. */
static void told_descs(struct vitsa_hw_desc *d)
{
	for (uint32_t j = 0; j < TOLD_JOBS; j++) {
		d[j] = (struct vitsa_hw_desc){
			.opcode = VITSA_OP_GEMM, .flags = VITSA_DESC_B_TRANS, .m = 16, .n = 16,
			.k = 16, .types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8,
							   VITSA_DTYPE_S32),
			.a_addr = 0, .a_stride = 16, .b_addr = TOLD_SLOT / 2, .b_stride = 16,
			.c_addr = (j + 1) * TOLD_SLOT, .c_stride = 64,
		};
		if (j >= 3)
			d[j].a_addr = d[j - 1].c_addr, d[j].a_stride = d[j - 1].c_stride;
	}
}

/*
 * The group tells its host each job before it prepares or runs it, in order, and a host
 * that cancels stops it before the next run of jobs: the job running then gets ABORTED
 * from its own tiles, the later ones ABORTED unrun; memory is that of the jobs before.
 */
static void group_tells(uint32_t cancel_at)
{
	size_t size = (TOLD_JOBS + 1) * TOLD_SLOT;
	struct told t = { { malloc(size), size }, .cancel_at = cancel_at };
	uint8_t *ref = malloc(size);
	struct vitsa_hw_desc d[TOLD_JOBS];
	struct vitsa_job_stats st[TOLD_JOBS];
	uint32_t status[TOLD_JOBS];

	told_descs(d);
	vtest_rng_fill(&rng, t.f.mem, size);
	memcpy(ref, t.f.mem, size);
	for (uint32_t j = 0; j < TOLD_JOBS && j < cancel_at; j++)
		vitsa_ref_gemm(&d[j], ref, size);
	vitsa_model_exec_group(&cfg16, d, TOLD_JOBS, &told_ops, &t, st, status);
	CHECK(t.n == (cancel_at < TOLD_JOBS ? cancel_at + 1 : TOLD_JOBS),
	      "cancel at %u: %u jobs told", cancel_at, t.n);
	for (uint32_t j = 0; j < t.n; j++)
		CHECK(t.seen[j] == j, "cancel at %u: told %u as the %u-th", cancel_at, t.seen[j], j);
	for (uint32_t j = 0; j < TOLD_JOBS; j++)
		CHECK(status[j] == (j < cancel_at ? VITSA_ERR_OK : VITSA_ERR_ABORTED),
		      "cancel at %u: job %u status %u", cancel_at, j, status[j]);
	CHECK(!memcmp(t.f.mem, ref, size), "cancel at %u: memory differs", cancel_at);
	free(t.f.mem);
	free(ref);
}

/* Cancelled at a job of the chain: a wave's jobs are all told before any of them runs. */
TEST(group_tells_each_job_and_stops_when_cancelled)
{
	group_tells(TOLD_JOBS);
	group_tells(5);
	group_tells(3);
}

/*
 * A run longer than the group keeps on its stack (RUN_ON_STACK, 128): 200 heads reading one A
 * and one B, each writing a C of its own, equal to the jobs in order.
 */
TEST(group_of_many_heads_equals_jobs_in_order)
{
	enum { HEADS = 200, SLOT = 1024 };
	size_t size = (HEADS + 1) * SLOT;
	struct flat f = { malloc(size), size };
	uint8_t *ref = malloc(size);
	struct vitsa_hw_desc d[HEADS];
	struct vitsa_job_stats st[HEADS];
	uint32_t status[HEADS];

	for (uint32_t j = 0; j < HEADS; j++)
		d[j] = (struct vitsa_hw_desc){
			.opcode = VITSA_OP_GEMM, .flags = VITSA_DESC_B_TRANS, .m = 4, .n = 4, .k = 16,
			.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32),
			.a_addr = 0, .a_stride = 16, .b_addr = SLOT / 2, .b_stride = 16,
			.c_addr = (j + 1) * SLOT, .c_stride = 16,
		};
	vtest_rng_fill(&rng, f.mem, size);
	memcpy(ref, f.mem, size);
	for (uint32_t j = 0; j < HEADS; j++)
		vitsa_ref_gemm(&d[j], ref, size);
	vitsa_model_exec_group(&cfg16, d, HEADS, &split_ops, &f, st, status);
	for (uint32_t j = 0; j < HEADS; j++)
		CHECK(status[j] == VITSA_ERR_OK && st[j].macs == 4 * 4 * 16, "head %u: status %u",
		      j, status[j]);
	CHECK(!memcmp(f.mem, ref, size), "memory differs from the heads in order");
	free(f.mem);
	free(ref);
}

TEST(select_by_name)
{
	CHECK(vitsa_kern_select("ref") == 0 && !strcmp(vitsa_kern_active()->name, "ref"), "ref");
	CHECK(vitsa_kern_select("sse9") == -1, "unknown name accepted");
	CHECK(!strcmp(vitsa_kern_active()->name, "ref"), "a refused name changed the kernel");
}

TAP_MAIN
