// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: buffer objects.
 *
 * A buffer object is one physically contiguous, zero-filled run of whole pages, mapped for
 * the device (streaming DMA, both directions) while the device is bound.  Userspace names it
 * by a handle that is valid only in the open file that created it, and maps it with mmap(2)
 * at the offset handle << PAGE_SHIFT of that same file.  Handles, mappings and queued jobs
 * each hold a reference; the pages go with the last one.
 *
 * The pages are the kernel's, not the device's: removal takes the device's mapping away
 * (vitsa_bo_unmap_all()) while the device still exists, and the pages, with what userspace
 * wrote into them, live on in its mappings.  They are charged to the creator's memory cgroup
 * and to its file's budget (module parameter file_bo_mb) until they are freed.
 *
 * A job list's descriptors are an object too, without a handle, that the device may only
 * read (mapped DMA_TO_DEVICE): the same allocation, budget and removal as userspace's.
 */

#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "vitsa_drv.h"

static unsigned int file_bo_mb = 1024;
module_param(file_bo_mb, uint, 0644);
MODULE_PARM_DESC(file_bo_mb,
		 "Buffer-object memory one open file may hold, in MiB (default 1024); BO_CREATE "
		 "past it fails with EDQUOT");

/* Charge @size to @vf's budget; false when it would go past file_bo_mb. */
static bool vitsa_bo_charge(struct vitsa_file *vf, size_t size)
{
	u64 limit = (u64)READ_ONCE(file_bo_mb) << 20;

	lockdep_assert_held(&vf->vdev->bo_lock);
	if (size > limit || vf->bo_bytes > limit - size)
		return false;
	vf->bo_bytes += size;
	return true;
}

/* Give @size bytes of @vf's budget back: a failed creation or a freed object. */
static void vitsa_bo_uncharge(struct vitsa_file *vf, size_t size)
{
	guard(mutex)(&vf->vdev->bo_lock);
	vf->bo_bytes -= size;
}

/*
 * Map @bo for the device and list it, unless removal has unmapped the objects already (it
 * holds bo_lock while it does): -ENODEV then, or -ENOMEM when the mapping fails.
 */
static int vitsa_bo_map(struct vitsa_device *vdev, struct vitsa_bo *bo)
{
	struct device *dev = &vdev->pdev->dev;

	guard(mutex)(&vdev->bo_lock);
	if (vdev->bos_unmapped)
		return -ENODEV;
	bo->dma = dma_map_single(dev, bo->vaddr, bo->size, bo->dir);
	if (dma_mapping_error(dev, bo->dma))
		return -ENOMEM;
	list_add_tail(&bo->node, &vdev->bos);
	return 0;
}

/**
 * vitsa_bo_alloc() - a new object, zero-filled, mapped for the device, charged, listed
 * @vf: the file it is charged to
 * @size: bytes, a multiple of PAGE_SIZE
 * @dir: the mapping's direction: DMA_BIDIRECTIONAL for userspace's objects, DMA_TO_DEVICE
 *	 for memory the device only reads
 *
 * The budget is taken first, so a refused creation costs no memory.  The pages are charged
 * to the caller's memory cgroup (the node is open to any user who can open it);
 * __GFP_RETRY_MAYFAIL makes a cgroup at its limit fail the allocation rather than invoke its
 * OOM killer.
 *
 * Return: the object with one reference, or -EDQUOT past file_bo_mb, -ENODEV once the device
 * is gone, -ENOMEM.
 */
struct vitsa_bo *vitsa_bo_alloc(struct vitsa_file *vf, size_t size, enum dma_data_direction dir)
{
	struct vitsa_device *vdev = vf->vdev;
	struct vitsa_bo *bo;
	int ret;

	scoped_guard(mutex, &vdev->bo_lock) {
		if (vdev->bos_unmapped)
			return ERR_PTR(-ENODEV);
		if (!vitsa_bo_charge(vf, size))
			return ERR_PTR(-EDQUOT);
	}
	ret = -ENOMEM;
	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		goto err_uncharge;
	bo->vaddr = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT |
				      __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!bo->vaddr)
		goto err_free_bo;
	bo->size = size;
	bo->dir = dir;
	ret = vitsa_bo_map(vdev, bo);
	if (ret)
		goto err_free_pages;

	kref_get(&vf->ref);
	bo->owner = vf;
	kref_init(&bo->ref);
	atomic_inc(&vitsa_live[VITSA_LIVE_BOS]);
	return bo;

