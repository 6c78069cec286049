// SPDX-License-Identifier: MIT
/*
 * vitsa-qtest: tests the vitsa QEMU device from the host through QEMU's qtest protocol.
 *
 * Usage: vitsa-qtest QEMU_BINARY      (or QEMU=... in the environment)
 *
 * QEMU runs with -accel qtest, so no guest code executes: this program is the guest.  It
 * programs PCI config space through ports 0xcf8/0xcfc, maps BAR0, writes descriptors and
 * operands into guest RAM and checks registers, completion records and results.  Results
 * are compared with vitsa_ref_gemm() (hw/model/vitsa_ref.c), computed here on a host copy
 * of the guest memory.  Hot-plug and machine reset go through an HMP monitor on a unix
 * socket in /tmp.  A second QEMU runs a device with x-fault-inject=on for the fault
 * injection tests.  Output is KTAP; the exit status is non-zero on any failure.
 *
 * Environment: VITSA_QTEST_SEED (random operands), VITSA_QTEST_VERBOSE=1 (QEMU logs guest
 * errors on stderr), VITSA_QTEST_LOG=FILE (QEMU logs the qtest traffic there),
 * VITSA_QEMU_DATA (colon-separated firmware directories, default
 * /usr/share/qemu:/usr/share/seabios).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vitsa_hw.h"
#include "vitsa_model.h"
#include "vitsa_ref.h"
#include "vitsa_vec.h"
#include "vtest.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "descriptors are written in host byte order: little-endian hosts only"
#endif

/* Guest physical layout (the machine has 256 MiB of RAM; no firmware runs). */
#define RING_ADDR	0x00100000ull	/* command ring */
#define CPL_ADDR	0x00140000ull	/* completion ring */
#define MSI_ADDR	0x00180000ull	/* MSI messages land here, in RAM */
#define SMALL_ADDR	0x001c0000ull	/* operands of the small filler job */
#define DATA_ADDR	0x00200000ull	/* operands mirrored from the host image */
#define DATA_SIZE	0x00200000ull
#define BIG_ADDR	0x01000000ull	/* operands of the long job the reset test abandons */
#define BAR_ADDR	0xe0000000ull	/* where BAR0 is mapped */
#define UNASSIGNED_ADDR	0xd0000000ull	/* in the PCI hole, where no BAR is */
#define PAM_ADDR	0x000c0000ull	/* RAM, or the read-only option ROM area when PAM1 is 0 */
#define OUTSIDE_RAM	0xfff0000000000000ull

#define RING_ENTRIES	16
#define MSI_DATA	0x4d5au
#define TIMEOUT_NS	20000000000ll	/* 20 s: generous, only to avoid hanging forever */

#define PCI_CMD_MEMORY	0x2
#define PCI_CMD_MASTER	0x4
#define PCI_CAP_ID_MSI	0x05
#define INTX_GSI	10		/* where the test routes the PIIX PIRQs */
#define I440FX_PAM1	0x5a		/* host bridge config: PAM of 0xc0000-0xc7fff */
#define PAM_RAM		0x33		/* both halves read and write RAM */

/* ---- qtest client ---------------------------------------------------------------------- */

/* Bytes read from a descriptor but not yet consumed. */
struct rbuf {
	char *data;
	size_t len, cap;
};

struct qemu {
	pid_t pid;
	FILE *to;		/* qtest commands */
	int from;		/* qtest answers */
	struct rbuf in;		/* of @from */
	int mon;		/* HMP monitor socket, -1 if none */
	bool dead;
	bool reaped;		/* waitpid() already collected it */
	int irq[256];		/* last level QEMU reported per intercepted IRQ line */
};

static const char *qemu_binary;

static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void pause_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Start QEMU with the common options plus @extra (NULL-terminated); false on failure. */
static bool qemu_start(struct qemu *q, const char *const *extra)
{
	const char *data = getenv("VITSA_QEMU_DATA");
	char *data_copy, *dir, *save;
	const char *argv[64];
	int to[2], from[2], argc = 0;

	memset(q, 0, sizeof(*q));
	q->from = -1;
	q->mon = -1;
	data_copy = strdup(data ? data : "/usr/share/qemu:/usr/share/seabios");
	if (!data_copy || pipe(to) || pipe(from)) {
		diag("cannot start QEMU: %s", strerror(errno));
		free(data_copy);
		q->dead = true;
		return false;
	}
	argv[argc++] = qemu_binary;
	argv[argc++] = "-machine";
	argv[argc++] = "pc";
	argv[argc++] = "-accel";
	argv[argc++] = "qtest";
	argv[argc++] = "-qtest";
	argv[argc++] = "stdio";
	argv[argc++] = "-qtest-log";
	argv[argc++] = getenv("VITSA_QTEST_LOG") ? getenv("VITSA_QTEST_LOG") : "none";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-m";
	argv[argc++] = "256M";
	for (dir = strtok_r(data_copy, ":", &save); dir && argc < 40;
	     dir = strtok_r(NULL, ":", &save)) {
		argv[argc++] = "-L";
		argv[argc++] = dir;
	}
	if (getenv("VITSA_QTEST_VERBOSE")) {
		argv[argc++] = "-d";
		argv[argc++] = "guest_errors";
	}
	for (; *extra && argc < 62; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;

	q->pid = fork();
	if (q->pid < 0) {
		diag("fork: %s", strerror(errno));
		free(data_copy);
		q->dead = true;
		return false;
	}
	if (q->pid == 0) {
		dup2(to[0], STDIN_FILENO);
		dup2(from[1], STDOUT_FILENO);
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		execv(qemu_binary, (char **)argv);
		fprintf(stderr, "vitsa-qtest: exec %s: %s\n", qemu_binary, strerror(errno));
		_exit(127);
	}
	free(data_copy);
	close(to[0]);
	close(from[1]);
	q->from = from[0];
	q->to = fdopen(to[1], "w");
	if (!q->to) {
		diag("fdopen: %s", strerror(errno));
		q->dead = true;
		return false;
	}
	return true;
}

/* Wait for QEMU to exit on its own; its exit status, or -1 on a timeout or a signal. */
static int qemu_wait_exit(struct qemu *q)
{
	int64_t end = now_ns() + TIMEOUT_NS;
	int status;

	while (now_ns() < end) {
		pid_t r = waitpid(q->pid, &status, WNOHANG);

		if (r == q->pid) {
			q->reaped = true;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		if (r < 0)
			return -1;
		pause_us(10000);
	}
	return -1;
}

static void qemu_stop(struct qemu *q)
{
	if (q->to)
		fclose(q->to);
	if (q->mon >= 0)
		close(q->mon);
	if (q->pid > 0 && !q->reaped) {
		kill(q->pid, SIGTERM);
		/* A deadlocked QEMU never acts on SIGTERM: fail, do not hang. */
		if (qemu_wait_exit(q) < 0 && !q->reaped) {
			diag("QEMU did not exit on SIGTERM: killed");
			kill(q->pid, SIGKILL);
			waitpid(q->pid, NULL, 0);
		}
	}
	if (q->from >= 0)
		close(q->from);
	free(q->in.data);
	memset(q, 0, sizeof(*q));
	q->from = -1;
	q->mon = -1;
	q->dead = true;
}

/* Append what @fd has to @b (NUL-terminated), waiting until @deadline; false on EOF/timeout. */
static bool fill(struct rbuf *b, int fd, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t left = deadline - now_ns();
	ssize_t n;

	if (left <= 0 || poll(&pfd, 1, (int)(left / 1000000) + 1) <= 0)
		return false;
	if (b->cap - b->len < 4096) {
		char *grown = realloc(b->data, b->cap * 2 + 4096);

		if (!grown)
			return false;
		b->data = grown;
		b->cap = b->cap * 2 + 4096;
	}
	n = read(fd, b->data + b->len, b->cap - b->len - 1);
	if (n <= 0)
		return false;
	b->len += n;
	b->data[b->len] = 0;
	return true;
}

/* The next answer line (without '\n'), valid until the next call; NULL on EOF or timeout. */
static char *read_line(struct qemu *q)
{
	static char *line;
	static size_t line_cap;
	int64_t deadline = now_ns() + TIMEOUT_NS;
	char *nl;

	struct rbuf *b = &q->in;
	size_t n;

	while (!(nl = b->len ? memchr(b->data, '\n', b->len) : NULL)) {
		if (!fill(b, q->from, deadline))
			return NULL;
	}
	n = nl - b->data;
	if (n + 1 > line_cap) {
		free(line);
		line_cap = n + 1;
		line = malloc(line_cap);
		if (!line) {
			line_cap = 0;
			return NULL;
		}
	}
	memcpy(line, b->data, n);
	line[n] = 0;
	b->len -= n + 1;
	memmove(b->data, nl + 1, b->len);
	return line;
}

/* Send one command; the text after "OK" of its answer, or NULL (QEMU gone, hung or FAIL). */
static const char *qt_cmd(struct qemu *q, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int irq;

	if (q->dead)
		return NULL;
	va_start(ap, fmt);
	vfprintf(q->to, fmt, ap);
	va_end(ap);
	fputc('\n', q->to);
	if (fflush(q->to)) {
		diag("QEMU does not take commands any more");
		q->dead = true;
		return NULL;
	}
	for (;;) {
		line = read_line(q);
		if (!line) {
			diag("QEMU closed the qtest connection or stopped answering");
			q->dead = true;
			return NULL;
		}
		if (sscanf(line, "IRQ raise %d", &irq) == 1 && irq >= 0 && irq < 256) {
			q->irq[irq] = 1;
		} else if (sscanf(line, "IRQ lower %d", &irq) == 1 && irq >= 0 && irq < 256) {
			q->irq[irq] = 0;
		} else if (!strncmp(line, "OK", 2)) {
			return line[2] == ' ' ? line + 3 : line + 2;
		} else {
			diag("qtest answered '%s'", line);
			return NULL;
		}
	}
}

/* HMP over a unix socket: send @cmd (if any), wait for the next "(qemu) " prompt. */
static bool mon_cmd(struct qemu *q, const char *cmd)
{
	int64_t deadline = now_ns() + TIMEOUT_NS;
	struct rbuf out = { 0 };
	bool ok = false;

	if (q->mon < 0)
		return false;
	if (cmd && (write(q->mon, cmd, strlen(cmd)) < 0 || write(q->mon, "\n", 1) < 0))
		return false;
	while (!ok && fill(&out, q->mon, deadline))
		ok = strstr(out.data, "(qemu) ") != NULL;
	free(out.data);
	if (!ok)
		diag("the monitor did not answer '%s'", cmd ? cmd : "");
	return ok;
}

static bool mon_connect(struct qemu *q, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int64_t deadline = now_ns() + TIMEOUT_NS;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	while (now_ns() < deadline) {
		q->mon = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->mon < 0)
			return false;
		if (!connect(q->mon, (struct sockaddr *)&addr, sizeof(addr)))
			return mon_cmd(q, NULL);	/* the banner and the first prompt */
		close(q->mon);
		q->mon = -1;
		pause_us(10000);
	}
	diag("cannot connect to the monitor at %s", path);
	return false;
}

static uint64_t qt_num(struct qemu *q, const char *fmt, uint64_t addr)
{
	const char *r = qt_cmd(q, fmt, addr);

	return r ? strtoull(r, NULL, 0) : 0;
}

static uint32_t qt_readl(struct qemu *q, uint64_t a) { return qt_num(q, "readl 0x%" PRIx64, a); }
static uint64_t qt_readq(struct qemu *q, uint64_t a) { return qt_num(q, "readq 0x%" PRIx64, a); }
static uint32_t qt_inl(struct qemu *q, uint64_t port) { return qt_num(q, "inl 0x%" PRIx64, port); }

static void qt_writel(struct qemu *q, uint64_t addr, uint32_t val)
{
	qt_cmd(q, "writel 0x%" PRIx64 " 0x%" PRIx32, addr, val);
}

static void qt_writeq(struct qemu *q, uint64_t addr, uint64_t val)
{
	qt_cmd(q, "writeq 0x%" PRIx64 " 0x%" PRIx64, addr, val);
}

static void qt_outl(struct qemu *q, uint64_t port, uint32_t val)
{
	qt_cmd(q, "outl 0x%" PRIx64 " 0x%" PRIx32, port, val);
}

#define QT_CHUNK 32768

static void qt_memwrite(struct qemu *q, uint64_t addr, const void *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	static char text[2 * QT_CHUNK + 1];
	const uint8_t *p = buf;

	while (len && !q->dead) {
		size_t n = len < QT_CHUNK ? len : QT_CHUNK;

		for (size_t i = 0; i < n; i++) {
			text[2 * i] = hex[p[i] >> 4];
			text[2 * i + 1] = hex[p[i] & 15];
		}
		text[2 * n] = 0;
		qt_cmd(q, "write 0x%" PRIx64 " %zu 0x%s", addr, n, text);
		addr += n;
		p += n;
		len -= n;
	}
}

static int hexval(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';
}

static void qt_memread(struct qemu *q, uint64_t addr, void *buf, size_t len)
{
	uint8_t *p = buf;

	memset(buf, 0, len);
	while (len && !q->dead) {
		size_t n = len < QT_CHUNK ? len : QT_CHUNK;
		const char *r = qt_cmd(q, "read 0x%" PRIx64 " %zu", addr, n);

		if (!r || strncmp(r, "0x", 2) || strlen(r) < 2 + 2 * n) {
			q->dead = true;
			return;
		}
		for (size_t i = 0; i < n; i++)
			p[i] = hexval(r[2 + 2 * i]) << 4 | hexval(r[3 + 2 * i]);
		addr += n;
		p += n;
		len -= n;
	}
}

static void qt_memset(struct qemu *q, uint64_t addr, uint8_t val, size_t len)
{
	qt_cmd(q, "memset 0x%" PRIx64 " %zu 0x%02x", addr, len, val);
}

/* ---- PCI config space through ports 0xcf8 / 0xcfc ------------------------------------------ */

static void cfg_select(struct qemu *q, unsigned devfn, unsigned off)
{
	qt_outl(q, 0xcf8, 0x80000000u | devfn << 8 | (off & 0xfc));
}

static uint32_t cfg_read32(struct qemu *q, unsigned devfn, unsigned off)
{
	cfg_select(q, devfn, off);
	return qt_inl(q, 0xcfc);
}

static void cfg_write32(struct qemu *q, unsigned devfn, unsigned off, uint32_t val)
{
	cfg_select(q, devfn, off);
	qt_outl(q, 0xcfc, val);
}

static uint16_t cfg_read16(struct qemu *q, unsigned devfn, unsigned off)
{
	return cfg_read32(q, devfn, off) >> (8 * (off & 2));
}

/* Read-modify-write of a 16-bit field in its aligned dword. */
static void cfg_write16(struct qemu *q, unsigned devfn, unsigned off, uint16_t val)
{
	unsigned shift = 8 * (off & 2);
	uint32_t dw = cfg_read32(q, devfn, off);

	dw = (dw & ~(0xffffu << shift)) | (uint32_t)val << shift;
	cfg_write32(q, devfn, off, dw);
}

/* ---- the device ---------------------------------------------------------------------------- */

struct vdev {
	struct qemu q;
	unsigned devfn;
	unsigned msi_cap;	/* config offset of the MSI capability, 0 if none */
	struct vitsa_model_cfg cfg;
	uint32_t tail;		/* our copy of RING_TAIL */
	uint32_t size;		/* RING_SIZE */
};

static uint32_t reg_read(struct vdev *d, uint32_t off)
{
	return qt_readl(&d->q, BAR_ADDR + off);
}

static void reg_write(struct vdev *d, uint32_t off, uint32_t val)
{
	qt_writel(&d->q, BAR_ADDR + off, val);
}

static uint64_t cnt_read(struct vdev *d, uint32_t off)
{
	return qt_readq(&d->q, BAR_ADDR + off);
}

/* Find the device on bus 0, map BAR0, enable memory decoding and bus mastering. */
static bool dev_attach(struct vdev *d)
{
	struct qemu *q = &d->q;
	unsigned slot, cap;

	for (slot = 0; slot < 32; slot++) {
		if (cfg_read32(q, slot << 3, 0) == (VITSA_PCI_DEVICE_ID << 16 | VITSA_PCI_VENDOR_ID))
			break;
	}
	if (q->dead || slot == 32) {
		diag("vitsa not found on PCI bus 0");
		return false;
	}
	d->devfn = slot << 3;
	d->msi_cap = 0;
	cfg_write32(q, d->devfn, 0x10, BAR_ADDR);
	cfg_write16(q, d->devfn, 0x04,
		    cfg_read16(q, d->devfn, 0x04) | PCI_CMD_MEMORY | PCI_CMD_MASTER);
	if (cfg_read16(q, d->devfn, 0x06) & 0x10) {
		for (cap = cfg_read32(q, d->devfn, 0x34) & 0xfc; cap && !q->dead;
		     cap = (cfg_read32(q, d->devfn, cap) >> 8) & 0xfc) {
			if ((cfg_read32(q, d->devfn, cap) & 0xff) == PCI_CAP_ID_MSI) {
				d->msi_cap = cap;
				break;
			}
		}
	}
	return !q->dead;
}

/* Start QEMU with "-device vitsa<props>" (an array of @rows x @cols) and attach to it. */
static bool dev_open(struct vdev *d, const char *props, uint32_t rows, uint32_t cols)
{
	char device[128];
	const char *extra[] = { "-device", device, NULL };

	memset(d, 0, sizeof(*d));
	d->cfg.rows = rows;
	d->cfg.cols = cols;
	snprintf(device, sizeof(device), "vitsa%s", props);
	return qemu_start(&d->q, extra) && dev_attach(d);
}

static bool wait_reg(struct vdev *d, uint32_t off, uint32_t mask, uint32_t want)
{
	int64_t end = now_ns() + TIMEOUT_NS;

	while (!d->q.dead && now_ns() < end) {
		if ((reg_read(d, off) & mask) == want)
			return true;
		pause_us(100);
	}
	diag("register 0x%03x & 0x%x never became 0x%x (is 0x%x)", off, mask, want,
	     d->q.dead ? 0 : reg_read(d, off));
	return false;
}

/* CTRL.RESET, then wait for STATUS.RESETTING to clear. */
static bool dev_reset(struct vdev *d)
{
	reg_write(d, VITSA_REG_CTRL, VITSA_CTRL_RESET);
	d->tail = 0;
	return wait_reg(d, VITSA_REG_STATUS, VITSA_STATUS_RESETTING, 0);
}

/* Reset, then set up both rings with @entries entries and enable the device. */
static bool ring_setup(struct vdev *d, uint32_t entries)
{
	if (!dev_reset(d))
		return false;
	qt_memset(&d->q, CPL_ADDR, 0xee, (size_t)entries * sizeof(struct vitsa_hw_cpl));
	reg_write(d, VITSA_REG_RING_BASE_LO, (uint32_t)RING_ADDR);
	reg_write(d, VITSA_REG_RING_BASE_HI, RING_ADDR >> 32);
	reg_write(d, VITSA_REG_CPL_BASE_LO, (uint32_t)CPL_ADDR);
	reg_write(d, VITSA_REG_CPL_BASE_HI, CPL_ADDR >> 32);
	reg_write(d, VITSA_REG_RING_SIZE, entries);
	reg_write(d, VITSA_REG_INT_ENABLE, VITSA_INT_ALL);
	reg_write(d, VITSA_REG_CTRL, VITSA_CTRL_ENABLE);
	d->size = entries;
	return reg_read(d, VITSA_REG_STATUS) == VITSA_STATUS_ENABLED;
}

/* Put @n descriptors in the ring and ring the doorbell once. */
static void submit(struct vdev *d, const struct vitsa_hw_desc *desc, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = (d->tail + i) % d->size;

		qt_memset(&d->q, CPL_ADDR + slot * sizeof(struct vitsa_hw_cpl), 0xee,
			  sizeof(struct vitsa_hw_cpl));
		qt_memwrite(&d->q, RING_ADDR + slot * sizeof(*desc), &desc[i], sizeof(*desc));
	}
	d->tail += n;
	reg_write(d, VITSA_REG_RING_TAIL, d->tail);
}

