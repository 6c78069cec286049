// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: job lists (uapi 1.3, hardware VITSA_CAP_LIST).
 *
 * LIST_CREATE checks jobs exactly as SUBMIT does (vitsa_job_create_user()), every one before
 * anything is kept, and keeps them as the device's descriptors (seq 0) in an object of their
 * own: no handle, mapped DMA_TO_DEVICE, charged to the creator's budget like any object.  The
 * list holds a reference on every object its jobs name.  A SUBMIT entry of kind LIST is then
 * one ring entry of opcode LIST pointing at those descriptors (vitsa_job.c), with one fence;
 * its run holds the list, and the syncs a job's operands get at push and retire are done for
 * every operand range of the list's jobs.  LIST_DESTROY drops the handle only: the memory
 * and the objects go when the last queued run has retired.
 */

#include <linux/dma-mapping.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vitsa_drv.h"

/* VITSA_PARAM_LIST_MAX: the most jobs in a list, 0 when the device runs no lists. */
u32 vitsa_list_max(const struct vitsa_device *vdev)
{
	return vdev->caps & VITSA_CAP_LIST ? VITSA_LIST_MAX_ENTRIES : 0;
}

static void vitsa_list_release(struct kref *ref)
{
	struct vitsa_list *list = container_of(ref, struct vitsa_list, ref);
	u32 i;

	for (i = 0; i < list->nranges; i++)
		vitsa_bo_put(list->ranges[i].bo);
	if (list->descs)
		vitsa_bo_put(list->descs);
	kvfree(list);
}

void vitsa_list_put(struct vitsa_list *list)
{
	kref_put(&list->ref, vitsa_list_release);
}

/**
 * vitsa_list_lookup() - find a list handle of this file and take a reference on the list
 * @vf: the open file
 * @handle: the handle; 0 is never valid
 *
 * Return: the list, to be released with vitsa_list_put(), or NULL for an unknown handle.
 */
struct vitsa_list *vitsa_list_lookup(struct vitsa_file *vf, u32 handle)
{
	struct vitsa_list *list;

	xa_lock(&vf->lists);
	list = xa_load(&vf->lists, handle);
	if (list)
		kref_get(&list->ref);
	xa_unlock(&vf->lists);
	return list;
}

/* Check and build every job of @entries into @jobs; on error none is kept. */
static int vitsa_list_check(struct vitsa_file *vf, const struct vitsa_job *entries, u32 count,
			    struct vitsa_ring_job **jobs)
{
	u32 i;
	int ret;

	for (i = 0; i < count; i++) {
		jobs[i] = vitsa_job_create_user(vf, &entries[i]);
		if (IS_ERR(jobs[i])) {
			ret = PTR_ERR(jobs[i]);
			goto err_free_jobs;
		}
	}
	return 0;

err_free_jobs:
	while (i--)
		vitsa_job_free(jobs[i]);
	return ret;
}

/* Operands the jobs use: the ranges a list of them keeps. */
static u32 vitsa_list_count_ranges(struct vitsa_ring_job **jobs, u32 count)
{
	u32 i, n = 0;
	int o;

	for (i = 0; i < count; i++)
		for (o = 0; o < VITSA_OPERAND_COUNT; o++)
			n += !!jobs[i]->bos[o];
	return n;
}

/* Move the descriptor and the object references of @job into @list, as entry @i. */
static void vitsa_list_take_job(struct vitsa_list *list, u32 i, struct vitsa_ring_job *job)
{
	struct vitsa_hw_desc *descs = list->descs->vaddr;
	int o;

	descs[i] = job->desc;
	for (o = 0; o < VITSA_OPERAND_COUNT; o++) {
		if (!job->bos[o])
			continue;
		list->ranges[list->nranges++] = (struct vitsa_range){
			.bo = job->bos[o], .offset = job->offset[o], .len = job->len[o],
			.dir = job->dir[o],
		};
		job->bos[o] = NULL;
	}
}

/*
 * A list of the checked @jobs, which lose their object references to it (the caller frees
 * them either way).  -EDQUOT when its descriptors do not fit the file's budget, -ENODEV once
 * the device is gone, -ENOMEM.
 */
static struct vitsa_list *vitsa_list_build(struct vitsa_file *vf, struct vitsa_ring_job **jobs,
					   u32 count)
{
	u32 nranges = vitsa_list_count_ranges(jobs, count), i;
	size_t size = PAGE_ALIGN(count * sizeof(struct vitsa_hw_desc));
	struct vitsa_list *list;
	struct vitsa_bo *descs;

	static_assert(VITSA_LIST_ALIGN <= PAGE_SIZE);	/* objects start on a page */
	list = kvzalloc(struct_size(list, ranges, nranges), GFP_KERNEL_ACCOUNT);
	if (!list)
		return ERR_PTR(-ENOMEM);
	descs = vitsa_bo_alloc(vf, size, DMA_TO_DEVICE);
	if (IS_ERR(descs)) {
		kvfree(list);
		return ERR_CAST(descs);
	}
	kref_init(&list->ref);
	list->descs = descs;
	list->count = count;
	for (i = 0; i < count; i++)
		vitsa_list_take_job(list, i, jobs[i]);
	list->need_sync = vitsa_bo_need_sync(vf->vdev, descs);
	for (i = 0; i < list->nranges && !list->need_sync; i++)
		list->need_sync = vitsa_bo_need_sync(vf->vdev, list->ranges[i].bo);
	return list;
}

