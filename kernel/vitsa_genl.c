// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: the generic netlink family "vitsa" (uapi/vitsa_netlink.h, Documentation/uapi.rst).
 *
 * GET_DEVICE describes the bound devices and their counters to monitors such as `vitrt top`;
 * the "events" multicast group carries what probe, remove and the recovery code report through
 * vitsa_genl_event().  The family keeps no state of its own: devices are looked up in the
 * registry of vitsa_drv.c for each request, so requests run in parallel.
 */

#include <net/genetlink.h>

#include "vitsa_drv.h"
#include "vitsa_netlink.h"

/* Index of the "events" group in vitsa_genl_mcgrps[]. */
#define VITSA_GENL_GROUP_EVENTS		0

/* Requests carry at most a device index; anything else is rejected by strict validation. */
static const struct nla_policy vitsa_genl_policy[VITSA_ATTR_DEV_INDEX + 1] = {
	[VITSA_ATTR_DEV_INDEX] = { .type = NLA_U32 },
};

/* The members of struct vitsa_stats as VITSA_ATTR_STATS carries them. */
#define VITSA_GENL_STAT(attr, field) \
	{ VITSA_STAT_##attr, offsetof(struct vitsa_stats, field) }

static const struct {
	u16 attr;
	u16 offset;
} vitsa_genl_stats[] = {
	VITSA_GENL_STAT(JOBS_SUBMITTED, jobs_submitted),
	VITSA_GENL_STAT(JOBS_COMPLETED, jobs_completed),
	VITSA_GENL_STAT(JOBS_FAILED, jobs_failed),
	VITSA_GENL_STAT(TIMEOUTS, timeouts),
	VITSA_GENL_STAT(RESETS, resets),
	VITSA_GENL_STAT(MACS, macs),
	VITSA_GENL_STAT(BUSY_CYCLES, busy_cycles),
	VITSA_GENL_STAT(IDLE_CYCLES, idle_cycles),
	VITSA_GENL_STAT(DMA_READ_BYTES, dma_read_bytes),
	VITSA_GENL_STAT(DMA_WRITE_BYTES, dma_write_bytes),
};

static struct genl_family vitsa_genl_family;

/* Bytes of the attributes vitsa_genl_put_ident() adds. */
static size_t vitsa_genl_ident_size(struct vitsa_device *vdev)
{
	return nla_total_size(sizeof(u32)) +			/* DEV_INDEX */
	       nla_total_size(strlen(vdev->name) + 1) +		/* DEV_NAME */
	       nla_total_size(strlen(pci_name(vdev->pdev)) + 1);	/* PCI_NAME */
}

static int vitsa_genl_put_ident(struct sk_buff *skb, struct vitsa_device *vdev)
{
	if (nla_put_u32(skb, VITSA_ATTR_DEV_INDEX, vdev->index) ||
	    nla_put_string(skb, VITSA_ATTR_DEV_NAME, vdev->name) ||
	    nla_put_string(skb, VITSA_ATTR_PCI_NAME, pci_name(vdev->pdev)))
		return -EMSGSIZE;
	return 0;
}

static int vitsa_genl_put_stats(struct sk_buff *skb, const struct vitsa_stats *st)
{
	struct nlattr *nest;
	unsigned int i;

	nest = nla_nest_start(skb, VITSA_ATTR_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(vitsa_genl_stats); i++) {
		const u64 *val = (const void *)((const char *)st + vitsa_genl_stats[i].offset);

		if (nla_put_u64_64bit(skb, vitsa_genl_stats[i].attr, *val, VITSA_STAT_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Payload of a GET_DEVICE reply for @vdev. */
static size_t vitsa_genl_device_size(struct vitsa_device *vdev)
{
	return vitsa_genl_ident_size(vdev) +
	       5 * nla_total_size(sizeof(u32)) +	/* HW_VERSION .. JOB_TIMEOUT_MS */
	       nla_total_size(0) +			/* STATS */
	       ARRAY_SIZE(vitsa_genl_stats) * nla_total_size_64bit(sizeof(u64));
}

static int vitsa_genl_fill_device(struct sk_buff *skb, struct vitsa_device *vdev, u32 portid,
				  u32 seq, int flags)
{
	struct vitsa_stats st;
	void *hdr;

	vitsa_stats_read(vdev, &st);
	hdr = genlmsg_put(skb, portid, seq, &vitsa_genl_family, flags, VITSA_CMD_GET_DEVICE);
	if (!hdr)
		return -EMSGSIZE;
	if (vitsa_genl_put_ident(skb, vdev) ||
	    nla_put_u32(skb, VITSA_ATTR_HW_VERSION, vdev->hw_version) ||
	    nla_put_u32(skb, VITSA_ATTR_ARRAY_ROWS, vdev->array_rows) ||
	    nla_put_u32(skb, VITSA_ATTR_ARRAY_COLS, vdev->array_cols) ||
	    nla_put_u32(skb, VITSA_ATTR_CLOCK_MHZ, vdev->clock_mhz) ||
	    nla_put_u32(skb, VITSA_ATTR_JOB_TIMEOUT_MS, READ_ONCE(vdev->job_timeout_ms)) ||
	    vitsa_genl_put_stats(skb, &st)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* The device /dev/vitsa<index>, with a reference held, or NULL. */
static struct vitsa_device *vitsa_genl_device_get(u32 index)
{
	unsigned long found = index;
	struct vitsa_device *vdev = vitsa_device_get_next(&found);

	if (vdev && found != index) {
		vitsa_device_put(vdev);
		return NULL;
	}
	return vdev;
}

static int vitsa_genl_get_device_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr = info->attrs[VITSA_ATTR_DEV_INDEX];
	struct vitsa_device *vdev;
	struct sk_buff *msg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VITSA_ATTR_DEV_INDEX))
		return -EINVAL;
	vdev = vitsa_genl_device_get(nla_get_u32(attr));
	if (!vdev) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "No such vitsa device");
		return -ENODEV;
	}

	msg = genlmsg_new(vitsa_genl_device_size(vdev), GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto err_put_device;
	}
	ret = vitsa_genl_fill_device(msg, vdev, info->snd_portid, info->snd_seq, 0);
	if (WARN_ON_ONCE(ret))	/* vitsa_genl_device_size() is wrong */
		goto err_free_msg;
	vitsa_device_put(vdev);
	return genlmsg_reply(msg, info);

err_free_msg:
	nlmsg_free(msg);
err_put_device:
	vitsa_device_put(vdev);
	return ret;
}

/* A dump lists every device; selecting one is the doit's job. */
static int vitsa_genl_get_device_start(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct nlattr *attr = info->attrs[VITSA_ATTR_DEV_INDEX];

	if (attr) {
		NL_SET_ERR_MSG_ATTR(cb->extack, attr, "A dump takes no device index");
		return -EINVAL;
	}
	return 0;
}

/* One message per device in index order; cb->args[0] is where the next skb resumes. */
static int vitsa_genl_get_device_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned long index = cb->args[0];
	struct vitsa_device *vdev;
	int ret = 0;

	while ((vdev = vitsa_device_get_next(&index))) {
		ret = vitsa_genl_fill_device(skb, vdev, NETLINK_CB(cb->skb).portid,
					     cb->nlh->nlmsg_seq, NLM_F_MULTI);
		vitsa_device_put(vdev);
		if (ret)
			break;
		index++;
	}
	cb->args[0] = index;
	/* A full skb is sent and the dump goes on; a device that fits in no skb is an error. */
	return ret && !skb->len ? ret : skb->len;
}

static const struct genl_ops vitsa_genl_ops[] = {
	{
		.cmd = VITSA_CMD_GET_DEVICE,
		.doit = vitsa_genl_get_device_doit,
		.start = vitsa_genl_get_device_start,
		.dumpit = vitsa_genl_get_device_dumpit,
		.policy = vitsa_genl_policy,
		.maxattr = ARRAY_SIZE(vitsa_genl_policy) - 1,
	},
};

static const struct genl_multicast_group vitsa_genl_mcgrps[] = {
	[VITSA_GENL_GROUP_EVENTS] = { .name = VITSA_GENL_MCGRP_EVENTS },
};

static struct genl_family vitsa_genl_family __ro_after_init = {
	.name = VITSA_GENL_NAME,
	.version = VITSA_GENL_VERSION,
	.module = THIS_MODULE,
	.parallel_ops = true,
	/* Every command is new: reserved header bits, flags and attributes checked strictly. */
	.resv_start_op = 0,
	.ops = vitsa_genl_ops,
	.n_ops = ARRAY_SIZE(vitsa_genl_ops),
	.mcgrps = vitsa_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vitsa_genl_mcgrps),
};

