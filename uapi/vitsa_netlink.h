/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * vitsa: the generic netlink family "vitsa", for monitors (Documentation/uapi.rst, "Netlink").
 *
 * The ioctls of uapi/vitsa.h drive one device through its open file; this family describes
 * every bound device without opening any, and announces what happens to them:
 *  - VITSA_CMD_GET_DEVICE with VITSA_ATTR_DEV_INDEX answers with one device; as a dump
 *    (NLM_F_DUMP, no attributes) with one message per device in index order.  A reply holds
 *    every VITSA_ATTR_* from DEV_INDEX to STATS.  An unknown index is -ENODEV.
 *  - VITSA_CMD_EVENT is only ever sent by the kernel, to the multicast group
 *    VITSA_GENL_MCGRP_EVENTS: DEV_INDEX, DEV_NAME, PCI_NAME and every VITSA_ATTR_EVENT_*
 *    (those that do not apply to the event's type are 0).  Joining the group needs no
 *    privilege, so nothing in an event names a process: EVENT_PID and EVENT_FENCE are 0.
 *
 * Requests are validated strictly: a reserved genetlink header field that is not 0, an unknown
 * attribute or one of the wrong size is -EINVAL.  Counters are __u64 and only grow while the
 * device stays bound.  Attributes may be added at the end of each list; receivers must ignore
 * the ones they do not know.
 */
#ifndef _UAPI_VITSA_NETLINK_H
#define _UAPI_VITSA_NETLINK_H

#if defined(__cplusplus)
extern "C" {
#endif

#define VITSA_GENL_NAME		"vitsa"
#define VITSA_GENL_VERSION	1
#define VITSA_GENL_MCGRP_EVENTS	"events"

enum vitsa_cmd {
	VITSA_CMD_UNSPEC,
	VITSA_CMD_GET_DEVICE,	/* doit: DEV_INDEX -> one device; dump: every device */
	VITSA_CMD_EVENT,	/* notification on VITSA_GENL_MCGRP_EVENTS only */

	__VITSA_CMD_MAX,
};
#define VITSA_CMD_MAX	(__VITSA_CMD_MAX - 1)

/* Top-level attributes.  Replies carry DEV_INDEX..STATS; events DEV_INDEX..PCI_NAME, EVENT_*. */
enum vitsa_attr {
	VITSA_ATTR_UNSPEC,
	VITSA_ATTR_PAD,			/* alignment padding for __u64 attributes; ignore */
	VITSA_ATTR_DEV_INDEX,		/* __u32: N of /dev/vitsaN; the only request attribute */
	VITSA_ATTR_DEV_NAME,		/* string: "vitsaN" */
	VITSA_ATTR_PCI_NAME,		/* string: the PCI address, e.g. "0000:00:04.0" */
	VITSA_ATTR_HW_VERSION,		/* __u32: the device's VERSION register, major << 16 | minor */
	VITSA_ATTR_ARRAY_ROWS,		/* __u32: systolic array rows */
	VITSA_ATTR_ARRAY_COLS,		/* __u32: systolic array columns */
	VITSA_ATTR_CLOCK_MHZ,		/* __u32: array clock in MHz; 0 = unknown */
	VITSA_ATTR_JOB_TIMEOUT_MS,	/* __u32: a job running longer is hung and the device reset */
	VITSA_ATTR_STATS,		/* nested: VITSA_STAT_*, a snapshot taken for this message */
	VITSA_ATTR_EVENT,		/* __u32: VITSA_EVENT_* */
	VITSA_ATTR_EVENT_STATUS,	/* __u32: the job's VITSA_JOB_*, or the device's ERROR code */
	VITSA_ATTR_EVENT_PID,		/* __u32: always 0 (not disclosed; the kernel log has it) */
	VITSA_ATTR_EVENT_FENCE,		/* __u64: always 0, likewise */
	VITSA_ATTR_EVENT_ABORTED,	/* __u32: jobs the recovery failed (VITSA_JOB_ABORTED) */
	VITSA_ATTR_EVENT_REQUEUED,	/* __u32: jobs the recovery put back into the ring */

	__VITSA_ATTR_MAX,
};
#define VITSA_ATTR_MAX	(__VITSA_ATTR_MAX - 1)

/*
 * Attributes nested in VITSA_ATTR_STATS, each __u64; the same counters, under the same names
 * in lower case, as /sys/class/misc/vitsaN/stats/.  "device" ones are the device's own.
 */
enum vitsa_stat {
	VITSA_STAT_UNSPEC,
	VITSA_STAT_PAD,			/* alignment padding; ignore */
	VITSA_STAT_JOBS_SUBMITTED,	/* jobs queued in the ring */
	VITSA_STAT_JOBS_COMPLETED,	/* jobs retired with VITSA_JOB_OK */
	VITSA_STAT_JOBS_FAILED,		/* jobs retired with any other status */
	VITSA_STAT_TIMEOUTS,		/* jobs the driver declared hung */
	VITSA_STAT_RESETS,		/* device resets done to recover */
	VITSA_STAT_MACS,		/* device: multiply-accumulates performed */
	VITSA_STAT_BUSY_CYCLES,		/* device: array clock cycles spent on jobs */
	VITSA_STAT_IDLE_CYCLES,		/* device: array clock cycles with nothing queued */
	VITSA_STAT_DMA_READ_BYTES,	/* device: bytes read from host memory */
	VITSA_STAT_DMA_WRITE_BYTES,	/* device: bytes written to host memory */

	__VITSA_STAT_MAX,
};
#define VITSA_STAT_MAX	(__VITSA_STAT_MAX - 1)

/* Values of VITSA_ATTR_EVENT. */
enum vitsa_event_type {
	VITSA_EVENT_JOB_TIMEOUT = 1,	/* a job hung: STATUS is its status */
	VITSA_EVENT_RESET = 2,		/* the device was reset: ABORTED, REQUEUED */
	VITSA_EVENT_DEVICE_ERROR = 3,	/* the ring halted: STATUS is the ERROR register */
	VITSA_EVENT_DEVICE_ADDED = 4,	/* /dev/vitsaN appeared */
	VITSA_EVENT_DEVICE_REMOVED = 5,	/* /dev/vitsaN went away */

	__VITSA_EVENT_MAX,
};
#define VITSA_EVENT_MAX	(__VITSA_EVENT_MAX - 1)

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_VITSA_NETLINK_H */
