// SPDX-License-Identifier: MIT
/*
 * vitrt top: every vitsa device with its counters and per-second rates, read through the
 * driver's generic netlink family (uapi/vitsa_netlink.h) every --interval seconds, and each
 * event of the family's "events" group as it arrives.  --json prints one object per refresh
 * and per event, one per line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "vitrt.h"
#include "vitrt_cli.h"
#include "vitsa_netlink.h"

struct top_opts {
	double interval;	/* seconds between refreshes */
	long count;		/* refreshes, 0 = until interrupted */
	long device;		/* only /dev/vitsaN (GET_DEVICE doit), -1 = all (dump) */
	bool json;
};

/* One device as one GET_DEVICE reply describes it. */
struct top_dev {
	uint32_t index;
	char name[32];
	char pci[32];
	uint32_t hw_version, rows, cols, clock_mhz, timeout_ms;
	uint64_t st[VITSA_STAT_MAX + 1];	/* by VITSA_STAT_*, 0 when not sent */
};

struct top_snap {
	struct top_dev *dev;
	unsigned ndev, cap;
	double t;		/* CLOCK_MONOTONIC seconds when requested */
	int err;		/* a reply that could not be parsed: negative libnl code */
};

struct top {
	struct top_opts o;
	struct nl_sock *req;	/* GET_DEVICE requests and their replies */
	struct nl_sock *ev;	/* member of the events group; non-blocking */
	int family;
	int kerr;		/* errno of the last NLMSG_ERROR on req, 0 if none */
	char kmsg[128];		/* its extended-ack message, "" if none */
	struct top_snap snap[2];	/* the current and the previous refresh */
};

static const char *const stat_names[VITSA_STAT_MAX + 1] = {
	[VITSA_STAT_JOBS_SUBMITTED] = "jobs_submitted",
	[VITSA_STAT_JOBS_COMPLETED] = "jobs_completed",
	[VITSA_STAT_JOBS_FAILED] = "jobs_failed",
	[VITSA_STAT_TIMEOUTS] = "timeouts",
	[VITSA_STAT_RESETS] = "resets",
	[VITSA_STAT_MACS] = "macs",
	[VITSA_STAT_BUSY_CYCLES] = "busy_cycles",
	[VITSA_STAT_IDLE_CYCLES] = "idle_cycles",
	[VITSA_STAT_DMA_READ_BYTES] = "dma_read_bytes",
	[VITSA_STAT_DMA_WRITE_BYTES] = "dma_write_bytes",
};

static const char *const event_names[VITSA_EVENT_MAX + 1] = {
	[VITSA_EVENT_JOB_TIMEOUT] = "job_timeout",
	[VITSA_EVENT_RESET] = "reset",
	[VITSA_EVENT_DEVICE_ERROR] = "device_error",
	[VITSA_EVENT_DEVICE_ADDED] = "device_added",
	[VITSA_EVENT_DEVICE_REMOVED] = "device_removed",
};

