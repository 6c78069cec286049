// SPDX-License-Identifier: MIT
/* libvitrt "dev" backend: /dev/vitsaN through the uapi of uapi/vitsa.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vitrt_priv.h"
#include "vitsa.h"

struct kdev {
	int fd;
	bool jobs;			/* uapi 1.3: SUBMIT takes struct vitsa_job */
	uint32_t list_max;		/* most jobs in a driver's job list; 0: no lists */
};

/* ioctl(2), retried when interrupted; 0 or VITRT_ESYS with errno set. */
static int kdev_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret ? VITRT_ESYS : 0;
}

static int get_param(int fd, uint32_t param, uint64_t *value)
{
	struct vitsa_get_param p = { .param = param };
	int ret = kdev_ioctl(fd, VITSA_IOCTL_GET_PARAM, &p);

	*value = p.value;
	return ret;
}

static int kdev_info(struct vitrt_dev *dev, struct kdev *k)
{
	int fd = k->fd;
	/* Parameters of uapi 1.0, so any 1.x driver answers them all. */
	static const uint32_t wanted[] = {
		VITSA_PARAM_UAPI_VERSION, VITSA_PARAM_HW_VERSION, VITSA_PARAM_ARRAY_ROWS,
		VITSA_PARAM_ARRAY_COLS, VITSA_PARAM_MAX_DIM, VITSA_PARAM_MAX_BO_SIZE,
	};
	uint64_t v[VITSA_PARAM_COUNT] = { 0 };

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (get_param(fd, wanted[i], &v[wanted[i]]))
			return VITRT_ESYS;
	if (v[VITSA_PARAM_UAPI_VERSION] >> 16 != VITSA_UAPI_MAJOR)
		return VITRT_EVERSION;
	/* a 1.2 driver knows no vector jobs or lists: GEMMs only, as struct vitsa_gemm */
	if ((v[VITSA_PARAM_UAPI_VERSION] & 0xffff) >= 3 &&
	    (get_param(fd, VITSA_PARAM_VEC_OPS, &v[VITSA_PARAM_VEC_OPS]) ||
	     get_param(fd, VITSA_PARAM_LIST_MAX, &v[VITSA_PARAM_LIST_MAX])))
		return VITRT_ESYS;
	dev->info = (struct vitrt_dev_info){
		.path = dev->path,
		.rows = (uint32_t)v[VITSA_PARAM_ARRAY_ROWS],
		.cols = (uint32_t)v[VITSA_PARAM_ARRAY_COLS],
		.max_dim = (uint32_t)v[VITSA_PARAM_MAX_DIM],
		.max_buf_size = v[VITSA_PARAM_MAX_BO_SIZE],
		.hw_version = (uint32_t)v[VITSA_PARAM_HW_VERSION],
		.vec_ops = (uint32_t)v[VITSA_PARAM_VEC_OPS],
	};
	k->list_max = (uint32_t)v[VITSA_PARAM_LIST_MAX];
	return 0;
}

static int kdev_open(struct vitrt_dev *dev, const char *path)
{
	struct kdev *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return VITRT_ENOMEM;
	k->fd = open(path, O_RDWR | O_CLOEXEC);
	ret = k->fd < 0 ? VITRT_ENODEV : kdev_info(dev, k);
	if (ret) {
		if (k->fd >= 0)
			close(k->fd);
		free(k);
		return ret;
	}
	k->jobs = dev->info.vec_ops != 0;	/* else every job is a GEMM (vitrt_submit_jobs) */
	dev->priv = k;
	return 0;
}

static void kdev_close(struct vitrt_dev *dev)
{
	struct kdev *k = dev->priv;

	close(k->fd);
	free(k);
}

