// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: jobs: SUBMIT (validate, translate, queue) and WAIT (fences, error reports).
 *
 * A job is a GEMM or, on a device with the vector unit (hardware 1.3), a vector op, or a run
 * of a job list (vitsa_list.c), whose jobs were checked here when the list was created.  Every
 * field of every job is checked before any job is queued; the device checks descriptors
 * again, but it must never see an address outside the submitter's own buffer objects.  Fences
 * count the jobs of one open file, starting at 1; jobs of one file retire in fence order
 * because they enter the one command ring in that order.
 */

#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "vitsa_drv.h"
#include "vitsa_hw_vec.h"
#include "vitsa_int.h"

/* The uapi's numbers are the device's: descriptors take them unchanged. */
static_assert(VITSA_GEMM_B_TRANS == VITSA_DESC_B_TRANS);
static_assert(VITSA_GEMM_BIAS == VITSA_DESC_BIAS);
static_assert(VITSA_GEMM_REQUANT == VITSA_DESC_REQUANT);
static_assert(VITSA_GEMM_FLAGS == VITSA_DESC_FLAGS_ALL);
static_assert(VITSA_TYPE_S8 == VITSA_DTYPE_S8);
static_assert(VITSA_TYPE_U8 == VITSA_DTYPE_U8);
static_assert(VITSA_TYPE_S4 == VITSA_DTYPE_S4);
static_assert(VITSA_TYPE_U4 == VITSA_DTYPE_U4);
static_assert(VITSA_TYPE_S16 == VITSA_DTYPE_S16);
static_assert(VITSA_TYPE_S32 == VITSA_DTYPE_S32);
VITSA_ERR_SAME_AS(static_assert, VITSA_JOB_);
static_assert(VITSA_JOB_DEVICE_COUNT == VITSA_ERR_COUNT);
static_assert(VITSA_JOB_TIMEOUT >= VITSA_ERR_COUNT);
static_assert(VITSA_VEC_INPUT == VITSA_OP_INPUT);
static_assert(VITSA_VEC_EMBED == VITSA_OP_EMBED);
static_assert(VITSA_VEC_LAYERNORM == VITSA_OP_LAYERNORM);
static_assert(VITSA_VEC_LAYERNORM_S4 == VITSA_OP_LAYERNORM_S4);
static_assert(VITSA_VEC_SHIFTMAX == VITSA_OP_SHIFTMAX);
static_assert(VITSA_VEC_SHIFTMAX16 == VITSA_OP_SHIFTMAX16);
static_assert(VITSA_VEC_GELU == VITSA_OP_GELU);
static_assert(VITSA_VEC_GELU_U4 == VITSA_OP_GELU_U4);
static_assert(VITSA_VEC_ADD == VITSA_OP_ADD);
static_assert(VITSA_VEC_MEAN == VITSA_OP_MEAN);
static_assert(VITSA_VEC_JOIN16 == VITSA_OP_JOIN16);
static_assert(VITSA_VEC_FIRST == VITSA_OP_VEC_FIRST);
static_assert(VITSA_OP_VEC_END - VITSA_OP_VEC_FIRST <= 32);	/* VEC_OPS is a u32 mask */
static_assert(VITSA_VEC_PARAMS == ARRAY_SIZE(((struct vitsa_hw_desc *)0)->param));

/* Result types allowed with requantization; without it the result is the raw S32. */
#define VITSA_REQUANT_TYPES	(BIT(VITSA_TYPE_S8) | BIT(VITSA_TYPE_U8) | BIT(VITSA_TYPE_S4) | \
				 BIT(VITSA_TYPE_U4) | BIT(VITSA_TYPE_S16))

/* One operand of a job as the checks see it; rows == 0 means the operand is unused. */
struct vitsa_operand_desc {
	const struct vitsa_mem *mem;
	u64 rows;
	u64 row_bytes;		/* bytes of one row; a row starts on a byte boundary */
	u32 align;		/* offset and stride a multiple of this, a power of two */
	bool strided;		/* matrix with a stride; bias and rq are one row, stride 0 */
	u64 end;		/* offset + extent, once checked */
};