static bool wait_head(struct vdev *d, uint32_t head)
{
	return wait_reg(d, VITSA_REG_RING_HEAD, ~0u, head);
}

static void read_cpl(struct vdev *d, uint32_t index, struct vitsa_hw_cpl *cpl)
{
	qt_memread(&d->q, CPL_ADDR + (index % d->size) * sizeof(*cpl), cpl, sizeof(*cpl));
}

/* Submit one descriptor, wait for it and fetch its completion record. */
static bool run_one(struct vdev *d, const struct vitsa_hw_desc *desc, struct vitsa_hw_cpl *cpl)
{
	uint32_t index = d->tail;

	submit(d, desc, 1);
	if (!wait_head(d, index + 1))
		return false;
	read_cpl(d, index, cpl);
	return !d->q.dead;
}

/* ---- test vocabulary ------------------------------------------------------------------------ */

#define CHECK(cond)								\
	do {									\
		if (!(cond)) {							\
			diag("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
			return false;						\
		}								\
	} while (0)

#define CHECK_EQ(got, want)							\
	do {									\
		uint64_t got_ = (got), want_ = (want);				\
		if (got_ != want_) {						\
			diag("%s:%d: %s is 0x%" PRIx64 ", expected 0x%" PRIx64,	\
			     __FILE__, __LINE__, #got, got_, want_);		\
			return false;						\
		}								\
	} while (0)

#define CHECK_STATUS(cpl, want)							\
	do {									\
		if ((cpl).status != (want)) {					\
			diag("%s:%d: completion status %s, expected %s", __FILE__,	\
			     __LINE__, vitsa_err_name((cpl).status), vitsa_err_name(want)); \
			return false;						\
		}								\
	} while (0)

static struct vtest_rng rng = VTEST_RNG(0x9e3779b97f4a7c15ull);

static uint64_t row_bytes(uint32_t type, uint64_t cols)
{
	static const unsigned bits[VITSA_DTYPE_COUNT] = {
		[VITSA_DTYPE_S8] = 8, [VITSA_DTYPE_U8] = 8, [VITSA_DTYPE_S4] = 4,
		[VITSA_DTYPE_U4] = 4, [VITSA_DTYPE_S16] = 16, [VITSA_DTYPE_S32] = 32,
	};

	return (cols * bits[type] + 7) / 8;
}

/* A valid 4 x 5 x 6 S8 x S8 -> S32 GEMM on the small operand area. */
static void desc_small(struct vitsa_hw_desc *desc, uint64_t seq)
{
	memset(desc, 0, sizeof(*desc));
	desc->opcode = VITSA_OP_GEMM;
	desc->seq = seq;
	desc->m = 4;
	desc->n = 5;
	desc->k = 6;
	desc->types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32);
	desc->a_addr = SMALL_ADDR;
	desc->a_stride = 8;
	desc->b_addr = SMALL_ADDR + 0x100;
	desc->b_stride = 5;
	desc->c_addr = SMALL_ADDR + 0x200;
	desc->c_stride = 20;
}

/* ---- GEMM against the reference ------------------------------------------------------------- */

struct gemm_case {
	const char *name;
	uint32_t m, n, k;
	uint32_t a_type, b_type, c_type;
	uint32_t flags;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Lay out and fill operands at offsets of @img; the descriptor's addresses are offsets. */
static uint64_t gemm_build(const struct gemm_case *c, struct vitsa_hw_desc *desc, uint8_t *img)
{
	bool bt = c->flags & VITSA_DESC_B_TRANS;
	uint32_t b_rows = bt ? c->n : c->k, b_cols = bt ? c->k : c->n;
	uint64_t off = 0x40;

	memset(desc, 0, sizeof(*desc));
	desc->opcode = VITSA_OP_GEMM;
	desc->flags = c->flags;
	desc->seq = vtest_rng_u64(&rng);
	desc->m = c->m;
	desc->n = c->n;
	desc->k = c->k;
	desc->types = VITSA_DESC_TYPES(c->a_type, c->b_type, c->c_type);

	desc->a_stride = row_bytes(c->a_type, c->k) + vtest_rng_in(&rng, 0, 9);
	desc->a_addr = off;
	off = align_up(off + c->m * desc->a_stride, 64) + 64;
	desc->b_stride = row_bytes(c->b_type, b_cols) + vtest_rng_in(&rng, 0, 9);
	desc->b_addr = off;
	off = align_up(off + b_rows * desc->b_stride, 64) + 64;
	desc->c_stride = row_bytes(c->c_type, c->n) + vtest_rng_in(&rng, 0, 9);
	desc->c_addr = off;
	off = align_up(off + c->m * desc->c_stride, 64) + 64;
	for (uint64_t i = 0; i < desc->c_addr; i++)
		img[i] = (uint8_t)vtest_rng_u64(&rng);
	memset(img + desc->c_addr, 0xa5, off - desc->c_addr);

	if (c->flags & VITSA_DESC_BIAS) {
		desc->bias_addr = off;
		for (uint32_t n = 0; n < c->n; n++) {
			int32_t bias = (int32_t)vtest_rng_in(&rng, 0, 200000) - 100000;

			memcpy(img + off + 4 * n, &bias, 4);
		}
		off = align_up(off + 4 * c->n, 64);
	}
	if (c->flags & VITSA_DESC_REQUANT) {
		desc->rq_addr = off;
		for (uint32_t n = 0; n < c->n; n++) {
			int32_t mult = (int32_t)vtest_rng_in(&rng, 1, 1u << 16);
			struct vitsa_hw_rq rq = {
				.mult = vtest_rng_in(&rng, 0, 1) ? mult : -mult,
				.shift = vtest_rng_in(&rng, 0, 40),
			};

			memcpy(img + off + 8 * n, &rq, 8);
		}
		off = align_up(off + 8 * c->n, 64);
		desc->c_zero = (int32_t)vtest_rng_in(&rng, 0, 20) - 10;
	}
	return off;
}

static bool gemm_check(struct vdev *d, const struct gemm_case *c)
{
	uint8_t *img = calloc(1, DATA_SIZE), *ref = malloc(DATA_SIZE), *got = NULL;
	struct vitsa_hw_desc desc, dev_desc;
	struct vitsa_hw_cpl cpl;
	uint64_t used, c_len, macs = (uint64_t)c->m * c->n * c->k;
	uint32_t ref_status;
	bool ok = false;

	if (!img || !ref) {
		diag("out of memory");
		goto out;
	}
	used = gemm_build(c, &desc, img);
	if (used > DATA_SIZE) {
		diag("case %s does not fit the data area", c->name);
		goto out;
	}
	memcpy(ref, img, DATA_SIZE);
	ref_status = vitsa_ref_gemm(&desc, ref, DATA_SIZE);
	if (ref_status != VITSA_ERR_OK) {
		diag("the reference rejects case %s: %s", c->name, vitsa_err_name(ref_status));
		goto out;
	}

	qt_memwrite(&d->q, DATA_ADDR, img, used);
	dev_desc = desc;
	dev_desc.a_addr += DATA_ADDR;
	dev_desc.b_addr += DATA_ADDR;
	dev_desc.c_addr += DATA_ADDR;
	dev_desc.bias_addr += desc.bias_addr ? DATA_ADDR : 0;
	dev_desc.rq_addr += desc.rq_addr ? DATA_ADDR : 0;
	if (!run_one(d, &dev_desc, &cpl))
		goto out;
	if (cpl.status != VITSA_ERR_OK || cpl.seq != desc.seq || cpl.macs != macs ||
	    cpl.cycles != vitsa_model_cycles(&d->cfg, c->m, c->n, c->k) || cpl.entry) {
		diag("%s: completion seq 0x%" PRIx64 " status %s macs %" PRIu64 " cycles %" PRIu64
		     "; expected seq 0x%" PRIx64 " OK macs %" PRIu64 " cycles %" PRIu64, c->name,
		     cpl.seq, vitsa_err_name(cpl.status), cpl.macs, cpl.cycles, desc.seq, macs,
		     vitsa_model_cycles(&d->cfg, c->m, c->n, c->k));
		goto out;
	}

	/* All of C's footprint, stride padding included (which must stay 0xa5). */
	c_len = (c->m - 1) * desc.c_stride + row_bytes(c->c_type, c->n);
	got = malloc(c_len);
	if (!got)
		goto out;
	qt_memread(&d->q, DATA_ADDR + desc.c_addr, got, c_len);
	for (uint64_t i = 0; i < c_len; i++) {
		if (got[i] != ref[desc.c_addr + i]) {
			diag("%s: C byte %" PRIu64 " (row %" PRIu64 ") is 0x%02x, reference 0x%02x",
			     c->name, i, i / desc.c_stride, got[i], ref[desc.c_addr + i]);
			goto out;
		}
	}
	ok = !d->q.dead;
out:
	free(img);
	free(ref);
	free(got);
	return ok;
}

static const struct gemm_case gemm_cases[] = {
	{ "s8xs8-s32", 37, 29, 50, VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32, 0 },
	{ "u8xs8-s32-bias", 17, 33, 64, VITSA_DTYPE_U8, VITSA_DTYPE_S8, VITSA_DTYPE_S32,
	  VITSA_DESC_BIAS },
	{ "s8xs8-btrans-requant-s8", 24, 40, 31, VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S8,
	  VITSA_DESC_B_TRANS | VITSA_DESC_BIAS | VITSA_DESC_REQUANT },
	{ "s4xu4-requant-s4-odd", 9, 15, 23, VITSA_DTYPE_S4, VITSA_DTYPE_U4, VITSA_DTYPE_S4,
	  VITSA_DESC_REQUANT },
	{ "u4xs4-btrans-requant-u8", 16, 7, 17, VITSA_DTYPE_U4, VITSA_DTYPE_S4, VITSA_DTYPE_U8,
	  VITSA_DESC_B_TRANS | VITSA_DESC_REQUANT },
	{ "s8xu8-bias-requant-s16", 5, 48, 100, VITSA_DTYPE_S8, VITSA_DTYPE_U8, VITSA_DTYPE_S16,
	  VITSA_DESC_BIAS | VITSA_DESC_REQUANT },
	{ "s8xs8-1x1x1", 1, 1, 1, VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32, 0 },
	{ "s8xs8-s32-large", 70, 90, 300, VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32, 0 },
};

/* ---- tests ---------------------------------------------------------------------------------- */

static struct vdev dev;		/* the default device (16 x 16), shared by most tests */

static bool test_pci_identity(void)
{
	struct qemu *q = &dev.q;
	uint32_t bar_size;

	CHECK_EQ(cfg_read32(q, dev.devfn, 0x08) >> 8, VITSA_PCI_CLASS << 8);
	CHECK_EQ(cfg_read32(q, dev.devfn, 0x08) & 0xff, VITSA_PCI_REVISION);
	CHECK_EQ(cfg_read32(q, dev.devfn, 0x3c) >> 8 & 0xff, 1);	/* INTx pin A */
	/* BAR0: 4 KiB of 32-bit non-prefetchable memory. */
	cfg_write32(q, dev.devfn, 0x10, 0xffffffff);
	bar_size = ~(cfg_read32(q, dev.devfn, 0x10) & ~0xfu) + 1;
	cfg_write32(q, dev.devfn, 0x10, BAR_ADDR);
	CHECK_EQ(bar_size, VITSA_BAR0_SIZE);
	CHECK_EQ(cfg_read32(q, dev.devfn, 0x10), BAR_ADDR);
	CHECK(dev.msi_cap != 0);
	/* MSI: one vector, 64-bit addresses. */
	CHECK_EQ(cfg_read16(q, dev.devfn, dev.msi_cap + 2) & 0x8e, 0x80);
	return true;
}

static bool test_id_registers(void)
{
	CHECK_EQ(reg_read(&dev, VITSA_REG_ID), VITSA_ID_MAGIC);
	CHECK_EQ(reg_read(&dev, VITSA_REG_VERSION), 1 << 16 | 3);
	CHECK_EQ(VITSA_HW_VERSION_MAJOR << 16 | VITSA_HW_VERSION_MINOR, 1 << 16 | 3);
	CHECK_EQ(reg_read(&dev, VITSA_REG_CAPS),
		 VITSA_CAP_S8 | VITSA_CAP_U8 | VITSA_CAP_S4 | VITSA_CAP_U4 | VITSA_CAP_REQUANT |
		 VITSA_CAP_B_TRANS | VITSA_CAP_BIAS | VITSA_CAP_VECTOR | VITSA_CAP_LIST);
	CHECK_EQ(reg_read(&dev, VITSA_REG_ARRAY), 16 | 16 << 16);
	CHECK_EQ(reg_read(&dev, VITSA_REG_MAX_DIM), VITSA_MODEL_MAX_DIM);
	return true;
}

static bool test_register_access(void)
{
	uint64_t macs;

	CHECK(dev_reset(&dev));
	/* Unknown offsets read 0 and ignore writes; RO registers ignore writes. */
	CHECK_EQ(reg_read(&dev, 0x030), 0);
	CHECK_EQ(reg_read(&dev, 0xffc), 0);
	reg_write(&dev, 0x030, 0x12345678);
	CHECK_EQ(reg_read(&dev, 0x030), 0);
	reg_write(&dev, VITSA_REG_ID, 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_ID), VITSA_ID_MAGIC);
	reg_write(&dev, VITSA_REG_RING_HEAD, 5);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_HEAD), 0);
	/* Ring registers read back while disabled, and are frozen while enabled. */
	reg_write(&dev, VITSA_REG_RING_BASE_LO, 0x00100000);
	reg_write(&dev, VITSA_REG_RING_BASE_HI, 0x1);
	reg_write(&dev, VITSA_REG_RING_SIZE, 8);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_BASE_LO), 0x00100000);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_BASE_HI), 0x1);
	CHECK(ring_setup(&dev, RING_ENTRIES));
	reg_write(&dev, VITSA_REG_RING_SIZE, 4);
	reg_write(&dev, VITSA_REG_RING_BASE_LO, 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_SIZE), RING_ENTRIES);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_BASE_LO), (uint32_t)RING_ADDR);
	/* INT_ENABLE keeps only defined bits; INT_ACK reads 0. */
	reg_write(&dev, VITSA_REG_INT_ENABLE, 0xffffffff);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_ENABLE), VITSA_INT_ALL);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_ACK), 0);
	/* Counters: an 8-byte read equals its two 4-byte halves. */
	macs = cnt_read(&dev, VITSA_REG_CNT_MACS);
	CHECK_EQ(macs, reg_read(&dev, VITSA_REG_CNT_MACS) |
		 (uint64_t)reg_read(&dev, VITSA_REG_CNT_MACS + 4) << 32);
	/* Counters are read-only. */
	qt_writeq(&dev.q, BAR_ADDR + VITSA_REG_CNT_JOBS, 0);
	reg_write(&dev, VITSA_REG_CNT_JOBS, 0);
	CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_MACS), macs);
	return true;
}

