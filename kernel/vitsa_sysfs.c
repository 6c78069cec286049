// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: the counters and the job timeout in /sys/class/misc/vitsaN/.
 *
 * One value per file, decimal, with a newline:
 *   job_timeout_ms         RW  a job at the head of the ring longer than this (ms) is hung
 *   stats/jobs_submitted   RO  jobs queued in the ring (resubmissions after a reset not counted)
 *   stats/jobs_completed   RO  jobs retired with VITSA_JOB_OK
 *   stats/jobs_failed      RO  jobs retired with any other status
 *   stats/timeouts         RO  jobs declared hung
 *   stats/resets           RO  device resets done to recover
 *   stats/macs             RO  multiply-accumulates the device performed
 *   stats/busy_cycles      RO  array cycles the cycle model charges for the device's jobs
 *   stats/idle_cycles      RO  clock cycles (virtual time) with nothing queued
 *   stats/dma_read_bytes   RO  bytes the device read from memory
 *   stats/dma_write_bytes  RO  bytes the device wrote to memory
 * The counters only grow and are cheap to read; a monitor may poll them at any rate.
 */

#include <linux/device.h>
#include <linux/sysfs.h>

#include "vitsa_drv.h"

static struct vitsa_device *vitsa_sysfs_vdev(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct vitsa_device, misc);
}

/**
 * vitsa_stats_read() - a snapshot of the driver's and the device's counters
 * @vdev: the device; once removed, its device counters are the last ones read
 * @st: Out.
 */
void vitsa_stats_read(struct vitsa_device *vdev, struct vitsa_stats *st)
{
	guard(mutex)(&vdev->ring_lock);
	if (!vdev->gone)
		vitsa_hw_counters_read(vdev, &vdev->stats);
	*st = vdev->stats;
}

struct vitsa_stat_attribute {
	struct device_attribute attr;
	size_t offset;			/* of the u64 in struct vitsa_stats */
};

static ssize_t vitsa_stat_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	const struct vitsa_stat_attribute *sa =
		container_of(attr, struct vitsa_stat_attribute, attr);
	struct vitsa_stats st;

	vitsa_stats_read(vitsa_sysfs_vdev(dev), &st);
	return sysfs_emit(buf, "%llu\n", *(const u64 *)((const char *)&st + sa->offset));
}

#define VITSA_STAT_ATTR(field)							\
	static struct vitsa_stat_attribute vitsa_stat_##field = {		\
		.attr = __ATTR(field, 0444, vitsa_stat_show, NULL),		\
		.offset = offsetof(struct vitsa_stats, field),			\
	}

VITSA_STAT_ATTR(jobs_submitted);
VITSA_STAT_ATTR(jobs_completed);
VITSA_STAT_ATTR(jobs_failed);
VITSA_STAT_ATTR(timeouts);
VITSA_STAT_ATTR(resets);
VITSA_STAT_ATTR(macs);
VITSA_STAT_ATTR(busy_cycles);
VITSA_STAT_ATTR(idle_cycles);
VITSA_STAT_ATTR(dma_read_bytes);
VITSA_STAT_ATTR(dma_write_bytes);

static struct attribute *vitsa_stat_attrs[] = {
	&vitsa_stat_jobs_submitted.attr.attr,
	&vitsa_stat_jobs_completed.attr.attr,
	&vitsa_stat_jobs_failed.attr.attr,
	&vitsa_stat_timeouts.attr.attr,
	&vitsa_stat_resets.attr.attr,
	&vitsa_stat_macs.attr.attr,
	&vitsa_stat_busy_cycles.attr.attr,
	&vitsa_stat_idle_cycles.attr.attr,
	&vitsa_stat_dma_read_bytes.attr.attr,
	&vitsa_stat_dma_write_bytes.attr.attr,
	NULL
};

static const struct attribute_group vitsa_stat_group = {
	.name = "stats",
	.attrs = vitsa_stat_attrs,
};

static ssize_t job_timeout_ms_show(struct device *dev, struct device_attribute *attr,
				   char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(vitsa_sysfs_vdev(dev)->job_timeout_ms));
}

/* Takes effect at once, for the job running now too. */
static ssize_t job_timeout_ms_store(struct device *dev, struct device_attribute *attr,
				    const char *buf, size_t count)
{
	struct vitsa_device *vdev = vitsa_sysfs_vdev(dev);
	u32 ms;
	int ret;

	ret = kstrtou32(buf, 10, &ms);
	if (ret)
		return ret;
	if (!ms || ms > VITSA_JOB_TIMEOUT_MAX_MS)
		return -EINVAL;
	WRITE_ONCE(vdev->job_timeout_ms, ms);
	vitsa_hw_tdr_update(vdev);
	return count;
}
static DEVICE_ATTR_RW(job_timeout_ms);

static struct attribute *vitsa_attrs[] = {
	&dev_attr_job_timeout_ms.attr,
	NULL
};

static const struct attribute_group vitsa_group = {
	.attrs = vitsa_attrs,
};

const struct attribute_group *vitsa_groups[] = {
	&vitsa_group,
	&vitsa_stat_group,
	NULL
};