/* A job of either kind, checked field by field, before its objects are looked up. */
struct vitsa_job_spec {
	struct vitsa_operand_desc op[VITSA_OPERAND_COUNT];
	struct vitsa_hw_desc desc;	/* all but the operands' addresses */
	bool in_place;			/* C may be an input exactly (vector ADD) */
};

/* What a vector job has in place of bias and rq: nothing, which passes as unused. */
static const struct vitsa_mem vitsa_mem_none;

/* Bytes of a row of @cols elements of @type (int4: ceil(cols / 2)); cannot overflow u64. */
static u64 vitsa_row_bytes(u32 type, u32 cols)
{
	return vitsa_int_row_bytes(type, cols);
}

static bool vitsa_dim_valid(const struct vitsa_device *vdev, u32 dim)
{
	return dim >= 1 && dim <= vdev->max_dim;
}

static bool vitsa_operand_type_valid(const struct vitsa_device *vdev, u32 type)
{
	return type < 32 && (vdev->dtypes & BIT(type));
}

static bool vitsa_result_type_valid(u32 type, bool requant)
{
	if (!requant)
		return type == VITSA_TYPE_S32;
	return type < 32 && (VITSA_REQUANT_TYPES & BIT(type));
}

/* The scalar fields: flags, dimensions, types, c_zero. */
static int vitsa_job_check_gemm(const struct vitsa_device *vdev, const struct vitsa_gemm *g)
{
	bool requant = g->flags & VITSA_GEMM_REQUANT;

	if (g->flags & ~vdev->gemm_flags)
		return -EINVAL;
	if (!vitsa_dim_valid(vdev, g->m) || !vitsa_dim_valid(vdev, g->n) ||
	    !vitsa_dim_valid(vdev, g->k))
		return -EINVAL;
	if (!vitsa_operand_type_valid(vdev, g->a_type) ||
	    !vitsa_operand_type_valid(vdev, g->b_type) ||
	    !vitsa_result_type_valid(g->c_type, requant))
		return -EINVAL;
	if (!requant && g->c_zero)
		return -EINVAL;
	return 0;
}

/* What each operand must hold, from the already checked scalar fields. */
static void vitsa_job_operands(const struct vitsa_gemm *g, struct vitsa_operand_desc *op)
{
	const struct vitsa_mem *mem[VITSA_OPERAND_COUNT] = {
		[VITSA_OPERAND_A] = &g->a, [VITSA_OPERAND_B] = &g->b, [VITSA_OPERAND_C] = &g->c,
		[VITSA_OPERAND_BIAS] = &g->bias, [VITSA_OPERAND_RQ] = &g->rq,
	};
	int i;

	for (i = 0; i < VITSA_OPERAND_COUNT; i++)
		op[i] = (struct vitsa_operand_desc){ .mem = mem[i], .align = 1 };

	op[VITSA_OPERAND_A].rows = g->m;
	op[VITSA_OPERAND_A].row_bytes = vitsa_row_bytes(g->a_type, g->k);
	op[VITSA_OPERAND_A].strided = true;

	if (g->flags & VITSA_GEMM_B_TRANS) {
		op[VITSA_OPERAND_B].rows = g->n;
		op[VITSA_OPERAND_B].row_bytes = vitsa_row_bytes(g->b_type, g->k);
	} else {
		op[VITSA_OPERAND_B].rows = g->k;
		op[VITSA_OPERAND_B].row_bytes = vitsa_row_bytes(g->b_type, g->n);
	}
	op[VITSA_OPERAND_B].strided = true;

	op[VITSA_OPERAND_C].rows = g->m;
	op[VITSA_OPERAND_C].row_bytes = vitsa_row_bytes(g->c_type, g->n);
	op[VITSA_OPERAND_C].strided = true;

	if (g->flags & VITSA_GEMM_BIAS) {
		op[VITSA_OPERAND_BIAS].rows = 1;
		op[VITSA_OPERAND_BIAS].row_bytes = (u64)g->n * sizeof(__s32);
	}
	if (g->flags & VITSA_GEMM_REQUANT) {
		op[VITSA_OPERAND_RQ].rows = 1;
		op[VITSA_OPERAND_RQ].row_bytes = (u64)g->n * sizeof(struct vitsa_hw_rq);
	}
}