static size_t vitsa_genl_event_size(struct vitsa_device *vdev)
{
	return vitsa_genl_ident_size(vdev) +
	       5 * nla_total_size(sizeof(u32)) +	/* EVENT, STATUS, PID, ABORTED, REQUEUED */
	       nla_total_size_64bit(sizeof(u64));	/* FENCE */
}

/*
 * Any local user may join the group, and every member gets the same message, so an event
 * carries no per-process data: PID and FENCE stay in the message, always 0 (issue 11).  The
 * owner learns of its failed job from VITSA_IOCTL_WAIT's error_fence, an administrator from
 * the kernel log, which names pid and fence.
 */
static int vitsa_genl_fill_event(struct sk_buff *skb, struct vitsa_device *vdev,
				 const struct vitsa_event *ev)
{
	void *hdr;

	hdr = genlmsg_put(skb, 0, 0, &vitsa_genl_family, 0, VITSA_CMD_EVENT);
	if (!hdr)
		return -EMSGSIZE;
	if (vitsa_genl_put_ident(skb, vdev) ||
	    nla_put_u32(skb, VITSA_ATTR_EVENT, ev->type) ||
	    nla_put_u32(skb, VITSA_ATTR_EVENT_STATUS, ev->status) ||
	    nla_put_u32(skb, VITSA_ATTR_EVENT_PID, 0) ||
	    nla_put_u64_64bit(skb, VITSA_ATTR_EVENT_FENCE, 0, VITSA_ATTR_PAD) ||
	    nla_put_u32(skb, VITSA_ATTR_EVENT_ABORTED, ev->aborted) ||
	    nla_put_u32(skb, VITSA_ATTR_EVENT_REQUEUED, ev->requeued)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/**
 * vitsa_genl_event() - tell the "events" group's listeners what happened to a device
 * @vdev: the device, bound or on its way out
 * @ev: the event
 *
 * Process context; may be called with @vdev->ring_lock held, so it takes no device lock.
 * Without listeners nothing is built; a listener whose socket is full misses the event (and
 * sees ENOBUFS).
 */
void vitsa_genl_event(struct vitsa_device *vdev, const struct vitsa_event *ev)
{
	struct sk_buff *msg;
	int ret;

	if (!genl_has_listeners(&vitsa_genl_family, &init_net, VITSA_GENL_GROUP_EVENTS))
		return;

	msg = genlmsg_new(vitsa_genl_event_size(vdev), GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto err_warn;
	}
	ret = vitsa_genl_fill_event(msg, vdev, ev);
	if (WARN_ON_ONCE(ret)) {	/* vitsa_genl_event_size() is wrong */
		nlmsg_free(msg);
		goto err_warn;
	}
	/* Consumes msg; -ESRCH when the last listener just left. */
	genlmsg_multicast(&vitsa_genl_family, msg, 0, VITSA_GENL_GROUP_EVENTS, GFP_KERNEL);
	return;

err_warn:
	dev_warn_ratelimited(&vdev->pdev->dev, "Failed to send netlink event %u: %d\n",
			     ev->type, ret);
}

int vitsa_genl_init(void)
{
	/* Every member of struct vitsa_stats is sent, each under its own attribute. */
	BUILD_BUG_ON(ARRAY_SIZE(vitsa_genl_stats) != VITSA_STAT_MAX - VITSA_STAT_PAD);
	BUILD_BUG_ON(sizeof(struct vitsa_stats) != ARRAY_SIZE(vitsa_genl_stats) * sizeof(u64));

	return genl_register_family(&vitsa_genl_family);
}

void vitsa_genl_fini(void)
{
	genl_unregister_family(&vitsa_genl_family);
}