static const struct gemm_case *current_case;

static bool test_gemm(void)
{
	CHECK(ring_setup(&dev, RING_ENTRIES));
	CHECK(gemm_check(&dev, current_case));
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS), VITSA_INT_DONE);
	return true;
}

static bool test_ring_wrap(void)
{
	struct vitsa_hw_desc desc[4];
	struct vitsa_hw_cpl cpl;
	uint32_t done = 0;

	CHECK(ring_setup(&dev, 4));
	/* 6 rounds of a full ring (TAIL - HEAD == SIZE is allowed), then single ones. */
	for (int round = 0; round < 6; round++) {
		for (uint32_t i = 0; i < 4; i++)
			desc_small(&desc[i], 1000 + done + i);
		submit(&dev, desc, 4);
		CHECK(wait_head(&dev, done + 4));
		for (uint32_t i = 0; i < 4; i++) {
			read_cpl(&dev, done + i, &cpl);
			CHECK_STATUS(cpl, VITSA_ERR_OK);
			CHECK_EQ(cpl.seq, 1000 + done + i);
		}
		done += 4;
	}
	for (int i = 0; i < 5; i++) {
		desc_small(&desc[0], 5000 + i);
		CHECK(run_one(&dev, &desc[0], &cpl));
		CHECK_STATUS(cpl, VITSA_ERR_OK);
		CHECK_EQ(cpl.seq, 5000 + i);
	}
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	return true;
}

static bool test_counters(void)
{
	uint64_t before[6], after[6];
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	uint64_t a_bytes = 4 * 6, b_bytes = 6 * 5, c_bytes = 4 * 20;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	for (int i = 0; i < 6; i++)
		before[i] = cnt_read(&dev, VITSA_REG_CNT_JOBS + 8 * i);
	desc_small(&desc, 77);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	for (int i = 0; i < 6; i++)
		after[i] = cnt_read(&dev, VITSA_REG_CNT_JOBS + 8 * i);
	CHECK_EQ(after[0] - before[0], 1);
	CHECK_EQ(after[1] - before[1], 0);
	CHECK_EQ(after[2] - before[2], 4 * 5 * 6);
	CHECK_EQ(after[3] - before[3], vitsa_model_cycles(&dev.cfg, 4, 5, 6));
	/* DMA: the descriptor and the operands in, the results and the completion out. */
	if (after[4] - before[4] < sizeof(desc) + a_bytes + b_bytes ||
	    after[5] - before[5] < sizeof(cpl) + c_bytes) {
		diag("DMA counters grew by %" PRIu64 " read, %" PRIu64 " written",
		     after[4] - before[4], after[5] - before[5]);
		return false;
	}
	/* A failing descriptor counts as a job and an error, with no MACs. */
	desc.opcode = 0;
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OPCODE);
	CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_JOBS) - after[0], 1);
	CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_ERRORS) - after[1], 1);
	CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_MACS) - after[2], 0);
	CHECK_EQ(cpl.macs, 0);
	CHECK_EQ(cpl.cycles, 0);
	return true;
}

/* One malformed descriptor kind: a mutation of the small job and the status it must get. */
struct bad_case {
	const char *name;
	void (*mutate)(struct vitsa_hw_desc *desc);
	uint32_t status;
};

static void bad_opcode(struct vitsa_hw_desc *d) { d->opcode = 3; }
static void bad_flags(struct vitsa_hw_desc *d) { d->flags = 1u << 7; }
static void bad_dims_zero(struct vitsa_hw_desc *d) { d->k = 0; }
static void bad_dims_big(struct vitsa_hw_desc *d) { d->m = VITSA_MODEL_MAX_DIM + 1; }
static void bad_type_code(struct vitsa_hw_desc *d) { d->types = VITSA_DESC_TYPES(9, 0, 5); }
static void bad_type_operand(struct vitsa_hw_desc *d)
{
	d->types = VITSA_DESC_TYPES(VITSA_DTYPE_S16, VITSA_DTYPE_S8, VITSA_DTYPE_S32);
}
static void bad_type_result(struct vitsa_hw_desc *d)
{
	d->types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S8);
}
static void bad_types_high(struct vitsa_hw_desc *d) { d->types |= 1u << 12; }
static void bad_stride(struct vitsa_hw_desc *d) { d->a_stride = d->k - 1; }
static void bad_reserved(struct vitsa_hw_desc *d) { d->param[6] = 1; }
static void bad_unused_addr(struct vitsa_hw_desc *d) { d->bias_addr = SMALL_ADDR; }
static void bad_c_zero(struct vitsa_hw_desc *d) { d->c_zero = 3; }
static void bad_range(struct vitsa_hw_desc *d) { d->c_addr = 0xffffffffffffffc0ull; }
static void bad_rq_shift(struct vitsa_hw_desc *d)
{
	d->flags = VITSA_DESC_REQUANT;
	d->types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S8);
	d->rq_addr = SMALL_ADDR + 0x400;	/* the test writes shift 63 for channel 2 there */
}
static void bad_dma_read(struct vitsa_hw_desc *d) { d->a_addr = OUTSIDE_RAM; }
static void bad_dma_write(struct vitsa_hw_desc *d) { d->c_addr = OUTSIDE_RAM; }
static void bad_dma_mmio(struct vitsa_hw_desc *d) { d->b_addr = BAR_ADDR; }
/* C on the device's own CTRL register: had the rows been written there, CTRL would change. */
static void bad_dma_write_mmio(struct vitsa_hw_desc *d) { d->c_addr = BAR_ADDR + VITSA_REG_CTRL; }

static const struct bad_case bad_cases[] = {
	{ "bad-opcode", bad_opcode, VITSA_ERR_OPCODE },
	{ "bad-flags", bad_flags, VITSA_ERR_FLAGS },
	{ "bad-dims-zero", bad_dims_zero, VITSA_ERR_DIMS },
	{ "bad-dims-too-big", bad_dims_big, VITSA_ERR_DIMS },
	{ "bad-type-code", bad_type_code, VITSA_ERR_TYPE },
	{ "bad-type-result-only-operand", bad_type_operand, VITSA_ERR_TYPE },
	{ "bad-type-s8-result-without-requant", bad_type_result, VITSA_ERR_TYPE },
	{ "bad-types-reserved-bits", bad_types_high, VITSA_ERR_TYPE },
	{ "bad-stride-too-short", bad_stride, VITSA_ERR_STRIDE },
	{ "bad-reserved-word", bad_reserved, VITSA_ERR_RESERVED },
	{ "bad-unused-address", bad_unused_addr, VITSA_ERR_RESERVED },
	{ "bad-c-zero-without-requant", bad_c_zero, VITSA_ERR_RESERVED },
	{ "bad-range-wraps", bad_range, VITSA_ERR_RANGE },
	{ "bad-requant-shift", bad_rq_shift, VITSA_ERR_RQ },
	{ "bad-dma-read-outside-ram", bad_dma_read, VITSA_ERR_DMA_READ },
	{ "bad-dma-write-outside-ram", bad_dma_write, VITSA_ERR_DMA_WRITE },
	{ "bad-dma-read-mmio", bad_dma_mmio, VITSA_ERR_DMA_READ },
	{ "bad-dma-write-mmio", bad_dma_write_mmio, VITSA_ERR_DMA_WRITE },
};

static const struct bad_case *current_bad;

static bool test_bad_descriptor(void)
{
	const struct vitsa_hw_rq rq[5] = {
		{ 1, 0 }, { 1, 62 }, { 1, 63 }, { 1, 0 }, { 1, 0 },
	};
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	uint64_t errors;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	qt_memwrite(&dev.q, SMALL_ADDR + 0x400, rq, sizeof(rq));
	errors = cnt_read(&dev, VITSA_REG_CNT_ERRORS);
	desc_small(&desc, 0xbad0000 + (current_bad - bad_cases));
	current_bad->mutate(&desc);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK_STATUS(cpl, current_bad->status);
	CHECK_EQ(cpl.seq, desc.seq);
	CHECK_EQ(cpl.macs, 0);
	CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_ERRORS) - errors, 1);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS), VITSA_INT_DONE | VITSA_INT_ERROR);
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS), 0);

	/* The device goes on with the next descriptor. */
	desc_small(&desc, 0x600d);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cpl.seq, 0x600d);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS), VITSA_INT_DONE);
	return true;
}

/* Checks the halted state after a ring error, then that a reset recovers. */
static bool halted_then_recover(uint32_t err)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	uint64_t jobs;

	CHECK(wait_reg(&dev, VITSA_REG_STATUS, VITSA_STATUS_HALTED, VITSA_STATUS_HALTED));
	CHECK_EQ(reg_read(&dev, VITSA_REG_ERROR), err);
	CHECK(reg_read(&dev, VITSA_REG_INT_STATUS) & VITSA_INT_ERROR);
	/* Only a reset leaves the halt: a new TAIL is ignored. */
	reg_write(&dev, VITSA_REG_RING_TAIL, 0);
	CHECK(reg_read(&dev, VITSA_REG_STATUS) & VITSA_STATUS_HALTED);

	jobs = cnt_read(&dev, VITSA_REG_CNT_JOBS);
	CHECK(dev_reset(&dev));
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_ERROR), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_CTRL), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_HEAD), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_TAIL), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_SIZE), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_BASE_LO), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_CPL_BASE_LO), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_ENABLE), 0);
	CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_JOBS), jobs);	/* counters survive */

	CHECK(ring_setup(&dev, RING_ENTRIES));
	desc_small(&desc, 42);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	return true;
}

static bool test_bad_tail(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	desc_small(&desc, 1);
	CHECK(run_one(&dev, &desc, &cpl));
	/* HEAD is 1: TAIL = HEAD + SIZE + 1 claims more descriptors than the ring holds. */
	reg_write(&dev, VITSA_REG_RING_TAIL, 1 + RING_ENTRIES + 1);
	return halted_then_recover(VITSA_ERR_RING);
}

static bool test_bad_tail_behind(void)
{
	CHECK(ring_setup(&dev, RING_ENTRIES));
	/* TAIL behind HEAD: TAIL - HEAD wraps to 2^32 - 1. */
	reg_write(&dev, VITSA_REG_RING_TAIL, 0xffffffff);
	return halted_then_recover(VITSA_ERR_RING);
}

static bool test_bad_ring_size(void)
{
	CHECK(dev_reset(&dev));
	reg_write(&dev, VITSA_REG_RING_BASE_LO, (uint32_t)RING_ADDR);
	reg_write(&dev, VITSA_REG_CPL_BASE_LO, (uint32_t)CPL_ADDR);
	reg_write(&dev, VITSA_REG_RING_SIZE, 12);
	reg_write(&dev, VITSA_REG_CTRL, VITSA_CTRL_ENABLE);
	return halted_then_recover(VITSA_ERR_RING);
}

static bool test_bad_ring_align(void)
{
	CHECK(dev_reset(&dev));
	reg_write(&dev, VITSA_REG_RING_BASE_LO, (uint32_t)RING_ADDR + 64);
	reg_write(&dev, VITSA_REG_CPL_BASE_LO, (uint32_t)CPL_ADDR);
	reg_write(&dev, VITSA_REG_RING_SIZE, RING_ENTRIES);
	reg_write(&dev, VITSA_REG_CTRL, VITSA_CTRL_ENABLE);
	return halted_then_recover(VITSA_ERR_RING);
}

static bool test_bad_ring_wraps(void)
{
	CHECK(dev_reset(&dev));
	reg_write(&dev, VITSA_REG_RING_BASE_LO, 0xffffff80);
	reg_write(&dev, VITSA_REG_RING_BASE_HI, 0xffffffff);
	reg_write(&dev, VITSA_REG_CPL_BASE_LO, (uint32_t)CPL_ADDR);
	reg_write(&dev, VITSA_REG_RING_SIZE, 2);
	reg_write(&dev, VITSA_REG_CTRL, VITSA_CTRL_ENABLE);
	return halted_then_recover(VITSA_ERR_RING);
}

/* Bus mastering off: the device can neither fetch nor complete; it halts, QEMU survives. */
static bool test_no_bus_master(void)
{
	struct vitsa_hw_desc desc;
	uint16_t cmd = cfg_read16(&dev.q, dev.devfn, 0x04);

	CHECK(ring_setup(&dev, RING_ENTRIES));
	cfg_write16(&dev.q, dev.devfn, 0x04, cmd & ~PCI_CMD_MASTER);
	desc_small(&desc, 9);
	submit(&dev, &desc, 1);
	CHECK(wait_reg(&dev, VITSA_REG_STATUS, VITSA_STATUS_HALTED, VITSA_STATUS_HALTED));
	cfg_write16(&dev.q, dev.devfn, 0x04, cmd);
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_HEAD), 0);
	return halted_then_recover(VITSA_ERR_DMA_WRITE);
}

/* ---- DMA to addresses that are not RAM --------------------------------------------------- */

/* Reset, then enable a ring of RING_ENTRIES at @ring_base with its completions at @cpl_base. */
static bool ring_setup_at(struct vdev *d, uint64_t ring_base, uint64_t cpl_base)
{
	CHECK(dev_reset(d));
	reg_write(d, VITSA_REG_RING_BASE_LO, (uint32_t)ring_base);
	reg_write(d, VITSA_REG_RING_BASE_HI, ring_base >> 32);
	reg_write(d, VITSA_REG_CPL_BASE_LO, (uint32_t)cpl_base);
	reg_write(d, VITSA_REG_CPL_BASE_HI, cpl_base >> 32);
	reg_write(d, VITSA_REG_RING_SIZE, RING_ENTRIES);
	reg_write(d, VITSA_REG_INT_ENABLE, VITSA_INT_ALL);
	reg_write(d, VITSA_REG_CTRL, VITSA_CTRL_ENABLE);
	d->size = RING_ENTRIES;
	CHECK_EQ(reg_read(d, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	return true;
}

/* Set the PAM register of 0xc0000-0xc7fff (both halves); returns its old value. */
static uint8_t pam1_set(uint8_t val)
{
	unsigned off = I440FX_PAM1 & ~3u, shift = 8 * (I440FX_PAM1 & 3);
	uint32_t dw = cfg_read32(&dev.q, 0, off);

	cfg_write32(&dev.q, 0, off, (dw & ~(0xffu << shift)) | (uint32_t)val << shift);
	return dw >> shift;
}

/* The completion record cannot be written at @cpl_base: the ring halts, QEMU answers. */
static bool cpl_refused(uint64_t cpl_base)
{
	struct vitsa_hw_desc desc;

	CHECK(ring_setup_at(&dev, RING_ADDR, cpl_base));
	/* Its record's first word, written to CTRL, would reset the device instead of halting. */
	desc_small(&desc, 0xc90 | VITSA_CTRL_RESET | VITSA_CTRL_ENABLE);
	submit(&dev, &desc, 1);
	CHECK(wait_reg(&dev, VITSA_REG_STATUS, VITSA_STATUS_HALTED, VITSA_STATUS_HALTED));
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_HEAD), 0);
	return halted_then_recover(VITSA_ERR_DMA_WRITE);
}

