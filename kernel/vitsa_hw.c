// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: the device's registers, command and completion rings, reset and interrupt.
 *
 * Documentation/hw/vitsa.rst is the protocol implemented here.  Only this file touches BAR0.
 */

#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/jiffies.h>

#include "vitsa_drv.h"
#include "vitsa_hw_vec.h"

#define VITSA_RESET_POLL_US	10
#define VITSA_RESET_TIMEOUT_US	(100 * USEC_PER_MSEC)
#define VITSA_RING_MASK		(VITSA_RING_ENTRIES - 1)

static_assert((VITSA_RING_ENTRIES & VITSA_RING_MASK) == 0);
static_assert(VITSA_RING_MIN_ENTRIES <= VITSA_RING_ENTRIES);
static_assert(VITSA_RING_MAX_ENTRIES >= VITSA_RING_ENTRIES);
static_assert(sizeof(struct vitsa_hw_desc) == 128);
static_assert(sizeof(struct vitsa_hw_cpl) == 32);
static_assert(sizeof(struct vitsa_hw_rq) == 8);

static u32 vitsa_reg_read(struct vitsa_device *vdev, u32 reg)
{
	return readl(vdev->regs + reg);
}

static void vitsa_reg_write(struct vitsa_device *vdev, u32 reg, u32 val)
{
	writel(val, vdev->regs + reg);
}

/* Abandon whatever the device does and wait until it has stopped all DMA. */
static int vitsa_hw_reset(struct vitsa_device *vdev)
{
	u32 status;

	vitsa_reg_write(vdev, VITSA_REG_CTRL, VITSA_CTRL_RESET);
	return readl_poll_timeout(vdev->regs + VITSA_REG_STATUS, status,
				  !(status & VITSA_STATUS_RESETTING),
				  VITSA_RESET_POLL_US, VITSA_RESET_TIMEOUT_US);
}

/*
 * The reset did not finish, so the device may still write into buffers its jobs named: take
 * away its access to memory before any of them is released, and never use it again.
 *
 * With Bus Master Enable clear a PCI function issues no memory requests, MSI included.  That
 * leaves requests it issued before it saw the bit clear.  Its reads only bring data to the
 * device, which can no longer write it anywhere.  Its posted writes are flushed by reading
 * its config space: the read cannot pass our config write, and the read's completion cannot
 * pass the device's earlier posted writes (PCI ordering; the device sets no relaxed
 * ordering), so once the read returns every write it sent has landed.  A device that ignores
 * the bit can only be stopped by an IOMMU; that is reported.
 */
static void vitsa_hw_cut_off(struct vitsa_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	u16 cmd;

	pci_clear_master(pdev);
	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	/* All ones: the device is gone from the bus, and its DMA with it. */
	if (!PCI_POSSIBLE_ERROR(cmd) && (cmd & PCI_COMMAND_MASTER))
		dev_crit(&pdev->dev, "Bus mastering stays on (command %#x); DMA may continue\n",
			 cmd);
	WRITE_ONCE(vdev->dead, true);
}

static u32 vitsa_hw_caps_to_dtypes(u32 caps)
{
	u32 dtypes = 0;

	if (caps & VITSA_CAP_S8)
		dtypes |= BIT(VITSA_TYPE_S8);
	if (caps & VITSA_CAP_U8)
		dtypes |= BIT(VITSA_TYPE_U8);
	if (caps & VITSA_CAP_S4)
		dtypes |= BIT(VITSA_TYPE_S4);
	if (caps & VITSA_CAP_U4)
		dtypes |= BIT(VITSA_TYPE_U4);
	return dtypes;
}

static u32 vitsa_hw_caps_to_gemm_flags(u32 caps)
{
	u32 flags = 0;

	if (caps & VITSA_CAP_B_TRANS)
		flags |= VITSA_GEMM_B_TRANS;
	if (caps & VITSA_CAP_BIAS)
		flags |= VITSA_GEMM_BIAS;
	if (caps & VITSA_CAP_REQUANT)
		flags |= VITSA_GEMM_REQUANT;
	return flags;
}

/* The unit executes every vector op or, without it (hardware 1.2), none. */
static u32 vitsa_hw_caps_to_vec_ops(u32 caps)
{
	if (!(caps & VITSA_CAP_VECTOR))
		return 0;
	return GENMASK(VITSA_OP_VEC_END - VITSA_OP_VEC_FIRST - 1, 0);
}

