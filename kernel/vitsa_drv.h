/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vitsa: driver-internal types shared by vitsa_drv.c, vitsa_bo.c, vitsa_job.c and vitsa_hw.c.
 *
 * Object lifetimes:
 *  - struct vitsa_device lives until its last reference goes: the bound PCI device holds one
 *    (dropped by a devm action after remove), every open file one more.
 *  - struct vitsa_file (one per open(2)) is held by the open file, by each of its queued
 *    jobs and by each buffer object it created, so closing a file while its jobs run is safe.
 *  - struct vitsa_bo is held by its handle, by each mapping and by each queued job naming it,
 *    and by each job list with a job naming it.
 *  - struct vitsa_list (a job list) is held by its handle and by each queued run of it; it
 *    holds every object its jobs name and its descriptors' own, handle-less object.
 *  - struct vitsa_ring_job (a job as the driver keeps it; userspace's struct vitsa_job is
 *    what SUBMIT reads) belongs to the ring from the moment it is queued until it retires;
 *    a failed job then moves to its file's error list until WAIT reports it.
 */
#ifndef VITSA_DRV_H
#define VITSA_DRV_H

#include <linux/dma-direction.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "vitsa_hw.h"
#include "vitsa.h"
#include "vitsa_netlink.h"

#define VITSA_RING_ENTRIES	256		/* both rings; a power of two */
/* The largest VITSA_SUBMIT_NONBLOCK batch, and the room poll() waits for before EPOLLOUT. */
#define VITSA_NONBLOCK_MAX_JOBS	(VITSA_RING_ENTRIES / 2)
#define VITSA_BO_MAX_SIZE	SZ_4M		/* largest buddy allocation without CMA */
#define VITSA_JOB_TIMEOUT_MAX_MS	3600000U	/* an hour */
#define VITSA_FILE_MAX_LISTS	1024		/* job lists one open file may hold */

struct vitsa_ring_job;

/* One event of the netlink family's "events" group (uapi/vitsa_netlink.h). */
struct vitsa_event {
	u32 type;			/* VITSA_EVENT_* */
	u32 status;			/* VITSA_JOB_* of the job, or the device's ERROR register */
	u32 pid;			/* the job's file's process, 0 if no job; logged, not sent */
	u64 fence;			/* its fence in that file, 0 if no job; logged, not sent */
	u32 aborted;			/* jobs the recovery failed */
	u32 requeued;			/* jobs the recovery put back into the ring */
};

/*
 * What /sys, fdinfo and the netlink family report.  The driver's counts live in struct
 * vitsa_device; the device's own counters (MACs on) are read from BAR0 while it is bound and
 * frozen at their last value after removal.  Every counter only grows.
 */
struct vitsa_stats {
	u64 jobs_submitted;		/* jobs queued in the ring */
	u64 jobs_completed;		/* jobs retired with VITSA_JOB_OK */
	u64 jobs_failed;		/* jobs retired with any other status */
	u64 timeouts;			/* jobs the driver declared hung */
	u64 resets;			/* device resets for recovery */
	u64 macs;			/* device: multiply-accumulates */
	u64 busy_cycles;		/* device: modeled array cycles spent on jobs */
	u64 idle_cycles;		/* device: clock cycles with nothing queued */
	u64 dma_read_bytes;		/* device: bytes read from host memory */
	u64 dma_write_bytes;		/* device: bytes written to host memory */
};

struct vitsa_device {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct kref ref;

	struct miscdevice misc;
	char name[16];			/* "vitsaN", the misc device's name */
	int index;			/* N, from vitsa_ida */

	/* Read from the device at probe and constant afterwards. */
	u32 hw_id;
	u32 hw_version;
	u32 caps;			/* VITSA_CAP_* */
	u32 array_rows;
	u32 array_cols;
	u32 max_dim;
	u32 dtypes;			/* bit (1 << VITSA_TYPE_x) per supported operand type */
	u32 gemm_flags;			/* VITSA_GEMM_* the device can execute */
	u32 vec_ops;			/* bit (op - VITSA_VEC_FIRST) per vector op it executes */

	struct vitsa_hw_desc *ring;	/* command ring, VITSA_RING_ENTRIES descriptors */
	dma_addr_t ring_dma;
	struct vitsa_hw_cpl *cpl;	/* completion ring, VITSA_RING_ENTRIES records */
	dma_addr_t cpl_dma;