static void vitsa_job_gemm_desc(const struct vitsa_gemm *g, struct vitsa_hw_desc *desc)
{
	desc->opcode = VITSA_OP_GEMM;
	desc->flags = g->flags;
	desc->m = g->m;
	desc->n = g->n;
	desc->k = g->k;
	desc->types = VITSA_DESC_TYPES(g->a_type, g->b_type, g->c_type);
	desc->a_stride = g->a.stride;
	desc->b_stride = g->b.stride;
	desc->c_stride = g->c.stride;
	desc->c_zero = g->c_zero;
}

/* The bytes of the job's union past its first @used bytes, which must be 0. */
static bool vitsa_job_tail_zero(const struct vitsa_job *uj, size_t used)
{
	size_t from = offsetof(struct vitsa_job, vec) + used;

	return !memchr_inv((const u8 *)uj + from, 0, sizeof(*uj) - from);
}

/*
 * A vector job's scalar fields: an op the device executes, the pads, the parameter words
 * past the op's count 0, the dimensions.  The values of its parameters are the device's to
 * check (VITSA_JOB_PARAM), except those that shape the operands (vitsa_job_vec_operands).
 */
static int vitsa_job_check_vec(const struct vitsa_device *vdev, const struct vitsa_job *uj)
{
	const struct vitsa_vec *v = &uj->vec;
	u32 bit = v->op - VITSA_VEC_FIRST, i;

	if (v->op < VITSA_VEC_FIRST || bit >= 32 || !(vdev->vec_ops & BIT(bit)))
		return -EINVAL;
	if (v->pad || v->pad2 || !vitsa_job_tail_zero(uj, sizeof(uj->vec)))
		return -EINVAL;
	for (i = vitsa_vec_traits(v->op).nparams; i < VITSA_VEC_PARAMS; i++)
		if (v->param[i])
			return -EINVAL;
	if (!vitsa_dim_valid(vdev, v->rows) || !vitsa_dim_valid(vdev, v->cols))
		return -EINVAL;
	return 0;
}

static void vitsa_job_vec_desc(const struct vitsa_vec *v, struct vitsa_hw_desc *desc)
{
	desc->opcode = v->op;
	desc->m = v->rows;
	desc->n = v->cols;
	desc->a_stride = v->in0.stride;
	desc->b_stride = v->in1.stride;
	desc->c_stride = v->out.stride;
	memcpy(desc->param, v->param, sizeof(desc->param));
}

/*
 * The operands of a vector job whose descriptor @s->desc is filled in: in0, in1 and out in
 * the places of A, B and C, with the extents the device reads and writes.  -EINVAL when the
 * rows, columns and parameters do not make a shape the op takes.
 */
static int vitsa_job_vec_operands(const struct vitsa_vec *v, struct vitsa_job_spec *s)
{
	static const int place[VITSA_VEC_OPNDS] = {
		[VITSA_VEC_IN0] = VITSA_OPERAND_A, [VITSA_VEC_IN1] = VITSA_OPERAND_B,
		[VITSA_VEC_OUT] = VITSA_OPERAND_C,
	};
	const struct vitsa_mem *mem[VITSA_VEC_OPNDS] = { &v->in0, &v->in1, &v->out };
	struct vitsa_vec_extent e;
	int o;

	if (vitsa_vec_extent(&s->desc, &e) != VITSA_ERR_OK)
		return -EINVAL;
	s->op[VITSA_OPERAND_BIAS] = (struct vitsa_operand_desc){ .mem = &vitsa_mem_none };
	s->op[VITSA_OPERAND_RQ] = (struct vitsa_operand_desc){ .mem = &vitsa_mem_none };
	for (o = 0; o < VITSA_VEC_OPNDS; o++)
		s->op[place[o]] = (struct vitsa_operand_desc){
			.mem = mem[o], .rows = e.rows[o], .row_bytes = e.row_bytes[o],
			.align = e.align[o], .strided = true,
		};
	s->in_place = vitsa_vec_traits(v->op).in_place;
	return 0;
}

/*
 * The fields of one struct vitsa_mem: pad 0, an unused operand all 0, a used one with a handle,
 * a stride of at least one row, offset and stride aligned, and offset + (rows - 1) * stride +
 * row_bytes within u64.  The one check of a range for both kinds of job; vitsa_job_bind()
 * then holds it against the object.
 */
