// SPDX-License-Identifier: MIT
/* libvitrt device layer: backend choice, buffers, job checks, submit and wait. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_priv.h"
#include "vitsa_model.h"

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

/* Where @m lies in this process: distinct buffers never share an address (OVERLAP). */
static uint64_t mat_addr(const struct vitrt_mat *m)
{
	return m->buf ? (uintptr_t)m->buf->map + m->offset : m->offset;
}

/*
 * The job as a descriptor with the buffers' mappings for addresses: the hardware's own field
 * checks, C overlapping an input among them.
 */
static uint32_t job_fields(const struct vitrt_gemm *j)
{
	struct vitsa_hw_desc d = {
		.opcode = VITSA_OP_GEMM, .flags = j->flags, .m = j->m, .n = j->n, .k = j->k,
		.a_addr = mat_addr(&j->a), .b_addr = mat_addr(&j->b), .c_addr = mat_addr(&j->c),
		.bias_addr = mat_addr(&j->bias), .rq_addr = mat_addr(&j->rq),
		.a_stride = j->a.stride, .b_stride = j->b.stride, .c_stride = j->c.stride,
		.c_zero = j->c_zero,
	};

	if ((unsigned)j->a_type > 0xf || (unsigned)j->b_type > 0xf || (unsigned)j->c_type > 0xf)
		return VITSA_ERR_TYPE;
	d.types = VITSA_DESC_TYPES(j->a_type, j->b_type, j->c_type);
	return vitsa_desc_check(&d);
}

static int job_check(const struct vitrt_dev *dev, const struct vitrt_gemm *j)
{
	bool bt = j->flags & VITRT_GEMM_B_TRANS;

	if (job_fields(j) || j->m > dev->info.max_dim || j->n > dev->info.max_dim ||
	    j->k > dev->info.max_dim)
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

int vitrt_submit(struct vitrt_dev *dev, const struct vitrt_gemm *jobs, unsigned count,
		 uint64_t *fence)
{
	if (!count)
		return VITRT_EINVAL;
	for (unsigned i = 0; i < count; i++)
		if (job_check(dev, &jobs[i]))
			return VITRT_EINVAL;
	return dev->ops->submit(dev, jobs, count, fence);
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