	struct mutex submit_lock;	/* Serializes SUBMIT: a batch takes consecutive slots */
	struct mutex ring_lock;		/* Protects head, tail, slots, next_seq, gone, dead, ring,
					 * head_since, stats */
	u32 head;			/* descriptors retired, free-running */
	u32 tail;			/* descriptors queued, free-running */
	u64 next_seq;			/* seq of the next descriptor */
	struct vitsa_ring_job *slots[VITSA_RING_ENTRIES];	/* queued jobs by ring slot */
	struct vitsa_ring_job *requeue[VITSA_RING_ENTRIES];	/* recovery: jobs to run again */
	bool gone;			/* removed: no new jobs, no register access */
	bool dead;			/* failed to restart after a ring error: no new jobs */
	unsigned long head_since;	/* jiffies when the job at the head started */
	u64 last_done_ns;		/* when the ring's last job retired (VITSA_IOCTL_JOB_TIMES) */
	struct vitsa_stats stats;	/* the driver's counts; device ones frozen once gone */
	wait_queue_head_t space_wq;	/* woken when ring slots free up */

	struct mutex bo_lock;		/* Protects bos, bos_unmapped, every file's bo_bytes */
	struct list_head bos;		/* every live buffer object, lists' included */
	bool bos_unmapped;		/* removal took the objects' pages from the device */

	u32 clock_mhz;			/* the array clock, 0 if the device does not say */
	u32 job_timeout_ms;		/* a job at the ring's head longer than this is hung */
	struct delayed_work tdr;	/* the hung-job detector, armed while jobs are queued */
};

struct vitsa_file {
	struct kref ref;
	struct vitsa_device *vdev;
	struct xarray bos;		/* handle -> struct vitsa_bo; has its own lock */
	struct xarray lists;		/* handle -> struct vitsa_list; has its own lock */

	spinlock_t lock;		/* Protects submitted, retired, errors and the counts */
	u64 submitted;			/* last fence handed out, 0 before the first */
	u64 retired;			/* every fence up to this one has completed */
	struct list_head errors;	/* failed jobs not yet reported, in fence order */
	wait_queue_head_t wq;		/* woken when a job of this file retires */
	pid_t pid;			/* thread group that opened the file */
	u64 bo_bytes;			/* buffer objects it created that are alive; bo_lock */

	/* For fdinfo: this file's share of the device's work. */
	u64 jobs_failed;
	u64 macs;
	u64 busy_cycles;

	/* The last retired jobs' times, at fence % VITSA_JOB_TIMES_KEPT (VITSA_IOCTL_JOB_TIMES) */
	struct vitsa_job_times times[VITSA_JOB_TIMES_KEPT];
};

struct vitsa_bo {
	struct kref ref;
	struct vitsa_file *owner;	/* the creator, charged for size; referenced */
	void *vaddr;			/* the pages, in the kernel's direct map */
	dma_addr_t dma;			/* their device address while the device is bound */
	size_t size;			/* a multiple of PAGE_SIZE */
	enum dma_data_direction dir;	/* of its mapping: TO_DEVICE for a list's descriptors */
	struct list_head node;		/* in vdev->bos */
};

/* One operand range of a job in a list: synced for every run, as a queued job's are. */
struct vitsa_range {
	struct vitsa_bo *bo;		/* referenced */
	u64 offset;
	u64 len;
	enum dma_data_direction dir;
};

/*
 * A job list: jobs checked once at LIST_CREATE, kept as device descriptors, run as one ring
 * entry of opcode LIST each time SUBMIT names it.
 */
struct vitsa_list {
	struct kref ref;
	struct vitsa_bo *descs;		/* count descriptors, seq 0; mapped TO_DEVICE,
					 * charged to the creator, no handle */
	u32 count;
	u32 nranges;
	bool need_sync;			/* some of its memory needs syncs (bounce buffers) */
	struct vitsa_range ranges[];	/* every used operand of every job, in job order */
};

enum vitsa_operand {
	VITSA_OPERAND_A,
	VITSA_OPERAND_B,
	VITSA_OPERAND_C,
	VITSA_OPERAND_BIAS,
	VITSA_OPERAND_RQ,
	VITSA_OPERAND_COUNT
};

/*
 * A GEMM, a vector job or a run of a job list; a vector op's in0, in1 and out take the
 * places of A, B and C, as they do in the descriptor.
 */
struct vitsa_ring_job {
	struct vitsa_file *file;	/* referenced until the job retires */
	struct vitsa_bo *bos[VITSA_OPERAND_COUNT];	/* referenced; NULL when unused */
	struct vitsa_list *list;	/* a list's run: referenced until it retires; else NULL */
	u64 offset[VITSA_OPERAND_COUNT];	/* each operand's bytes in its object */
	u64 len[VITSA_OPERAND_COUNT];
	/* TO_DEVICE for an input, FROM_DEVICE for C, BIDIRECTIONAL for C computed in place */
	enum dma_data_direction dir[VITSA_OPERAND_COUNT];
	struct vitsa_hw_desc desc;	/* seq is set when queued */
	u64 fence;
	u64 queued_ns;			/* CLOCK_MONOTONIC when it entered the ring */
	u32 status;			/* VITSA_JOB_*, once retired */
	struct list_head node;		/* in file->errors after a failure */
};