/**
 * vitsa_hw_init() - identify the device, read its parameters, allocate the rings, reset it
 * @vdev: the device, with BAR0 mapped
 *
 * Return: 0, -ENODEV when the device is not a vitsa this driver understands (hw_id and
 * hw_version tell why), -ENOMEM, or -ETIMEDOUT when the reset does not finish.
 */
int vitsa_hw_init(struct vitsa_device *vdev)
{
	struct device *dev = &vdev->pdev->dev;
	u32 array;
	int ret;

	vdev->hw_id = vitsa_reg_read(vdev, VITSA_REG_ID);
	vdev->hw_version = vitsa_reg_read(vdev, VITSA_REG_VERSION);
	if (vdev->hw_id != VITSA_ID_MAGIC || vdev->hw_version >> 16 != VITSA_HW_VERSION_MAJOR)
		return -ENODEV;

	vdev->caps = vitsa_reg_read(vdev, VITSA_REG_CAPS);
	array = vitsa_reg_read(vdev, VITSA_REG_ARRAY);
	vdev->array_rows = array & 0xffff;
	vdev->array_cols = array >> 16;
	vdev->max_dim = vitsa_reg_read(vdev, VITSA_REG_MAX_DIM);
	if ((vdev->hw_version & 0xffff) >= 1)
		vdev->clock_mhz = vitsa_reg_read(vdev, VITSA_REG_CLOCK_MHZ);
	vdev->dtypes = vitsa_hw_caps_to_dtypes(vdev->caps);
	vdev->gemm_flags = vitsa_hw_caps_to_gemm_flags(vdev->caps);
	vdev->vec_ops = vitsa_hw_caps_to_vec_ops(vdev->caps);
	if (!vdev->array_rows || !vdev->array_cols || !vdev->max_dim || !vdev->dtypes)
		return -ENODEV;

	vdev->ring = dmam_alloc_coherent(dev, VITSA_RING_ENTRIES * sizeof(*vdev->ring),
					 &vdev->ring_dma, GFP_KERNEL);
	if (!vdev->ring)
		return -ENOMEM;
	vdev->cpl = dmam_alloc_coherent(dev, VITSA_RING_ENTRIES * sizeof(*vdev->cpl),
					&vdev->cpl_dma, GFP_KERNEL);
	if (!vdev->cpl)
		return -ENOMEM;

	/* Firmware or a previous driver may have left it running. */
	ret = vitsa_hw_reset(vdev);
	if (ret)
		vitsa_hw_cut_off(vdev);
	return ret;
}

/**
 * vitsa_hw_start() - program the rings into a reset device and enable it
 * @vdev: the device, reset, with ring_lock held or not yet visible to userspace
 *
 * Return: 0, or -EIO when the device refuses the ring configuration.
 */