/* The first line of @path, without its newline, into @buf; false if unreadable or empty. */
static bool read_line(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	bool ok = f && fgets(buf, (int)cap, f) && buf[0] != '\n';

	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/*
 * The CPUs the kernel delivers the device's interrupt to: the PCI function's IRQ from sysfs
 * (its MSI vector when it has one), then that IRQ's effective affinity.
 */
static int kdev_irq_cpus(struct vitrt_dev *dev, char *list, size_t cap)
{
	struct kdev *k = dev->priv;
	char path[96], irq[16];
	struct stat st;

	if (fstat(k->fd, &st) || !S_ISCHR(st.st_mode))
		return VITRT_EUNSUPPORTED;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/irq", major(st.st_rdev),
		 minor(st.st_rdev));
	if (!read_line(path, irq, sizeof(irq)) || strspn(irq, "0123456789") != strlen(irq))
		return VITRT_EUNSUPPORTED;
	snprintf(path, sizeof(path), "/proc/irq/%s/effective_affinity_list", irq);
	return read_line(path, list, cap) ? 0 : VITRT_EUNSUPPORTED;
}

static int kdev_buf_alloc(struct vitrt_dev *dev, struct vitrt_buf *buf)
{
	struct kdev *k = dev->priv;
	struct vitsa_bo_create c = { .size = buf->size };
	struct vitsa_bo_destroy d = { 0 };
	void *map;

	if (kdev_ioctl(k->fd, VITSA_IOCTL_BO_CREATE, &c))
		return errno == ENOMEM ? VITRT_ENOMEM : VITRT_ESYS;
	map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, (off_t)c.mmap_offset);
	if (map == MAP_FAILED) {
		d.handle = c.handle;
		kdev_ioctl(k->fd, VITSA_IOCTL_BO_DESTROY, &d);
		return VITRT_ESYS;
	}
	buf->map = map;
	buf->size = c.size;
	buf->handle = c.handle;
	return 0;
}

static void kdev_buf_free(struct vitrt_dev *dev, struct vitrt_buf *buf)
{
	struct kdev *k = dev->priv;
	struct vitsa_bo_destroy d = { .handle = buf->handle };

	munmap(buf->map, buf->size);
	kdev_ioctl(k->fd, VITSA_IOCTL_BO_DESTROY, &d);
}

static struct vitsa_mem mem_of(const struct vitrt_mat *m)
{
	return (struct vitsa_mem){
		.handle = m->buf ? m->buf->handle : 0, .offset = m->offset, .stride = m->stride,
	};
}

static void kdev_gemm(struct vitsa_gemm *g, const struct vitrt_gemm *j)
{
	*g = (struct vitsa_gemm){
		.m = j->m, .n = j->n, .k = j->k, .flags = j->flags,
		.a_type = j->a_type, .b_type = j->b_type, .c_type = j->c_type,
		.c_zero = j->c_zero,
		.a = mem_of(&j->a), .b = mem_of(&j->b), .c = mem_of(&j->c),
		.bias = mem_of(&j->bias), .rq = mem_of(&j->rq),
	};
}

static void kdev_job(struct vitsa_job *k, const struct vitrt_job *j)
{
	const struct vitrt_vec *v = &j->vec;

	memset(k, 0, sizeof(*k));
	if (j->kind == VITRT_JOB_GEMM) {
		k->kind = VITSA_JOB_KIND_GEMM;
		kdev_gemm(&k->gemm, &j->gemm);
		return;
	}
	k->kind = VITSA_JOB_KIND_VEC;
	k->vec = (struct vitsa_vec){ .op = v->op, .rows = v->rows, .cols = v->cols,
				     .in0 = mem_of(&v->in0), .in1 = mem_of(&v->in1),
				     .out = mem_of(&v->out) };
	memcpy(k->vec.param, v->param, sizeof(k->vec.param));
}

/*
 * Prepared jobs: the driver's job lists when it has them and the jobs are many (a list costs
 * two more ioctls once, and saves the driver checking every job at every run), else the jobs
 * in the form SUBMIT takes: struct vitsa_job, or vitsa_gemm for a 1.2 driver.
 */
#define KDEV_LIST_MIN	16

struct kdev_jobs {
	void *jobs;			/* count jobs for SUBMIT, or NULL */
	struct vitsa_job *runs;		/* a LIST job per list */
	unsigned nlists;
};