/* The checked list of @count jobs from userspace's @entries. */
static struct vitsa_list *vitsa_list_new(struct vitsa_file *vf, const struct vitsa_job *entries,
					 u32 count)
{
	struct vitsa_ring_job **jobs;
	struct vitsa_list *list;
	u32 i;
	int ret;

	jobs = kvcalloc(count, sizeof(*jobs), GFP_KERNEL);
	if (!jobs)
		return ERR_PTR(-ENOMEM);
	ret = vitsa_list_check(vf, entries, count, jobs);
	if (ret) {
		list = ERR_PTR(ret);
		goto out_free_array;
	}
	list = vitsa_list_build(vf, jobs, count);
	for (i = 0; i < count; i++)
		vitsa_job_free(jobs[i]);
out_free_array:
	kvfree(jobs);
	return list;
}

int vitsa_list_create_ioctl(struct vitsa_file *vf, void *data)
{
	struct vitsa_list_create *args = data;
	struct vitsa_job *entries;
	struct vitsa_list *list;
	u32 handle;
	int ret;

	if (args->flags || args->pad || !args->count || args->count > vitsa_list_max(vf->vdev))
		return -EINVAL;

	entries = vmemdup_user(u64_to_user_ptr(args->jobs),
			       array_size(args->count, sizeof(*entries)));
	if (IS_ERR(entries))
		return PTR_ERR(entries);
	list = vitsa_list_new(vf, entries, args->count);
	kvfree(entries);
	if (IS_ERR(list))
		return PTR_ERR(list);

	/* The handle's reference; other threads may run the list from here on. */
	ret = xa_alloc(&vf->lists, &handle, list, XA_LIMIT(1, VITSA_FILE_MAX_LISTS), GFP_KERNEL);
	if (ret) {
		vitsa_list_put(list);
		return ret == -EBUSY ? -ENOSPC : ret;
	}
	args->handle = handle;
	return 0;
}

int vitsa_list_destroy_ioctl(struct vitsa_file *vf, void *data)
{
	struct vitsa_list_destroy *args = data;
	struct vitsa_list *list;

	if (args->pad)
		return -EINVAL;
	/* Erasing index 0 would make it free in an XA_FLAGS_ALLOC1 array: a later handle 0. */
	if (!args->handle)
		return -ENOENT;

	list = xa_erase(&vf->lists, args->handle);
	if (!list)
		return -ENOENT;
	vitsa_list_put(list);
	return 0;
}

/* Drop every list handle of a file that is being closed. */
void vitsa_list_release_all(struct vitsa_file *vf)
{
	struct vitsa_list *list;
	unsigned long handle;

	xa_for_each(&vf->lists, handle, list) {
		xa_erase(&vf->lists, handle);
		vitsa_list_put(list);
	}
}

/**
 * vitsa_list_sync_for_device() - hand a list's memory to the device before a run
 * @vdev: the device, still bound (the caller checked gone under ring_lock)
 * @list: the list
 *
 * Its descriptors, then every operand range of its jobs, as vitsa_bo_sync_for_device() does
 * for a single job's; nothing when none of its memory needs syncs (a run of thousands of
 * ranges would otherwise pay a call for each that does nothing).
 */
void vitsa_list_sync_for_device(struct vitsa_device *vdev, struct vitsa_list *list)
{
	const struct vitsa_range *r;

	if (!list->need_sync)
		return;
	vitsa_bo_sync_for_device(vdev, list->descs, 0, list->count * sizeof(struct vitsa_hw_desc),
				 DMA_TO_DEVICE);
	for (r = list->ranges; r < list->ranges + list->nranges; r++)
		vitsa_bo_sync_for_device(vdev, r->bo, r->offset, r->len, r->dir);
}

/* After a run: every range the list's jobs write back to the CPU. */
void vitsa_list_sync_for_cpu(struct vitsa_device *vdev, struct vitsa_list *list)
{
	const struct vitsa_range *r;

	if (!list->need_sync)
		return;
	for (r = list->ranges; r < list->ranges + list->nranges; r++)
		if (r->dir != DMA_TO_DEVICE)
			vitsa_bo_sync_for_cpu(vdev, r->bo, r->offset, r->len, r->dir);
}