int vitsa_hw_start(struct vitsa_device *vdev)
{
	u32 status;

	WRITE_ONCE(vdev->head, 0);
	WRITE_ONCE(vdev->tail, 0);

	vitsa_reg_write(vdev, VITSA_REG_RING_BASE_LO, lower_32_bits(vdev->ring_dma));
	vitsa_reg_write(vdev, VITSA_REG_RING_BASE_HI, upper_32_bits(vdev->ring_dma));
	vitsa_reg_write(vdev, VITSA_REG_CPL_BASE_LO, lower_32_bits(vdev->cpl_dma));
	vitsa_reg_write(vdev, VITSA_REG_CPL_BASE_HI, upper_32_bits(vdev->cpl_dma));
	vitsa_reg_write(vdev, VITSA_REG_RING_SIZE, VITSA_RING_ENTRIES);
	vitsa_reg_write(vdev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	vitsa_reg_write(vdev, VITSA_REG_INT_ENABLE, VITSA_INT_ALL);
	vitsa_reg_write(vdev, VITSA_REG_CTRL, VITSA_CTRL_ENABLE);

	status = vitsa_reg_read(vdev, VITSA_REG_STATUS);
	if (!(status & VITSA_STATUS_ENABLED) || (status & VITSA_STATUS_HALTED))
		return -EIO;
	return 0;
}

/**
 * vitsa_hw_stop() - silence the device: no interrupts, no DMA
 * @vdev: the device, with ring_lock held or not visible to userspace
 *
 * A device whose reset does not finish is cut off from memory and dead.  Either way the
 * device writes no memory once this returns, so the queued jobs' buffers may be released.
 */
void vitsa_hw_stop(struct vitsa_device *vdev)
{
	vitsa_reg_write(vdev, VITSA_REG_INT_ENABLE, 0);
	if (!vitsa_hw_reset(vdev))
		return;
	dev_err(&vdev->pdev->dev, "Reset did not finish; bus mastering off, device dead\n");
	vitsa_hw_cut_off(vdev);
}

/* Free ring slots, as seen from a waiter that does not hold ring_lock. */
u32 vitsa_hw_ring_space(struct vitsa_device *vdev)
{
	u32 used = READ_ONCE(vdev->tail) - READ_ONCE(vdev->head);

	return used < VITSA_RING_ENTRIES ? VITSA_RING_ENTRIES - used : 0;
}

/**
 * vitsa_hw_ring_put() - write a job's descriptor into the next free slot
 * @vdev: the device, with ring_lock held and at least one free slot
 * @job: the job; the ring owns it from now on
 *
 * The device sees the descriptor only at the next vitsa_hw_ring_kick().
 */
void vitsa_hw_ring_put(struct vitsa_device *vdev, struct vitsa_ring_job *job)
{
	u32 slot = vdev->tail & VITSA_RING_MASK;

	lockdep_assert_held(&vdev->ring_lock);
	WARN_ON_ONCE(vdev->slots[slot]);

	if (vdev->head == vdev->tail)
		vdev->head_since = jiffies;
	job->desc.seq = vdev->next_seq++;
	vdev->ring[slot] = job->desc;
	vdev->slots[slot] = job;
	WRITE_ONCE(vdev->tail, vdev->tail + 1);
}

/*
 * When the job at the head (there is one) times out: job_timeout_ms after it got there, for
 * each ring entry it stands for (a list's jobs), at most VITSA_JOB_TIMEOUT_MAX_MS; a list
 * that runs longer than that in all is hung however fast each of its jobs is.
 */
static unsigned long vitsa_hw_head_deadline(struct vitsa_device *vdev)
{
	struct vitsa_ring_job *job = vdev->slots[vdev->head & VITSA_RING_MASK];
	u64 ms = (u64)READ_ONCE(vdev->job_timeout_ms) * vitsa_job_entries(job);

	return vdev->head_since + msecs_to_jiffies(min_t(u64, ms, VITSA_JOB_TIMEOUT_MAX_MS));
}

/* Have the hung-job detector look when the job at the head would time out. */
static void vitsa_hw_tdr_arm(struct vitsa_device *vdev)
{
	unsigned long deadline = vitsa_hw_head_deadline(vdev);

	mod_delayed_work(system_wq, &vdev->tdr,
			 time_after(deadline, jiffies) ? deadline - jiffies : 0);
}

/*
 * Ring the doorbell (writel orders the descriptors in memory before the register write) and
 * make sure the hung-job detector watches the ring.
 */
void vitsa_hw_ring_kick(struct vitsa_device *vdev)
{
	lockdep_assert_held(&vdev->ring_lock);
	vitsa_reg_write(vdev, VITSA_REG_RING_TAIL, vdev->tail);
	vitsa_hw_tdr_arm(vdev);
}

/**
 * vitsa_hw_tdr_update() - the job timeout changed: apply it to the job running now
 * @vdev: the device, still bound
 */
void vitsa_hw_tdr_update(struct vitsa_device *vdev)
{
	guard(mutex)(&vdev->ring_lock);
	if (!vdev->gone && vdev->head != vdev->tail)
		vitsa_hw_tdr_arm(vdev);
}

/* Take the job at the head of the ring out of it. */
static struct vitsa_ring_job *vitsa_hw_ring_pop(struct vitsa_device *vdev)
{
	u32 slot = vdev->head & VITSA_RING_MASK;
	struct vitsa_ring_job *job = vdev->slots[slot];

	vdev->slots[slot] = NULL;
	WRITE_ONCE(vdev->head, vdev->head + 1);
	vdev->head_since = jiffies;
	return job;
}

/*
 * Retire every descriptor the device has consumed: read its completion record, check that it
 * belongs to the job in that slot and hand the status to the job.  Returns false when
 * RING_HEAD is outside the queued range or a record names another descriptor, i.e. the device
 * can no longer be trusted; the job of that record is then still at the head of the ring.
 */
static bool vitsa_hw_retire(struct vitsa_device *vdev)
{
	u32 hw_head = vitsa_reg_read(vdev, VITSA_REG_RING_HEAD);
	u32 done = hw_head - vdev->head;
	bool trusted = true;

	lockdep_assert_held(&vdev->ring_lock);
	if (done > vdev->tail - vdev->head) {
		dev_err_ratelimited(&vdev->pdev->dev, "RING_HEAD %u outside [%u, %u]\n",
				    hw_head, vdev->head, vdev->tail);
		return false;
	}

	/* Completion records are written before HEAD moves; read them only after HEAD. */
	dma_rmb();
	for (; done; done--) {
		u32 slot = vdev->head & VITSA_RING_MASK;
		struct vitsa_hw_cpl cpl = {
			.seq = READ_ONCE(vdev->cpl[slot].seq),
			.status = READ_ONCE(vdev->cpl[slot].status),
			.cycles = READ_ONCE(vdev->cpl[slot].cycles),
			.macs = READ_ONCE(vdev->cpl[slot].macs),
		};

		if (cpl.seq != vdev->slots[slot]->desc.seq) {
			dev_err_ratelimited(&vdev->pdev->dev,
					    "Completion for seq %llu in the slot of seq %llu\n",
					    cpl.seq, vdev->slots[slot]->desc.seq);
			trusted = false;
			break;
		}
		vitsa_job_done(vitsa_hw_ring_pop(vdev), cpl.status, &cpl);
	}
	wake_up(&vdev->space_wq);
	return trusted;
}

/* Reset the device and fail every job still queued with ABORTED. */
static void vitsa_hw_abort(struct vitsa_device *vdev)
{
	lockdep_assert_held(&vdev->ring_lock);

	vitsa_hw_stop(vdev);
	while (vdev->head != vdev->tail)
		vitsa_job_done(vitsa_hw_ring_pop(vdev), VITSA_JOB_ABORTED, NULL);
	wake_up_all(&vdev->space_wq);
}

/*
 * Empty the ring after a reset: the job at the head gets @status; ABORTED go the next
 * @started - 1 jobs (the device claimed to have run them: they must not run twice) and the
 * later jobs of the head's file (they may depend on its result); every other job goes to
 * vdev->requeue in ring order.  Returns how many did.
 */
static u32 vitsa_hw_ring_drain(struct vitsa_device *vdev, u32 status, u32 started,
			       struct vitsa_event *ev)
{
	struct vitsa_ring_job *guilty = vitsa_hw_ring_pop(vdev);
	struct vitsa_file *gf = guilty->file;
	u32 i, n = 0;

	kref_get(&gf->ref);		/* compared against below, after the job let it go */
	ev->pid = gf->pid;
	ev->fence = guilty->fence;
	ev->status = status;
	vitsa_job_done(guilty, status, NULL);
	for (i = 1; vdev->head != vdev->tail; i++) {
		struct vitsa_ring_job *job = vitsa_hw_ring_pop(vdev);

		if (i < started || job->file == gf) {
			vitsa_job_done(job, VITSA_JOB_ABORTED, NULL);
			ev->aborted++;
		} else {
			vdev->requeue[n++] = job;
		}
	}
	vitsa_file_put(gf);
	return n;
}

/* Start a fresh ring after a reset and queue vdev->requeue[0..n) on it; else the device is dead. */
static void vitsa_hw_restart(struct vitsa_device *vdev, u32 n)
{
	int ret = -EIO;
	u32 i;

	if (!vdev->dead) {
		ret = vitsa_hw_start(vdev);
		if (ret) {
			dev_err(&vdev->pdev->dev, "Failed to restart the ring: %d\n", ret);
			vitsa_hw_stop(vdev);
			WRITE_ONCE(vdev->dead, true);
		}
	}
	for (i = 0; i < n; i++) {
		if (ret)
			vitsa_job_done(vdev->requeue[i], VITSA_JOB_ABORTED, NULL);
		else
			vitsa_hw_ring_put(vdev, vdev->requeue[i]);
		vdev->requeue[i] = NULL;
	}
	if (!ret && n)
		vitsa_hw_ring_kick(vdev);
	wake_up_all(&vdev->space_wq);
}

/*
 * The job at the head of the ring failed the device (hung, or the ring halted or lied about
 * it): reset, give that job @status, abort the later jobs of its file and those the device
 * may have run, run every other queued job from the start of a fresh ring.  With nothing
 * queued the device is just reset.  A device that does not come back is dead: it has been
 * cut off from memory before any job is let go, and every queued job is failed.
 */
static void vitsa_hw_recover(struct vitsa_device *vdev, u32 status, u32 event)
{
	struct vitsa_event ev = { .type = event, .status = status };
	u32 queued = vdev->tail - vdev->head, n = 0, started;

	lockdep_assert_held(&vdev->ring_lock);

	/* Jobs behind the head that the device says it ran; if it makes no sense, all may have. */
	started = min(vitsa_reg_read(vdev, VITSA_REG_RING_HEAD) - vdev->head, queued);

	vitsa_hw_stop(vdev);
	vdev->stats.resets++;
	vdev->stats.timeouts += status == VITSA_JOB_TIMEOUT;
	/* A dead device runs nothing again: no job is requeued. */
	if (vdev->dead)
		started = queued;
	if (queued)
		n = vitsa_hw_ring_drain(vdev, status, started, &ev);
	ev.requeued = n;
	dev_err(&vdev->pdev->dev,
		"%s: job %llu of pid %u failed (status %u, %s); reset, %u aborted, %u requeued\n",
		status == VITSA_JOB_TIMEOUT ? "Job timeout" : "Device error", ev.fence, ev.pid,
		status, vitsa_job_status_name(status), ev.aborted, n);
	vitsa_hw_restart(vdev, n);

	vitsa_genl_event(vdev, &ev);
	vitsa_genl_event(vdev, &(struct vitsa_event){ .type = VITSA_EVENT_RESET,
						      .aborted = ev.aborted, .requeued = n });
}

/* The status the job at the head gets when the ring halted: the ring's error if it is its. */
static u32 vitsa_hw_halt_status(struct vitsa_device *vdev)
{
	u32 err = vitsa_reg_read(vdev, VITSA_REG_ERROR);

	return err == VITSA_ERR_DMA_READ || err == VITSA_ERR_DMA_WRITE ? err : VITSA_JOB_ABORTED;
}

/*
 * What an interrupt asks for: acknowledge it, retire what the device finished, recover from a
 * halted ring or a device that lies.  Every cause is acknowledged, not only those a read of
 * INT_STATUS found: one set between that read and the write would stay pending, so that no
 * later completion turned INT_STATUS & INT_ENABLE from 0 to non-zero, and the device would
 * signal no more.  RING_HEAD is read after the acknowledgement, so that a completion after it
 * raises a new interrupt.  A dead device is acknowledged too, so that a level-triggered line
 * it holds goes quiet.  Returns false when the device was reset or is dead.
 */
static bool vitsa_hw_service(struct vitsa_device *vdev)
{
	lockdep_assert_held(&vdev->ring_lock);
	vitsa_reg_write(vdev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	if (vdev->dead)
		return false;

	if (!vitsa_hw_retire(vdev))
		vitsa_hw_recover(vdev, VITSA_JOB_ABORTED, VITSA_EVENT_DEVICE_ERROR);
	else if (vitsa_reg_read(vdev, VITSA_REG_STATUS) & VITSA_STATUS_HALTED)
		vitsa_hw_recover(vdev, vitsa_hw_halt_status(vdev), VITSA_EVENT_DEVICE_ERROR);
	else
		return true;
	return false;
}

/*
 * The hung-job detector: runs when the job at the head would time out, until the ring is empty.
 * It does what an interrupt would (one may have been lost) and declares the job at the head
 * hung once it has been there for job_timeout_ms (per job of a list).
 */
static void vitsa_hw_tdr_work(struct work_struct *work)
{
	struct vitsa_device *vdev = container_of(to_delayed_work(work), struct vitsa_device, tdr);

	guard(mutex)(&vdev->ring_lock);
	if (vdev->gone || vdev->dead || vdev->head == vdev->tail)
		return;
	if (!vitsa_hw_service(vdev) || vdev->head == vdev->tail)
		return;

	if (time_before(jiffies, vitsa_hw_head_deadline(vdev)))
		vitsa_hw_tdr_arm(vdev);
	else
		vitsa_hw_recover(vdev, VITSA_JOB_TIMEOUT, VITSA_EVENT_JOB_TIMEOUT);
}

void vitsa_hw_tdr_init(struct vitsa_device *vdev)
{
	INIT_DELAYED_WORK(&vdev->tdr, vitsa_hw_tdr_work);
}

/* The device's counters into @st; the driver's fields of @st are left alone. */
void vitsa_hw_counters_read(struct vitsa_device *vdev, struct vitsa_stats *st)
{
	lockdep_assert_held(&vdev->ring_lock);
	st->macs = readq(vdev->regs + VITSA_REG_CNT_MACS);
	st->busy_cycles = readq(vdev->regs + VITSA_REG_CNT_BUSY_CYCLES);
	st->dma_read_bytes = readq(vdev->regs + VITSA_REG_CNT_DMA_RD_BYTES);
	st->dma_write_bytes = readq(vdev->regs + VITSA_REG_CNT_DMA_WR_BYTES);
	if (vdev->clock_mhz)
		st->idle_cycles = readq(vdev->regs + VITSA_REG_CNT_IDLE_CYCLES);
}

/*
 * INTx may be shared: claim the interrupt only when this device asserts it, i.e. has an
 * enabled cause pending.  A status bit latched while interrupts are off is not an interrupt
 * (another device on the line raised it), and a device gone from the bus reads all ones.
 */
static irqreturn_t vitsa_hw_irq_intx(int irq, void *arg)
{
	struct vitsa_device *vdev = arg;
	u32 status = vitsa_reg_read(vdev, VITSA_REG_INT_STATUS);

	if (PCI_POSSIBLE_ERROR(status) ||
	    !(status & vitsa_reg_read(vdev, VITSA_REG_INT_ENABLE) & VITSA_INT_ALL))
		return IRQ_NONE;
	return IRQ_WAKE_THREAD;
}

static irqreturn_t vitsa_hw_irq_thread(int irq, void *arg)
{
	struct vitsa_device *vdev = arg;

	guard(mutex)(&vdev->ring_lock);
	/* Removal stopped the device before it set gone; its registers are not ours any more. */
	if (!vdev->gone)
		vitsa_hw_service(vdev);
	return IRQ_HANDLED;
}

/**
 * vitsa_hw_irq_init() - one MSI vector (INTx without MSI) and a threaded handler
 * @vdev: the device, reset, with interrupts disabled
 *
 * Both the vector and the handler are device-managed.
 *
 * Return: 0 or a negative errno.
 */
int vitsa_hw_irq_init(struct vitsa_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	irq_handler_t primary = vitsa_hw_irq_intx;
	unsigned long flags = IRQF_ONESHOT | IRQF_SHARED;
	int ret;

	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI | PCI_IRQ_LEGACY);
	if (ret < 0)
		return ret;

	/* An MSI vector is ours alone and edge-triggered: always run the thread. */
	if (pdev->msi_enabled) {
		primary = NULL;
		flags = IRQF_ONESHOT;
	}
	return devm_request_threaded_irq(&pdev->dev, pci_irq_vector(pdev, 0), primary,
					 vitsa_hw_irq_thread, flags, vdev->name, vdev);
}

/**
 * vitsa_hw_fini() - on removal: stop the device, fail queued jobs, refuse new ones
 * @vdev: the device
 */
void vitsa_hw_fini(struct vitsa_device *vdev)
{
	scoped_guard(mutex, &vdev->ring_lock) {
		/* Collect what already finished so that it is reported as done, not aborted. */
		if (!vdev->dead)
			vitsa_hw_retire(vdev);
		vitsa_hw_abort(vdev);
		vitsa_hw_counters_read(vdev, &vdev->stats);
		WRITE_ONCE(vdev->gone, true);
	}
	/* Kicks happen only under ring_lock and before gone: nothing re-arms it after this. */
	cancel_delayed_work_sync(&vdev->tdr);
}