/* CPL_BASE on the device's own CTRL register. */
static bool test_cpl_mmio(void)
{
	return cpl_refused(BAR_ADDR + VITSA_REG_CTRL);
}

static bool test_cpl_unassigned(void)
{
	return cpl_refused(UNASSIGNED_ADDR);
}

/* CPL_BASE in the option ROM area with PAM1 0: read-only, so the record is refused. */
static bool test_cpl_rom(void)
{
	uint8_t pam = pam1_set(0);
	bool ok = cpl_refused(PAM_ADDR);

	pam1_set(pam);
	return ok;
}

/* RING_BASE on BAR0: the descriptor fetch fails (DMA_READ in its record); the ring goes on. */
static bool test_ring_mmio(void)
{
	struct vitsa_hw_cpl cpl;

	CHECK(ring_setup_at(&dev, BAR_ADDR, CPL_ADDR));
	qt_memset(&dev.q, CPL_ADDR, 0xee, sizeof(cpl));
	dev.tail = 1;
	reg_write(&dev, VITSA_REG_RING_TAIL, dev.tail);
	CHECK(wait_head(&dev, 1));
	read_cpl(&dev, 0, &cpl);
	CHECK_STATUS(cpl, VITSA_ERR_DMA_READ);
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	return true;
}

/*
 * For a second, the completion ring sits in RAM that the guest flips to ROM and back (PAM1)
 * while jobs complete: each record lands in RAM or is refused (a DMA_WRITE halt, then a
 * reset), and QEMU keeps answering.  A device that checks the address and then writes through
 * pci_dma_write sends a record remapped in between to MMIO dispatch, which takes the BQL with
 * the device lock held while the main loop holds the BQL and waits for the device lock: a hang.
 * The window is short, so this catches that only sometimes.
 */
static bool test_cpl_remapped(void)
{
	struct vitsa_hw_desc desc[RING_ENTRIES];
	int64_t end = now_ns() + 1000000000ll;
	uint64_t jobs = cnt_read(&dev, VITSA_REG_CNT_JOBS);
	uint8_t pam = pam1_set(PAM_RAM);
	unsigned halts = 0, flips = 0;
	bool ok = ring_setup_at(&dev, RING_ADDR, PAM_ADDR);

	for (uint32_t i = 0; i < RING_ENTRIES; i++)
		desc_small(&desc[i], i);
	while (ok && !dev.q.dead && now_ns() < end) {
		if (reg_read(&dev, VITSA_REG_STATUS) & VITSA_STATUS_HALTED) {
			ok = reg_read(&dev, VITSA_REG_ERROR) == VITSA_ERR_DMA_WRITE;
			if (!ok)
				diag("halted with ERROR %u", reg_read(&dev, VITSA_REG_ERROR));
			halts++;
			pam1_set(PAM_RAM);
			ok = ok && ring_setup_at(&dev, RING_ADDR, PAM_ADDR);
			continue;
		}
		if (reg_read(&dev, VITSA_REG_RING_HEAD) == dev.tail)
			submit(&dev, desc, RING_ENTRIES);
		pam1_set(flips++ % 2 ? PAM_RAM : 0);
	}
	pam1_set(pam);
	CHECK(ok && !dev.q.dead);
	jobs = cnt_read(&dev, VITSA_REG_CNT_JOBS) - jobs;
	diag("%" PRIu64 " records written, %u refused, %u remaps", jobs, halts, flips);
	CHECK(jobs > 0);
	return true;
}

/*
 * A GEMM of 5.5e11 MACs (about 40 s for the model at 14 GMAC/s): it runs far longer than any
 * test waits for it.  A and B share their 128 MiB of zeros; C takes 64 MiB.
 */
static void desc_long(struct vitsa_hw_desc *desc)
{
	uint32_t dim = 4096, k = 32768;

	memset(desc, 0, sizeof(*desc));
	desc->opcode = VITSA_OP_GEMM;
	desc->seq = 0xab047;
	desc->m = desc->n = dim;
	desc->k = k;
	desc->types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32);
	desc->a_addr = BIG_ADDR;			/* dim x k */
	desc->a_stride = k;
	desc->b_addr = BIG_ADDR;			/* k x dim */
	desc->b_stride = dim;
	desc->c_addr = BIG_ADDR + (uint64_t)dim * k;	/* dim x dim int32 */
	desc->c_stride = 4ull * dim;
}

/* A reset abandons a long job: no completion record, HEAD back to 0, RESETTING clears. */
static bool test_reset_aborts(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	desc_long(&desc);
	submit(&dev, &desc, 1);
	CHECK(wait_reg(&dev, VITSA_REG_STATUS, VITSA_STATUS_BUSY, VITSA_STATUS_BUSY));
	pause_us(200000);
	reg_write(&dev, VITSA_REG_CTRL, VITSA_CTRL_RESET);
	diag("STATUS right after the reset: 0x%x", reg_read(&dev, VITSA_REG_STATUS));
	CHECK(wait_reg(&dev, VITSA_REG_STATUS, VITSA_STATUS_RESETTING, 0));
	CHECK_EQ(reg_read(&dev, VITSA_REG_RING_HEAD), 0);
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), 0);
	qt_memread(&dev.q, CPL_ADDR, &cpl, sizeof(cpl));
	CHECK_EQ(cpl.seq, 0xeeeeeeeeeeeeeeeeull);	/* the record was never written */
	dev.tail = 0;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	desc_small(&desc, 43);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	return true;
}

static bool msi_enable(bool on)
{
	struct qemu *q = &dev.q;
	unsigned cap = dev.msi_cap;

	CHECK(cap);
	cfg_write32(q, dev.devfn, cap + 4, (uint32_t)MSI_ADDR);
	cfg_write32(q, dev.devfn, cap + 8, MSI_ADDR >> 32);
	cfg_write16(q, dev.devfn, cap + 12, MSI_DATA);
	cfg_write16(q, dev.devfn, cap + 2, (cfg_read16(q, dev.devfn, cap + 2) & ~1u) | on);
	return !q->dead;
}

static bool wait_msi(void)
{
	int64_t end = now_ns() + TIMEOUT_NS;
	uint32_t msg;

	while (!dev.q.dead && now_ns() < end) {
		qt_memread(&dev.q, MSI_ADDR, &msg, sizeof(msg));
		if (msg == MSI_DATA)
			return true;
		pause_us(100);
	}
	diag("no MSI message arrived");
	return false;
}

static bool msi_absent(void)
{
	uint32_t msg;

	/* A few round trips give the interrupt bottom half time to run. */
	for (int i = 0; i < 20; i++) {
		qt_memread(&dev.q, MSI_ADDR, &msg, sizeof(msg));
		if (msg == MSI_DATA) {
			diag("unexpected MSI message");
			return false;
		}
		pause_us(1000);
	}
	return true;
}

static bool test_msi(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	CHECK(msi_enable(true));
	qt_memset(&dev.q, MSI_ADDR, 0, 4);
	desc_small(&desc, 1);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK(wait_msi());

	/* Still pending: the next completion is no 0 -> 1 change, so no new message. */
	qt_memset(&dev.q, MSI_ADDR, 0, 4);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK(msi_absent());

	/* Acknowledged: the next completion signals again. */
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK(wait_msi());

	/* Masked by INT_ENABLE: no message, until the enable unmasks a pending bit. */
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	reg_write(&dev, VITSA_REG_INT_ENABLE, 0);
	qt_memset(&dev.q, MSI_ADDR, 0, 4);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK(msi_absent());
	reg_write(&dev, VITSA_REG_INT_ENABLE, VITSA_INT_DONE);
	CHECK(wait_msi());

	/* An error completion raises ERROR too. */
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	reg_write(&dev, VITSA_REG_INT_ENABLE, VITSA_INT_ERROR);
	qt_memset(&dev.q, MSI_ADDR, 0, 4);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK(msi_absent());
	desc.opcode = 7;
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK(wait_msi());

	/*
	 * DONE and ERROR pending, only DONE acknowledged (a handler that acked what it read
	 * before an error completed): ERROR signals again, and acknowledging it signals nothing.
	 */
	reg_write(&dev, VITSA_REG_INT_ENABLE, VITSA_INT_ALL);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS), VITSA_INT_DONE | VITSA_INT_ERROR);
	qt_memset(&dev.q, MSI_ADDR, 0, 4);
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_DONE);
	CHECK(wait_msi());
	qt_memset(&dev.q, MSI_ADDR, 0, 4);
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ERROR);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS), 0);
	CHECK(msi_absent());
	CHECK(msi_enable(false));
	return true;
}

/* Interrupts raised by the worker reach the IOAPIC from a bottom half: poll for them. */
static bool wait_irq(int line, int level)
{
	int64_t end = now_ns() + TIMEOUT_NS;

	while (!dev.q.dead && now_ns() < end) {
		if (dev.q.irq[line] == level)
			return true;
		reg_read(&dev, VITSA_REG_STATUS);
		pause_us(100);
	}
	diag("IRQ %d never became %d", line, level);
	return false;
}

static bool test_intx(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	/* Route all four PIRQs of the PIIX3 (00:01.0) to INTX_GSI, watch the IOAPIC. */
	cfg_write32(&dev.q, 1 << 3, 0x60, INTX_GSI * 0x01010101u);
	CHECK(qt_cmd(&dev.q, "irq_intercept_in ioapic"));
	CHECK_EQ(dev.q.irq[INTX_GSI], 0);
	desc_small(&desc, 1);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK(wait_irq(INTX_GSI, 1));
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_DONE);
	CHECK_EQ(dev.q.irq[INTX_GSI], 0);
	/* Level follows INT_STATUS & INT_ENABLE. */
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK(wait_irq(INTX_GSI, 1));
	reg_write(&dev, VITSA_REG_INT_ENABLE, VITSA_INT_ERROR);
	CHECK_EQ(dev.q.irq[INTX_GSI], 0);
	reg_write(&dev, VITSA_REG_INT_ENABLE, VITSA_INT_ALL);
	CHECK_EQ(dev.q.irq[INTX_GSI], 1);
	/* Reset drops it. */
	CHECK(dev_reset(&dev));
	CHECK_EQ(dev.q.irq[INTX_GSI], 0);
	return true;
}

/* A second device with a different geometry: ARRAY and the cycle count follow it. */
static bool test_geometry(void)
{
	static const struct gemm_case c = {
		"geometry", 20, 70, 45, VITSA_DTYPE_S8, VITSA_DTYPE_U8, VITSA_DTYPE_S32, 0
	};
	struct vdev other;
	bool ok;

	if (!dev_open(&other, ",rows=8,cols=32", 8, 32)) {
		qemu_stop(&other.q);
		return false;
	}
	ok = reg_read(&other, VITSA_REG_ARRAY) == (8 | 32 << 16) &&
	     ring_setup(&other, RING_ENTRIES) && gemm_check(&other, &c);
	if (!ok)
		diag("ARRAY is 0x%x", reg_read(&other, VITSA_REG_ARRAY));
	qemu_stop(&other.q);
	return ok;
}

/* True if QEMU refuses to start with "-device vitsa<props>" (exits with a failure). */
static bool start_refused(const char *props)
{
	struct qemu q;
	int status;

	char device[64];
	const char *extra[] = { "-device", device, NULL };

	snprintf(device, sizeof(device), "vitsa%s", props);
	if (!qemu_start(&q, extra))
		return false;
	fclose(q.to);
	q.to = NULL;
	status = qemu_wait_exit(&q);
	qemu_stop(&q);
	if (status <= 0) {
		diag("QEMU with -device vitsa%s: exit status %d, expected a failure", props,
		     status);
		return false;
	}
	return true;
}

/* Out-of-range geometry: QEMU refuses to start. */
static bool test_bad_geometry(void)
{
	static const char *const props[] = { ",rows=0", ",cols=0", ",rows=257", ",cols=4096" };

	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		CHECK(start_refused(props[i]));
	return true;
}

/*
 * Hot-plug and hot-unplug through the monitor and the PIIX4 ACPI eject register, with a long
 * job in flight (unrealize must cancel it and join the worker), and a machine reset during a
 * job.  Uses its own QEMU with an HMP monitor on a unix socket.
 */
