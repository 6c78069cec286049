// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: integer GEMM systolic-array accelerator.
 *
 * Module entry, PCI probe and remove, the /dev/vitsaN character devices, their file
 * operations and the ioctl table.  The ABI is uapi/vitsa.h, described in Documentation/uapi.rst.
 */

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vitsa_drv.h"

static unsigned int job_timeout_ms = 10 * MSEC_PER_SEC;
module_param(job_timeout_ms, uint, 0644);
MODULE_PARM_DESC(job_timeout_ms,
		 "A job running longer is hung and the device is reset (ms, 1..3600000; default "
		 "10000); the starting value of /sys/class/misc/vitsaN/job_timeout_ms");

/* Bound devices by N of /dev/vitsaN; an entry holds no reference. */
static DEFINE_XARRAY_ALLOC(vitsa_devices);

static void vitsa_device_release(struct kref *ref)
{
	struct vitsa_device *vdev = container_of(ref, struct vitsa_device, ref);

	pci_dev_put(vdev->pdev);
	kfree(vdev);
	atomic_dec(&vitsa_live[VITSA_LIVE_DEVICES]);
}

void vitsa_device_put(struct vitsa_device *vdev)
{
	kref_put(&vdev->ref, vitsa_device_release);
}

/**
 * vitsa_device_get_next() - the bound device with the smallest index >= *@index
 * @index: In: where to start. Out: the device's index.
 *
 * Return: the device with a reference held (drop it with vitsa_device_put()), or NULL.
 */
struct vitsa_device *vitsa_device_get_next(unsigned long *index)
{
	struct vitsa_device *vdev;

	xa_lock(&vitsa_devices);
	vdev = xa_find(&vitsa_devices, index, ULONG_MAX, XA_PRESENT);
	if (vdev)
		kref_get(&vdev->ref);
	xa_unlock(&vitsa_devices);
	return vdev;
}

/* Runs after remove() and after every other device-managed resource of the probe is gone. */
static void vitsa_device_unbind(void *data)
{
	struct vitsa_device *vdev = data;

	xa_erase(&vitsa_devices, vdev->index);
	vitsa_device_put(vdev);
}

static struct vitsa_device *vitsa_device_create(struct pci_dev *pdev)
{
	struct vitsa_device *vdev;
	int ret;

	u32 index;

	vdev = kzalloc(sizeof(*vdev), GFP_KERNEL);
	if (!vdev)
		return ERR_PTR(-ENOMEM);
	atomic_inc(&vitsa_live[VITSA_LIVE_DEVICES]);

	/* Reserved now, visible to vitsa_device_get_next() once probe is done. */
	ret = xa_alloc(&vitsa_devices, &index, NULL, xa_limit_31b, GFP_KERNEL);
	if (ret) {
		kfree(vdev);
		atomic_dec(&vitsa_live[VITSA_LIVE_DEVICES]);
		return ERR_PTR(ret);
	}
	vdev->index = index;
	snprintf(vdev->name, sizeof(vdev->name), "vitsa%d", vdev->index);
	vdev->job_timeout_ms = clamp(READ_ONCE(job_timeout_ms), 1U, VITSA_JOB_TIMEOUT_MAX_MS);

	vdev->pdev = pci_dev_get(pdev);
	vdev->regs = pcim_iomap_table(pdev)[0];
	kref_init(&vdev->ref);
	mutex_init(&vdev->submit_lock);
	mutex_init(&vdev->ring_lock);
	mutex_init(&vdev->bo_lock);
	INIT_LIST_HEAD(&vdev->bos);
	init_waitqueue_head(&vdev->space_wq);
	vitsa_hw_tdr_init(vdev);

	ret = devm_add_action_or_reset(&pdev->dev, vitsa_device_unbind, vdev);
	if (ret)
		return ERR_PTR(ret);
	return vdev;
}

static void vitsa_file_release(struct kref *ref)
{
	struct vitsa_file *vf = container_of(ref, struct vitsa_file, ref);
	struct vitsa_ring_job *job, *next;

	list_for_each_entry_safe(job, next, &vf->errors, node)
		vitsa_job_free(job);
	WARN_ON_ONCE(!xa_empty(&vf->bos));
	xa_destroy(&vf->bos);
	WARN_ON_ONCE(!xa_empty(&vf->lists));
	xa_destroy(&vf->lists);
	vitsa_device_put(vf->vdev);
	kfree(vf);
	atomic_dec(&vitsa_live[VITSA_LIVE_FILES]);
}

void vitsa_file_put(struct vitsa_file *vf)
{
	kref_put(&vf->ref, vitsa_file_release);
}

