// SPDX-License-Identifier: MIT
/* libvitrt device layer: backend choice, buffers, job checks, submit and wait. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_priv.h"
#include "vitsa_model.h"
#include "vitsa_vec.h"

/* The first /dev/vitsa* node into @path, or false. */
static bool find_dev_node(char *path, size_t cap)
{
	glob_t g;
	bool found;

	if (glob("/dev/vitsa[0-9]*", 0, NULL, &g))
		return false;
	found = g.gl_pathc > 0;
	if (found)
		snprintf(path, cap, "%s", g.gl_pathv[0]);
	globfree(&g);
	return found;
}

/* Backend and node named by @spec (see vitrt.h). */
static int parse_spec(const char *spec, const struct vitrt_backend_ops **ops, char *path,
		      size_t cap)
{
	bool any = !spec || !strcmp(spec, "auto");

	*path = 0;
	if (any || !strcmp(spec, "dev")) {
		if (find_dev_node(path, cap)) {
			*ops = &vitrt_kdev_ops;
			return 0;
		}
		if (!any)
			return VITRT_ENODEV;
		*ops = &vitrt_sim_ops;
		return 0;
	}
	if (!strcmp(spec, "sim")) {
		*ops = &vitrt_sim_ops;
		return 0;
	}
	if (!strncmp(spec, "dev:", 4) && strlen(spec + 4) < cap) {
		snprintf(path, cap, "%s", spec + 4);
		*ops = &vitrt_kdev_ops;
		return 0;
	}
	return VITRT_EINVAL;
}

struct vitrt_dev *vitrt_dev_open(const char *spec, int *err)
{
	struct vitrt_dev *dev = calloc(1, sizeof(*dev));
	int ret;

	if (!dev) {
		*err = VITRT_ENOMEM;
		return NULL;
	}
	ret = parse_spec(spec, &dev->ops, dev->path, sizeof(dev->path));
	if (!ret)
		ret = dev->ops->open(dev, dev->path[0] ? dev->path : NULL);
	if (ret) {
		free(dev);
		*err = ret;
		return NULL;
	}
	dev->info.backend = dev->ops->name;
	*err = 0;
	return dev;
}

void vitrt_dev_close(struct vitrt_dev *dev)
{
	if (!dev)
		return;
	dev->ops->close(dev);
	free(dev);
}

const struct vitrt_dev_info *vitrt_dev_info(const struct vitrt_dev *dev)
{
	return &dev->info;
}

int vitrt_dev_irq_cpus(struct vitrt_dev *dev, char *list, size_t cap)
{
	if (!dev->ops->irq_cpus || !cap)
		return VITRT_EUNSUPPORTED;
	return dev->ops->irq_cpus(dev, list, cap);
}

struct vitrt_buf *vitrt_buf_new(struct vitrt_dev *dev, size_t size, int *err)
{
	struct vitrt_buf *buf;

	if (!size || size > dev->info.max_buf_size) {
		*err = VITRT_EINVAL;
		return NULL;
	}
	buf = calloc(1, sizeof(*buf));
	if (!buf) {
		*err = VITRT_ENOMEM;
		return NULL;
	}
	buf->dev = dev;
	buf->size = size;
	*err = dev->ops->buf_alloc(dev, buf);
	if (*err) {
		free(buf);
		return NULL;
	}
	return buf;
}

int vitrt_buf_seal(struct vitrt_buf *buf)
{
	int err = 0;

	if (!buf->sealed && buf->dev->ops->buf_seal)
		err = buf->dev->ops->buf_seal(buf->dev, buf);
	if (!err)
		buf->sealed = true;
	return err;
}

void vitrt_buf_del(struct vitrt_buf *buf)
{
	if (!buf)
		return;
	buf->dev->ops->buf_free(buf->dev, buf);
	free(buf);
}

void *vitrt_buf_map(const struct vitrt_buf *buf)
{
	return buf->map;
}

size_t vitrt_buf_size(const struct vitrt_buf *buf)
{
	return buf->size;
}

/* @rows rows of @row_bytes, @m->stride apart, inside @m->buf (which must be @dev's). */
static bool mat_inside(const struct vitrt_dev *dev, const struct vitrt_mat *m, uint64_t rows,
		       uint64_t row_bytes)
{
	uint64_t span, end;

	if (!m->buf || m->buf->dev != dev)
		return false;
	if (__builtin_mul_overflow(rows - 1, m->stride, &span) ||
	    __builtin_add_overflow(span, row_bytes, &span) ||
	    __builtin_add_overflow(m->offset, span, &end))
		return false;
	return end <= m->buf->size;
}