static bool hotplug_steps(struct vdev *d)
{
	const unsigned slot = 6;
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;

	CHECK(mon_cmd(&d->q, "device_add vitsa,id=vx,addr=06.0"));
	CHECK(dev_attach(d));
	CHECK_EQ(d->devfn, slot << 3);
	CHECK(ring_setup(d, RING_ENTRIES));
	desc_small(&desc, 1);
	CHECK(run_one(d, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);

	/* Machine reset in the middle of a long job: registers clear, the job is dropped. */
	desc_long(&desc);
	submit(d, &desc, 1);
	pause_us(100000);
	CHECK(mon_cmd(&d->q, "system_reset"));
	CHECK(dev_attach(d));		/* config space was reset too */
	CHECK(wait_reg(d, VITSA_REG_STATUS, VITSA_STATUS_RESETTING, 0));
	CHECK_EQ(reg_read(d, VITSA_REG_STATUS), 0);
	CHECK_EQ(reg_read(d, VITSA_REG_RING_HEAD), 0);
	CHECK(ring_setup(d, RING_ENTRIES));
	desc_small(&desc, 2);
	CHECK(run_one(d, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);

	/* Unplug with a long job in flight. */
	desc_long(&desc);
	submit(d, &desc, 1);
	pause_us(100000);
	CHECK(reg_read(d, VITSA_REG_STATUS) & VITSA_STATUS_BUSY);
	CHECK(mon_cmd(&d->q, "device_del vx"));
	qt_outl(&d->q, 0xae08, 1u << slot);		/* ACPI PCI hotplug: eject */
	CHECK_EQ(cfg_read32(&d->q, slot << 3, 0), 0xffffffff);

	/* Plug again and use it; then unplug it idle. */
	CHECK(mon_cmd(&d->q, "device_add vitsa,id=vx,addr=06.0"));
	CHECK(dev_attach(d));
	CHECK(ring_setup(d, RING_ENTRIES));
	desc_small(&desc, 3);
	CHECK(run_one(d, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK(mon_cmd(&d->q, "device_del vx"));
	qt_outl(&d->q, 0xae08, 1u << slot);
	CHECK_EQ(cfg_read32(&d->q, slot << 3, 0), 0xffffffff);
	CHECK(qt_cmd(&d->q, "clock_step 1000"));	/* QEMU is still alive */
	return true;
}

/* Run @steps on a QEMU of its own (no vitsa yet) with an HMP monitor on a unix socket. */
static bool with_monitor(bool (*steps)(struct vdev *d))
{
	char sock[96], mon[128];
	const char *extra[] = { "-monitor", mon, NULL };
	struct vdev hp;
	bool ok;

	snprintf(sock, sizeof(sock), "/tmp/vitsa-qtest-%d.sock", (int)getpid());
	snprintf(mon, sizeof(mon), "unix:%s,server=on,wait=off", sock);
	memset(&hp, 0, sizeof(hp));
	hp.cfg.rows = hp.cfg.cols = 16;
	ok = qemu_start(&hp.q, extra) && qt_cmd(&hp.q, "clock_step 0") &&
	     mon_connect(&hp.q, sock) && steps(&hp);
	qemu_stop(&hp.q);
	unlink(sock);
	return ok;
}

static bool test_hotplug(void)
{
	return with_monitor(hotplug_steps);
}

/* ---- hardware 1.1: clock, idle counter, fault injection ------------------------------------- */

#define CLOCK_DEFAULT_MHZ	1000
#define SMALL_SIZE		0x300		/* A at +0, B at +0x100, C at +0x200 */
#define SMALL_C_LEN		(4 * 20)	/* desc_small's C: 4 rows of 5 int32 */
#define CPL_UNWRITTEN		0xeeeeeeeeeeeeeeeeull	/* what submit() leaves in a record */

static struct vdev fdev;	/* a default device with x-fault-inject=on */

/* Advance the virtual clock, the only clock that moves under -accel qtest. */
static bool clock_step(struct vdev *d, uint64_t ns)
{
	return qt_cmd(&d->q, "clock_step %" PRIu64, ns) != NULL;
}

static uint64_t idle_read(struct vdev *d)
{
	return cnt_read(d, VITSA_REG_CNT_IDLE_CYCLES);
}

/*
 * Steps of whole microseconds: ns * MHz / 1000 is then an integer, so the counter, which
 * rounds its total down, grows by exactly that much.
 */
static uint64_t us_cycles(uint64_t us, uint32_t mhz)
{
	return us * mhz;
}

/* The idle counter grows by exactly @us microseconds of @mhz cycles across a clock step. */
static bool idle_grows(struct vdev *d, uint64_t us, uint32_t mhz)
{
	uint64_t before = idle_read(d);

	CHECK(clock_step(d, us * 1000));
	CHECK_EQ(idle_read(d) - before, us_cycles(us, mhz));
	return true;
}

/* ... and not at all. */
static bool idle_frozen(struct vdev *d, uint64_t us)
{
	uint64_t before = idle_read(d);

	CHECK(clock_step(d, us * 1000));
	CHECK_EQ(idle_read(d), before);
	return true;
}

static bool test_clock_default(void)
{
	CHECK_EQ(reg_read(&dev, VITSA_REG_CLOCK_MHZ), CLOCK_DEFAULT_MHZ);
	reg_write(&dev, VITSA_REG_CLOCK_MHZ, 5);
	CHECK_EQ(reg_read(&dev, VITSA_REG_CLOCK_MHZ), CLOCK_DEFAULT_MHZ);
	return true;
}

/* clock-mhz=@mhz: CLOCK_MHZ reads it back and the idle counter ticks at that rate. */
static bool clock_device(uint32_t mhz)
{
	char props[32];
	struct vdev other;
	bool ok;

	snprintf(props, sizeof(props), ",clock-mhz=%" PRIu32, mhz);
	ok = dev_open(&other, props, 16, 16);
	if (ok && reg_read(&other, VITSA_REG_CLOCK_MHZ) != mhz) {
		diag("clock-mhz=%" PRIu32 ": CLOCK_MHZ reads %" PRIu32, mhz,
		     reg_read(&other, VITSA_REG_CLOCK_MHZ));
		ok = false;
	}
	ok = ok && idle_grows(&other, 3000, mhz) && idle_grows(&other, 1, mhz) &&
	     !other.q.dead;
	qemu_stop(&other.q);
	return ok;
}

static bool test_clock_property(void)
{
	CHECK(clock_device(333));
	CHECK(clock_device(1));
	CHECK(clock_device(100000));
	return true;
}

static bool test_bad_clock(void)
{
	CHECK(start_refused(",clock-mhz=0"));
	CHECK(start_refused(",clock-mhz=100001"));
	CHECK(start_refused(",clock-mhz=4294967295"));
	return true;
}

/* Idle is: not enabled, halted, or HEAD == TAIL; only virtual time counts. */
static bool test_idle_counter(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	uint64_t idle, prev, jobs;

	/* Not enabled. */
	CHECK(dev_reset(&dev));
	idle = idle_read(&dev);
	CHECK_EQ(idle_read(&dev), idle);	/* virtual time stands still between steps */
	CHECK_EQ(reg_read(&dev, VITSA_REG_CNT_IDLE_CYCLES) |
		 (uint64_t)reg_read(&dev, VITSA_REG_CNT_IDLE_CYCLES + 4) << 32, idle);
	CHECK(idle_grows(&dev, 1000, CLOCK_DEFAULT_MHZ));

	/* Read-only. */
	idle = idle_read(&dev);
	qt_writeq(&dev.q, BAR_ADDR + VITSA_REG_CNT_IDLE_CYCLES, 0);
	reg_write(&dev, VITSA_REG_CNT_IDLE_CYCLES + 4, 0);
	CHECK_EQ(idle_read(&dev), idle);

	/* Enabled with an empty ring; monotonic over many small steps. */
	CHECK(ring_setup(&dev, RING_ENTRIES));
	CHECK(idle_grows(&dev, 250, CLOCK_DEFAULT_MHZ));
	prev = idle = idle_read(&dev);
	for (uint64_t i = 1; i <= 20; i++) {
		uint64_t now;

		CHECK(clock_step(&dev, i * 1000));
		now = idle_read(&dev);
		CHECK(now >= prev);
		prev = now;
	}
	CHECK_EQ(prev - idle, us_cycles(20 * 21 / 2, CLOCK_DEFAULT_MHZ));

	/* A job takes no virtual time here: the counter does not move across it. */
	idle = idle_read(&dev);
	jobs = cnt_read(&dev, VITSA_REG_CNT_JOBS);
	desc_small(&desc, 0x1d1e);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_JOBS) - jobs, 1);
	CHECK_EQ(idle_read(&dev), idle);

	/* Busy: a long job stops it, whatever time passes; its reset starts it again. */
	desc_long(&desc);
	submit(&dev, &desc, 1);
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED | VITSA_STATUS_BUSY);
	CHECK(idle_frozen(&dev, 1000));
	CHECK(idle_frozen(&dev, 5000));
	CHECK(dev_reset(&dev));
	CHECK(idle_grows(&dev, 500, CLOCK_DEFAULT_MHZ));

	/* Halted, with HEAD != TAIL: idle. */
	CHECK(ring_setup(&dev, RING_ENTRIES));
	reg_write(&dev, VITSA_REG_RING_TAIL, RING_ENTRIES + 1);
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS) & VITSA_STATUS_HALTED, VITSA_STATUS_HALTED);
	CHECK(idle_grows(&dev, 700, CLOCK_DEFAULT_MHZ));
	CHECK(dev_reset(&dev));
	return true;
}

/* Random operands for desc_small(): A and B of the small area, C filled with @c_fill. */
static void small_fill(struct vdev *d, uint8_t c_fill)
{
	uint8_t buf[0x200];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)vtest_rng_u64(&rng);
	qt_memwrite(&d->q, SMALL_ADDR, buf, sizeof(buf));
	qt_memset(&d->q, SMALL_ADDR + 0x200, c_fill, SMALL_SIZE - 0x200);
}

/* C of the desc_small() @desc just executed equals the reference on the small area's A, B. */
static bool small_c_exact(struct vdev *d, const struct vitsa_hw_desc *desc)
{
	uint8_t got[SMALL_SIZE], ref[SMALL_SIZE];
	struct vitsa_hw_desc rel = *desc;

	rel.a_addr -= SMALL_ADDR;
	rel.b_addr -= SMALL_ADDR;
	rel.c_addr -= SMALL_ADDR;
	if (rel.flags & VITSA_DESC_REQUANT)
		rel.rq_addr -= SMALL_ADDR;
	qt_memread(&d->q, SMALL_ADDR, got, sizeof(got));
	CHECK(!d->q.dead);
	memcpy(ref, got, sizeof(ref));
	CHECK_EQ(vitsa_ref_gemm(&rel, ref, sizeof(ref)), VITSA_ERR_OK);
	for (size_t i = 0; i < sizeof(got); i++) {
		if (got[i] != ref[i]) {
			diag("small area byte 0x%zx is 0x%02x, reference 0x%02x", i, got[i], ref[i]);
			return false;
		}
	}
	return true;
}

/* ---- hardware 1.2: C may not overlap an input ------------------------------------------------ */

#define SMALL_RQ_OFF	0x2c0	/* a valid requant table for 5 channels, 40 bytes, in the small area */

/* desc_small() with an S8 result requantized by the table at SMALL_RQ_OFF. */
static void desc_small_rq(struct vdev *d, struct vitsa_hw_desc *desc, uint64_t seq)
{
	static const struct vitsa_hw_rq rq[5] = {
		{ 3, 2 }, { -5, 4 }, { 1, 0 }, { 7, 6 }, { 1 << 20, 24 },
	};

	qt_memwrite(&d->q, SMALL_ADDR + SMALL_RQ_OFF, rq, sizeof(rq));
	desc_small(desc, seq);
	desc->flags = VITSA_DESC_REQUANT;
	desc->types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S8);
	desc->c_stride = 5;
	desc->rq_addr = SMALL_ADDR + SMALL_RQ_OFF;
}

/*
 * @desc (on the small area) fails with OVERLAP like any bad descriptor and the device writes
 * nothing: the whole small area, C's bytes included, reads back as before.
 */
static bool overlap_refused(const struct vitsa_hw_desc *desc)
{
	uint8_t before[SMALL_SIZE], after[SMALL_SIZE];
	struct vitsa_hw_cpl cpl;
	uint64_t errors = cnt_read(&dev, VITSA_REG_CNT_ERRORS);

	qt_memread(&dev.q, SMALL_ADDR, before, sizeof(before));
	CHECK(run_one(&dev, desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OVERLAP);
	CHECK_EQ(cpl.seq, desc->seq);
	CHECK_EQ(cpl.macs, 0);
	CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_ERRORS) - errors, 1);
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS), VITSA_INT_DONE | VITSA_INT_ERROR);
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	qt_memread(&dev.q, SMALL_ADDR, after, sizeof(after));
	CHECK(!dev.q.dead);
	for (size_t i = 0; i < sizeof(after); i++) {
		if (after[i] != before[i]) {
			diag("small area byte 0x%zx changed from 0x%02x to 0x%02x", i, before[i],
			     after[i]);
			return false;
		}
	}
	return true;
}

/* @desc runs and its C equals the reference on the small area's inputs. */
static bool small_runs_exact(const struct vitsa_hw_desc *desc)
{
	struct vitsa_hw_cpl cpl;

	CHECK(run_one(&dev, desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cpl.seq, desc->seq);
	return small_c_exact(&dev, desc);
}

/*
 * C on A (A's extent is [0, 30): 4 rows of 6 bytes, 8 apart): from its start, inside it, from
 * the gap after its first row, from its last byte.
 */
static bool test_overlap_c_on_a(void)
{
	static const uint64_t c_off[] = { 0, 0x10, 6, 30 - 1 };
	struct vitsa_hw_desc desc;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	small_fill(&dev, 0x5a);
	for (size_t i = 0; i < sizeof(c_off) / sizeof(c_off[0]); i++) {
		desc_small(&desc, 0x0a000 + i);
		desc.c_addr = SMALL_ADDR + c_off[i];
		CHECK(overlap_refused(&desc));
	}
	/* C from A's first byte with A = B (inputs may overlap each other; C still may not). */
	desc_small(&desc, 0x0a0ff);
	desc.b_addr = desc.a_addr;
	desc.b_stride = 5;
	desc.c_addr = SMALL_ADDR + 0x18;
	CHECK(overlap_refused(&desc));
	/* The device goes on. */
	desc_small(&desc, 0x0a600d);
	return small_runs_exact(&desc);
}

/* C of a requantized job on its rq table (40 bytes at SMALL_RQ_OFF), by one byte at each end. */
static bool test_overlap_c_on_rq(void)
{
	struct vitsa_hw_desc desc;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	small_fill(&dev, 0x5a);
	desc_small_rq(&dev, &desc, 0x0b001);
	desc.c_addr = SMALL_ADDR + SMALL_RQ_OFF + 40 - 1;	/* C's first byte, rq's last */
	CHECK(overlap_refused(&desc));
	desc_small_rq(&dev, &desc, 0x0b002);
	desc.c_addr = SMALL_ADDR + SMALL_RQ_OFF - 20 + 1;	/* C's last byte (4 x 5), rq's first */
	CHECK(overlap_refused(&desc));
	/* The device goes on; C in its usual place. */
	desc_small_rq(&dev, &desc, 0x0b600d);
	return small_runs_exact(&desc);
}

/* Extents that only touch do not overlap: C right after A, right before B, right before rq. */
static bool test_overlap_touching_accepted(void)
{
	struct vitsa_hw_desc desc;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	small_fill(&dev, 0x5a);
	desc_small(&desc, 0x0c001);
	desc.c_addr = SMALL_ADDR + 30;
	CHECK(small_runs_exact(&desc));
	desc_small(&desc, 0x0c002);
	desc.c_addr = SMALL_ADDR + 0x100 - SMALL_C_LEN;
	CHECK(small_runs_exact(&desc));
	desc_small_rq(&dev, &desc, 0x0c003);
	desc.c_addr = SMALL_ADDR + SMALL_RQ_OFF - 20;
	CHECK(small_runs_exact(&desc));
	desc_small_rq(&dev, &desc, 0x0c004);
	desc.c_addr = SMALL_ADDR + SMALL_RQ_OFF + 40;
	return small_runs_exact(&desc);
}

static void fault_arm(struct vdev *d, uint32_t kind, uint32_t match_k)
{
	reg_write(d, VITSA_REG_FAULT_MATCH_K, match_k);
	reg_write(d, VITSA_REG_FAULT_KIND, kind);
}

/* Without x-fault-inject the fault registers are unknown offsets: 0, writes ignored. */
static bool test_fault_absent(void)
{
	static const uint32_t regs[] = {
		VITSA_REG_FAULT_KIND, VITSA_REG_FAULT_MATCH_K, VITSA_REG_FAULT_FIRED,
	};
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	CHECK_EQ(reg_read(&dev, VITSA_REG_CAPS) & VITSA_CAP_FAULT_INJECT, 0);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		CHECK_EQ(reg_read(&dev, regs[i]), 0);
	fault_arm(&dev, VITSA_FAULT_DMA_READ, 0);
	reg_write(&dev, VITSA_REG_FAULT_FIRED, 5);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		CHECK_EQ(reg_read(&dev, regs[i]), 0);
	small_fill(&dev, 0x5a);
	desc_small(&desc, 0xfa017);
	CHECK(run_one(&dev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cpl.seq, 0xfa017);
	CHECK(small_c_exact(&dev, &desc));
	return true;
}

/* The registers themselves: arming, unknown kinds, read-only FIRED, reset disarms. */
static bool test_fault_registers(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	uint32_t fired;

	CHECK(dev_reset(&fdev));
	CHECK_EQ(reg_read(&fdev, VITSA_REG_CAPS),
		 VITSA_CAP_S8 | VITSA_CAP_U8 | VITSA_CAP_S4 | VITSA_CAP_U4 | VITSA_CAP_REQUANT |
		 VITSA_CAP_B_TRANS | VITSA_CAP_BIAS | VITSA_CAP_VECTOR | VITSA_CAP_LIST |
		 VITSA_CAP_FAULT_INJECT);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_NONE);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_MATCH_K), 0);
	fired = reg_read(&fdev, VITSA_REG_FAULT_FIRED);

	/* Unknown kinds are ignored, with nothing armed and with a fault armed. */
	reg_write(&fdev, VITSA_REG_FAULT_KIND, VITSA_FAULT_COUNT);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_NONE);
	fault_arm(&fdev, VITSA_FAULT_CPL_SEQ, 0x1234);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_CPL_SEQ);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_MATCH_K), 0x1234);
	reg_write(&fdev, VITSA_REG_FAULT_KIND, 0xffffffff);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_CPL_SEQ);
	/* A new kind replaces the armed one; NONE disarms. */
	reg_write(&fdev, VITSA_REG_FAULT_KIND, VITSA_FAULT_HANG);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_HANG);
	reg_write(&fdev, VITSA_REG_FAULT_KIND, VITSA_FAULT_NONE);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_NONE);
	/* FIRED is read-only. */
	reg_write(&fdev, VITSA_REG_FAULT_FIRED, fired + 77);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired);

	/* CTRL.RESET disarms a fault that has not fired; FIRED survives. */
	fault_arm(&fdev, VITSA_FAULT_HANG, 0);
	CHECK(dev_reset(&fdev));
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_NONE);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_MATCH_K), 0);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired);
	CHECK(ring_setup(&fdev, RING_ENTRIES));
	small_fill(&fdev, 0x5a);
	desc_small(&desc, 0xd15a);
	CHECK(run_one(&fdev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cpl.seq, 0xd15a);
	CHECK(small_c_exact(&fdev, &desc));
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired);
	return true;
}

/*
 * HANG, aimed by K at the middle one of three descriptors: the first completes, the device
 * then sits on the second; CTRL.RESET frees it at once and the device works again.
 */