static int vitsa_job_check_mem(struct vitsa_operand_desc *op)
{
	const struct vitsa_mem *mem = op->mem;
	u64 extent;

	if (mem->pad)
		return -EINVAL;
	if (!op->rows)
		return mem->handle || mem->offset || mem->stride ? -EINVAL : 0;
	if (!mem->handle)
		return -EINVAL;
	if (op->strided ? mem->stride < op->row_bytes : mem->stride != 0)
		return -EINVAL;
	/* Objects start on a page: the offset aligns the device address. */
	if (!IS_ALIGNED(mem->offset, op->align) || !IS_ALIGNED(mem->stride, op->align))
		return -EINVAL;
	if (check_mul_overflow(op->rows - 1, mem->stride, &extent) ||
	    check_add_overflow(extent, op->row_bytes, &extent) ||
	    check_add_overflow(mem->offset, extent, &op->end))
		return -EINVAL;
	return 0;
}

void vitsa_job_free(struct vitsa_ring_job *job)
{
	int i;

	for (i = 0; i < VITSA_OPERAND_COUNT; i++)
		if (job->bos[i])
			vitsa_bo_put(job->bos[i]);
	if (job->list)
		vitsa_list_put(job->list);
	if (job->file)
		vitsa_file_put(job->file);
	kfree(job);
	atomic_dec(&vitsa_live[VITSA_LIVE_JOBS]);
}

/* An empty job of @vf, its file referenced; NULL when out of memory. */
static struct vitsa_ring_job *vitsa_job_alloc(struct vitsa_file *vf)
{
	struct vitsa_ring_job *job = kzalloc(sizeof(*job), GFP_KERNEL);

	if (!job)
		return NULL;
	atomic_inc(&vitsa_live[VITSA_LIVE_JOBS]);
	kref_get(&vf->ref);
	job->file = vf;
	return job;
}

/*
 * Look the operands' handles up, check each range against its object, fill the addresses
 * and the direction each range is synced in.
 */
static int vitsa_job_bind(struct vitsa_ring_job *job, struct vitsa_file *vf,
			  const struct vitsa_operand_desc *op, u64 *addr)
{
	int i;

	for (i = 0; i < VITSA_OPERAND_COUNT; i++) {
		if (!op[i].rows)
			continue;
		job->bos[i] = vitsa_bo_lookup(vf, op[i].mem->handle);
		if (!job->bos[i])
			return -ENOENT;
	}
	for (i = 0; i < VITSA_OPERAND_COUNT; i++) {
		if (!op[i].rows)
			continue;
		if (op[i].end > job->bos[i]->size)
			return -EINVAL;
		addr[i] = job->bos[i]->dma + op[i].mem->offset;
		job->offset[i] = op[i].mem->offset;
		job->len[i] = op[i].end - op[i].mem->offset;
		job->dir[i] = i == VITSA_OPERAND_C ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	}
	return 0;
}

/*
 * C shares no byte of its object with an input (A, B, bias, rq), gaps between rows included:
 * the device fails such a descriptor with OVERLAP, so it is refused here, before queuing.
 * An op that works in place (vector ADD) may name an input exactly as C, same offset and
 * stride; C's range is then read by the device as well as written.
 */
static int vitsa_job_check_overlap(struct vitsa_ring_job *job, const struct vitsa_job_spec *s)
{
	const struct vitsa_operand_desc *op = s->op, *c = &op[VITSA_OPERAND_C];
	int i;

	for (i = 0; i < VITSA_OPERAND_COUNT; i++) {
		if (i == VITSA_OPERAND_C || !op[i].rows || job->bos[i] != job->bos[VITSA_OPERAND_C])
			continue;
		if (op[i].mem->offset >= c->end || c->mem->offset >= op[i].end)
			continue;
		if (!s->in_place || op[i].mem->offset != c->mem->offset ||
		    op[i].mem->stride != c->mem->stride)
			return -EINVAL;
		job->dir[VITSA_OPERAND_C] = DMA_BIDIRECTIONAL;
	}
	return 0;
}

/*
 * Build a job from its checked scalar fields @s: a reference on every object it names and on
 * its file, its descriptor with device addresses.  The struct vitsa_mem fields are checked
 * first (-EINVAL), then the handles are looked up (-ENOENT), then the ranges are held against
 * the objects and C against the inputs (-EINVAL).
 */