/* libnl checks types and sizes; attributes newer than this program are skipped. */
static const struct nla_policy attr_policy[VITSA_ATTR_MAX + 1] = {
	[VITSA_ATTR_DEV_INDEX] = { .type = NLA_U32 },
	[VITSA_ATTR_DEV_NAME] = { .type = NLA_STRING },
	[VITSA_ATTR_PCI_NAME] = { .type = NLA_STRING },
	[VITSA_ATTR_HW_VERSION] = { .type = NLA_U32 },
	[VITSA_ATTR_ARRAY_ROWS] = { .type = NLA_U32 },
	[VITSA_ATTR_ARRAY_COLS] = { .type = NLA_U32 },
	[VITSA_ATTR_CLOCK_MHZ] = { .type = NLA_U32 },
	[VITSA_ATTR_JOB_TIMEOUT_MS] = { .type = NLA_U32 },
	[VITSA_ATTR_STATS] = { .type = NLA_NESTED },
	[VITSA_ATTR_EVENT] = { .type = NLA_U32 },
	[VITSA_ATTR_EVENT_STATUS] = { .type = NLA_U32 },
	[VITSA_ATTR_EVENT_PID] = { .type = NLA_U32 },
	[VITSA_ATTR_EVENT_FENCE] = { .type = NLA_U64 },
	[VITSA_ATTR_EVENT_ABORTED] = { .type = NLA_U32 },
	[VITSA_ATTR_EVENT_REQUEUED] = { .type = NLA_U32 },
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Wall-clock time: seconds since the epoch, and "HH:MM:SS.mmm" (local time) into @hms. */
static double wall_now(char *hms, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(hms, cap, "%H:%M:%S", &tm);
	snprintf(hms + n, cap - n, ".%03u", (unsigned)(ts.tv_nsec / 1000000) % 1000);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t get_u32(struct nlattr **tb, int attr)
{
	return tb[attr] ? nla_get_u32(tb[attr]) : 0;
}

static void get_str(struct nlattr **tb, int attr, char *buf, size_t cap)
{
	if (tb[attr])
		nla_strlcpy(buf, tb[attr], cap);
	else
		snprintf(buf, cap, "?");
}

/* A quantity with an SI prefix: "512 B", "1.23 GMAC", "40.8 k" (@unit ""). */
static const char *si(double v, const char *unit, char *buf, size_t cap)
{
	static const char prefix[] = "kMGTPE";
	int i = -1;

	while (fabs(v) >= 1000 && i < (int)sizeof(prefix) - 2) {
		v /= 1000;
		i++;
	}
	if (i < 0)
		snprintf(buf, cap, "%.0f%s%s", v, *unit ? " " : "", unit);
	else
		snprintf(buf, cap, "%.3g %c%s", v, prefix[i], unit);
	return buf;
}

/* ---- netlink ---- */

/* Keep the kernel's errno and extended-ack message of a failed request. */
static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	const struct nlmsghdr *h = (const void *)((const char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct top *t = arg;
	size_t off = sizeof(*e);
	long len;

	(void)who;
	t->kerr = -e->error;
	t->kmsg[0] = 0;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	len = (long)h->nlmsg_len - NLMSG_HDRLEN - (long)off;
	if (len > 0 && !nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off), (int)len,
				  NULL) && tb[NLMSGERR_ATTR_MSG])
		nla_strlcpy(t->kmsg, tb[NLMSGERR_ATTR_MSG], sizeof(t->kmsg));
	return NL_STOP;
}

static int on_device(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[VITSA_ATTR_MAX + 1], *st[VITSA_STAT_MAX + 1];
	struct top_snap *s = arg;
	struct top_dev *d;
	int err;

	err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, VITSA_ATTR_MAX, attr_policy);
	if (!err && !tb[VITSA_ATTR_DEV_INDEX])
		err = -NLE_MISSING_ATTR;
	if (!err && tb[VITSA_ATTR_STATS])
		err = nla_parse_nested(st, VITSA_STAT_MAX, tb[VITSA_ATTR_STATS], NULL);
	if (err) {
		s->err = err;
		return NL_SKIP;		/* read the dump to its end all the same */
	}
	if (s->ndev == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 8;
		struct top_dev *p = realloc(s->dev, cap * sizeof(*p));

		if (!p) {
			s->err = -NLE_NOMEM;
			return NL_SKIP;
		}
		s->dev = p;
		s->cap = cap;
	}
	d = &s->dev[s->ndev++];
	memset(d, 0, sizeof(*d));
	d->index = get_u32(tb, VITSA_ATTR_DEV_INDEX);
	get_str(tb, VITSA_ATTR_DEV_NAME, d->name, sizeof(d->name));
	get_str(tb, VITSA_ATTR_PCI_NAME, d->pci, sizeof(d->pci));
	d->hw_version = get_u32(tb, VITSA_ATTR_HW_VERSION);
	d->rows = get_u32(tb, VITSA_ATTR_ARRAY_ROWS);
	d->cols = get_u32(tb, VITSA_ATTR_ARRAY_COLS);
	d->clock_mhz = get_u32(tb, VITSA_ATTR_CLOCK_MHZ);
	d->timeout_ms = get_u32(tb, VITSA_ATTR_JOB_TIMEOUT_MS);
	for (int i = 0; tb[VITSA_ATTR_STATS] && i <= VITSA_STAT_MAX; i++)
		if (stat_names[i] && st[i] && nla_len(st[i]) == sizeof(uint64_t))
			d->st[i] = nla_get_u64(st[i]);
	return NL_OK;
}


/* One VITSA_CMD_EVENT message. */
struct top_event {
	uint32_t index, type, status, pid, aborted, requeued;
	uint64_t fence;
	char name[32], pci[32];
};