static bool test_fault_hang(void)
{
	struct vitsa_hw_desc desc[3];
	struct vitsa_hw_cpl cpl;
	uint64_t jobs;
	uint32_t fired;
	int64_t t0;

	CHECK(ring_setup(&fdev, RING_ENTRIES));
	small_fill(&fdev, 0x5a);
	fired = reg_read(&fdev, VITSA_REG_FAULT_FIRED);
	jobs = cnt_read(&fdev, VITSA_REG_CNT_JOBS);
	for (uint32_t i = 0; i < 3; i++)
		desc_small(&desc[i], 0x4a01 + i);
	desc[1].k = 7;
	fault_arm(&fdev, VITSA_FAULT_HANG, 7);
	submit(&fdev, desc, 3);
	CHECK(wait_reg(&fdev, VITSA_REG_FAULT_FIRED, ~0u, fired + 1));
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_NONE);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_MATCH_K), 7);
	/* The small job takes microseconds; give the device far longer than that. */
	pause_us(200000);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_RING_HEAD), 1);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED | VITSA_STATUS_BUSY);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_INT_STATUS), VITSA_INT_DONE);
	CHECK_EQ(cnt_read(&fdev, VITSA_REG_CNT_JOBS) - jobs, 1);
	read_cpl(&fdev, 0, &cpl);
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cpl.seq, 0x4a01);
	read_cpl(&fdev, 1, &cpl);
	CHECK_EQ(cpl.seq, CPL_UNWRITTEN);
	read_cpl(&fdev, 2, &cpl);
	CHECK_EQ(cpl.seq, CPL_UNWRITTEN);
	/* Hung is busy: no idle time. */
	CHECK(idle_frozen(&fdev, 2000));

	t0 = now_ns();
	reg_write(&fdev, VITSA_REG_CTRL, VITSA_CTRL_RESET);
	CHECK(wait_reg(&fdev, VITSA_REG_STATUS, VITSA_STATUS_RESETTING, 0));
	diag("RESETTING cleared %" PRId64 " us after the reset", (now_ns() - t0) / 1000);
	CHECK(now_ns() - t0 < 2000000000ll);
	fdev.tail = 0;
	CHECK_EQ(reg_read(&fdev, VITSA_REG_STATUS), 0);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_RING_HEAD), 0);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_INT_STATUS), 0);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_MATCH_K), 0);
	CHECK_EQ(cnt_read(&fdev, VITSA_REG_CNT_JOBS) - jobs, 1);
	read_cpl(&fdev, 1, &cpl);
	CHECK_EQ(cpl.seq, CPL_UNWRITTEN);	/* abandoned: never completed */
	CHECK(idle_grows(&fdev, 2000, CLOCK_DEFAULT_MHZ));

	/* A re-programmed ring runs a job bit-exactly. */
	CHECK(ring_setup(&fdev, RING_ENTRIES));
	CHECK(gemm_check(&fdev, &gemm_cases[0]));
	CHECK_EQ(reg_read(&fdev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired + 1);
	CHECK_EQ(cnt_read(&fdev, VITSA_REG_CNT_JOBS) - jobs, 2);
	return true;
}

/* DMA_READ: the job completes with DMA_READ and writes nothing; the ring goes on. */
static bool test_fault_dma_read(void)
{
	uint8_t c[SMALL_C_LEN];
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	uint64_t errors;
	uint32_t fired;

	CHECK(ring_setup(&fdev, RING_ENTRIES));
	small_fill(&fdev, 0x5a);
	fired = reg_read(&fdev, VITSA_REG_FAULT_FIRED);
	errors = cnt_read(&fdev, VITSA_REG_CNT_ERRORS);
	fault_arm(&fdev, VITSA_FAULT_DMA_READ, 0);
	desc_small(&desc, 0xd3a0);
	CHECK(run_one(&fdev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_DMA_READ);
	CHECK_EQ(cpl.seq, 0xd3a0);
	CHECK_EQ(cpl.macs, 0);
	CHECK_EQ(cpl.cycles, 0);
	CHECK_EQ(cpl.entry, 0);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_INT_STATUS), VITSA_INT_DONE | VITSA_INT_ERROR);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_ERROR), 0);
	CHECK_EQ(cnt_read(&fdev, VITSA_REG_CNT_ERRORS) - errors, 1);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired + 1);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_NONE);
	qt_memread(&fdev.q, SMALL_ADDR + 0x200, c, sizeof(c));
	for (size_t i = 0; i < sizeof(c); i++)
		CHECK_EQ(c[i], 0x5a);

	/* The next descriptors run normally. */
	reg_write(&fdev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	desc_small(&desc, 0xd3a1);
	CHECK(run_one(&fdev, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cpl.seq, 0xd3a1);
	CHECK(small_c_exact(&fdev, &desc));
	CHECK(gemm_check(&fdev, &gemm_cases[2]));
	CHECK_EQ(reg_read(&fdev, VITSA_REG_INT_STATUS), VITSA_INT_DONE);
	CHECK_EQ(cnt_read(&fdev, VITSA_REG_CNT_ERRORS) - errors, 1);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired + 1);
	return true;
}

/* CPL_SEQ: a normal job whose record carries a wrong seq; HEAD moves on. */
static bool test_fault_cpl_seq(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	uint32_t fired;

	CHECK(ring_setup(&fdev, RING_ENTRIES));
	small_fill(&fdev, 0x5a);
	fired = reg_read(&fdev, VITSA_REG_FAULT_FIRED);
	fault_arm(&fdev, VITSA_FAULT_CPL_SEQ, 0);
	desc_small(&desc, 0x5e90);
	CHECK(run_one(&fdev, &desc, &cpl));	/* waits for HEAD = 1 */
	CHECK_EQ(cpl.seq, 0x5e90 ^ VITSA_FAULT_CPL_SEQ_XOR);
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cpl.macs, 4 * 5 * 6);
	CHECK_EQ(cpl.cycles, vitsa_model_cycles(&fdev.cfg, 4, 5, 6));
	CHECK_EQ(cpl.entry, 0);
	CHECK(small_c_exact(&fdev, &desc));
	CHECK_EQ(reg_read(&fdev, VITSA_REG_RING_HEAD), 1);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_INT_STATUS), VITSA_INT_DONE);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired + 1);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_NONE);

	desc_small(&desc, 0x5e91);
	CHECK(run_one(&fdev, &desc, &cpl));
	CHECK_EQ(cpl.seq, 0x5e91);
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	return true;
}

/* MATCH_K: other descriptors pass untouched; the first matching one takes the fault. */
static bool test_fault_match_k(void)
{
	static const uint32_t ks[6] = { 6, 6, 6, 7, 7, 6 };
	struct vitsa_hw_desc desc[6];
	struct vitsa_hw_cpl cpl;
	uint32_t fired;

	CHECK(ring_setup(&fdev, RING_ENTRIES));
	small_fill(&fdev, 0x5a);
	fired = reg_read(&fdev, VITSA_REG_FAULT_FIRED);
	for (uint32_t i = 0; i < 6; i++) {
		desc_small(&desc[i], 0x3a00 + i);
		desc[i].k = ks[i];
	}
	fault_arm(&fdev, VITSA_FAULT_DMA_READ, 7);

	/* Two with K = 6: unaffected, the fault stays armed. */
	submit(&fdev, desc, 2);
	CHECK(wait_head(&fdev, 2));
	for (uint32_t i = 0; i < 2; i++) {
		read_cpl(&fdev, i, &cpl);
		CHECK_STATUS(cpl, VITSA_ERR_OK);
		CHECK_EQ(cpl.seq, 0x3a00 + i);
	}
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_DMA_READ);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired);

	/* K = 6, 7, 7, 6 in one go: only the first K = 7 fails. */
	submit(&fdev, desc + 2, 4);
	CHECK(wait_head(&fdev, 6));
	for (uint32_t i = 2; i < 6; i++) {
		read_cpl(&fdev, i, &cpl);
		CHECK_STATUS(cpl, i == 3 ? VITSA_ERR_DMA_READ : VITSA_ERR_OK);
		CHECK_EQ(cpl.seq, 0x3a00 + i);
		CHECK_EQ(cpl.macs, i == 3 ? 0 : 4 * 5 * ks[i]);
	}
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired + 1);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_KIND), VITSA_FAULT_NONE);
	CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_MATCH_K), 7);

	/* FIRED counts every fault: two more, back to back. */
	for (uint32_t i = 0; i < 2; i++) {
		fault_arm(&fdev, VITSA_FAULT_CPL_SEQ, 0);
		desc_small(&desc[0], 0x3b00 + i);
		CHECK(run_one(&fdev, &desc[0], &cpl));
		CHECK_EQ(cpl.seq, (0x3b00 + i) ^ VITSA_FAULT_CPL_SEQ_XOR);
		CHECK_EQ(reg_read(&fdev, VITSA_REG_FAULT_FIRED), fired + 2 + i);
	}
	return true;
}

/*
 * A hung device meets a machine reset (the hang ends, the device comes back) and an unplug
 * (unrealize must wake and join the hung worker; the eject would hang QEMU otherwise).
 */
static bool fault_hotplug_steps(struct vdev *d)
{
	const unsigned slot = 6;
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;

	CHECK(mon_cmd(&d->q, "device_add vitsa,id=vf,addr=06.0,x-fault-inject=on"));
	CHECK(dev_attach(d));
	CHECK(ring_setup(d, RING_ENTRIES));
	CHECK_EQ(reg_read(d, VITSA_REG_FAULT_FIRED), 0);
	fault_arm(d, VITSA_FAULT_HANG, 0);
	desc_small(&desc, 0x4b01);
	submit(d, &desc, 1);
	CHECK(wait_reg(d, VITSA_REG_FAULT_FIRED, ~0u, 1));
	pause_us(50000);
	CHECK_EQ(reg_read(d, VITSA_REG_STATUS), VITSA_STATUS_ENABLED | VITSA_STATUS_BUSY);

	CHECK(mon_cmd(&d->q, "system_reset"));
	CHECK(dev_attach(d));
	CHECK(wait_reg(d, VITSA_REG_STATUS, VITSA_STATUS_RESETTING, 0));
	CHECK_EQ(reg_read(d, VITSA_REG_STATUS), 0);
	CHECK_EQ(reg_read(d, VITSA_REG_RING_HEAD), 0);
	CHECK_EQ(reg_read(d, VITSA_REG_FAULT_FIRED), 1);
	CHECK(ring_setup(d, RING_ENTRIES));
	desc_small(&desc, 0x4b02);
	CHECK(run_one(d, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	CHECK_EQ(cpl.seq, 0x4b02);

	fault_arm(d, VITSA_FAULT_HANG, 0);
	desc_small(&desc, 0x4b03);
	submit(d, &desc, 1);
	CHECK(wait_reg(d, VITSA_REG_FAULT_FIRED, ~0u, 2));
	CHECK(mon_cmd(&d->q, "device_del vf"));
	qt_outl(&d->q, 0xae08, 1u << slot);
	CHECK_EQ(cfg_read32(&d->q, slot << 3, 0), 0xffffffff);
	CHECK(qt_cmd(&d->q, "clock_step 1000"));
	return true;
}

static bool test_fault_hotplug(void)
{
	return with_monitor(fault_hotplug_steps);
}

/* ---- hardware 1.3: the vector unit ----------------------------------------------------------- */

#define VEC_SIZE	0x4000	/* the vector tests' image of random bytes, at DATA_ADDR */
#define VEC_IN0		0x0100	/* where their operands lie in it */
#define VEC_IN1		0x1400
#define VEC_OUT		0x2800

/* A host copy of the image for the model; addresses are offsets into it. */
struct himg {
	uint8_t *mem;
	size_t size;
};

static int himg_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct himg *h = opaque;

	if (addr > h->size || len > h->size - addr)
		return -1;
	memcpy(buf, h->mem + addr, len);
	return 0;
}

static int himg_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
	struct himg *h = opaque;

	if (addr > h->size || len > h->size - addr)
		return -1;
	memcpy(h->mem + addr, buf, len);
	return 0;
}

static const struct vitsa_mem_ops himg_ops = { .read = himg_read, .write = himg_write };

/* Parameters of @d's op as the compiler makes them (vitsa_iops.h constructors). */
static void vec_params(struct vitsa_hw_desc *d)
{
	union vitsa_vec_params p;

	memset(&p, 0, sizeof(p));
	switch (d->opcode) {
	case VITSA_OP_INPUT:	/* 3 channels of 8 x 8 in patches of 4: 4 rows of 48 */
		p.input = (struct vitsa_vec_input){ 3, 8, 4 };
		d->m = 4, d->n = 48;
		break;
	case VITSA_OP_EMBED:
		p.embed.prefix = 1;
		break;
	case VITSA_OP_LAYERNORM:
	case VITSA_OP_LAYERNORM_S4:
		p.layernorm.out = vitsa_dyadic_from_ratio(sqrt(d->n) / (1 << 30) / (4.0 / 127));
		break;
	case VITSA_OP_SHIFTMAX16:
		p.shiftmax16.lo = d->n + 5;
		/* fall through */
	case VITSA_OP_SHIFTMAX:
		vitsa_shiftmax_params(&p.shiftmax16.sm, 0.04, 64);
		break;
	case VITSA_OP_GELU_U4:
		p.gelu.zero = 2;
		/* fall through */
	case VITSA_OP_GELU:
		vitsa_gelu_params(&p.gelu.gelu, 0.03);
		p.gelu.out = vitsa_dyadic_from_ratio(0.03 / 16384 / 0.02);
		break;
	case VITSA_OP_ADD:
		p.add.a = vitsa_dyadic_from_ratio(0.75);
		p.add.b = vitsa_dyadic_from_ratio(1.25);
		break;
	case VITSA_OP_JOIN16:
		p.join16.out = vitsa_dyadic_from_ratio(1.0 / 32768);
		break;
	}
	memcpy(d->param, p.word, 4 * vitsa_vec_traits(d->opcode).nparams);
}

/* A valid @op descriptor of m x n: operands at VEC_IN0, VEC_IN1, VEC_OUT, strides a row + 1. */
static struct vitsa_hw_desc vec_desc(uint32_t op, uint32_t m, uint32_t n)
{
	static const uint64_t at[VITSA_VEC_OPNDS] = { VEC_IN0, VEC_IN1, VEC_OUT };
	struct vitsa_hw_desc d = { .opcode = op, .seq = vtest_rng_u64(&rng), .m = m, .n = n };
	uint64_t *addr[VITSA_VEC_OPNDS] = { &d.a_addr, &d.b_addr, &d.c_addr };
	uint64_t *stride[VITSA_VEC_OPNDS] = { &d.a_stride, &d.b_stride, &d.c_stride };
	struct vitsa_vec_extent e;

	vec_params(&d);
	vitsa_vec_extent(&d, &e);
	for (int o = 0; o < VITSA_VEC_OPNDS; o++) {
		*addr[o] = e.rows[o] ? at[o] : 0;
		*stride[o] = e.rows[o] ? e.row_bytes[o] + e.align[o] : 0;
	}
	return d;
}

/* An address in the image moved to the guest's copy of it; others as they are. */
static uint64_t vec_guest_addr(uint64_t a)
{
	return a && a < VEC_SIZE ? DATA_ADDR + a : a;
}

static bool bytes_same(const uint8_t *got, const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			diag("image byte 0x%zx is 0x%02x, the model's 0x%02x", i, got[i], want[i]);
			return false;
		}
	}
	return true;
}

/*
 * @rel (addresses are offsets into a random image at DATA_ADDR) completes on @d with @want
 * and the model's cycles, bytes and memory: the whole image read back is the model's (out,
 * the bytes around it, nothing at all when refused).  Without the vector unit (@unit false)
 * the device does nothing with it.
 */
static bool vec_runs_as_model(struct vdev *d, const struct vitsa_hw_desc *rel, uint32_t want,
			      bool unit)
{
	static uint8_t img[VEC_SIZE], got[VEC_SIZE];
	struct himg h = { img, sizeof(img) };
	struct vitsa_hw_desc desc = *rel;
	struct vitsa_job_stats st = { 0 };
	struct vitsa_hw_cpl cpl;
	uint64_t before[6], after[6];

	desc.a_addr = vec_guest_addr(rel->a_addr);
	desc.b_addr = vec_guest_addr(rel->b_addr);
	desc.c_addr = vec_guest_addr(rel->c_addr);
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)vtest_rng_u64(&rng);
	qt_memwrite(&d->q, DATA_ADDR, img, sizeof(img));
	if (unit)
		CHECK_EQ(vitsa_model_exec(&d->cfg, rel, &himg_ops, &h, &st), want);
	for (int i = 0; i < 6; i++)
		before[i] = cnt_read(d, VITSA_REG_CNT_JOBS + 8 * i);
	CHECK(run_one(d, &desc, &cpl));
	CHECK_STATUS(cpl, want);
	CHECK_EQ(cpl.seq, desc.seq);
	CHECK_EQ(cpl.cycles, st.cycles);
	CHECK_EQ(cpl.macs, 0);
	CHECK(want != VITSA_ERR_OK || cpl.cycles);
	for (int i = 0; i < 6; i++)
		after[i] = cnt_read(d, VITSA_REG_CNT_JOBS + 8 * i);
	CHECK_EQ(after[1] - before[1], want != VITSA_ERR_OK);		/* ERRORS */
	CHECK_EQ(after[2] - before[2], 0);				/* MACS */
	CHECK_EQ(after[3] - before[3], st.cycles);			/* BUSY_CYCLES */
	CHECK_EQ(after[4] - before[4], sizeof(desc) + st.rd_bytes);	/* DMA_RD_BYTES */
	CHECK_EQ(after[5] - before[5], st.wr_bytes + sizeof(cpl));	/* DMA_WR_BYTES */
	qt_memread(&d->q, DATA_ADDR, got, sizeof(got));
	CHECK(!d->q.dead);
	return bytes_same(got, img, sizeof(img));
}