static int vitsa_open(struct inode *inode, struct file *filp)
{
	/* misc_open() set private_data and holds misc_mtx, so remove() cannot free vdev now. */
	struct vitsa_device *vdev = container_of(filp->private_data, struct vitsa_device, misc);
	struct vitsa_file *vf;

	vf = kzalloc(sizeof(*vf), GFP_KERNEL);
	if (!vf)
		return -ENOMEM;
	atomic_inc(&vitsa_live[VITSA_LIVE_FILES]);

	kref_init(&vf->ref);
	kref_get(&vdev->ref);
	vf->vdev = vdev;
	xa_init_flags(&vf->bos, XA_FLAGS_ALLOC1);
	xa_init_flags(&vf->lists, XA_FLAGS_ALLOC1);
	spin_lock_init(&vf->lock);
	INIT_LIST_HEAD(&vf->errors);
	init_waitqueue_head(&vf->wq);
	vf->pid = task_tgid_nr(current);

	filp->private_data = vf;
	return nonseekable_open(inode, filp);
}

/* Handles die with the file; the context itself lives on until its last job retires. */
static int vitsa_release(struct inode *inode, struct file *filp)
{
	struct vitsa_file *vf = filp->private_data;

	vitsa_list_release_all(vf);
	vitsa_bo_release_all(vf);
	vitsa_file_put(vf);
	return 0;
}

static int vitsa_mmap(struct file *filp, struct vm_area_struct *vma)
{
	return vitsa_bo_mmap(filp->private_data, vma);
}

/*
 * EPOLLIN: every job this file submitted has completed.  EPOLLOUT: half the ring is free, so
 * a VITSA_SUBMIT_NONBLOCK of up to VITSA_NONBLOCK_MAX_JOBS fits.  EPOLLERR: no new jobs, ever.
 */
static __poll_t vitsa_poll(struct file *filp, poll_table *wait)
{
	struct vitsa_file *vf = filp->private_data;
	struct vitsa_device *vdev = vf->vdev;
	__poll_t mask = 0;

	poll_wait(filp, &vf->wq, wait);
	poll_wait(filp, &vdev->space_wq, wait);

	spin_lock(&vf->lock);
	if (vf->retired == vf->submitted)
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&vf->lock);
	if (READ_ONCE(vdev->gone) || READ_ONCE(vdev->dead))
		mask |= EPOLLERR;
	else if (vitsa_hw_ring_space(vdev) >= VITSA_NONBLOCK_MAX_JOBS)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/* Documentation/uapi.rst, "fdinfo": this file's share of the device's work. */
static void vitsa_show_fdinfo(struct seq_file *m, struct file *filp)
{
	struct vitsa_file *vf = filp->private_data;
	u64 submitted, retired, failed, macs, cycles, bytes = 0;
	struct vitsa_list *list;
	struct vitsa_bo *bo;
	unsigned long handle;
	unsigned int bos = 0, lists = 0;

	spin_lock(&vf->lock);
	submitted = vf->submitted;
	retired = vf->retired;
	failed = vf->jobs_failed;
	macs = vf->macs;
	cycles = vf->busy_cycles;
	spin_unlock(&vf->lock);

	xa_lock(&vf->bos);
	xa_for_each(&vf->bos, handle, bo) {
		bos++;
		bytes += bo->size;
	}
	xa_unlock(&vf->bos);
	xa_lock(&vf->lists);
	xa_for_each(&vf->lists, handle, list)
		lists++;
	xa_unlock(&vf->lists);

	seq_printf(m, "vitsa-device:\t%s\n", vf->vdev->name);
	seq_printf(m, "vitsa-pci:\t%s\n", pci_name(vf->vdev->pdev));
	seq_printf(m, "vitsa-jobs-submitted:\t%llu\n", submitted);
	seq_printf(m, "vitsa-jobs-completed:\t%llu\n", retired - failed);
	seq_printf(m, "vitsa-jobs-failed:\t%llu\n", failed);
	seq_printf(m, "vitsa-jobs-queued:\t%llu\n", submitted - retired);
	seq_printf(m, "vitsa-macs:\t%llu\n", macs);
	seq_printf(m, "vitsa-busy-cycles:\t%llu\n", cycles);
	seq_printf(m, "vitsa-bos:\t%u\n", bos);
	seq_printf(m, "vitsa-bo-bytes:\t%llu\n", bytes);
	seq_printf(m, "vitsa-lists:\t%u\n", lists);
}

