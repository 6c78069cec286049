// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: buffer objects.
 *
 * A buffer object is one physically contiguous, zero-filled, coherent DMA allocation of whole
 * pages.  Userspace names it by a handle that is valid only in the open file that created it,
 * and maps it with mmap(2) at the offset handle << PAGE_SHIFT of that same file.  Handles,
 * mappings and queued jobs each hold a reference; the memory goes with the last one.
 */

#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "vitsa_drv.h"

static struct vitsa_bo *vitsa_bo_alloc(struct vitsa_device *vdev, size_t size)
{
	struct vitsa_bo *bo;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return NULL;

	/* dma_alloc_coherent() always returns zeroed memory. */
	bo->vaddr = dma_alloc_coherent(&vdev->pdev->dev, size, &bo->dma,
				       GFP_KERNEL | __GFP_NOWARN);
	if (!bo->vaddr) {
		kfree(bo);
		return NULL;
	}
	bo->size = size;
	bo->vdev = vdev;
	kref_get(&vdev->ref);
	kref_init(&bo->ref);
	atomic_inc(&vitsa_live[VITSA_LIVE_BOS]);
	return bo;
}

static void vitsa_bo_release(struct kref *ref)
{
	struct vitsa_bo *bo = container_of(ref, struct vitsa_bo, ref);
	struct vitsa_device *vdev = bo->vdev;

	dma_free_coherent(&vdev->pdev->dev, bo->size, bo->vaddr, bo->dma);
	kfree(bo);
	atomic_dec(&vitsa_live[VITSA_LIVE_BOS]);
	vitsa_device_put(vdev);
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

	if (READ_ONCE(vf->vdev->gone))
		return -ENODEV;
	bo = vitsa_bo_alloc(vf->vdev, size);
	if (!bo)
		return -ENOMEM;

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

	/* From here on the offset is within the object, as dma_mmap_coherent() expects. */
	vma->vm_pgoff = 0;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	ret = dma_mmap_coherent(&bo->vdev->pdev->dev, vma, bo->vaddr, bo->dma, bo->size);
	if (ret)
		goto err_put_bo;

	vma->vm_private_data = bo;
	vma->vm_ops = &vitsa_bo_vm_ops;
	return 0;

err_put_bo:
	vitsa_bo_put(bo);
	return ret;
}