/* One vector descriptor: valid (mutate NULL) or made bad, and the status it must get. */
struct vec_case {
	const char *name;
	uint32_t op, m, n;
	void (*mutate)(struct vitsa_hw_desc *d);
	uint32_t status;
};

static void vec_in_place(struct vitsa_hw_desc *d)
{
	d->c_addr = d->a_addr;
	d->c_stride = d->a_stride;
}

static void vec_bad_opcode(struct vitsa_hw_desc *d) { d->opcode = VITSA_OP_VEC_END; }
static void vec_bad_flags(struct vitsa_hw_desc *d) { d->flags = 1; }
static void vec_bad_dims(struct vitsa_hw_desc *d) { d->m = 0; }
static void vec_bad_input(struct vitsa_hw_desc *d) { d->m = 5; }
static void vec_bad_prefix(struct vitsa_hw_desc *d) { d->param[0] = 3; }
static void vec_bad_lo(struct vitsa_hw_desc *d) { d->param[5] = d->n - 1; }
static void vec_bad_k(struct vitsa_hw_desc *d) { d->k = 1; }
static void vec_bad_word(struct vitsa_hw_desc *d) { d->param[2] = 1; }
static void vec_bad_unused(struct vitsa_hw_desc *d) { d->b_addr = VEC_IN1; }
static void vec_bad_shift(struct vitsa_hw_desc *d) { d->param[1] = VITSA_DYADIC_MAX_SHIFT + 1; }
static void vec_bad_row(struct vitsa_hw_desc *d) { d->param[3] = d->n - 1; }
static void vec_bad_zero(struct vitsa_hw_desc *d) { d->param[6] = 16; }
static void vec_bad_stride(struct vitsa_hw_desc *d) { d->b_stride = 2 * d->n - 2; }
static void vec_bad_align(struct vitsa_hw_desc *d) { d->a_stride += 2; }
static void vec_bad_range(struct vitsa_hw_desc *d) { d->a_addr = -16ull; }
static void vec_bad_overlap(struct vitsa_hw_desc *d) { d->c_addr = d->a_addr + 3; }
static void vec_bad_in_place(struct vitsa_hw_desc *d) { vec_in_place(d), d->c_stride += 2; }
static void vec_bad_read(struct vitsa_hw_desc *d) { d->b_addr = OUTSIDE_RAM; }
static void vec_bad_read_mmio(struct vitsa_hw_desc *d) { d->a_addr = BAR_ADDR; }
static void vec_bad_write(struct vitsa_hw_desc *d) { d->c_addr = OUTSIDE_RAM; }

static const struct vec_case vec_cases[] = {
	{ "vec-input", VITSA_OP_INPUT, 0, 0, NULL, VITSA_ERR_OK },
	{ "vec-embed", VITSA_OP_EMBED, 5, 24, NULL, VITSA_ERR_OK },
	{ "vec-layernorm", VITSA_OP_LAYERNORM, 5, 24, NULL, VITSA_ERR_OK },
	{ "vec-layernorm-s4-odd", VITSA_OP_LAYERNORM_S4, 3, 7, NULL, VITSA_ERR_OK },
	{ "vec-shiftmax", VITSA_OP_SHIFTMAX, 4, 20, NULL, VITSA_ERR_OK },
	{ "vec-shiftmax16", VITSA_OP_SHIFTMAX16, 3, 20, NULL, VITSA_ERR_OK },
	{ "vec-gelu", VITSA_OP_GELU, 4, 33, NULL, VITSA_ERR_OK },
	{ "vec-gelu-u4-odd", VITSA_OP_GELU_U4, 3, 9, NULL, VITSA_ERR_OK },
	{ "vec-add", VITSA_OP_ADD, 4, 10, NULL, VITSA_ERR_OK },
	{ "vec-add-in-place", VITSA_OP_ADD, 4, 10, vec_in_place, VITSA_ERR_OK },
	{ "vec-mean", VITSA_OP_MEAN, 6, 16, NULL, VITSA_ERR_OK },
	{ "vec-join16", VITSA_OP_JOIN16, 4, 10, NULL, VITSA_ERR_OK },
	{ "vec-bad-opcode", VITSA_OP_ADD, 4, 10, vec_bad_opcode, VITSA_ERR_OPCODE },
	{ "vec-bad-flags", VITSA_OP_LAYERNORM, 5, 24, vec_bad_flags, VITSA_ERR_FLAGS },
	{ "vec-bad-dims", VITSA_OP_LAYERNORM, 5, 24, vec_bad_dims, VITSA_ERR_DIMS },
	{ "vec-bad-input-geometry", VITSA_OP_INPUT, 0, 0, vec_bad_input, VITSA_ERR_DIMS },
	{ "vec-bad-embed-prefix", VITSA_OP_EMBED, 5, 24, vec_bad_prefix, VITSA_ERR_DIMS },
	{ "vec-bad-shiftmax16-lo", VITSA_OP_SHIFTMAX16, 3, 20, vec_bad_lo, VITSA_ERR_DIMS },
	{ "vec-bad-reserved-k", VITSA_OP_ADD, 4, 10, vec_bad_k, VITSA_ERR_RESERVED },
	{ "vec-bad-param-word-past-count", VITSA_OP_LAYERNORM, 5, 24, vec_bad_word,
	  VITSA_ERR_RESERVED },
	{ "vec-bad-unused-operand", VITSA_OP_LAYERNORM, 5, 24, vec_bad_unused, VITSA_ERR_RESERVED },
	{ "vec-bad-param-shift", VITSA_OP_LAYERNORM, 5, 24, vec_bad_shift, VITSA_ERR_PARAM },
	{ "vec-bad-param-shiftmax-row", VITSA_OP_SHIFTMAX, 4, 20, vec_bad_row, VITSA_ERR_PARAM },
	{ "vec-bad-param-gelu-zero", VITSA_OP_GELU_U4, 3, 9, vec_bad_zero, VITSA_ERR_PARAM },
	{ "vec-bad-stride", VITSA_OP_ADD, 4, 10, vec_bad_stride, VITSA_ERR_STRIDE },
	{ "vec-bad-stride-s32-misaligned", VITSA_OP_JOIN16, 4, 10, vec_bad_align,
	  VITSA_ERR_STRIDE },
	{ "vec-bad-range", VITSA_OP_ADD, 4, 10, vec_bad_range, VITSA_ERR_RANGE },
	{ "vec-bad-overlap", VITSA_OP_LAYERNORM, 5, 24, vec_bad_overlap, VITSA_ERR_OVERLAP },
	{ "vec-bad-add-in-place-stride", VITSA_OP_ADD, 4, 10, vec_bad_in_place, VITSA_ERR_OVERLAP },
	{ "vec-dma-read-outside-ram", VITSA_OP_ADD, 4, 10, vec_bad_read, VITSA_ERR_DMA_READ },
	{ "vec-dma-read-mmio", VITSA_OP_GELU, 4, 33, vec_bad_read_mmio, VITSA_ERR_DMA_READ },
	{ "vec-dma-write-outside-ram", VITSA_OP_LAYERNORM, 5, 24, vec_bad_write,
	  VITSA_ERR_DMA_WRITE },
};

static const struct vec_case *current_vec;

static bool test_vec_case(void)
{
	const struct vec_case *c = current_vec;
	struct vitsa_hw_desc d = vec_desc(c->op, c->m, c->n);

	CHECK(ring_setup(&dev, RING_ENTRIES));
	if (c->mutate)
		c->mutate(&d);
	CHECK(vec_runs_as_model(&dev, &d, c->status, true));
	CHECK_EQ(reg_read(&dev, VITSA_REG_INT_STATUS),
		 VITSA_INT_DONE | (c->status ? VITSA_INT_ERROR : 0));
	CHECK_EQ(reg_read(&dev, VITSA_REG_STATUS), VITSA_STATUS_ENABLED);
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	/* The device goes on. */
	d = vec_desc(VITSA_OP_ADD, 4, 10);
	return vec_runs_as_model(&dev, &d, VITSA_ERR_OK, true);
}

/*
 * -device vitsa,vector=off is the 1.2 device: CAPS without VECTOR, version 1.2, every vector
 * opcode completes with OPCODE and writes nothing; GEMMs run as before.
 */
static bool vector_off_steps(struct vdev *d)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;

	CHECK_EQ(reg_read(d, VITSA_REG_CAPS) & (VITSA_CAP_VECTOR | VITSA_CAP_LIST), 0);
	CHECK_EQ(reg_read(d, VITSA_REG_VERSION), 1 << 16 | 2);
	CHECK(ring_setup(d, RING_ENTRIES));
	for (uint32_t op = VITSA_OP_VEC_FIRST; op < VITSA_OP_VEC_END; op++) {
		desc = vec_desc(op, 3, 8);
		CHECK_EQ(vitsa_desc_check(&desc), VITSA_ERR_OK);
		CHECK(vec_runs_as_model(d, &desc, VITSA_ERR_OPCODE, false));
	}
	small_fill(d, 0x5a);
	desc_small(&desc, 0x1200d);
	CHECK(run_one(d, &desc, &cpl));
	CHECK_STATUS(cpl, VITSA_ERR_OK);
	return small_c_exact(d, &desc);
}

static bool test_vector_off(void)
{
	struct vdev old;
	bool ok;

	if (!dev_open(&old, ",vector=off", 16, 16)) {
		qemu_stop(&old.q);
		return false;
	}
	ok = vector_off_steps(&old);
	qemu_stop(&old.q);
	return ok;
}

/* threads= is 1..16; any count gives the model's bits (the GEMM cases run on the default 2). */
static bool test_threads_property(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	struct vdev one;
	bool ok;

	CHECK(start_refused(",threads=0"));
	CHECK(start_refused(",threads=17"));
	if (!dev_open(&one, ",threads=1", 16, 16)) {
		qemu_stop(&one.q);
		return false;
	}
	small_fill(&one, 0x33);
	desc_small(&desc, 0x1200d);
	ok = ring_setup(&one, RING_ENTRIES) && run_one(&one, &desc, &cpl) &&
	     cpl.status == VITSA_ERR_OK && small_c_exact(&one, &desc);
	qemu_stop(&one.q);
	return ok;
}

/*
 * The device keeps B packed once a job finds it unchanged (qemu-device's vitsa_wcache): the
 * same B five times, a byte of it changed, five times again, each C exact against the
 * reference on what memory holds then, and DMA_RD_BYTES the same every time (the cache is
 * the emulator's, not the hardware's).
 */
static bool test_weights_kept_exact(void)
{
	struct vitsa_hw_desc desc;
	struct vitsa_hw_cpl cpl;
	uint64_t rd, first = 0;

	CHECK(ring_setup(&dev, RING_ENTRIES));
	small_fill(&dev, 0x11);
	desc_small(&desc, 5);
	for (int i = 0; i < 10; i++) {
		if (i == 5) {	/* the guest rewrites one weight */
			uint8_t b;

			qt_memread(&dev.q, desc.b_addr + 17, &b, 1);
			b ^= 0x5a;
			qt_memwrite(&dev.q, desc.b_addr + 17, &b, 1);
		}
		rd = cnt_read(&dev, VITSA_REG_CNT_DMA_RD_BYTES);
		CHECK(run_one(&dev, &desc, &cpl));
		CHECK_STATUS(cpl, VITSA_ERR_OK);
		CHECK(small_c_exact(&dev, &desc));
		rd = cnt_read(&dev, VITSA_REG_CNT_DMA_RD_BYTES) - rd;
		first = first ? first : rd;
		CHECK_EQ(rd, first);
	}
	return true;
}

/* ---- descriptor lists (1.3) ----------------------------------------------------------------- */

#define LIST_ADDR	0x00400000ull	/* a list's entries, in guest RAM */

/* The list tests' entries: e[1] rewrites in0 in place, which e[2] then reads. */
static void list_entries(struct vitsa_hw_desc *e)
{
	e[0] = vec_desc(VITSA_OP_ADD, 4, 10);
	e[1] = vec_desc(VITSA_OP_ADD, 4, 10);
	vec_in_place(&e[1]);
	e[2] = vec_desc(VITSA_OP_LAYERNORM, 5, 24);
}

/* Entry @e relative to the image, as the guest sees it. */
/* @e with the addresses inside an image of @size bytes moved to where it lies in the guest. */
static struct vitsa_hw_desc list_guest_in(const struct vitsa_hw_desc *e, size_t size)
{
	struct vitsa_hw_desc g = *e;
	uint64_t *addr[] = { &g.a_addr, &g.b_addr, &g.c_addr, &g.rq_addr };

	for (size_t i = 0; i < sizeof(addr) / sizeof(addr[0]); i++)
		if (*addr[i] && *addr[i] < size)
			*addr[i] += DATA_ADDR;
	return g;
}

static struct vitsa_hw_desc list_guest(const struct vitsa_hw_desc *e)
{
	return list_guest_in(e, VEC_SIZE);
}

#define LIST_IMG_MAX	0x60000	/* the largest image a list test runs on */

/*
 * @n entries as one LIST on @img, @size bytes written at DATA_ADDR and run on in place:
 * status @want and entry @at in the completion, the image as the model leaves it after
 * running the entries one by one up to the failing one, cycles added up, CNT_JOBS counting
 * the entries run.
 */
static bool list_runs_on(struct vdev *d, const struct vitsa_hw_desc *e, uint32_t n,
			 uint32_t want, uint32_t at, uint8_t *img, size_t size)
{
	static uint8_t got[LIST_IMG_MAX];
	struct himg h = { img, size };
	struct vitsa_hw_desc list = { .opcode = VITSA_OP_LIST, .seq = vtest_rng_u64(&rng), .m = n,
				      .a_addr = LIST_ADDR };
	uint64_t cycles = 0, jobs;
	struct vitsa_hw_cpl cpl;
	uint32_t i, st = VITSA_ERR_OK;

	qt_memwrite(&d->q, DATA_ADDR, img, size);
	for (i = 0; i < n; i++) {
		struct vitsa_hw_desc g = list_guest_in(&e[i], size);

		qt_memwrite(&d->q, LIST_ADDR + i * sizeof(g), &g, sizeof(g));
	}
	for (i = 0; i < n && !st; i++) {
		struct vitsa_job_stats js = { 0 };

		st = e[i].opcode == VITSA_OP_LIST ? VITSA_ERR_LIST :
		     vitsa_model_exec(&d->cfg, &e[i], &himg_ops, &h, &js);
		cycles += js.cycles;
	}
	CHECK_EQ(st, want);
	jobs = cnt_read(d, VITSA_REG_CNT_JOBS);
	CHECK(run_one(d, &list, &cpl));
	CHECK_STATUS(cpl, want);
	CHECK_EQ(cpl.seq, list.seq);
	CHECK_EQ(cpl.entry, at);
	CHECK_EQ(cpl.cycles, cycles);
	CHECK_EQ(cnt_read(d, VITSA_REG_CNT_JOBS) - jobs, i);
	qt_memread(&d->q, DATA_ADDR, got, size);
	CHECK(!d->q.dead);
	return bytes_same(got, img, size);
}

/* list_runs_on an image of @size random bytes. */
static bool list_runs_in(struct vdev *d, const struct vitsa_hw_desc *e, uint32_t n,
			 uint32_t want, uint32_t at, size_t size)
{
	static uint8_t img[LIST_IMG_MAX];

	for (size_t i = 0; i < size; i++)
		img[i] = (uint8_t)vtest_rng_u64(&rng);
	return list_runs_on(d, e, n, want, at, img, size);
}

static bool list_runs_as_model(struct vdev *d, const struct vitsa_hw_desc *e, uint32_t n,
			       uint32_t want, uint32_t at)
{
	return list_runs_in(d, e, n, want, at, VEC_SIZE);
}

/* A list of three runs in order, twice (the entries' data differs: a new image each time). */
static bool test_list_runs(void)
{
	struct vitsa_hw_desc e[3];

	CHECK(ring_setup(&dev, RING_ENTRIES));
	list_entries(e);
	CHECK(list_runs_as_model(&dev, e, 3, VITSA_ERR_OK, 3));
	return list_runs_as_model(&dev, e, 3, VITSA_ERR_OK, 3);
}