static struct vitsa_ring_job *vitsa_job_create(struct vitsa_file *vf, struct vitsa_job_spec *s)
{
	u64 addr[VITSA_OPERAND_COUNT] = {};
	struct vitsa_ring_job *job;
	int i, ret;

	for (i = 0; i < VITSA_OPERAND_COUNT; i++) {
		ret = vitsa_job_check_mem(&s->op[i]);
		if (ret)
			return ERR_PTR(ret);
	}

	job = vitsa_job_alloc(vf);
	if (!job)
		return ERR_PTR(-ENOMEM);
	ret = vitsa_job_bind(job, vf, s->op, addr);
	if (ret)
		goto err_free_job;
	ret = vitsa_job_check_overlap(job, s);
	if (ret)
		goto err_free_job;

	job->desc = s->desc;
	job->desc.a_addr = addr[VITSA_OPERAND_A];
	job->desc.b_addr = addr[VITSA_OPERAND_B];
	job->desc.c_addr = addr[VITSA_OPERAND_C];
	job->desc.bias_addr = addr[VITSA_OPERAND_BIAS];
	job->desc.rq_addr = addr[VITSA_OPERAND_RQ];
	return job;

err_free_job:
	vitsa_job_free(job);
	return ERR_PTR(ret);
}

static struct vitsa_ring_job *vitsa_job_create_gemm(struct vitsa_file *vf,
						    const struct vitsa_gemm *g)
{
	struct vitsa_job_spec s = {};
	int ret;

	ret = vitsa_job_check_gemm(vf->vdev, g);
	if (ret)
		return ERR_PTR(ret);
	vitsa_job_operands(g, s.op);
	vitsa_job_gemm_desc(g, &s.desc);
	return vitsa_job_create(vf, &s);
}

static struct vitsa_ring_job *vitsa_job_create_vec(struct vitsa_file *vf,
						   const struct vitsa_job *uj)
{
	struct vitsa_job_spec s = {};
	int ret;

	ret = vitsa_job_check_vec(vf->vdev, uj);
	if (ret)
		return ERR_PTR(ret);
	vitsa_job_vec_desc(&uj->vec, &s.desc);
	ret = vitsa_job_vec_operands(&uj->vec, &s);
	if (ret)
		return ERR_PTR(ret);
	return vitsa_job_create(vf, &s);
}

/**
 * vitsa_job_create_user() - check a GEMM or vector job and build it
 * @vf: the submitting file, whose objects the job names
 * @uj: the job as userspace gave it
 *
 * The checks SUBMIT and LIST_CREATE share; a list run (VITSA_JOB_KIND_LIST) is not one of
 * the kinds here.
 *
 * Return: the job, to be queued or freed with vitsa_job_free(); -EINVAL, -ENOENT, -ENOMEM.
 */
struct vitsa_ring_job *vitsa_job_create_user(struct vitsa_file *vf, const struct vitsa_job *uj)
{
	if (uj->pad)
		return ERR_PTR(-EINVAL);
	switch (uj->kind) {
	case VITSA_JOB_KIND_GEMM:
		return vitsa_job_create_gemm(vf, &uj->gemm);
	case VITSA_JOB_KIND_VEC:
		return vitsa_job_create_vec(vf, uj);
	default:
		return ERR_PTR(-EINVAL);
	}
}

/*
 * A run of a list of @vf: one ring entry of opcode LIST naming the list's descriptors, with
 * a reference on the list.  -EINVAL on a device without lists or for a non-zero pad or union
 * tail, -ENOENT for an unknown handle.
 */
static struct vitsa_ring_job *vitsa_job_create_list(struct vitsa_file *vf,
						    const struct vitsa_job *uj)
{
	struct vitsa_ring_job *job;
	struct vitsa_list *list;

	if (!vitsa_list_max(vf->vdev) || uj->pad || uj->list.pad ||
	    !vitsa_job_tail_zero(uj, sizeof(uj->list)))
		return ERR_PTR(-EINVAL);
	list = vitsa_list_lookup(vf, uj->list.handle);
	if (!list)
		return ERR_PTR(-ENOENT);
	job = vitsa_job_alloc(vf);
	if (!job) {
		vitsa_list_put(list);
		return ERR_PTR(-ENOMEM);
	}
	job->list = list;
	job->desc.opcode = VITSA_OP_LIST;
	job->desc.m = list->count;
	job->desc.a_addr = list->descs->dma;
	return job;
}

