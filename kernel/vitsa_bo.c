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

/*
 * A new object of @size bytes for @vf, mapped for the device, charged to @vf and listed on
 * the device.  -ENODEV once the device is gone (checked under bo_lock, which removal holds
 * while it unmaps every object), -EDQUOT past the file's budget, -ENOMEM.
 */
static struct vitsa_bo *vitsa_bo_alloc(struct vitsa_file *vf, size_t size)
{
	struct vitsa_device *vdev = vf->vdev;
	struct device *dev = &vdev->pdev->dev;
	struct vitsa_bo *bo;
	int ret;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return ERR_PTR(-ENOMEM);
	/* Charged to the caller's memory cgroup: the node is open to any user who can open it. */
	bo->vaddr = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT |
				      __GFP_NOWARN);
	if (!bo->vaddr) {
		ret = -ENOMEM;
		goto err_free_bo;
	}
	bo->size = size;

	mutex_lock(&vdev->bo_lock);
	ret = -ENODEV;
	if (vdev->bos_unmapped)
		goto err_unlock;
	ret = -EDQUOT;
	if (!vitsa_bo_charge(vf, size))
		goto err_unlock;
	bo->dma = dma_map_single(dev, bo->vaddr, size, DMA_BIDIRECTIONAL);
	ret = dma_mapping_error(dev, bo->dma);
	if (ret) {
		vf->bo_bytes -= size;
		goto err_unlock;
	}
	list_add_tail(&bo->node, &vdev->bos);
	mutex_unlock(&vdev->bo_lock);

	kref_get(&vf->ref);
	bo->owner = vf;
	kref_init(&bo->ref);
	atomic_inc(&vitsa_live[VITSA_LIVE_BOS]);
	return bo;

err_unlock:
	mutex_unlock(&vdev->bo_lock);
	free_pages_exact(bo->vaddr, size);
err_free_bo:
	kfree(bo);
	return ERR_PTR(ret);
}

static void vitsa_bo_release(struct kref *ref)
{
	struct vitsa_bo *bo = container_of(ref, struct vitsa_bo, ref);
	struct vitsa_file *vf = bo->owner;
	struct vitsa_device *vdev = vf->vdev;

	scoped_guard(mutex, &vdev->bo_lock) {
		if (!vdev->bos_unmapped)
			dma_unmap_single(&vdev->pdev->dev, bo->dma, bo->size, DMA_BIDIRECTIONAL);
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

	bo = vitsa_bo_alloc(vf, size);
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
		dma_unmap_single(&vdev->pdev->dev, bo->dma, bo->size, DMA_BIDIRECTIONAL);
	vdev->bos_unmapped = true;
}

/**
 * vitsa_bo_sync_for_device() - hand an object to the device before a job that names it runs
 * @vdev: the device
 * @bo: the object
 *
 * A no-op where DMA is coherent (x86); on a platform that bounces or cleans caches it moves
 * the CPU's writes to where the device reads them.  vitsa_bo_sync_for_cpu() is the way back.
 */
void vitsa_bo_sync_for_device(struct vitsa_device *vdev, struct vitsa_bo *bo)
{
	dma_sync_single_for_device(&vdev->pdev->dev, bo->dma, bo->size, DMA_BIDIRECTIONAL);
}

void vitsa_bo_sync_for_cpu(struct vitsa_device *vdev, struct vitsa_bo *bo)
{
	dma_sync_single_for_cpu(&vdev->pdev->dev, bo->dma, bo->size, DMA_BIDIRECTIONAL);
}