static int vitsa_get_param_ioctl(struct vitsa_file *vf, void *data)
{
	struct vitsa_get_param *args = data;
	const struct vitsa_device *vdev = vf->vdev;

	if (args->pad)
		return -EINVAL;

	switch (args->param) {
	case VITSA_PARAM_UAPI_VERSION:
		args->value = VITSA_UAPI_MAJOR << 16 | VITSA_UAPI_MINOR;
		break;
	case VITSA_PARAM_HW_VERSION:
		args->value = vdev->hw_version;
		break;
	case VITSA_PARAM_ARRAY_ROWS:
		args->value = vdev->array_rows;
		break;
	case VITSA_PARAM_ARRAY_COLS:
		args->value = vdev->array_cols;
		break;
	case VITSA_PARAM_DTYPES:
		args->value = vdev->dtypes;
		break;
	case VITSA_PARAM_MAX_DIM:
		args->value = vdev->max_dim;
		break;
	case VITSA_PARAM_MAX_BO_SIZE:
		args->value = VITSA_BO_MAX_SIZE;
		break;
	case VITSA_PARAM_RING_ENTRIES:
		args->value = VITSA_RING_ENTRIES;
		break;
	case VITSA_PARAM_GEMM_FLAGS:
		args->value = vdev->gemm_flags;
		break;
	case VITSA_PARAM_JOB_TIMEOUT_MS:
		args->value = READ_ONCE(vdev->job_timeout_ms);
		break;
	case VITSA_PARAM_VEC_OPS:
		args->value = vdev->vec_ops;
		break;
	case VITSA_PARAM_LIST_MAX:
		args->value = vitsa_list_max(vdev);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

typedef int (*vitsa_ioctl_fn)(struct vitsa_file *vf, void *data);

struct vitsa_ioctl_desc {
	unsigned int cmd;
	vitsa_ioctl_fn fn;
};

#define VITSA_IOCTL_DEF(ioctl, func)	[_IOC_NR(ioctl)] = { .cmd = ioctl, .fn = func }

static const struct vitsa_ioctl_desc vitsa_ioctls[] = {
	VITSA_IOCTL_DEF(VITSA_IOCTL_GET_PARAM, vitsa_get_param_ioctl),
	VITSA_IOCTL_DEF(VITSA_IOCTL_BO_CREATE, vitsa_bo_create_ioctl),
	VITSA_IOCTL_DEF(VITSA_IOCTL_BO_DESTROY, vitsa_bo_destroy_ioctl),
	VITSA_IOCTL_DEF(VITSA_IOCTL_SUBMIT, vitsa_submit_ioctl),
	VITSA_IOCTL_DEF(VITSA_IOCTL_WAIT, vitsa_wait_ioctl),
	VITSA_IOCTL_DEF(VITSA_IOCTL_LIST_CREATE, vitsa_list_create_ioctl),
	VITSA_IOCTL_DEF(VITSA_IOCTL_LIST_DESTROY, vitsa_list_destroy_ioctl),
	VITSA_IOCTL_DEF(VITSA_IOCTL_JOB_TIMES, vitsa_job_times_ioctl),
};

/* Every ioctl argument fits; each command's exact size is checked against its table entry. */
union vitsa_ioctl_args {
	struct vitsa_get_param get_param;
	struct vitsa_bo_create bo_create;
	struct vitsa_bo_destroy bo_destroy;
	struct vitsa_submit submit;
	struct vitsa_wait wait;
	struct vitsa_list_create list_create;
	struct vitsa_list_destroy list_destroy;
	struct vitsa_job_times job_times;
};

/*
 * Copy the argument in, run the handler, copy the argument out on success.  A command is
 * known only with its exact number, direction and size; anything else is -ENOTTY.  Only a
 * thread that unmaps the argument while the call runs can make a call with effects fail.
 */
static long vitsa_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	union vitsa_ioctl_args args;
	unsigned int nr = _IOC_NR(cmd);
	unsigned int size = _IOC_SIZE(cmd);
	const struct vitsa_ioctl_desc *desc;
	int ret;

	if (_IOC_TYPE(cmd) != VITSA_IOCTL_BASE || nr >= ARRAY_SIZE(vitsa_ioctls))
		return -ENOTTY;
	desc = &vitsa_ioctls[array_index_nospec(nr, ARRAY_SIZE(vitsa_ioctls))];
	if (!desc->fn || desc->cmd != cmd || WARN_ON_ONCE(size > sizeof(args)))
		return -ENOTTY;

	if (copy_from_user(&args, uarg, size))
		return -EFAULT;
	/* A result that cannot be written back must fail the call before it has any effect. */
	if ((_IOC_DIR(cmd) & _IOC_READ) && copy_to_user(uarg, &args, size))
		return -EFAULT;
	ret = desc->fn(filp->private_data, &args);
	if (!ret && (_IOC_DIR(cmd) & _IOC_READ) && copy_to_user(uarg, &args, size))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations vitsa_fops = {
	.owner = THIS_MODULE,
	.open = vitsa_open,
	.release = vitsa_release,
	.unlocked_ioctl = vitsa_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vitsa_mmap,
	.poll = vitsa_poll,
	.show_fdinfo = vitsa_show_fdinfo,
	.llseek = no_llseek,
};

static int vitsa_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct vitsa_device *vdev;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret) {
		dev_err(dev, "Failed to enable the PCI device: %d\n", ret);
		return ret;
	}
	if (pci_resource_len(pdev, 0) < VITSA_BAR0_SIZE) {
		dev_err(dev, "BAR0 is %llu bytes, need %u\n",
			(u64)pci_resource_len(pdev, 0), VITSA_BAR0_SIZE);
		return -ENODEV;
	}
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret) {
		dev_err(dev, "Failed to map BAR0: %d\n", ret);
		return ret;
	}
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret) {
		dev_err(dev, "Failed to set a 64-bit DMA mask: %d\n", ret);
		return ret;
	}

	vdev = vitsa_device_create(pdev);
	if (IS_ERR(vdev)) {
		dev_err(dev, "Failed to create the device: %ld\n", PTR_ERR(vdev));
		return PTR_ERR(vdev);
	}
	ret = vitsa_hw_init(vdev);
	if (ret) {
		dev_err(dev, "Failed to initialize the hardware (ID %#x, version %#x): %d\n",
			vdev->hw_id, vdev->hw_version, ret);
		return ret;
	}
	ret = vitsa_hw_irq_init(vdev);
	if (ret) {
		dev_err(dev, "Failed to set up the interrupt: %d\n", ret);
		return ret;
	}
	ret = vitsa_hw_start(vdev);
	if (ret) {
		dev_err(dev, "Failed to start the command ring: %d\n", ret);
		goto err_hw_stop;
	}

	vdev->misc.minor = MISC_DYNAMIC_MINOR;
	vdev->misc.name = vdev->name;
	vdev->misc.fops = &vitsa_fops;
	vdev->misc.parent = dev;
	vdev->misc.groups = vitsa_groups;
	ret = misc_register(&vdev->misc);
	if (ret) {
		dev_err(dev, "Failed to register /dev/%s: %d\n", vdev->name, ret);
		goto err_hw_stop;
	}

	pci_set_drvdata(pdev, vdev);
	xa_store(&vitsa_devices, vdev->index, vdev, GFP_KERNEL);
	vitsa_genl_event(vdev, &(struct vitsa_event){ .type = VITSA_EVENT_DEVICE_ADDED });
	dev_info(dev, "/dev/%s: %ux%u array, hardware %u.%u, %s interrupt\n", vdev->name,
		 vdev->array_rows, vdev->array_cols, vdev->hw_version >> 16,
		 vdev->hw_version & 0xffff, pdev->msi_enabled ? "MSI" : "INTx");
	return 0;