/* vitsa_drv.c */
void vitsa_device_put(struct vitsa_device *vdev);
struct vitsa_device *vitsa_device_get_next(unsigned long *index);
void vitsa_file_put(struct vitsa_file *vf);

/* vitsa_bo.c */
int vitsa_bo_create_ioctl(struct vitsa_file *vf, void *data);
int vitsa_bo_destroy_ioctl(struct vitsa_file *vf, void *data);
struct vitsa_bo *vitsa_bo_lookup(struct vitsa_file *vf, u32 handle);
struct vitsa_bo *vitsa_bo_alloc(struct vitsa_file *vf, size_t size, enum dma_data_direction dir);
void vitsa_bo_put(struct vitsa_bo *bo);
void vitsa_bo_release_all(struct vitsa_file *vf);
int vitsa_bo_mmap(struct vitsa_file *vf, struct vm_area_struct *vma);
void vitsa_bo_unmap_all(struct vitsa_device *vdev);
bool vitsa_bo_need_sync(struct vitsa_device *vdev, const struct vitsa_bo *bo);
void vitsa_bo_sync_for_device(struct vitsa_device *vdev, struct vitsa_bo *bo, u64 offset,
			      u64 len, enum dma_data_direction dir);
void vitsa_bo_sync_for_cpu(struct vitsa_device *vdev, struct vitsa_bo *bo, u64 offset,
			   u64 len, enum dma_data_direction dir);

/* vitsa_job.c */
int vitsa_submit_ioctl(struct vitsa_file *vf, void *data);
int vitsa_wait_ioctl(struct vitsa_file *vf, void *data);
int vitsa_job_times_ioctl(struct vitsa_file *vf, void *data);
struct vitsa_ring_job *vitsa_job_create_user(struct vitsa_file *vf, const struct vitsa_job *uj);
void vitsa_job_done(struct vitsa_ring_job *job, u32 status, const struct vitsa_hw_cpl *cpl);
void vitsa_job_free(struct vitsa_ring_job *job);

/* Ring entries a job takes on the device: a list's jobs, else 1. */
static inline u32 vitsa_job_entries(const struct vitsa_ring_job *job)
{
	return job->list ? job->list->count : 1;
}

/* vitsa_list.c */
u32 vitsa_list_max(const struct vitsa_device *vdev);
int vitsa_list_create_ioctl(struct vitsa_file *vf, void *data);
int vitsa_list_destroy_ioctl(struct vitsa_file *vf, void *data);
struct vitsa_list *vitsa_list_lookup(struct vitsa_file *vf, u32 handle);
void vitsa_list_put(struct vitsa_list *list);
void vitsa_list_release_all(struct vitsa_file *vf);
void vitsa_list_sync_for_device(struct vitsa_device *vdev, struct vitsa_list *list);
void vitsa_list_sync_for_cpu(struct vitsa_device *vdev, struct vitsa_list *list);

/* vitsa_hw.c */
int vitsa_hw_init(struct vitsa_device *vdev);
int vitsa_hw_irq_init(struct vitsa_device *vdev);
int vitsa_hw_start(struct vitsa_device *vdev);
void vitsa_hw_stop(struct vitsa_device *vdev);
void vitsa_hw_fini(struct vitsa_device *vdev);
u32 vitsa_hw_ring_space(struct vitsa_device *vdev);
void vitsa_hw_ring_put(struct vitsa_device *vdev, struct vitsa_ring_job *job);
void vitsa_hw_ring_kick(struct vitsa_device *vdev);
void vitsa_hw_tdr_init(struct vitsa_device *vdev);
void vitsa_hw_tdr_update(struct vitsa_device *vdev);
void vitsa_hw_counters_read(struct vitsa_device *vdev, struct vitsa_stats *st);

/* vitsa_debugfs.c: live objects by kind, for leak checks */
enum vitsa_live {
	VITSA_LIVE_DEVICES,
	VITSA_LIVE_FILES,
	VITSA_LIVE_BOS,
	VITSA_LIVE_JOBS,
	VITSA_LIVE_COUNT
};
extern atomic_t vitsa_live[VITSA_LIVE_COUNT];
void vitsa_debugfs_init(void);
void vitsa_debugfs_fini(void);

/* vitsa_sysfs.c */
void vitsa_stats_read(struct vitsa_device *vdev, struct vitsa_stats *st);
extern const struct attribute_group *vitsa_groups[];

/* vitsa_genl.c */
int vitsa_genl_init(void);
void vitsa_genl_fini(void);
void vitsa_genl_event(struct vitsa_device *vdev, const struct vitsa_event *ev);

#endif /* VITSA_DRV_H */