static void print_event(const struct top_event *e, bool json)
{
	const char *what = e->type <= VITSA_EVENT_MAX && event_names[e->type] ?
			   event_names[e->type] : "unknown";
	char hms[16];
	double now = wall_now(hms, sizeof(hms));

	if (!json) {
		printf("%s  %-8s event %-14s pid %" PRIu32 "  fence %" PRIu64 "  status %" PRIu32
		       " (%s)  aborted %" PRIu32 "  requeued %" PRIu32 "\n", hms, e->name, what,
		       e->pid, e->fence, e->status, vitrt_job_status_name(e->status), e->aborted,
		       e->requeued);
		return;
	}
	/* a failed write shows at the next refresh, which ends top */
	cli_json_print(json_pack("{s:s, s:o, s:I, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:s, "
				 "s:I, s:I}",
				 "type", "event", "time", cli_json_fixed(now, 3),
				 "index", (json_int_t)e->index, "device", cli_json_str(e->name),
				 "pci", cli_json_str(e->pci), "event", what,
				 "event_id", (json_int_t)e->type, "pid", (json_int_t)e->pid,
				 "fence", (json_int_t)e->fence, "status", (json_int_t)e->status,
				 "status_name", vitrt_job_status_name(e->status),
				 "aborted", (json_int_t)e->aborted,
				 "requeued", (json_int_t)e->requeued), true);
}

static int on_event(struct nl_msg *msg, void *arg)
{
	const struct top *t = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[VITSA_ATTR_MAX + 1];
	struct top_event e;

	if (h->nlmsg_type != t->family || !genlmsg_valid_hdr(h, 0) ||
	    genlmsg_hdr(h)->cmd != VITSA_CMD_EVENT ||
	    genlmsg_parse(h, 0, tb, VITSA_ATTR_MAX, attr_policy))
		return NL_SKIP;
	e = (struct top_event){
		.index = get_u32(tb, VITSA_ATTR_DEV_INDEX),
		.type = get_u32(tb, VITSA_ATTR_EVENT),
		.status = get_u32(tb, VITSA_ATTR_EVENT_STATUS),
		.pid = get_u32(tb, VITSA_ATTR_EVENT_PID),
		.aborted = get_u32(tb, VITSA_ATTR_EVENT_ABORTED),
		.requeued = get_u32(tb, VITSA_ATTR_EVENT_REQUEUED),
		.fence = tb[VITSA_ATTR_EVENT_FENCE] ? nla_get_u64(tb[VITSA_ATTR_EVENT_FENCE]) : 0,
	};
	get_str(tb, VITSA_ATTR_DEV_NAME, e.name, sizeof(e.name));
	get_str(tb, VITSA_ATTR_PCI_NAME, e.pci, sizeof(e.pci));
	if (t->o.device >= 0 && e.index != (uint32_t)t->o.device)
		return NL_SKIP;
	print_event(&e, t->o.json);
	fflush(stdout);
	return NL_OK;
}

static void top_close(struct top *t)
{
	nl_socket_free(t->req);
	nl_socket_free(t->ev);
	for (int i = 0; i < 2; i++)
		free(t->snap[i].dev);
}