/* Entry @i of SUBMIT's array: a struct vitsa_gemm, or with VITSA_SUBMIT_JOBS a vitsa_job. */
static struct vitsa_ring_job *vitsa_job_create_entry(struct vitsa_file *vf, const void *entries,
						     u32 i, bool kinds)
{
	const struct vitsa_job *uj;

	if (!kinds)
		return vitsa_job_create_gemm(vf, (const struct vitsa_gemm *)entries + i);
	uj = (const struct vitsa_job *)entries + i;
	if (uj->kind == VITSA_JOB_KIND_LIST)
		return vitsa_job_create_list(vf, uj);
	return vitsa_job_create_user(vf, uj);
}

/* The device's writes, C's range (a list's: every job's), back to the CPU. */
static void vitsa_job_sync_for_cpu(struct vitsa_device *vdev, struct vitsa_ring_job *job)
{
	int i;

	for (i = 0; i < VITSA_OPERAND_COUNT; i++)
		if (job->bos[i] && job->dir[i] != DMA_TO_DEVICE)
			vitsa_bo_sync_for_cpu(vdev, job->bos[i], job->offset[i], job->len[i],
					      job->dir[i]);
	if (job->list)
		vitsa_list_sync_for_cpu(vdev, job->list);
}

/**
 * vitsa_job_done() - a job has left the ring: record its status and wake its waiters
 * @job: the job; freed here, or kept on its file's error list when it failed
 * @status: VITSA_JOB_*
 * @cpl: its completion record, NULL when the device did not complete it
 *
 * Called with the device's ring_lock held, in ring order.
 */
void vitsa_job_done(struct vitsa_ring_job *job, u32 status, const struct vitsa_hw_cpl *cpl)
{
	struct vitsa_file *vf = job->file;
	struct vitsa_device *vdev = vf->vdev;
	struct vitsa_stats *st = &vdev->stats;
	bool failed = status != VITSA_JOB_OK;
	struct vitsa_job_times times = {
		.fence = job->fence, .queued_ns = job->queued_ns,
		.started_ns = max(job->queued_ns, vdev->last_done_ns), .done_ns = ktime_get_ns(),
	};
	int i;

	lockdep_assert_held(&vdev->ring_lock);
	vdev->last_done_ns = times.done_ns;
	st->jobs_completed += !failed;
	st->jobs_failed += failed;

	/* Still bound: removal retires every job before it unmaps the objects. */
	vitsa_job_sync_for_cpu(vf->vdev, job);
	for (i = 0; i < VITSA_OPERAND_COUNT; i++) {
		if (job->bos[i])
			vitsa_bo_put(job->bos[i]);
		job->bos[i] = NULL;
	}
	if (job->list)
		vitsa_list_put(job->list);
	job->list = NULL;
	job->file = NULL;
	job->status = status;

	spin_lock(&vf->lock);
	WARN_ON_ONCE(job->fence <= vf->retired);
	vf->retired = job->fence;
	vf->times[job->fence % VITSA_JOB_TIMES_KEPT] = times;
	vf->jobs_failed += failed;
	if (cpl) {
		vf->macs += cpl->macs;
		vf->busy_cycles += cpl->cycles;
	}
	if (failed)
		list_add_tail(&job->node, &vf->errors);
	spin_unlock(&vf->lock);
	wake_up_all(&vf->wq);

	if (!failed)
		vitsa_job_free(job);
	vitsa_file_put(vf);
}

/* Jobs of @vf up to @fence all retired. */
static bool vitsa_file_retired(struct vitsa_file *vf, u64 fence)
{
	bool retired;

	spin_lock(&vf->lock);
	retired = vf->retired >= fence;
	spin_unlock(&vf->lock);
	return retired;
}

static bool vitsa_ring_ready(struct vitsa_device *vdev)
{
	return vitsa_hw_ring_space(vdev) || READ_ONCE(vdev->gone) || READ_ONCE(vdev->dead);
}

/*
 * The job's operands (a list's descriptors and every operand of its jobs) to the device:
 * after the gone check, so never on unmapped objects.
 */