static bool mat_unused(const struct vitrt_mat *m)
{
	return !m->buf && !m->offset && !m->stride;
}

static int gemm_check(const struct vitrt_dev *dev, const struct vitrt_gemm *j)
{
	bool bt = j->flags & VITRT_GEMM_B_TRANS;

	if (j->m > dev->info.max_dim || j->n > dev->info.max_dim || j->k > dev->info.max_dim)
		return VITRT_EINVAL;
	if (!mat_inside(dev, &j->a, j->m, vitrt_row_bytes(j->a_type, j->k)) ||
	    !mat_inside(dev, &j->b, bt ? j->n : j->k, vitrt_row_bytes(j->b_type, bt ? j->k : j->n)) ||
	    !mat_inside(dev, &j->c, j->m, vitrt_row_bytes(j->c_type, j->n)) || j->c.buf->sealed)
		return VITRT_EINVAL;
	if ((j->flags & VITRT_GEMM_BIAS) ? !mat_inside(dev, &j->bias, 1, 4ull * j->n) || j->bias.stride
					 : !mat_unused(&j->bias))
		return VITRT_EINVAL;
	if ((j->flags & VITRT_GEMM_REQUANT) ? !mat_inside(dev, &j->rq, 1, 8ull * j->n) || j->rq.stride
					    : !mat_unused(&j->rq))
		return VITRT_EINVAL;
	return 0;
}

/* Each operand the op takes inside its buffer (the descriptor check saw the unused ones 0). */
static int vec_check(const struct vitrt_dev *dev, const struct vitrt_vec *v,
		     const struct vitsa_hw_desc *d)
{
	const struct vitrt_mat *m[VITSA_VEC_OPNDS] = { &v->in0, &v->in1, &v->out };
	struct vitsa_vec_extent e;

	if (!(dev->info.vec_ops >> (v->op - VITRT_VEC_FIRST) & 1))
		return VITRT_EUNSUPPORTED;
	vitsa_vec_extent(d, &e);
	for (int o = 0; o < VITSA_VEC_OPNDS; o++)
		if (e.rows[o] ? !mat_inside(dev, m[o], e.rows[o], e.row_bytes[o]) : !mat_unused(m[o]))
			return VITRT_EINVAL;
	return v->out.buf->sealed ? VITRT_EINVAL : 0;
}

/*
 * The device's own checks of the descriptor (C overlapping an input among them, with the
 * buffers' mappings for addresses: distinct buffers never share one), then the buffers'.
 */
int vitrt_job_check(const struct vitrt_dev *dev, const struct vitrt_job *j)
{
	struct vitsa_hw_desc d;

	if (j->kind != VITRT_JOB_GEMM && j->kind != VITRT_JOB_VEC)
		return VITRT_EINVAL;
	if (j->kind == VITRT_JOB_VEC && !vitsa_vec_op_valid(j->vec.op))
		return VITRT_EINVAL;
	vitrt_job_desc(&d, j, 0);
	if (vitsa_desc_check(&d))
		return VITRT_EINVAL;
	return j->kind == VITRT_JOB_VEC ? vec_check(dev, &j->vec, &d) : gemm_check(dev, &j->gemm);
}

struct vitrt_joblist {
	struct vitrt_dev *dev;
	unsigned count;
	void *be;		/* the jobs in the backend's form */
	/* made on a traced device: the jobs and where they came from, for the events */
	struct vitrt_job *jobs;
	struct vitrt_job_origin *org;
};

/* Copies of @jobs and @org (if given) in @l, for the events of its runs. */
static int keep_for_trace(struct vitrt_joblist *l, const struct vitrt_job *jobs,
			  const struct vitrt_job_origin *org)
{
	l->jobs = malloc(sizeof(*jobs) * l->count);
	if (!l->jobs)
		return VITRT_ENOMEM;
	memcpy(l->jobs, jobs, sizeof(*jobs) * l->count);
	if (!org)
		return 0;
	l->org = malloc(sizeof(*org) * l->count);
	if (!l->org)
		return VITRT_ENOMEM;
	memcpy(l->org, org, sizeof(*org) * l->count);
	return 0;
}

struct vitrt_joblist *vitrt_joblist_make(struct vitrt_dev *dev, const struct vitrt_job *jobs,
					 const struct vitrt_job_origin *org, unsigned count,
					 int *err)
{
	struct vitrt_joblist *l;

	*err = count ? 0 : VITRT_EINVAL;
	for (unsigned i = 0; i < count && !*err; i++)
		*err = vitrt_job_check(dev, &jobs[i]);
	if (*err)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		*err = VITRT_ENOMEM;
		return NULL;
	}
	*l = (struct vitrt_joblist){ .dev = dev, .count = count };
	if (dev->tracer.event)
		*err = keep_for_trace(l, jobs, org);
	if (!*err)
		*err = dev->ops->prepare(dev, jobs, count, &l->be);
	if (*err) {
		free(l->jobs);
		free(l->org);
		free(l);
		return NULL;
	}
	return l;
}