/* Both sockets, the family and the events group; on failure, the reason on stderr. */
static int top_open(struct top *t)
{
	int one = 1, grp, err;
	struct nl_cb *cb;

	t->req = nl_socket_alloc();
	t->ev = nl_socket_alloc();
	if (!t->req || !t->ev)
		return die("top: out of memory");
	err = genl_connect(t->req);
	if (!err)
		err = genl_connect(t->ev);
	if (err)
		return die("top: cannot open a generic netlink socket: %s", nl_geterror(err));

	t->family = genl_ctrl_resolve(t->req, VITSA_GENL_NAME);
	if (t->family == -NLE_OBJ_NOTFOUND)
		return die("top: vitsa netlink family not found: is vitsa.ko loaded?");
	if (t->family < 0)
		return die("top: cannot look up the vitsa netlink family: %s",
			   nl_geterror(t->family));
	grp = genl_ctrl_resolve_grp(t->req, VITSA_GENL_NAME, VITSA_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return die("top: the vitsa netlink family has no '%s' group: %s",
			   VITSA_GENL_MCGRP_EVENTS, nl_geterror(grp));

	/* Requests: no ACK after a reply; errors come with the kernel's message, capped. */
	nl_socket_disable_auto_ack(t->req);
	setsockopt(nl_socket_get_fd(t->req), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(t->req), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	cb = nl_socket_get_cb(t->req);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, t);
	nl_cb_put(cb);

	/* Events: unsolicited, so no sequence numbers; read only when poll(2) says so. */
	nl_socket_disable_seq_check(t->ev);
	nl_socket_modify_cb(t->ev, NL_CB_VALID, NL_CB_CUSTOM, on_event, t);
	err = nl_socket_add_membership(t->ev, grp);
	if (!err)
		err = nl_socket_set_nonblocking(t->ev);
	if (err)
		return die("top: cannot join the vitsa events group: %s", nl_geterror(err));
	return 0;
}

/* Ask for every device (or the one of --device); 0, or a negative libnl code. */
static int top_snapshot(struct top *t, struct top_snap *s)
{
	bool one = t->o.device >= 0;
	struct nl_msg *msg = nlmsg_alloc();
	int err = -NLE_NOMEM;

	s->ndev = 0;
	s->err = 0;
	s->t = mono_s();
	t->kerr = 0;
	if (!msg)
		return err;
	if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, t->family, 0, one ? 0 : NLM_F_DUMP,
			VITSA_CMD_GET_DEVICE, VITSA_GENL_VERSION) &&
	    (!one || !nla_put_u32(msg, VITSA_ATTR_DEV_INDEX, (uint32_t)t->o.device))) {
		nl_socket_modify_cb(t->req, NL_CB_VALID, NL_CB_CUSTOM, on_device, s);
		err = nl_send_auto(t->req, msg);
		if (err >= 0)
			err = nl_recvmsgs_default(t->req);
	}
	nlmsg_free(msg);
	if (err >= 0)
		err = s->err;
	return err < 0 ? err : 0;
}

static int snapshot_error(const struct top *t, int err)
{
	char what[32] = "devices";

	if (t->o.device >= 0)
		snprintf(what, sizeof(what), "/dev/vitsa%ld", t->o.device);
	if (t->kerr)
		return die("top: %s: %s%s%s", what, strerror(t->kerr), t->kmsg[0] ? " - " : "",
			   t->kmsg);
	return die("top: %s: %s", what, nl_geterror(err));
}

struct top_rate {
	bool valid;		/* the device was in the previous refresh too */
	double jobs;		/* jobs retired per second, completed or failed */
	double macs;		/* MACs per second */
	double util;		/* busy / (busy + idle) cycles; < 0 when no cycle passed */
};

static struct top_rate rate_of(const struct top_dev *d, const struct top_snap *prev, double dt)
{
	struct top_rate r = { .util = -1 };
	const struct top_dev *p = NULL;
	uint64_t busy, idle;

	for (unsigned i = 0; prev && i < prev->ndev && !p; i++)
		if (prev->dev[i].index == d->index && !strcmp(prev->dev[i].pci, d->pci))
			p = &prev->dev[i];
	if (!p || dt <= 0)
		return r;
	/* Counters only grow while a device stays bound: a drop is another device. */
	for (int i = 0; i <= VITSA_STAT_MAX; i++)
		if (d->st[i] < p->st[i])
			return r;
	r.valid = true;
	r.jobs = (d->st[VITSA_STAT_JOBS_COMPLETED] - p->st[VITSA_STAT_JOBS_COMPLETED] +
		  d->st[VITSA_STAT_JOBS_FAILED] - p->st[VITSA_STAT_JOBS_FAILED]) / dt;
	r.macs = (d->st[VITSA_STAT_MACS] - p->st[VITSA_STAT_MACS]) / dt;
	busy = d->st[VITSA_STAT_BUSY_CYCLES] - p->st[VITSA_STAT_BUSY_CYCLES];
	idle = d->st[VITSA_STAT_IDLE_CYCLES] - p->st[VITSA_STAT_IDLE_CYCLES];
	if (busy + idle)
		r.util = (double)busy / (double)(busy + idle);
	return r;
}

/* {"jobs_per_s", "macs_per_s", "utilization"}, or null before the second refresh. */
static json_t *rates_json(const struct top_rate *r)
{
	if (!r->valid)
		return json_null();
	return json_pack("{s:o, s:o, s:o}", "jobs_per_s", cli_json_sig(r->jobs, 6),
			 "macs_per_s", cli_json_sig(r->macs, 6),
			 "utilization", r->util < 0 ? json_null() : cli_json_sig(r->util, 6));
}