static void vitsa_job_sync_for_device(struct vitsa_device *vdev, struct vitsa_ring_job *job)
{
	int i;

	for (i = 0; i < VITSA_OPERAND_COUNT; i++)
		if (job->bos[i])
			vitsa_bo_sync_for_device(vdev, job->bos[i], job->offset[i], job->len[i],
						 job->dir[i]);
	if (job->list)
		vitsa_list_sync_for_device(vdev, job->list);
}

/*
 * Give the leading jobs fences and put them in the ring, as many as fit (with @all: all of
 * them or, -EAGAIN, none); returns how many.
 */
static int vitsa_jobs_push(struct vitsa_device *vdev, struct vitsa_ring_job **jobs, u32 count,
			   bool all, u64 *fence)
{
	u32 i, n;

	guard(mutex)(&vdev->ring_lock);
	if (vdev->gone)
		return -ENODEV;
	if (vdev->dead)
		return -EIO;

	n = min(count, vitsa_hw_ring_space(vdev));
	if (all && n < count)
		return -EAGAIN;
	vdev->stats.jobs_submitted += n;
	for (i = 0; i < n; i++) {
		struct vitsa_file *vf = jobs[i]->file;

		vitsa_job_sync_for_device(vdev, jobs[i]);
		spin_lock(&vf->lock);
		jobs[i]->fence = ++vf->submitted;
		spin_unlock(&vf->lock);
		*fence = jobs[i]->fence;
		jobs[i]->queued_ns = ktime_get_ns();
		vitsa_hw_ring_put(vdev, jobs[i]);
	}
	if (n)
		vitsa_hw_ring_kick(vdev);
	return n;
}

/*
 * Queue all jobs in order, waiting for ring space; @queued counts those in the ring.  Until
 * the first job is queued any signal cancels the submission; after that only a fatal one stops
 * it, leaving the rest unqueued (the submitter is dying).
 */
static int vitsa_jobs_queue_locked(struct vitsa_device *vdev, struct vitsa_ring_job **jobs,
				   u32 count, u64 *fence, u32 *queued)
{
	int ret;

	lockdep_assert_held(&vdev->submit_lock);
	while (*queued < count) {
		if (!*queued) {
			ret = wait_event_interruptible(vdev->space_wq, vitsa_ring_ready(vdev));
			if (ret)
				return ret;
		} else if (wait_event_killable(vdev->space_wq, vitsa_ring_ready(vdev))) {
			return -EINTR;
		}
		ret = vitsa_jobs_push(vdev, jobs + *queued, count - *queued, false, fence);
		if (ret < 0)
			return ret;
		*queued += ret;
	}
	return 0;
}

/*
 * Queue the jobs, one submitter at a time; the jobs that were not queued are freed here.
 * Without waiting (@nonblock), all jobs go in at once or none does.
 */
static int vitsa_jobs_queue(struct vitsa_device *vdev, struct vitsa_ring_job **jobs, u32 count,
			    bool nonblock, u64 *fence)
{
	u32 queued = 0;
	int ret;

	if (nonblock) {
		ret = -EAGAIN;
		if (mutex_trylock(&vdev->submit_lock)) {
			ret = vitsa_jobs_push(vdev, jobs, count, true, fence);
			mutex_unlock(&vdev->submit_lock);
		}
		if (ret > 0)
			queued = ret;
		ret = min(ret, 0);
	} else if (mutex_lock_interruptible(&vdev->submit_lock)) {
		/* Nothing is queued yet: a signal may restart the whole call. */
		ret = -ERESTARTSYS;
	} else {
		ret = vitsa_jobs_queue_locked(vdev, jobs, count, fence, &queued);
		mutex_unlock(&vdev->submit_lock);
	}
	while (queued < count)
		vitsa_job_free(jobs[queued++]);
	return ret;
}