struct vitrt_joblist *vitrt_joblist_new(struct vitrt_dev *dev, const struct vitrt_job *jobs,
					unsigned count, int *err)
{
	return vitrt_joblist_make(dev, jobs, NULL, count, err);
}

bool vitrt_joblist_traced(const struct vitrt_joblist *l)
{
	return l->jobs;
}

/* @sub filled for a run of @l, or NULL: not traced (made before the tracer, or it is gone). */
static const struct vitrt_trace_sub *trace_sub(const struct vitrt_joblist *l,
					       struct vitrt_trace_sub *sub)
{
	if (!l->jobs || !l->dev->tracer.event)
		return NULL;
	*sub = (struct vitrt_trace_sub){ .dev = l->dev, .jobs = l->jobs, .org = l->org };
	return sub;
}

int vitrt_joblist_submit(struct vitrt_joblist *l, uint64_t *fence)
{
	struct vitrt_trace_sub sub;

	return l->dev->ops->submit(l->dev, l->be, l->count, fence, trace_sub(l, &sub));
}

int vitrt_joblist_run(struct vitrt_joblist *l, struct vitrt_job_error *jerr)
{
	struct vitrt_trace_sub sub;
	const struct vitrt_trace_sub *ts = trace_sub(l, &sub);
	uint64_t fence, t0 = ts ? vitrt_trace_now() : 0;
	int err = l->dev->ops->submit(l->dev, l->be, l->count, &fence, ts);

	if (err)
		return err;
	err = vitrt_wait(l->dev, fence, UINT64_MAX, jerr);
	if (ts) {
		bool place = !err && !l->dev->ops->times_jobs;

		if (place && l->dev->ops->trace_jobs)
			place = l->dev->ops->trace_jobs(l->dev, l->be, l->count, fence, ts) != 0;
		vitrt_trace_submit(ts, l->count, t0, vitrt_trace_now(), place);
	}
	return err;
}

void vitrt_joblist_free(struct vitrt_joblist *l)
{
	if (!l)
		return;
	l->dev->ops->release(l->dev, l->be);
	free(l->jobs);
	free(l->org);
	free(l);
}

int vitrt_submit_jobs(struct vitrt_dev *dev, const struct vitrt_job *jobs, unsigned count,
		      uint64_t *fence)
{
	int err;
	struct vitrt_joblist *l = vitrt_joblist_new(dev, jobs, count, &err);

	if (!l)
		return err;
	err = vitrt_joblist_submit(l, fence);
	vitrt_joblist_free(l);
	return err;
}

/* GEMMs as jobs of the one kind. */
int vitrt_submit(struct vitrt_dev *dev, const struct vitrt_gemm *jobs, unsigned count,
		 uint64_t *fence)
{
	struct vitrt_job *j = malloc(sizeof(*j) * (count ? count : 1));
	int err;

	if (!j)
		return VITRT_ENOMEM;
	for (unsigned i = 0; i < count; i++)
		j[i] = (struct vitrt_job){ .kind = VITRT_JOB_GEMM, .gemm = jobs[i] };
	err = vitrt_submit_jobs(dev, j, count, fence);
	free(j);
	return err;
}

int vitrt_wait(struct vitrt_dev *dev, uint64_t fence, uint64_t timeout_ns,
	       struct vitrt_job_error *jerr)
{
	struct vitrt_job_error local;

	return dev->ops->wait(dev, fence, timeout_ns, jerr ? jerr : &local);
}

uint64_t vitrt_gemm_cycles(const struct vitrt_dev *dev, uint32_t m, uint32_t n, uint32_t k)
{
	struct vitsa_model_cfg cfg = { .rows = dev->info.rows, .cols = dev->info.cols };

	return vitsa_model_cycles(&cfg, m, n, k);
}

uint64_t vitrt_job_cycles(const struct vitrt_dev *dev, const struct vitrt_job *j)
{
	struct vitsa_model_cfg cfg = { .rows = dev->info.rows, .cols = dev->info.cols };
	struct vitsa_hw_desc d;

	if (j->kind == VITRT_JOB_GEMM)
		return vitsa_model_cycles(&cfg, j->gemm.m, j->gemm.n, j->gemm.k);
	vitrt_job_desc(&d, j, 0);
	return vitsa_vec_cycles(&cfg, &d);
}