err_free_pages:
	free_pages_exact(bo->vaddr, size);
err_free_bo:
	kfree(bo);
err_uncharge:
	vitsa_bo_uncharge(vf, size);
	return ERR_PTR(ret);
}

static void vitsa_bo_release(struct kref *ref)
{
	struct vitsa_bo *bo = container_of(ref, struct vitsa_bo, ref);
	struct vitsa_file *vf = bo->owner;
	struct vitsa_device *vdev = vf->vdev;

	scoped_guard(mutex, &vdev->bo_lock) {
		if (!vdev->bos_unmapped)
			dma_unmap_single(&vdev->pdev->dev, bo->dma, bo->size, bo->dir);
		list_del(&bo->node);
		vf->bo_bytes -= bo->size;
	}
	free_pages_exact(bo->vaddr, bo->size);
	kfree(bo);
	atomic_dec(&vitsa_live[VITSA_LIVE_BOS]);
	vitsa_file_put(vf);
}

void vitsa_bo_put(struct vitsa_bo *bo)
{
	kref_put(&bo->ref, vitsa_bo_release);
}

/**
 * vitsa_bo_lookup() - find a handle of this file and take a reference on its object
 * @vf: the open file
 * @handle: the handle; 0 is never valid
 *
 * Return: the object, to be released with vitsa_bo_put(), or NULL for an unknown handle.
 */
struct vitsa_bo *vitsa_bo_lookup(struct vitsa_file *vf, u32 handle)
{
	struct vitsa_bo *bo;

	xa_lock(&vf->bos);
	bo = xa_load(&vf->bos, handle);
	if (bo)
		kref_get(&bo->ref);
	xa_unlock(&vf->bos);
	return bo;
}

int vitsa_bo_create_ioctl(struct vitsa_file *vf, void *data)
{
	struct vitsa_bo_create *args = data;
	struct vitsa_bo *bo;
	size_t size;
	u32 handle;
	int ret;

	if (args->flags || !args->size || args->size > VITSA_BO_MAX_SIZE)
		return -EINVAL;
	size = PAGE_ALIGN(args->size);

	bo = vitsa_bo_alloc(vf, size, DMA_BIDIRECTIONAL);
	if (IS_ERR(bo))
		return PTR_ERR(bo);

	/* The handle's reference; the object is visible to other threads from here on. */
	ret = xa_alloc(&vf->bos, &handle, bo, xa_limit_31b, GFP_KERNEL);
	if (ret) {
		vitsa_bo_put(bo);
		return ret == -EBUSY ? -ENOSPC : ret;
	}

	args->size = size;
	args->handle = handle;
	args->mmap_offset = (u64)handle << PAGE_SHIFT;
	return 0;
}

int vitsa_bo_destroy_ioctl(struct vitsa_file *vf, void *data)
{
	struct vitsa_bo_destroy *args = data;
	struct vitsa_bo *bo;

	if (args->pad)
		return -EINVAL;
	/* Erasing index 0 would make it free in an XA_FLAGS_ALLOC1 array: a later handle 0. */
	if (!args->handle)
		return -ENOENT;

	bo = xa_erase(&vf->bos, args->handle);
	if (!bo)
		return -ENOENT;
	vitsa_bo_put(bo);
	return 0;
}

/* Drop every handle of a file that is being closed. */
void vitsa_bo_release_all(struct vitsa_file *vf)
{
	struct vitsa_bo *bo;
	unsigned long handle;

	xa_for_each(&vf->bos, handle, bo) {
		xa_erase(&vf->bos, handle);
		vitsa_bo_put(bo);
	}
}

/* A mapping holds a reference; a split or a fork copies the mapping and takes another. */
static void vitsa_bo_vm_open(struct vm_area_struct *vma)
{
	struct vitsa_bo *bo = vma->vm_private_data;

	kref_get(&bo->ref);
}

