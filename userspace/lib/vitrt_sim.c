// SPDX-License-Identifier: MIT
/*
 * libvitrt "sim" backend: the hw model in-process.  Descriptors carry host addresses; the
 * model reaches memory only through sim_read/sim_write, which refuse anything outside a live
 * buffer, so a wrong address fails the job as it would on the device.  Jobs run at submit,
 * each on every thread of libvitrt's pool.  Sealed buffers (the weights) are read-only, and
 * the model keeps the B operands it finds in them packed (vitsa_wcache.h) until they are freed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "vitrt_pool.h"
#include "vitrt_priv.h"
#include "vitsa_kern.h"
#include "vitsa_hw_vec.h"
#include "vitsa_model.h"
#include "vitsa_wcache.h"

#define SIM_ARRAY	16
#define SIM_MAX_BUF	(1ull << 30)
#define SIM_WCACHE_MAX	(2ull << 30)	/* packed weights kept; beyond, packed per job */

/*
 * Sessions of a batch submit from several threads at once: lock covers the buffer list and
 * the fences; the jobs themselves run unlocked (a job only reads the buffer list, and buffers
 * are not created or freed while jobs that name them run).
 */
struct sim {
	struct vitsa_model_cfg cfg;
	pthread_mutex_t lock;
	struct vitrt_buf *bufs;		/* live buffers */
	uint64_t fence;			/* last fence handed out */
	struct vitrt_job_error err;	/* first failure not yet reported */
	struct vitsa_wcache *wc;	/* B operands of sealed buffers, packed */
};

static int sim_open(struct vitrt_dev *dev, const char *path)
{
	struct sim *s;

	if (path)
		return VITRT_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return VITRT_ENOMEM;
	s->wc = vitsa_wcache_new(SIM_WCACHE_MAX);
	if (!s->wc) {
		free(s);
		return VITRT_ENOMEM;
	}
	s->cfg = (struct vitsa_model_cfg){ .rows = SIM_ARRAY, .cols = SIM_ARRAY };
	pthread_mutex_init(&s->lock, NULL);
	dev->priv = s;
	dev->info = (struct vitrt_dev_info){
		.path = "in-process", .rows = SIM_ARRAY, .cols = SIM_ARRAY,
		.max_dim = VITSA_MODEL_MAX_DIM, .max_buf_size = SIM_MAX_BUF,
		.hw_version = VITSA_HW_VERSION_MAJOR << 16 | VITSA_HW_VERSION_MINOR,
		.vec_ops = (1u << (VITSA_OP_VEC_END - VITSA_OP_VEC_FIRST)) - 1,
	};
	return 0;
}