static void kdev_lists_drop(struct kdev *k, struct kdev_jobs *j)
{
	for (unsigned i = 0; i < j->nlists; i++) {
		struct vitsa_list_destroy d = { .handle = j->runs[i].list.handle };

		kdev_ioctl(k->fd, VITSA_IOCTL_LIST_DESTROY, &d);
	}
	free(j->runs);
	j->runs = NULL;
	j->nlists = 0;
}

static void kdev_release(struct vitrt_dev *dev, void *be)
{
	struct kdev_jobs *j = be;

	if (!j)
		return;
	kdev_lists_drop(dev->priv, j);
	free(j->jobs);
	free(j);
}

/*
 * List @r of a run of @count jobs cut in lists of list_max, the last one shorter: its first
 * job, and its length in *@n.  kdev_trace_jobs finds a list's jobs again by the same cut.
 */
static unsigned kdev_list_cut(const struct kdev *k, unsigned r, unsigned count, unsigned *n)
{
	unsigned first = r * k->list_max;

	*n = count - first < k->list_max ? count - first : k->list_max;
	return first;
}

/* The translated @jobs as lists of at most list_max; false (none kept) if the driver says no. */
static bool kdev_lists(struct kdev *k, struct kdev_jobs *j, const struct vitsa_job *jobs,
		       unsigned count)
{
	unsigned n = (count + k->list_max - 1) / k->list_max;

	j->runs = calloc(n, sizeof(*j->runs));
	for (unsigned i = 0; j->runs && i < n; i++) {
		unsigned len, first = kdev_list_cut(k, i, count, &len);
		struct vitsa_list_create c = { .jobs = (uintptr_t)(jobs + first), .count = len };

		if (kdev_ioctl(k->fd, VITSA_IOCTL_LIST_CREATE, &c))
			return false;
		j->runs[i] = (struct vitsa_job){ .kind = VITSA_JOB_KIND_LIST,
						 .list = { .handle = c.handle } };
		j->nlists++;
	}
	return j->runs;
}

static int kdev_prepare(struct vitrt_dev *dev, const struct vitrt_job *jobs, unsigned count,
			void **be)
{
	struct kdev *k = dev->priv;
	struct kdev_jobs *j = calloc(1, sizeof(*j));

	if (j)
		j->jobs = calloc(count, k->jobs ? sizeof(struct vitsa_job) :
					   sizeof(struct vitsa_gemm));
	if (!j || !j->jobs) {
		kdev_release(dev, j);
		return VITRT_ENOMEM;
	}
	for (unsigned i = 0; i < count; i++) {
		if (k->jobs)
			kdev_job((struct vitsa_job *)j->jobs + i, &jobs[i]);
		else
			kdev_gemm((struct vitsa_gemm *)j->jobs + i, &jobs[i].gemm);
	}
	if (k->jobs && k->list_max && count >= KDEV_LIST_MIN) {
		if (kdev_lists(k, j, j->jobs, count)) {
			free(j->jobs);	/* the driver keeps them */
			j->jobs = NULL;
		} else {
			kdev_lists_drop(k, j);	/* out of budget, say: SUBMIT them as they are */
		}
	}
	*be = j;
	return 0;
}

static int kdev_wait(struct vitrt_dev *dev, uint64_t fence, uint64_t timeout_ns,
		     struct vitrt_job_error *jerr)
{
	struct kdev *k = dev->priv;
	struct vitsa_wait w = { .fence = fence, .timeout_ns = timeout_ns };

	*jerr = (struct vitrt_job_error){ 0 };
	/* WAIT reports one failed job per call: take them all, keep the first. */
	do {
		if (kdev_ioctl(k->fd, VITSA_IOCTL_WAIT, &w))
			return errno == ETIMEDOUT ? VITRT_ETIMEDOUT :
			       errno == EINVAL ? VITRT_EINVAL : VITRT_ESYS;
		if (w.error_fence && !jerr->fence)
			*jerr = (struct vitrt_job_error){ .fence = w.error_fence,
							  .status = w.error };
	} while (w.error_fence);
	return jerr->fence ? VITRT_EJOB : 0;
}

/*
 * SUBMIT in pieces of at most VITSA_SUBMIT_MAX_JOBS.  When a later piece is refused, the
 * earlier ones are waited for before the error returns: the caller may then reuse the buffers
 * they name.  A traced submission's jobs are reported after its wait (kdev_trace_jobs):
 * @ts is not needed here.
 */