/* The first failing entry ends the list: its status and index, later entries not run. */
static bool test_list_stops(void)
{
	struct vitsa_hw_desc e[3];

	CHECK(ring_setup(&dev, RING_ENTRIES));
	list_entries(e);
	vec_bad_shift(&e[1]);
	CHECK(list_runs_as_model(&dev, e, 3, VITSA_ERR_PARAM, 1));
	list_entries(e);
	e[2] = (struct vitsa_hw_desc){ .opcode = VITSA_OP_LIST, .m = 1, .a_addr = LIST_ADDR };
	CHECK(list_runs_as_model(&dev, e, 3, VITSA_ERR_LIST, 2));
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	list_entries(e);
	return list_runs_as_model(&dev, e, 3, VITSA_ERR_OK, 3);	/* the device goes on */
}

/* A GEMM in the vector tests' image: 16x64 A, 64x32 B (K rows of N), 16x32 C of s32. */
static struct vitsa_hw_desc list_gemm(uint64_t a, uint64_t b, uint64_t c)
{
	return (struct vitsa_hw_desc){
		.opcode = VITSA_OP_GEMM, .m = 16, .n = 32, .k = 64,
		.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32),
		.a_addr = a, .a_stride = 64, .b_addr = b, .b_stride = 32, .c_addr = c,
		.c_stride = 128,
	};
}

/*
 * The device trusts a B it compared for the later entries of the same list (its packing
 * kept, not compared again) until an entry writes into it: e[2] overwrites the B of e[0],
 * e[1] and e[3], and e[3] must multiply by the new bytes.
 */
static bool test_list_rewrites_b(void)
{
	struct vitsa_hw_desc e[4];

	CHECK(ring_setup(&dev, RING_ENTRIES));
	e[0] = list_gemm(VEC_IN0, VEC_IN1, VEC_OUT);
	e[1] = e[0];
	e[2] = list_gemm(VEC_IN0, VEC_OUT + 0x800, VEC_IN1);
	e[3] = e[0];
	CHECK(list_runs_as_model(&dev, e, 4, VITSA_ERR_OK, 4));
	return list_runs_as_model(&dev, e, 4, VITSA_ERR_OK, 4);
}

/*
 * A list whose entries fall into independent sets runs them in lanes on the device's threads
 * (threads=2 by default): e[0..2] share only the B they read, e[3] reads C of e[0] and writes
 * C of e[1].  The image, statuses, cycles and counters are those of the list in order.
 */
static bool test_list_lanes(void)
{
	struct vitsa_hw_desc e[4];

	CHECK(ring_setup(&dev, RING_ENTRIES));
	for (int i = 0; i < 3; i++)
		e[i] = list_gemm(VEC_IN0 + i * 0x400, VEC_IN1, VEC_OUT + i * 0x800);
	e[3] = list_gemm(VEC_OUT, VEC_IN1, VEC_OUT + 0x800);
	CHECK(list_runs_as_model(&dev, e, 4, VITSA_ERR_OK, 4));
	return list_runs_as_model(&dev, e, 4, VITSA_ERR_OK, 4);
}

/* @m rows of s8 at 0x100 (256 apart) times a 256x256 s8 B at @b: C of s32 at @c, 1 KiB apart. */
static struct vitsa_hw_desc list_big_gemm(uint32_t m, uint64_t b, uint64_t c)
{
	return (struct vitsa_hw_desc){
		.opcode = VITSA_OP_GEMM, .m = m, .n = 256, .k = 256,
		.types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S32),
		.a_addr = 0x100, .a_stride = 256, .b_addr = b, .b_stride = 256,
		.c_addr = c, .c_stride = 1024,
	};
}

/*
 * A list that is one set (e[1] multiplies C of e[0]) runs as one lane on the device's worker,
 * and its GEMMs, big enough (4 Mi MACs) to be split, still go over the device's threads: a
 * 64x256 A times a 256x256 B, twice, on a 256 KiB image, equal to the list in order.
 */
static bool test_list_one_lane(void)
{
	struct vitsa_hw_desc e[2];

	CHECK(ring_setup(&dev, RING_ENTRIES));
	e[0] = list_big_gemm(64, 0x4100, 0x14100);
	e[1] = e[0];
	e[1].a_addr = e[0].c_addr;
	e[1].a_stride = e[0].c_stride;
	e[1].c_addr = 0x24100;
	CHECK(list_runs_in(&dev, e, 2, VITSA_ERR_OK, 2, LIST_IMG_MAX));
	return list_runs_in(&dev, e, 2, VITSA_ERR_OK, 2, LIST_IMG_MAX);
}

/*
 * A list that is one set whose later entries are independent of each other, as the heads of
 * an attention layer are (e[1..3] read columns of C of e[0] and write a C each), runs them as
 * one group: together in one parallel region, 2 Mi MACs each.  Equal to the list in order.
 */
static bool test_list_one_lane_group(void)
{
	struct vitsa_hw_desc e[4];

	CHECK(ring_setup(&dev, RING_ENTRIES));
	e[0] = list_big_gemm(32, 0x2100, 0x12100);
	for (int i = 1; i < 4; i++) {
		e[i] = e[0];
		e[i].a_addr = e[0].c_addr + (i - 1) * 256;
		e[i].a_stride = e[0].c_stride;
		e[i].c_addr = 0x1a100 + (i - 1) * 0x8000;
	}
	CHECK(list_runs_in(&dev, e, 4, VITSA_ERR_OK, 4, LIST_IMG_MAX));
	return list_runs_in(&dev, e, 4, VITSA_ERR_OK, 4, LIST_IMG_MAX);
}

/*
 * Lanes keep a list's packed weights from one run to the next only while B holds the bytes
 * they were packed from: four independent entries with a 64 KiB B each, run twice on the same
 * bytes, then twice after one byte of B changed: the last of the last B, one in the middle of
 * the first, the first of the second.  Every run equal to the list in order on what memory
 * holds then (a compare that missed the last byte of a B fails it).
 */
static bool test_list_weights_kept_exact(void)
{
	static uint8_t img[LIST_IMG_MAX];
	static const size_t flip[] = { 0, 0x500ff, 0x18100, 0x20100 };
	struct vitsa_hw_desc e[4];

	CHECK(ring_setup(&dev, RING_ENTRIES));
	for (int i = 0; i < 4; i++)
		e[i] = list_big_gemm(8, 0x10100 + i * 0x10000, 0x50100 + i * 0x2000);
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)vtest_rng_u64(&rng);
	for (size_t r = 0; r < sizeof(flip) / sizeof(flip[0]); r++) {
		if (flip[r])
			img[flip[r]] ^= 0x5a;
		CHECK(list_runs_on(&dev, e, 4, VITSA_ERR_OK, 4, img, sizeof(img)));
		CHECK(list_runs_on(&dev, e, 4, VITSA_ERR_OK, 4, img, sizeof(img)));
	}
	return true;
}

/*
 * Independent entries whose second one fails on its requant table (random bytes: shifts out
 * of range): the list still stops there, and the third, which a lane of its own could have
 * run, has not (the device runs lanes only when no entry can fail).
 */
static bool test_list_lanes_stop(void)
{
	struct vitsa_hw_desc e[3];

	CHECK(ring_setup(&dev, RING_ENTRIES));
	for (int i = 0; i < 3; i++)
		e[i] = list_gemm(VEC_IN0 + i * 0x400, VEC_IN1, VEC_OUT + i * 0x800);
	e[1].types = VITSA_DESC_TYPES(VITSA_DTYPE_S8, VITSA_DTYPE_S8, VITSA_DTYPE_S8);
	e[1].flags = VITSA_DESC_REQUANT;
	e[1].rq_addr = VEC_IN1 + 0x800;
	e[1].c_stride = 32;
	CHECK(list_runs_as_model(&dev, e, 3, VITSA_ERR_RQ, 1));
	reg_write(&dev, VITSA_REG_INT_ACK, VITSA_INT_ALL);
	return true;
}

/* A LIST's own fields refused (VITSA_ERR_LIST), nothing run. */
static bool test_list_refused(void)
{
	struct vitsa_hw_desc list = { .opcode = VITSA_OP_LIST, .m = 1, .a_addr = LIST_ADDR };
	struct vitsa_hw_desc bad[] = { list, list, list, list, list, list };
	struct vitsa_hw_desc e[3];
	struct vitsa_hw_cpl cpl;
	uint64_t jobs;

	bad[0].m = 0;
	bad[1].m = VITSA_LIST_MAX_ENTRIES + 1;
	bad[2].a_addr += 64;
	bad[3].n = 1;
	bad[4].param[6] = 1;
	bad[5].a_addr = -128ull;		/* the second entry would wrap the address space */
	bad[5].m = 2;
	CHECK(ring_setup(&dev, RING_ENTRIES));
	list_entries(e);
	for (uint32_t i = 0; i < 3; i++) {
		struct vitsa_hw_desc g = list_guest(&e[i]);

		qt_memwrite(&dev.q, LIST_ADDR + i * sizeof(g), &g, sizeof(g));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jobs = cnt_read(&dev, VITSA_REG_CNT_JOBS);
		CHECK(run_one(&dev, &bad[i], &cpl));
		CHECK_STATUS(cpl, VITSA_ERR_LIST);
		CHECK_EQ(cpl.entry, 0);
		CHECK_EQ(cpl.cycles, 0);
		CHECK_EQ(cnt_read(&dev, VITSA_REG_CNT_JOBS) - jobs, 1);
	}
	return true;
}

/* The 1.2 device has no LIST: OPCODE. */
static bool test_list_vector_off(void)
{
	struct vitsa_hw_desc list = { .opcode = VITSA_OP_LIST, .m = 1, .a_addr = LIST_ADDR };
	struct vitsa_hw_cpl cpl;
	struct vdev old;
	bool ok;

	if (!dev_open(&old, ",vector=off", 16, 16)) {
		qemu_stop(&old.q);
		return false;
	}
	ok = ring_setup(&old, RING_ENTRIES) && run_one(&old, &list, &cpl) &&
	     cpl.status == VITSA_ERR_OPCODE;
	qemu_stop(&old.q);
	return ok;
}

/* ---- runner --------------------------------------------------------------------------------- */

struct test {
	char name[64];
	bool (*fn)(void);
	const struct gemm_case *gemm;
	const struct bad_case *bad;
	const struct vec_case *vec;
};

#define MAX_TESTS 128

int main(int argc, char **argv)
{
	static struct test tests[MAX_TESTS];
	int ntests = 0, passed = 0, failed = 0;
	const char *seed = getenv("VITSA_QTEST_SEED");

	qemu_binary = argc > 1 ? argv[1] : getenv("QEMU");
	if (!qemu_binary || access(qemu_binary, X_OK)) {
		fprintf(stderr, "usage: %s QEMU_BINARY (qemu-system-x86_64 with the vitsa device)\n",
			argv[0]);
		return 2;
	}
	if (seed)
		rng = VTEST_RNG(strtoull(seed, NULL, 0));
	signal(SIGPIPE, SIG_IGN);

#define ADD(nm, f, g, b)							\
	do {									\
		snprintf(tests[ntests].name, sizeof(tests[ntests].name), "%s", nm); \
		tests[ntests].fn = f;						\
		tests[ntests].gemm = g;						\
		tests[ntests].bad = b;						\
		ntests++;							\
	} while (0)
	ADD("pci-identity", test_pci_identity, NULL, NULL);
	ADD("id-registers", test_id_registers, NULL, NULL);
	ADD("register-access", test_register_access, NULL, NULL);
	for (size_t i = 0; i < sizeof(gemm_cases) / sizeof(gemm_cases[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "gemm-%s", gemm_cases[i].name);
		ADD(name, test_gemm, &gemm_cases[i], NULL);
	}
	ADD("ring-wrap", test_ring_wrap, NULL, NULL);
	ADD("counters", test_counters, NULL, NULL);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		ADD(bad_cases[i].name, test_bad_descriptor, NULL, &bad_cases[i]);
	ADD("ring-tail-beyond-size-halts", test_bad_tail, NULL, NULL);
	ADD("ring-tail-behind-head-halts", test_bad_tail_behind, NULL, NULL);
	ADD("ring-size-not-power-of-two-halts", test_bad_ring_size, NULL, NULL);
	ADD("ring-base-misaligned-halts", test_bad_ring_align, NULL, NULL);
	ADD("ring-wraps-address-space-halts", test_bad_ring_wraps, NULL, NULL);
	ADD("no-bus-master-halts", test_no_bus_master, NULL, NULL);
	ADD("cpl-at-mmio-halts", test_cpl_mmio, NULL, NULL);
	ADD("cpl-unassigned-halts", test_cpl_unassigned, NULL, NULL);
	ADD("cpl-in-rom-halts", test_cpl_rom, NULL, NULL);
	ADD("ring-at-mmio-dma-read", test_ring_mmio, NULL, NULL);
	ADD("cpl-remapped-under-dma", test_cpl_remapped, NULL, NULL);
	ADD("reset-abandons-job", test_reset_aborts, NULL, NULL);
	ADD("msi", test_msi, NULL, NULL);
	ADD("intx", test_intx, NULL, NULL);
	ADD("geometry-property", test_geometry, NULL, NULL);
	ADD("geometry-out-of-range-refused", test_bad_geometry, NULL, NULL);
	ADD("hotplug-reset-unplug", test_hotplug, NULL, NULL);
	ADD("clock-mhz-default", test_clock_default, NULL, NULL);
	ADD("clock-mhz-property", test_clock_property, NULL, NULL);
	ADD("clock-mhz-out-of-range-refused", test_bad_clock, NULL, NULL);
	ADD("threads-property", test_threads_property, NULL, NULL);
	ADD("idle-counter", test_idle_counter, NULL, NULL);
	ADD("fault-registers-absent-by-default", test_fault_absent, NULL, NULL);
	ADD("fault-registers", test_fault_registers, NULL, NULL);
	ADD("fault-hang-reset-recovers", test_fault_hang, NULL, NULL);
	ADD("fault-dma-read", test_fault_dma_read, NULL, NULL);
	ADD("fault-cpl-seq", test_fault_cpl_seq, NULL, NULL);
	ADD("fault-match-k", test_fault_match_k, NULL, NULL);
	ADD("fault-hang-machine-reset-unplug", test_fault_hotplug, NULL, NULL);
	ADD("overlap-c-on-a-refused", test_overlap_c_on_a, NULL, NULL);
	ADD("overlap-c-on-rq-refused", test_overlap_c_on_rq, NULL, NULL);
	ADD("overlap-touching-accepted", test_overlap_touching_accepted, NULL, NULL);
	for (size_t i = 0; i < sizeof(vec_cases) / sizeof(vec_cases[0]); i++) {
		ADD(vec_cases[i].name, test_vec_case, NULL, NULL);
		tests[ntests - 1].vec = &vec_cases[i];
	}
	ADD("vector-off-is-1.2", test_vector_off, NULL, NULL);
	ADD("weights-kept-exact", test_weights_kept_exact, NULL, NULL);
	ADD("list-runs-in-order", test_list_runs, NULL, NULL);
	ADD("list-stops-at-failing-entry", test_list_stops, NULL, NULL);
	ADD("list-fields-refused", test_list_refused, NULL, NULL);
	ADD("list-absent-on-1.2", test_list_vector_off, NULL, NULL);
	ADD("list-trusts-b-until-written", test_list_rewrites_b, NULL, NULL);
	ADD("list-lanes-as-in-order", test_list_lanes, NULL, NULL);
	ADD("list-weights-kept-exact", test_list_weights_kept_exact, NULL, NULL);
	ADD("list-lanes-stop-where-in-order", test_list_lanes_stop, NULL, NULL);
	ADD("list-one-lane-splits-big-jobs", test_list_one_lane, NULL, NULL);
	ADD("list-one-lane-runs-independent-entries-together", test_list_one_lane_group, NULL,
	    NULL);
#undef ADD

	printf("TAP version 13\n1..%d\n", ntests);
	diag("QEMU %s, seed 0x%" PRIx64, qemu_binary, rng.state);
	fflush(stdout);
	if (!dev_open(&dev, "", 16, 16))
		diag("the device under test did not come up");
	if (!dev_open(&fdev, ",x-fault-inject=on", 16, 16))
		diag("the fault-injection device did not come up");
	for (int i = 0; i < ntests; i++) {
		bool ok;

		current_case = tests[i].gemm;
		current_bad = tests[i].bad;
		current_vec = tests[i].vec;
		ok = !dev.q.dead && tests[i].fn() && !dev.q.dead;
		if (dev.q.dead)
			diag("QEMU is not running");
		printf("%s %d - %s\n", ok ? "ok" : "not ok", i + 1, tests[i].name);
		fflush(stdout);
		ok ? passed++ : failed++;
	}
	qemu_stop(&dev.q);
	qemu_stop(&fdev.q);
	printf("qtest: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