static json_t *dev_json(const struct top_dev *d, const struct top_rate *r)
{
	json_t *stats = json_object();

	for (int i = 0; i <= VITSA_STAT_MAX; i++) {
		if (stat_names[i] && json_object_set_new(stats, stat_names[i],
							 json_integer((json_int_t)d->st[i]))) {
			json_decref(stats);
			stats = NULL;	/* json_pack reports it */
			break;
		}
	}
	return json_pack("{s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
			 "index", (json_int_t)d->index, "name", cli_json_str(d->name),
			 "pci", cli_json_str(d->pci), "hw_version", (json_int_t)d->hw_version,
			 "array_rows", (json_int_t)d->rows, "array_cols", (json_int_t)d->cols,
			 "clock_mhz", (json_int_t)d->clock_mhz,
			 "job_timeout_ms", (json_int_t)d->timeout_ms, "stats", stats,
			 "rates", rates_json(r));
}

static void print_dev_text(const struct top_dev *d, const struct top_rate *r)
{
	char clock[24], a[24], b[24], c[24], e[24];

	if (d->clock_mhz)
		snprintf(clock, sizeof(clock), "%" PRIu32 " MHz", d->clock_mhz);
	else
		snprintf(clock, sizeof(clock), "clock unknown");
	printf("%-8s %s  %" PRIu32 "x%" PRIu32 " array  %s  job timeout %" PRIu32 " ms  hw %"
	       PRIu32 ".%" PRIu32 "\n", d->name, d->pci, d->rows, d->cols, clock, d->timeout_ms,
	       d->hw_version >> 16, d->hw_version & 0xffff);
	printf("  jobs    %" PRIu64 " submitted  %" PRIu64 " completed  %" PRIu64 " failed  %"
	       PRIu64 " timeouts  %" PRIu64 " resets\n", d->st[VITSA_STAT_JOBS_SUBMITTED],
	       d->st[VITSA_STAT_JOBS_COMPLETED], d->st[VITSA_STAT_JOBS_FAILED],
	       d->st[VITSA_STAT_TIMEOUTS], d->st[VITSA_STAT_RESETS]);
	printf("  device  %s  cycles %s busy, %s idle  DMA %s read, %s written\n",
	       si((double)d->st[VITSA_STAT_MACS], "MAC", a, sizeof(a)),
	       si((double)d->st[VITSA_STAT_BUSY_CYCLES], "", b, sizeof(b)),
	       si((double)d->st[VITSA_STAT_IDLE_CYCLES], "", c, sizeof(c)),
	       si((double)d->st[VITSA_STAT_DMA_READ_BYTES], "B", e, sizeof(e)),
	       si((double)d->st[VITSA_STAT_DMA_WRITE_BYTES], "B", clock, sizeof(clock)));
	if (!r->valid) {
		printf("  rates   from the next refresh on\n");
		return;
	}
	printf("  rates   %.1f jobs/s  %s  ", r->jobs, si(r->macs, "MAC/s", a, sizeof(a)));
	if (r->util < 0)
		printf("utilization -\n");
	else	/* the modeled busy cycles can be a tiny share of the clock's */
		printf(r->util >= 0.01 || !r->util ? "utilization %.1f%%\n" :
		       "utilization %.2g%%\n", 100 * r->util);
}

/* One refresh as text or as {"type":"refresh",...,"devices":[...]}; 0, or 1 after a message. */
static int print_refresh(const struct top *t, const struct top_snap *s,
			 const struct top_snap *prev)
{
	double dt = prev ? s->t - prev->t : 0;
	char hms[16];
	double now = wall_now(hms, sizeof(hms));
	json_t *devs = t->o.json ? json_array() : NULL;
	int err = 0;

	if (!t->o.json)
		printf("%s  %u vitsa device%s\n", hms, s->ndev, s->ndev == 1 ? "" : "s");
	for (unsigned i = 0; i < s->ndev; i++) {
		struct top_rate r = rate_of(&s->dev[i], prev, dt);

		if (t->o.json)
			err |= cli_json_push(devs, dev_json(&s->dev[i], &r));
		else
			print_dev_text(&s->dev[i], &r);
	}
	if (!t->o.json) {
		printf("\n");
		fflush(stdout);
		return 0;
	}
	if (err) {
		json_decref(devs);
		devs = NULL;
	}
	return cli_json_print(json_pack("{s:s, s:o, s:o, s:o}", "type", "refresh",
					"time", cli_json_fixed(now, 3),
					"interval", prev ? cli_json_fixed(dt, 3) : json_null(),
					"devices", devs), true);
}