static int kdev_submit(struct vitrt_dev *dev, void *be, unsigned count, uint64_t *fence,
		       const struct vitrt_trace_sub *ts)
{
	struct kdev *k = dev->priv;
	struct kdev_jobs *j = be;
	size_t size = k->jobs ? sizeof(struct vitsa_job) : sizeof(struct vitsa_gemm);
	const uint8_t *jobs = j->jobs ? j->jobs : (const uint8_t *)j->runs;
	struct vitrt_job_error jerr;
	uint64_t queued = 0;

	(void)ts;
	if (!j->jobs)
		count = j->nlists;	/* one job per list */
	while (count) {
		unsigned n = count < VITSA_SUBMIT_MAX_JOBS ? count : VITSA_SUBMIT_MAX_JOBS;
		struct vitsa_submit s = { .jobs = (uintptr_t)jobs, .count = n,
					  .flags = k->jobs ? VITSA_SUBMIT_JOBS : 0 };
		int err;

		if (kdev_ioctl(k->fd, VITSA_IOCTL_SUBMIT, &s)) {
			err = errno == EINVAL || errno == ENOENT ? VITRT_EINVAL : VITRT_ESYS;
			if (queued)
				kdev_wait(dev, queued, UINT64_MAX, &jerr);
			return err;
		}
		*fence = queued = s.fence;
		jobs += n * size;
		count -= n;
	}
	return 0;
}

/*
 * The driver's times of the @rings ring jobs up to @fence (JOB_TIMES), all or none: 0, or
 * VITRT_EUNSUPPORTED (a driver before uapi 1.4, or times already dropped).
 */
static int kdev_times(struct kdev *k, uint64_t fence, unsigned rings, struct vitsa_job_times *t)
{
	for (unsigned r = 0; r < rings; r++) {
		t[r] = (struct vitsa_job_times){ .fence = fence - rings + 1 + r };
		if (kdev_ioctl(k->fd, VITSA_IOCTL_JOB_TIMES, &t[r]))
			return VITRT_EUNSUPPORTED;
	}
	return 0;
}

/*
 * A traced run's jobs with the driver's times: a job that was a ring job of its own takes
 * its [started, done]; a list's entries, one ring job, are placed within the list's by
 * cycles.  The file keeps the last VITSA_JOB_TIMES_KEPT ring jobs' times: a run of more
 * reports none here, and is placed within its submission.
 */
static int kdev_trace_jobs(struct vitrt_dev *dev, void *be, unsigned count, uint64_t fence,
			   const struct vitrt_trace_sub *ts)
{
	struct kdev *k = dev->priv;
	struct kdev_jobs *j = be;
	unsigned rings = j->jobs ? count : j->nlists;
	struct vitsa_job_times t[VITSA_JOB_TIMES_KEPT];

	if (!rings || rings > VITSA_JOB_TIMES_KEPT || fence < rings ||
	    kdev_times(k, fence, rings, t))
		return VITRT_EUNSUPPORTED;
	for (unsigned r = 0; r < rings; r++) {
		unsigned len, first;

		if (j->jobs) {
			vitrt_trace_job(ts, r, t[r].started_ns, t[r].done_ns,
					vitrt_job_cycles(dev, &ts->jobs[r]), 0, VITRT_TRACE_DRIVER);
			continue;
		}
		first = kdev_list_cut(k, r, count, &len);
		vitrt_trace_place(ts, first, len, t[r].started_ns, t[r].done_ns,
				  VITRT_TRACE_DRIVER);
	}
	return 0;
}

const struct vitrt_backend_ops vitrt_kdev_ops = {
	.name = "dev",
	.open = kdev_open,
	.close = kdev_close,
	.buf_alloc = kdev_buf_alloc,
	.buf_free = kdev_buf_free,
	.prepare = kdev_prepare,
	.submit = kdev_submit,
	.release = kdev_release,
	.wait = kdev_wait,
	.trace_jobs = kdev_trace_jobs,
	.irq_cpus = kdev_irq_cpus,
};