static void vitsa_bo_vm_close(struct vm_area_struct *vma)
{
	vitsa_bo_put(vma->vm_private_data);
}

static const struct vm_operations_struct vitsa_bo_vm_ops = {
	.open = vitsa_bo_vm_open,
	.close = vitsa_bo_vm_close,
};

/**
 * vitsa_bo_mmap() - map a buffer object of this file
 * @vf: the open file
 * @vma: the mapping; its page offset is the object's handle
 *
 * Only shared mappings from the start of the object, no longer than the object, are allowed.
 *
 * Return: 0, or -EINVAL for a private mapping, an offset that names no object of this file or
 * a length past the object's end.
 */
int vitsa_bo_mmap(struct vitsa_file *vf, struct vm_area_struct *vma)
{
	struct vitsa_bo *bo;
	int ret;

	if (!(vma->vm_flags & VM_MAYSHARE) || vma->vm_pgoff > U32_MAX)
		return -EINVAL;

	bo = vitsa_bo_lookup(vf, vma->vm_pgoff);
	if (!bo)
		return -EINVAL;
	if (vma_pages(vma) > bo->size >> PAGE_SHIFT) {
		ret = -EINVAL;
		goto err_put_bo;
	}

	/* The pages are ordinary memory (cached, like the kernel's view), contiguous. */
	vma->vm_pgoff = 0;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	ret = remap_pfn_range(vma, vma->vm_start, page_to_pfn(virt_to_page(bo->vaddr)),
			      vma->vm_end - vma->vm_start, vma->vm_page_prot);
	if (ret)
		goto err_put_bo;

	vma->vm_private_data = bo;
	vma->vm_ops = &vitsa_bo_vm_ops;
	return 0;

err_put_bo:
	vitsa_bo_put(bo);
	return ret;
}

/**
 * vitsa_bo_unmap_all() - on removal: take every object's pages away from the device
 * @vdev: the device, quiet (vitsa_hw_fini() has run), still bound
 *
 * The DMA mappings go while the device they belong to still exists (with an IOMMU, its
 * domain); the pages stay with their handles and mappings.  Objects created afterwards are
 * refused.
 */
void vitsa_bo_unmap_all(struct vitsa_device *vdev)
{
	struct vitsa_bo *bo;

	guard(mutex)(&vdev->bo_lock);
	list_for_each_entry(bo, &vdev->bos, node)
		dma_unmap_single(&vdev->pdev->dev, bo->dma, bo->size, bo->dir);
	vdev->bos_unmapped = true;
}

/* Whether syncs of @bo do anything: false for coherent memory that needs no bounce buffer. */
bool vitsa_bo_need_sync(struct vitsa_device *vdev, const struct vitsa_bo *bo)
{
	return dma_need_sync(&vdev->pdev->dev, bo->dma);
}

/**
 * vitsa_bo_sync_for_device() - hand a range of an object to the device before a job runs
 * @vdev: the device, still bound (the caller checked gone under ring_lock)
 * @bo: the object
 * @offset: the first byte of the operand
 * @len: its extent
 * @dir: DMA_TO_DEVICE for an input, DMA_FROM_DEVICE for the result
 *
 * A no-op where DMA is coherent and direct (x86); where it bounces, an input's bytes go to the
 * bounce buffer, and only the job's own ranges are touched, so jobs in flight on other ranges
 * of the object are not overwritten.  vitsa_bo_sync_for_cpu() brings a result back.
 */
void vitsa_bo_sync_for_device(struct vitsa_device *vdev, struct vitsa_bo *bo, u64 offset,
			      u64 len, enum dma_data_direction dir)
{
	dma_sync_single_range_for_device(&vdev->pdev->dev, bo->dma, offset, len, dir);
}

void vitsa_bo_sync_for_cpu(struct vitsa_device *vdev, struct vitsa_bo *bo, u64 offset,
			   u64 len, enum dma_data_direction dir)
{
	dma_sync_single_range_for_cpu(&vdev->pdev->dev, bo->dma, offset, len, dir);
}