err_hw_stop:
	vitsa_hw_stop(vdev);
	return ret;
}

/* Open files and mappings may outlive this; they find the device gone, their pages kept. */
static void vitsa_remove(struct pci_dev *pdev)
{
	struct vitsa_device *vdev = pci_get_drvdata(pdev);

	/* Unlisted first: netlink must not read the registers of a device on its way out. */
	xa_store(&vitsa_devices, vdev->index, NULL, GFP_KERNEL);
	misc_deregister(&vdev->misc);
	vitsa_hw_fini(vdev);
	vitsa_bo_unmap_all(vdev);
	vitsa_genl_event(vdev, &(struct vitsa_event){ .type = VITSA_EVENT_DEVICE_REMOVED });
}

static const struct pci_device_id vitsa_pci_ids[] = {
	{ PCI_DEVICE(VITSA_PCI_VENDOR_ID, VITSA_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vitsa_pci_ids);

static struct pci_driver vitsa_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = vitsa_pci_ids,
	.probe = vitsa_probe,
	.remove = vitsa_remove,
};

static int __init vitsa_init(void)
{
	int ret;

	ret = vitsa_genl_init();
	if (ret)
		return ret;
	vitsa_debugfs_init();
	ret = pci_register_driver(&vitsa_pci_driver);
	if (ret) {
		vitsa_debugfs_fini();
		vitsa_genl_fini();
	}
	return ret;
}
module_init(vitsa_init);

static void __exit vitsa_exit(void)
{
	pci_unregister_driver(&vitsa_pci_driver);
	vitsa_debugfs_fini();
	vitsa_genl_fini();
	WARN_ON(!xa_empty(&vitsa_devices));
}
module_exit(vitsa_exit);

MODULE_DESCRIPTION("vitsa integer GEMM systolic-array accelerator");
MODULE_LICENSE("GPL");