int vitsa_submit_ioctl(struct vitsa_file *vf, void *data)
{
	struct vitsa_submit *args = data;
	bool nonblock = args->flags & VITSA_SUBMIT_NONBLOCK;
	bool kinds = args->flags & VITSA_SUBMIT_JOBS;
	size_t size = kinds ? sizeof(struct vitsa_job) : sizeof(struct vitsa_gemm);
	struct vitsa_ring_job **jobs;
	void *entries;
	u32 i;
	int ret;

	if (args->flags & ~VITSA_SUBMIT_FLAGS || !args->count ||
	    args->count > (nonblock ? VITSA_NONBLOCK_MAX_JOBS : VITSA_SUBMIT_MAX_JOBS))
		return -EINVAL;

	entries = vmemdup_user(u64_to_user_ptr(args->jobs), array_size(args->count, size));
	if (IS_ERR(entries))
		return PTR_ERR(entries);
	jobs = kvcalloc(args->count, sizeof(*jobs), GFP_KERNEL);
	if (!jobs) {
		ret = -ENOMEM;
		goto out_free_entries;
	}

	for (i = 0; i < args->count; i++) {
		jobs[i] = vitsa_job_create_entry(vf, entries, i, kinds);
		if (IS_ERR(jobs[i])) {
			ret = PTR_ERR(jobs[i]);
			goto out_free_jobs;
		}
	}
	ret = vitsa_jobs_queue(vf->vdev, jobs, args->count, nonblock, &args->fence);
	goto out_free_array;

out_free_jobs:
	while (i--)
		vitsa_job_free(jobs[i]);
out_free_array:
	kvfree(jobs);
out_free_entries:
	kvfree(entries);
	return ret;
}

/*
 * Wait until the jobs up to @fence retired: 0, -ETIMEDOUT or -EINTR (never restarted).  An
 * hrtimer, not jiffies: a timed-out WAIT has waited at least @timeout_ns, never a tick less.
 */
static int vitsa_wait_retired(struct vitsa_file *vf, u64 fence, u64 timeout_ns)
{
	int ret;

	if (vitsa_file_retired(vf, fence))
		return 0;
	if (!timeout_ns)
		return -ETIMEDOUT;

	if (timeout_ns >= KTIME_MAX)
		ret = wait_event_interruptible(vf->wq, vitsa_file_retired(vf, fence));
	else
		ret = wait_event_interruptible_hrtimeout(vf->wq, vitsa_file_retired(vf, fence),
							 ns_to_ktime(timeout_ns));
	if (ret == -ETIME)
		return -ETIMEDOUT;
	return ret ? -EINTR : 0;
}

/* Hand out the oldest failure not reported yet, if its fence is at most @args->fence. */
static void vitsa_wait_report_error(struct vitsa_file *vf, struct vitsa_wait *args)
{
	struct vitsa_ring_job *job;

	spin_lock(&vf->lock);
	job = list_first_entry_or_null(&vf->errors, struct vitsa_ring_job, node);
	if (job && job->fence <= args->fence)
		list_del(&job->node);
	else
		job = NULL;
	spin_unlock(&vf->lock);

	args->error_fence = job ? job->fence : 0;
	args->error = job ? job->status : VITSA_JOB_OK;
	if (job)
		vitsa_job_free(job);
}

int vitsa_wait_ioctl(struct vitsa_file *vf, void *data)
{
	struct vitsa_wait *args = data;
	u64 submitted;
	int ret;

	if (args->flags)
		return -EINVAL;

	spin_lock(&vf->lock);
	submitted = vf->submitted;
	spin_unlock(&vf->lock);
	if (!args->fence || args->fence > submitted)
		return -EINVAL;

	ret = vitsa_wait_retired(vf, args->fence, args->timeout_ns);
	if (ret)
		return ret;
	vitsa_wait_report_error(vf, args);
	return 0;
}

/* Times of a retired job of @vf: -EAGAIN before it retires, -ENOENT once it is too old. */
int vitsa_job_times_ioctl(struct vitsa_file *vf, void *data)
{
	struct vitsa_job_times *args = data;
	const struct vitsa_job_times *t;
	int ret = 0;

	if (args->flags || args->pad)
		return -EINVAL;
	spin_lock(&vf->lock);
	t = &vf->times[args->fence % VITSA_JOB_TIMES_KEPT];
	if (!args->fence || args->fence > vf->submitted)
		ret = -EINVAL;
	else if (args->fence > vf->retired)
		ret = -EAGAIN;
	else if (t->fence != args->fence)
		ret = -ENOENT;
	else
		*args = *t;
	spin_unlock(&vf->lock);
	return ret;
}