static void sim_close(struct vitrt_dev *dev)
{
	struct sim *s = dev->priv;

	vitsa_wcache_free(s->wc);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int sim_buf_alloc(struct vitrt_dev *dev, struct vitrt_buf *buf)
{
	struct sim *s = dev->priv;

	buf->size = (buf->size + 4095) & ~(size_t)4095;
	buf->map = mmap(NULL, buf->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf->map == MAP_FAILED) {
		buf->map = NULL;
		return VITRT_ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	buf->next = s->bufs;
	s->bufs = buf;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void sim_buf_free(struct vitrt_dev *dev, struct vitrt_buf *buf)
{
	struct sim *s = dev->priv;

	pthread_mutex_lock(&s->lock);
	for (struct vitrt_buf **p = &s->bufs; *p; p = &(*p)->next) {
		if (*p == buf) {
			*p = buf->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (buf->sealed)
		vitsa_wcache_drop(s->wc, (uintptr_t)buf->map, (uintptr_t)buf->map + buf->size - 1);
	munmap(buf->map, buf->size);
}

/* Read-only from now on: a stray write faults instead of leaving stale packed weights. */
static int sim_buf_seal(struct vitrt_dev *dev, struct vitrt_buf *buf)
{
	(void)dev;
	return mprotect(buf->map, buf->size, PROT_READ) ? VITRT_ESYS : 0;
}

/* The live buffer holding all of [addr, addr + len), or NULL. */
static struct vitrt_buf *sim_buf_at(struct sim *s, uint64_t addr, uint64_t len)
{
	for (struct vitrt_buf *b = s->bufs; b; b = b->next) {
		uint64_t base = (uintptr_t)b->map;

		if (addr >= base && addr - base <= b->size && len <= b->size - (addr - base))
			return b;
	}
	return NULL;
}

/* Host memory for [addr, addr + len) if one live buffer holds it all. */
static uint8_t *sim_span(struct sim *s, uint64_t addr, size_t len)
{
	struct vitrt_buf *b = sim_buf_at(s, addr, len);

	return b ? (uint8_t *)b->map + (addr - (uintptr_t)b->map) : NULL;
}

static int sim_read(void *opaque, uint64_t addr, void *dst, size_t len)
{
	uint8_t *p = sim_span(opaque, addr, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

static int sim_write(void *opaque, uint64_t addr, const void *src, size_t len)
{
	struct vitrt_buf *b = sim_buf_at(opaque, addr, len);

	if (!b || b->sealed)
		return -1;
	memcpy((uint8_t *)b->map + (addr - (uintptr_t)b->map), src, len);
	return 0;
}

static void *sim_map(void *opaque, uint64_t addr, uint64_t len)
{
	return len > SIM_MAX_BUF ? NULL : sim_span(opaque, addr, len);
}

static struct vitsa_wcache *sim_wcache(void *opaque, uint64_t addr, uint64_t last)
{
	struct sim *s = opaque;
	struct vitrt_buf *b = last - addr < SIM_MAX_BUF ? sim_buf_at(s, addr, last - addr + 1)
							 : NULL;

	return b && b->sealed ? s->wc : NULL;
}

static uint32_t sim_workers(void *opaque)
{
	(void)opaque;
	return vitrt_threads();
}

static void sim_parallel(void *opaque, uint32_t tasks, void (*fn)(void *arg, uint32_t t),
			 void *arg)
{
	(void)opaque;
	vitrt_parallel(tasks, fn, arg);
}

static void sim_split(void *opaque, uint32_t items, uint32_t align,
		      void (*fn)(void *arg, uint32_t lo, uint32_t hi), void *arg)
{
	(void)opaque;
	vitrt_parallel_split(items, align, fn, arg);
}

/*
 * The kernels read operands in place and split jobs over libvitrt's thread pool, by rows the
 * way the executor splits the CPU ops' rows (vitrt_exec.c).
 */
static const struct vitsa_mem_ops sim_mem_ops = {
	.read = sim_read, .write = sim_write, .map = sim_map,
	.workers = sim_workers, .parallel = sim_parallel, .wcache = sim_wcache,
	.split = sim_split,
};

/* Prepared jobs are their descriptors. */
static int sim_prepare(struct vitrt_dev *dev, const struct vitrt_job *jobs, unsigned count,
		       void **be)
{
	struct vitsa_hw_desc *d = malloc(sizeof(*d) * count);

	(void)dev;
	if (!d)
		return VITRT_ENOMEM;
	for (unsigned i = 0; i < count; i++)
		vitrt_job_desc(&d[i], &jobs[i], i);
	*be = d;
	return 0;
}

static void sim_release(struct vitrt_dev *dev, void *be)
{
	(void)dev;
	free(be);
}

/*
 * Traced: one job at a time, each timed and reported before the next one runs, so the trace
 * has every job's own time and the tracer finds the job's operands still in its buffers.
 */
static void sim_exec_traced(struct sim *s, const struct vitsa_hw_desc *d, unsigned count,
			    const struct vitrt_trace_sub *ts, struct vitsa_job_stats *st,
			    uint32_t *status)
{
	for (unsigned i = 0; i < count; i++) {
		uint64_t t0 = vitrt_trace_now();

		vitsa_model_exec_group(&s->cfg, &d[i], 1, &sim_mem_ops, s, &st[i], &status[i]);
		vitrt_trace_job(ts, i, t0, vitrt_trace_now(), st[i].cycles, status[i], 0);
	}
}

/*
 * Jobs run at submit, as one group: the result of running them in order, with independent
 * neighbours (the heads of an attention layer) sharing a parallel region.  A list submitted
 * from two threads at once runs twice at once: its results are per call.
 */
static int sim_submit(struct vitrt_dev *dev, void *be, unsigned count, uint64_t *fence,
		      const struct vitrt_trace_sub *ts)
{
	struct sim *s = dev->priv;
	const struct vitsa_hw_desc *d = be;
	struct vitsa_job_stats *st = malloc(sizeof(*st) * count);
	uint32_t *status = malloc(sizeof(*status) * count);
	uint64_t first;

	if (!st || !status) {
		free(st);
		free(status);
		return VITRT_ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	first = s->fence + 1;
	s->fence += count;
	pthread_mutex_unlock(&s->lock);
	if (ts)
		sim_exec_traced(s, d, count, ts, st, status);
	else
		vitsa_model_exec_group(&s->cfg, d, count, &sim_mem_ops, s, st, status);
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < count; i++)
		if (status[i] && (!s->err.fence || s->err.fence > first + i))
			s->err = (struct vitrt_job_error){ .fence = first + i,
							   .status = status[i] };
	pthread_mutex_unlock(&s->lock);
	*fence = first + count - 1;
	free(st);
	free(status);
	return 0;
}

static int sim_wait(struct vitrt_dev *dev, uint64_t fence, uint64_t timeout_ns,
		    struct vitrt_job_error *jerr)
{
	struct sim *s = dev->priv;
	int ret = 0;

	(void)timeout_ns;	/* jobs completed at submit */
	pthread_mutex_lock(&s->lock);
	*jerr = (struct vitrt_job_error){ 0 };
	if (!fence || fence > s->fence) {
		ret = VITRT_EINVAL;
	} else if (s->err.fence && s->err.fence <= fence) {
		*jerr = s->err;
		s->err = (struct vitrt_job_error){ 0 };
		ret = VITRT_EJOB;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int vitrt_cpu_select(const char *name)
{
	return vitsa_kern_select(name) ? VITRT_EINVAL : 0;
}

const char *vitrt_cpu_kernel(void)
{
	return vitsa_kern_active()->name;
}

double vitrt_cpu_peak(double seconds)
{
	const struct vitsa_kern *k = vitsa_kern_active();
	uint64_t iters = 1 << 16, macs = 0;
	struct timespec t0, t1;
	double t = 0;

	if (!k->peak)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (t < seconds) {
		macs += k->peak(iters);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		t = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
		iters *= 2;
	}
	return macs / t;
}

static char kernel_list[64];

static void list_kernels(void)
{
	for (uint32_t isa = 0; isa < VITSA_ISA_COUNT; isa++) {
		const struct vitsa_kern *k = vitsa_kern_get(isa);
		size_t used = strlen(kernel_list);

		if (k)
			snprintf(kernel_list + used, sizeof(kernel_list) - used, "%s%s",
				 used ? " " : "", k->name);
	}
}

const char *vitrt_cpu_kernels(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, list_kernels);
	return kernel_list;
}

const struct vitrt_backend_ops vitrt_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.buf_alloc = sim_buf_alloc,
	.buf_free = sim_buf_free,
	.buf_seal = sim_buf_seal,
	.prepare = sim_prepare,
	.submit = sim_submit,
	.release = sim_release,
	.wait = sim_wait,
	.times_jobs = true,
};