/* Print events until @deadline (CLOCK_MONOTONIC) or a signal; 0, or 1 after an error. */
static int wait_events(struct top *t, double deadline)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(t->ev), .events = POLLIN };

	for (;;) {
		double left = deadline - mono_s();
		int n, err;

		if (stop)
			return 0;
		n = poll(&pfd, 1, left > 0 ? (int)ceil(left * 1e3) : 0);
		if (n < 0 && errno != EINTR)
			return die("top: poll: %s", strerror(errno));
		if (n > 0) {
			err = nl_recvmsgs_default(t->ev);
			if (err == -NLE_NOMEM)	/* ENOBUFS: the socket overflowed */
				fprintf(stderr, "vitrt: top: events were lost (socket buffer full)\n");
			else if (err < 0 && err != -NLE_AGAIN)
				return die("top: reading events: %s", nl_geterror(err));
		}
		if (n == 0 && left <= 0)
			return 0;
	}
}

static int usage(int status)
{
	printf("usage: vitrt top [OPTIONS]\n"
	       "Every vitsa device (/dev/vitsaN) with its counters and rates, refreshed every\n"
	       "interval, and the driver's events (job timeouts, resets, device errors, devices\n"
	       "added or removed) as they arrive.  Reads the \"vitsa\" generic netlink family of\n"
	       "vitsa.ko; needs no access to the devices themselves.\n\n"
	       "  -i, --interval S   seconds between refreshes (default 1; fractions allowed)\n"
	       "  -n, --count N      stop after N refreshes (default: until Ctrl-C)\n"
	       "  -d, --device N     only /dev/vitsaN\n"
	       "  -j, --json         one JSON object per refresh and per event, one per line:\n"
	       "                     {\"type\":\"refresh\",...,\"devices\":[...]} and\n"
	       "                     {\"type\":\"event\",...}\n");
	return status;
}

static int parse_opts(int argc, char **argv, struct top_opts *o)
{
	static const struct option longs[] = {
		{ "interval", 1, 0, 'i' }, { "count", 1, 0, 'n' }, { "device", 1, 0, 'd' },
		{ "json", 0, 0, 'j' }, { "help", 0, 0, 'h' }, { 0 },
	};
	char *end;
	int c;

	*o = (struct top_opts){ .interval = 1, .device = -1 };
	while ((c = getopt_long(argc, argv, "i:n:d:jh", longs, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->interval = strtod(optarg, &end);
			if (end == optarg || *end || !(o->interval > 0 && o->interval <= 86400))
				return die("top: --interval wants seconds in (0, 86400], not '%s'",
					   optarg), 2;
			break;
		case 'n':
			o->count = strtol(optarg, &end, 10);
			if (end == optarg || *end || o->count < 1)
				return die("top: --count wants a positive number, not '%s'", optarg), 2;
			break;
		case 'd':
			o->device = strtol(optarg, &end, 10);
			if (end == optarg || *end || o->device < 0 || o->device > INT32_MAX)
				return die("top: --device wants N of /dev/vitsaN, not '%s'", optarg), 2;
			break;
		case 'j': o->json = true; break;
		case 'h': exit(usage(0));
		default: return usage(2);
		}
	}
	if (optind != argc)
		return die("top: unexpected argument '%s'", argv[optind]), 2;
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: poll returns */
	struct top t = { 0 };
	double next;
	int ret = parse_opts(argc, argv, &t.o);

	if (ret)
		return ret;
	if (top_open(&t)) {
		top_close(&t);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	next = mono_s();
	for (long i = 0; !t.o.count || i < t.o.count; i++) {
		struct top_snap *cur = &t.snap[i & 1], *prev = i ? &t.snap[!(i & 1)] : NULL;
		int err;

		if (i && (ret = wait_events(&t, next)) != 0)
			break;
		if (stop)
			break;
		err = top_snapshot(&t, cur);
		if (err) {
			ret = snapshot_error(&t, err);
			break;
		}
		ret = print_refresh(&t, cur, prev);
		if (ret)
			break;
		next += t.o.interval;
		if (next < mono_s())	/* a slow refresh: skip, do not catch up */
			next = mono_s();
	}
	/* Events that came in with the last refresh. */
	if (!ret && !stop)
		ret = wait_events(&t, 0);
	top_close(&t);
	return ret;
}
