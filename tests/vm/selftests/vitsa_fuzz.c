// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa ioctl fuzzer: a bounded, seeded run of random and mutated calls on /dev/vitsa0 (or
 * $VITSA_DEV), in the test VM.
 *
 *     vitsa_fuzz [SEED [CALLS]]        defaults: SEED_DEFAULT, CALLS_DEFAULT
 *
 * Every call is one of GET_PARAM, BO_CREATE, BO_DESTROY, SUBMIT, WAIT, LIST_CREATE,
 * LIST_DESTROY (fields random, at the edges, or a valid argument with bits flipped; handles of
 * this file, of another open file, destroyed or made up; bad, unreadable, read-only and
 * half-mapped argument pointers), an unknown command or a known number with the wrong size or
 * direction, mmap(2) and munmap(2) of random ranges, a touch of a mapping, a close and reopen,
 * or a valid job whose result is checked against the CPU reference (alone or as a one-job
 * list).  SUBMIT sends struct vitsa_gemm arrays, or with VITSA_SUBMIT_JOBS struct vitsa_job
 * arrays of GEMMs, vector jobs and runs of lists; LIST_CREATE the same without runs.  A
 * periodic SIGALRM (no SA_RESTART) interrupts whatever blocks.
 *
 * Each return is checked twice: it must be 0 or an errno Documentation/uapi.rst lists for
 * that call (table doc_errnos[]), and it must be what a model of the documented checks
 * predicts from the arguments and the state this program tracks (its handles, objects, lists,
 * mmap offsets, fences and reported failures).  A failed call must leave its argument as it
 * was.  A vector job's shape is judged by vitsa_vec_extent() (hw/include/vitsa_hw_vec.h), the
 * one definition uapi.rst points to.
 * The first violation stops the run and is printed with the seed and the call number.
 *
 * Reproducible: call i draws its arguments from a PRNG seeded with (SEED, i), so the same
 * seed gives the same calls; only outcomes that depend on timing (EAGAIN, ETIMEDOUT, EINTR)
 * can differ between runs, and they change no state the next calls depend on except fences.
 * VITSA_FUZZ_TRACE=N prints every call from call N on.
 *
 * Output is KTAP (kselftest.h): the fuzz run, the verified jobs, four results on what failed
 * calls did (argument rewritten; SUBMIT that fails with EFAULT because its argument cannot be
 * written back, yet queued the jobs; the same for BO_CREATE and an object, and for
 * LIST_CREATE and a list), the mappings after every file is closed, and a known GEMM computed
 * correctly at the end.  The counts per call and per return close the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "kselftest.h"
#include "vitsa_util.h"
#include "vitsa_hw.h"
#include "vitsa_hw_vec.h"

#ifndef VITSA_SUBMIT_FLAGS
#define VITSA_SUBMIT_FLAGS	0	/* before uapi 1.2 */
#endif

#define SEED_DEFAULT	0x76697473u	/* "vits" */
#define CALLS_DEFAULT	100000u

#define FUZZ_FILES	2	/* files the fuzzer aims at; files[FUZZ_FILES] only runs valid jobs */
#define MAX_OBJS	24	/* live objects per file the fuzzer keeps track of */
#define MAX_DEAD	8	/* destroyed handles remembered per file */
#define MAX_MAPS	48
#define MAX_LIVE_BYTES	(24u << 20)	/* per file */
#define MAX_JOBS	VITSA_SUBMIT_MAX_JOBS
#define MAX_LISTS	12	/* live lists per file the fuzzer keeps track of */
#define LIST_MAX	VITSA_LIST_MAX_ENTRIES	/* the job area holds this many and more */
#define SUBMIT_LIST_MACS	(4 * FUZZ_MAX_MACS)	/* list runs of one SUBMIT, at most */
#define ENTRY_MACS	256	/* what running one job of a list costs beyond its own MACs */
#define FUZZ_MAX_MACS	(1u << 20)	/* larger valid fuzz jobs are shrunk: bounded VM time */
#define ALARM_US	10000
#define VERIFY_TIMEOUT	WAIT_LONG_NS

/* ---- PRNG: the shared one (tests/lib/vtest.h), reseeded for every call from (seed, call) ---- */

static struct vtest_rng prng;

static uint64_t r64(void)
{
	return vtest_rng_u64(&prng);
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(r64() % n) : 0;
}

/* True with probability @n / 1000. */
static bool permille(uint32_t n)
{
	return below(1000) < n;
}

/* A value at an edge (0, 1, powers of two and their neighbours, all ones) or random. */
static uint64_t edge64(void)
{
	uint64_t p = 1ull << below(64);

	switch (below(8)) {
	case 0:
		return below(3);
	case 1:
		return p;
	case 2:
		return p - 1;
	case 3:
		return p + 1;
	case 4:
		return UINT64_MAX - below(3);
	case 5:
		return r64() >> below(64);
	default:
		return r64();
	}
}

static uint32_t edge32(void)
{
	return below(4) ? (uint32_t)edge64() : (uint32_t)(edge64() >> 32);
}

/* ---- state ---- */

struct obj {
	uint32_t handle;
	uint64_t size;		/* rounded to pages, as BO_CREATE returned it */
	uint64_t mmap_offset;
};

struct list {
	uint32_t handle;
	uint64_t macs;		/* of one run, about (entry_macs()) */
};

struct file {
	int fd;
	bool rdonly;
	struct obj objs[MAX_OBJS];
	unsigned int nobjs;
	uint64_t live_bytes;
	uint32_t dead[MAX_DEAD];
	unsigned int ndead;
	struct list lists[MAX_LISTS];
	unsigned int nlists;
	uint32_t dead_lists[MAX_DEAD];
	unsigned int ndead_lists;
	uint64_t last_fence;		/* the last fence SUBMIT handed out */
	uint64_t last_error_fence;	/* the last failure WAIT reported */
	/*
	 * A failed call may have had an effect this program cannot see (an object or list
	 * created, jobs queued before the argument could not be written back): predict handles
	 * loosely.
	 */
	bool uncertain;
};

struct mapping {
	uint8_t *addr;
	uint64_t len;
	int prot;
};

/* Argument memory: [RW][guard][RW][read-only][guard], so a struct can end in any of them. */
enum { ARENA_RW0, ARENA_GUARD0, ARENA_RW1, ARENA_RO, ARENA_GUARD1, ARENA_PAGES };

enum kind {
	K_GET_PARAM, K_BO_CREATE, K_BO_DESTROY, K_SUBMIT, K_WAIT, K_LIST_CREATE, K_LIST_DESTROY,
	K_JOB_TIMES, K_BAD_CMD, K_MMAP, K_MUNMAP, K_TOUCH, K_REOPEN, K_VERIFY, K_COUNT
};

static const char *const kind_name[K_COUNT] = {
	"GET_PARAM", "BO_CREATE", "BO_DESTROY", "SUBMIT", "WAIT", "LIST_CREATE", "LIST_DESTROY",
	"JOB_TIMES", "bad command", "mmap", "munmap", "touch", "reopen", "verified job",
};

/* Chance of each kind, per 1000 calls. */
static const unsigned int kind_permille[K_COUNT] = {
	[K_GET_PARAM] = 80, [K_BO_CREATE] = 110, [K_BO_DESTROY] = 90, [K_SUBMIT] = 260,
	[K_WAIT] = 115, [K_LIST_CREATE] = 45, [K_LIST_DESTROY] = 25, [K_JOB_TIMES] = 25,
	[K_BAD_CMD] = 104,
	[K_MMAP] = 80, [K_MUNMAP] = 45, [K_TOUCH] = 15, [K_REOPEN] = 2, [K_VERIFY] = 4,
};

/*
 * The returns Documentation/uapi.rst allows per call ("Errors common to every ioctl" and each
 * ioctl's table; ENODEV and EIO are left out: the device is neither removed nor failing), and
 * for mmap/munmap the documented EINVAL plus the errnos of the kernel's own checks.
 */
static const int doc_errnos[K_COUNT][9] = {
	[K_GET_PARAM]	= { 0, -EINVAL, -EFAULT, -ENOMEM, 1 },
	[K_BO_CREATE]	= { 0, -EINVAL, -EFAULT, -ENOMEM, -ENOSPC, 1 },
	[K_BO_DESTROY]	= { 0, -EINVAL, -EFAULT, -ENOENT, -ENOMEM, 1 },
	[K_SUBMIT]	= { 0, -EINVAL, -EFAULT, -ENOENT, -ENOMEM, -EAGAIN, -EINTR, 1 },
	[K_WAIT]	= { 0, -EINVAL, -EFAULT, -ETIMEDOUT, -EINTR, 1 },
	[K_LIST_CREATE]	= { 0, -EINVAL, -EFAULT, -ENOENT, -ENOMEM, -EDQUOT, -ENOSPC, 1 },
	[K_LIST_DESTROY] = { 0, -EINVAL, -EFAULT, -ENOENT, -ENOMEM, 1 },
	[K_JOB_TIMES]	= { 0, -EINVAL, -EFAULT, -EAGAIN, -ENOENT, 1 },
	[K_BAD_CMD]	= { -ENOTTY, 1 },
	[K_MMAP]	= { 0, -EINVAL, -ENOMEM, -EOVERFLOW, -EACCES, 1 },
	[K_MUNMAP]	= { 0, -EINVAL, 1 },
};

/*
 * Job statuses a fuzz job may end with: VITSA_JOB_RQ, a GEMM's requant shift above 62 in random
 * data; VITSA_JOB_PARAM, a vector job's parameter out of range (a list's run ends with its
 * failing job's status).
 */

/* What a failed call may have done anyway: each class counted, its first case logged. */
enum side_effect_class { SE_OBJECT_CREATED, SE_FENCES_USED, SE_LIST_CREATED, SE_COUNT };

/* What the model accepts for one call: a few returns, 0 or -errno. */
struct expect {
	int n;
	int ret[8];
};

static struct {
	uint64_t seed, calls, call, trace_from;
	long page;
	uint64_t params[VITSA_PARAM_COUNT];
	struct file files[FUZZ_FILES + 1];
	struct mapping maps[MAX_MAPS];
	unsigned int nmaps;
	uint8_t *arena;
	uint8_t *jobs_end;		/* LIST_MAX + 64 struct vitsa_job fit below; a guard page
					 * follows */
	char desc[512];			/* the current call, for the trace and for failures */
	struct vitsa_job desc_job;	/* and its first job, for a SUBMIT or LIST_CREATE */
	bool desc_has_job;
	bool failed;
	uint64_t kind_calls[K_COUNT], kind_ns[K_COUNT];
	uint64_t errno_calls[K_COUNT][160];	/* [kind][-ret] */
	uint64_t syscalls, jobs_queued, jobs_verified, job_failures, predicted;
	uint64_t lists_created, list_runs;	/* by the fuzzer, not counting verified jobs */
	uint64_t side_effects[SE_COUNT];	/* failed calls that changed state anyway */
	char side_effect_first[SE_COUNT][512];
	uint64_t args_rewritten;	/* failed calls that wrote their argument */
} F;

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed;

static void on_fault(int sig)
{
	if (fault_armed)
		siglongjmp(fault_jmp, sig);
	/* Not async-signal-safe, but the run is over: say where it died. */
	ksft_print_msg("FAIL: signal %d at call %llu of seed %#llx: %s\n", sig,
		       (unsigned long long)F.call, (unsigned long long)F.seed, F.desc);
	ksft_exit_fail();
}

static void on_alarm(int sig)
{
}

static void print_job(void);

static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (F.failed)
		return;
	F.failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_print_msg("FAIL at call %llu of seed %#llx: %s\n", (unsigned long long)F.call,
		       (unsigned long long)F.seed, msg);
	ksft_print_msg("  call: %s\n", F.desc);
	print_job();
	ksft_print_msg("  reproduce: vitsa_fuzz %#llx %llu (VITSA_FUZZ_TRACE=%llu prints the calls)\n",
		       (unsigned long long)F.seed, (unsigned long long)F.calls,
		       (unsigned long long)(F.call > 20 ? F.call - 20 : 0));
}

static bool tracing(void)
{
	return F.trace_from && F.call >= F.trace_from;
}

static void describe(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(F.desc, sizeof(F.desc), fmt, ap);
	va_end(ap);
	F.desc_has_job = false;
	if (tracing())
		ksft_print_msg("call %llu: %s\n", (unsigned long long)F.call, F.desc);
}

static void print_mem(const char *name, const struct vitsa_mem *m)
{
	ksft_print_msg("    %s: handle %u pad %#x offset %#llx stride %#llx\n", name, m->handle,
		       m->pad, (unsigned long long)m->offset, (unsigned long long)m->stride);
}

/* A job of kind VEC or LIST, or of an unknown kind, as the driver reads it. */
static void print_job_kind(const struct vitsa_job *j)
{
	const struct vitsa_vec *v = &j->vec;

	ksft_print_msg("  job 0: kind %u pad %#x\n", j->kind, j->pad);
	if (j->kind == VITSA_JOB_KIND_LIST) {
		ksft_print_msg("    list handle %u pad %#x\n", j->list.handle, j->list.pad);
		return;
	}
	ksft_print_msg("    op %#x %ux%u pad %#x pad2 %#x param %#x %#x %#x %#x %#x %#x %#x\n",
		       v->op, v->rows, v->cols, v->pad, v->pad2, v->param[0], v->param[1],
		       v->param[2], v->param[3], v->param[4], v->param[5], v->param[6]);
	print_mem("in0", &v->in0);
	print_mem("in1", &v->in1);
	print_mem("out", &v->out);
}

/* The first job of a SUBMIT, printed only when needed (formatting every one costs time). */
static void print_job(void)
{
	const struct vitsa_gemm *g = &F.desc_job.gemm;

	if (!F.desc_has_job)
		return;
	if (F.desc_job.kind != VITSA_JOB_KIND_GEMM || F.desc_job.pad) {
		print_job_kind(&F.desc_job);
		return;
	}
	ksft_print_msg("  job 0: %ux%ux%u flags %#x types %u %u %u c_zero %d a %u+%#llx/%#llx b %u+%#llx/%#llx c %u+%#llx/%#llx bias %u+%#llx/%#llx rq %u+%#llx/%#llx\n",
		       g->m, g->n, g->k, g->flags, g->a_type, g->b_type, g->c_type, g->c_zero,
		       g->a.handle, (unsigned long long)g->a.offset,
		       (unsigned long long)g->a.stride, g->b.handle,
		       (unsigned long long)g->b.offset, (unsigned long long)g->b.stride,
		       g->c.handle, (unsigned long long)g->c.offset,
		       (unsigned long long)g->c.stride, g->bias.handle,
		       (unsigned long long)g->bias.offset, (unsigned long long)g->bias.stride,
		       g->rq.handle, (unsigned long long)g->rq.offset,
		       (unsigned long long)g->rq.stride);
}

static void describe_job(const struct vitsa_job *j)
{
	F.desc_job = *j;
	F.desc_has_job = true;
	if (tracing())
		print_job();
}


static const char *const side_effect_name[SE_COUNT] = {
	"BO_CREATE failed with EFAULT but created an object",
	"SUBMIT failed with EFAULT but queued its jobs",
	"LIST_CREATE failed with EFAULT but created a list",
};

/* A failed call changed state: counted, the first of its class logged; @f is uncertain now. */
static void side_effect(struct file *f, enum side_effect_class c, const char *fmt, ...)
{
	va_list ap;

	f->uncertain = true;
	if (F.side_effects[c]++)
		return;
	va_start(ap, fmt);
	vsnprintf(F.side_effect_first[c], sizeof(F.side_effect_first[c]), fmt, ap);
	va_end(ap);
	ksft_print_msg("%s (call %llu: %s): %s\n", side_effect_name[c],
		       (unsigned long long)F.call, F.desc, F.side_effect_first[c]);
	print_job();
}

static void expect_add(struct expect *e, int ret)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (e->ret[i] == ret)
			return;
	if (e->n < (int)ARRAY_SIZE(e->ret))
		e->ret[e->n++] = ret;
}

static bool expect_has(const struct expect *e, int ret)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (e->ret[i] == ret)
			return true;
	return false;
}

static const char *ret_name(int ret)
{
	static char buf[8][48];
	static int slot;
	char *s = buf[slot++ % 8];

	if (!ret)
		return "0";
	snprintf(s, 48, "-%s", strerrorname_np(-ret) ? strerrorname_np(-ret) : "?");
	return s;
}

/* Check one return against the documented table of @kind and against the model. */
static bool check_ret(enum kind kind, int ret, const struct expect *e)
{
	const int *doc = doc_errnos[kind];
	char want[128] = "";
	bool documented = false;
	int i;

	F.syscalls++;
	if (ret <= 0 && -ret < (int)ARRAY_SIZE(F.errno_calls[0]))
		F.errno_calls[kind][-ret]++;
	for (i = 0; doc[i] != 1; i++)
		documented |= doc[i] == ret;
	if (!documented) {
		fail("%s returned %s, which Documentation/uapi.rst does not list for it",
		     kind_name[kind], ret_name(ret));
		return false;
	}
	if (!e)
		return true;
	F.predicted++;
	if (expect_has(e, ret))
		return true;
	for (i = 0; i < e->n; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i ? " or " : "",
			 ret_name(e->ret[i]));
	fail("%s returned %s, the documented checks give %s", kind_name[kind], ret_name(ret),
	     want);
	return false;
}

/* ---- files and objects ---- */

static struct obj *obj_find(struct file *f, uint32_t handle)
{
	unsigned int i;

	for (i = 0; i < f->nobjs; i++)
		if (f->objs[i].handle == handle)
			return &f->objs[i];
	return NULL;
}

static struct obj *obj_by_offset(struct file *f, uint64_t offset)
{
	unsigned int i;

	for (i = 0; i < f->nobjs; i++)
		if (f->objs[i].mmap_offset == offset)
			return &f->objs[i];
	return NULL;
}

static void obj_add(struct file *f, const struct obj *o)
{
	f->objs[f->nobjs++] = *o;
	f->live_bytes += o->size;
}

static void obj_remove(struct file *f, uint32_t handle)
{
	struct obj *o = obj_find(f, handle);

	if (!o)
		return;
	f->live_bytes -= o->size;
	f->dead[f->ndead++ % MAX_DEAD] = handle;
	*o = f->objs[--f->nobjs];
}

static struct list *list_find(struct file *f, uint32_t handle)
{
	unsigned int i;

	for (i = 0; i < f->nlists; i++)
		if (f->lists[i].handle == handle)
			return &f->lists[i];
	return NULL;
}

static void list_remove(struct file *f, uint32_t handle)
{
	struct list *l = list_find(f, handle);

	if (!l)
		return;
	f->dead_lists[f->ndead_lists++ % MAX_DEAD] = handle;
	*l = f->lists[--f->nlists];
}

static bool file_open(struct file *f, bool rdonly)
{
	memset(f, 0, sizeof(*f));
	f->rdonly = rdonly;
	f->fd = open(vitsa_path(), (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (f->fd < 0) {
		fail("open %s: %s", vitsa_path(), strerror(errno));
		return false;
	}
	return true;
}

/* A handle to aim at @f: mostly its own, else another file's, a destroyed one, or made up. */
static uint32_t pick_handle(struct file *f)
{
	struct file *other = &F.files[below(FUZZ_FILES + 1)];

	switch (below(10)) {
	case 0:
		return other->nobjs ? other->objs[below(other->nobjs)].handle : 1;
	case 1:
		return f->ndead ? f->dead[below(f->ndead < MAX_DEAD ? f->ndead : MAX_DEAD)] : 2;
	case 2:
		return below(4) ? below(64) : edge32();
	default:
		return f->nobjs ? f->objs[below(f->nobjs)].handle : below(8);
	}
}

/* A list handle to aim at @f, as pick_handle() picks object handles. */
static uint32_t pick_list_handle(struct file *f)
{
	struct file *other = &F.files[below(FUZZ_FILES + 1)];
	unsigned int ndead = f->ndead_lists < MAX_DEAD ? f->ndead_lists : MAX_DEAD;

	switch (below(10)) {
	case 0:
		return other->nlists ? other->lists[below(other->nlists)].handle : 1;
	case 1:
		return ndead ? f->dead_lists[below(ndead)] : 2;
	case 2:
		return below(4) ? below(64) : edge32();
	default:
		return f->nlists ? f->lists[below(f->nlists)].handle : below(4);
	}
}

static struct file *pick_file(void)
{
	return &F.files[below(FUZZ_FILES)];
}

/* ---- argument placement ---- */

enum where { W_RW, W_RO, W_TAIL_GUARD, W_TAIL_RO, W_RO_GUARD, W_NULL, W_LOW, W_KERNEL,
	     W_NONCANON, W_COUNT };

static const char *const where_name[W_COUNT] = {
	"rw", "read-only", "into a guard page", "into read-only", "read-only into a guard page",
	"NULL", "low address", "kernel address", "non-canonical",
};

static enum where pick_where(void)
{
	return permille(900) ? W_RW : (enum where)(1 + below(W_COUNT - 1));
}

/* Where an argument of @size bytes goes; its readable and writable bytes tell the model. */
static void *arg_place(enum where w, size_t size, size_t *readable, size_t *writable)
{
	uint8_t *p = F.arena;
	size_t cut = size > 1 ? 1 + below(size - 1) : 0;	/* bytes before the boundary */

	*readable = *writable = 0;
	switch (w) {
	case W_RW:
		*readable = *writable = size;
		return p + ARENA_RW0 * F.page + below(F.page - size + 1);
	case W_RO:
		*readable = size;
		return p + ARENA_RO * F.page + below(F.page - size + 1);
	case W_TAIL_GUARD:
		*readable = *writable = cut;
		return p + ARENA_GUARD0 * F.page - cut;
	case W_TAIL_RO:
		*readable = size;
		*writable = cut;
		return p + ARENA_RO * F.page - cut;
	case W_RO_GUARD:
		*readable = cut;
		return p + ARENA_GUARD1 * F.page - cut;
	case W_NULL:
		return NULL;
	case W_LOW:
		return (void *)(uintptr_t)(8 + below(65536));
	case W_KERNEL:
		return (void *)(uintptr_t)(0xffff888000000000ull + (r64() & 0xfffffff8ull));
	default:
		return (void *)(uintptr_t)(0x8000000000000000ull | (r64() >> 4));
	}
}


/*
 * Issue an ioctl on @fd with the argument @src (@size bytes) placed at @w; @out gets the
 * argument as the call left it.  The model's @e is adjusted for the pointer first: an
 * argument that cannot be read, or (*@unwritable) read but not written back, fails with
 * -EFAULT before anything else (uapi.rst, "Errors common to every ioctl"): no work done.  A
 * failed call must not have written an argument it could write.
 */
static int ioctl_at(int fd, unsigned long cmd, enum where w, const void *src, size_t size,
		    void *out, struct expect *e, bool *unwritable)
{
	size_t readable, writable;
	uint8_t *arg = arg_place(w, size, &readable, &writable);
	int ret;

	*unwritable = writable < size && (_IOC_DIR(cmd) & _IOC_READ);
	if (w == W_RW) {
		memcpy(arg, src, readable);
	} else {
		mprotect(F.arena + ARENA_RO * F.page, F.page, PROT_READ | PROT_WRITE);
		memcpy(arg, src, readable);
		mprotect(F.arena + ARENA_RO * F.page, F.page, PROT_READ);
	}
	if (e && (readable < size || *unwritable)) {
		e->n = 0;
		expect_add(e, -EFAULT);
	}
	ret = vitsa_ioctl(fd, cmd, arg);
	memcpy(out, src, size);
	memcpy(out, arg, readable);
	if (ret && writable == size && memcmp(arg, src, size)) {
		F.args_rewritten++;
		fail("the failed call (%s) changed its argument", ret_name(ret));
	}
	return ret;
}

static void flip_bits(void *p, size_t size)
{
	unsigned int i, n = 1 + below(3);

	for (i = 0; i < n; i++)
		((uint8_t *)p)[below(size)] ^= 1u << below(8);
}

/* A counter of /proc/self/fdinfo/<fd>, or -1. */
static int64_t fdinfo_value(int fd, const char *key)
{
	char path[64], line[128];
	int64_t v = -1;
	size_t len = strlen(key);
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	fp = fopen(path, "re");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtoll(line + len + 1, NULL, 10);
	fclose(fp);
	return v;
}

/* ---- GET_PARAM, BO_CREATE, BO_DESTROY ---- */

static void fuzz_get_param(void)
{
	struct file *f = pick_file();
	struct vitsa_get_param a = {
		.param = below(4) ? below(VITSA_PARAM_COUNT) : edge32(),
		.pad = permille(950) ? 0 : edge32(),
		.value = r64(),
	}, out;
	enum where w = pick_where();
	struct expect e = { 0 };
	bool unwritable;
	int ret;

	if (permille(100))
		flip_bits(&a, sizeof(a));
	expect_add(&e, a.pad || a.param >= VITSA_PARAM_COUNT ? -EINVAL : 0);
	describe("GET_PARAM fd %d param %u pad %#x arg %s", f->fd, a.param, a.pad,
		 where_name[w]);
	ret = ioctl_at(f->fd, VITSA_IOCTL_GET_PARAM, w, &a, sizeof(a), &out, &e, &unwritable);
	if (!check_ret(K_GET_PARAM, ret, &e) || ret)
		return;
	if (out.value != F.params[a.param])
		fail("parameter %u is %llu, it was %llu at the start", a.param,
		     (unsigned long long)out.value, (unsigned long long)F.params[a.param]);
}

static uint64_t pick_bo_size(void)
{
	uint64_t max = F.params[VITSA_PARAM_MAX_BO_SIZE];

	switch (below(10)) {
	case 0 ... 5:
		return 1 + below(16 * F.page);
	case 6:
		return F.page * (1 + below(32));
	case 7:
		return permille(50) ? max - below(F.page) : max + 1 + below(F.page);
	case 8:
		return edge64();
	default:
		return below(2) ? 0 : max + F.page;
	}
}

static void fuzz_bo_destroy_in(struct file *f, bool own);

static void fuzz_bo_create(void)
{
	struct file *f = pick_file();
	struct vitsa_bo_create a = {
		.size = pick_bo_size(),
		.flags = permille(950) ? 0 : edge32(),
		.handle = (uint32_t)r64(),
		.mmap_offset = r64(),
	}, out;
	uint64_t max = F.params[VITSA_PARAM_MAX_BO_SIZE];
	enum where w = pick_where();
	struct expect e = { 0 };
	struct obj o;
	bool unwritable;
	int64_t bos;
	int ret;

	if (f->nobjs >= MAX_OBJS || f->live_bytes > MAX_LIVE_BYTES) {
		fuzz_bo_destroy_in(f, true);
		return;
	}
	if (permille(80))
		flip_bits(&a, sizeof(a));
	if (a.flags || !a.size || a.size > max) {
		expect_add(&e, -EINVAL);
	} else {
		expect_add(&e, 0);
		expect_add(&e, -ENOMEM);
		expect_add(&e, -ENOSPC);
	}
	describe("BO_CREATE fd %d size %#llx flags %#x arg %s", f->fd,
		 (unsigned long long)a.size, a.flags, where_name[w]);
	ret = ioctl_at(f->fd, VITSA_IOCTL_BO_CREATE, w, &a, sizeof(a), &out, &e, &unwritable);
	if (!check_ret(K_BO_CREATE, ret, &e))
		return;
	if (ret == -EFAULT && unwritable) {
		bos = fdinfo_value(f->fd, "vitsa-bos");
		if (bos > (int64_t)f->nobjs)
			side_effect(f, SE_OBJECT_CREATED, "fdinfo vitsa-bos %lld, %u known",
				    (long long)bos, f->nobjs);
		else if (bos < 0)
			f->uncertain = true;
	}
	if (ret)
		return;
	o = (struct obj){ out.handle, out.size, out.mmap_offset };
	if (o.size != (a.size + F.page - 1) / F.page * F.page || !o.handle ||
	    (obj_find(f, o.handle) && !f->uncertain) || o.mmap_offset % F.page ||
	    obj_by_offset(f, o.mmap_offset)) {
		fail("BO_CREATE of %#llx bytes gave size %#llx handle %u mmap_offset %#llx (%u objects live)",
		     (unsigned long long)a.size, (unsigned long long)o.size, o.handle,
		     (unsigned long long)o.mmap_offset, f->nobjs);
		return;
	}
	if (obj_find(f, o.handle))
		obj_remove(f, o.handle);	/* an object this program never saw, gone */
	obj_add(f, &o);
}

/* BO_DESTROY on @f: of one of its own live objects when @own, else of any handle. */
static void fuzz_bo_destroy_in(struct file *f, bool own)
{
	struct vitsa_bo_destroy a = {
		.handle = own && f->nobjs ? f->objs[below(f->nobjs)].handle : pick_handle(f),
		.pad = own || permille(950) ? 0 : edge32(),
	}, out;
	enum where w = own ? W_RW : pick_where();
	struct expect e = { 0 };
	bool unwritable;
	int ret;

	if (!own && permille(50))
		flip_bits(&a, sizeof(a));
	if (a.pad) {
		expect_add(&e, -EINVAL);
	} else if (obj_find(f, a.handle)) {
		expect_add(&e, 0);
	} else {
		expect_add(&e, -ENOENT);
		if (f->uncertain)
			expect_add(&e, 0);
	}
	describe("BO_DESTROY fd %d handle %u pad %#x arg %s", f->fd, a.handle, a.pad,
		 where_name[w]);
	ret = ioctl_at(f->fd, VITSA_IOCTL_BO_DESTROY, w, &a, sizeof(a), &out, &e, &unwritable);
	if (check_ret(K_BO_DESTROY, ret, &e) && !ret)
		obj_remove(f, a.handle);
}

static void fuzz_bo_destroy(void)
{
	fuzz_bo_destroy_in(pick_file(), false);
}

/* ---- the job model: Documentation/uapi.rst "struct vitsa_gemm" and "struct vitsa_mem" ---- */

#define VERDICT_UNKNOWN	1	/* a handle this program cannot vouch for: any verdict */

static bool operand_type_ok(uint32_t t)
{
	return t <= VITSA_TYPE_U4 && (F.params[VITSA_PARAM_DTYPES] & (1ull << t));
}

static bool result_type_ok(const struct vitsa_gemm *g)
{
	if (g->flags & VITSA_GEMM_REQUANT)
		return g->c_type <= VITSA_TYPE_S16;
	return g->c_type == VITSA_TYPE_S32;
}

static bool mem_unused(const struct vitsa_mem *m)
{
	return !m->handle && !m->pad && !m->offset && !m->stride;
}

/* A used matrix: pad 0, a handle, a stride of at least one row (0 for bias and rq). */
static bool mem_fields_ok(const struct vitsa_mem *m, uint64_t rb, bool one_row)
{
	if (m->pad || !m->handle)
		return false;
	return one_row ? !m->stride : m->stride >= rb;
}

/* offset + (rows - 1) * stride + rb in u64, false when that overflows. */
static bool mem_end(const struct vitsa_mem *m, uint64_t rows, uint64_t rb, uint64_t *end)
{
	uint64_t extent = 0;

	if (rows > 1 && __builtin_mul_overflow(rows - 1, m->stride, &extent))
		return false;
	return !__builtin_add_overflow(extent, rb, &extent) &&
	       !__builtin_add_overflow(m->offset, extent, end);
}

/* The used matrices of a job with their rows and row bytes; types must be valid. */
struct job_mems {
	const struct vitsa_mem *mem[5];
	uint64_t rows[5], rb[5];
	bool one_row[5];
	int n;
};

static void job_mems(const struct vitsa_gemm *g, struct job_mems *jm)
{
	bool trans = g->flags & VITSA_GEMM_B_TRANS;

	jm->n = 0;
#define JM(m_, rows_, rb_, one_)						\
	do {									\
		jm->mem[jm->n] = (m_);						\
		jm->rows[jm->n] = (rows_);					\
		jm->rb[jm->n] = (rb_);						\
		jm->one_row[jm->n++] = (one_);					\
	} while (0)
	JM(&g->a, g->m, row_bytes(g->a_type, g->k), false);
	JM(&g->b, trans ? g->n : g->k, row_bytes(g->b_type, trans ? g->k : g->n), false);
	JM(&g->c, g->m, row_bytes(g->c_type, g->n), false);
	if (g->flags & VITSA_GEMM_BIAS)
		JM(&g->bias, 1, 4ull * g->n, true);
	if (g->flags & VITSA_GEMM_REQUANT)
		JM(&g->rq, 1, 8ull * g->n, true);
#undef JM
}

/* 0, -EINVAL, -ENOENT or VERDICT_UNKNOWN for one job on the objects of @f. */
static int job_verdict(struct file *f, const struct vitsa_gemm *g)
{
	uint64_t max_dim = F.params[VITSA_PARAM_MAX_DIM], end[5];
	struct job_mems jm;
	struct obj *o;
	int i;

	if (g->flags & ~F.params[VITSA_PARAM_GEMM_FLAGS])
		return -EINVAL;
	if (!g->m || !g->n || !g->k || g->m > max_dim || g->n > max_dim || g->k > max_dim)
		return -EINVAL;
	if (!operand_type_ok(g->a_type) || !operand_type_ok(g->b_type) || !result_type_ok(g))
		return -EINVAL;
	if (!(g->flags & VITSA_GEMM_REQUANT) && g->c_zero)
		return -EINVAL;
	if ((!(g->flags & VITSA_GEMM_BIAS) && !mem_unused(&g->bias)) ||
	    (!(g->flags & VITSA_GEMM_REQUANT) && !mem_unused(&g->rq)))
		return -EINVAL;
	job_mems(g, &jm);
	for (i = 0; i < jm.n; i++)
		if (!mem_fields_ok(jm.mem[i], jm.rb[i], jm.one_row[i]) ||
		    !mem_end(jm.mem[i], jm.rows[i], jm.rb[i], &end[i]))
			return -EINVAL;		/* a range that overflows u64 is a bad field */
	for (i = 0; i < jm.n; i++)
		if (!obj_find(f, jm.mem[i]->handle))
			return f->uncertain ? VERDICT_UNKNOWN : -ENOENT;
	for (i = 0; i < jm.n; i++) {
		o = obj_find(f, jm.mem[i]->handle);
		if (end[i] > o->size)
			return -EINVAL;
	}
	/* then C (jm.mem[2]) sharing a byte of its object with an input */
	for (i = 0; i < jm.n; i++)
		if (i != 2 && jm.mem[i]->handle == g->c.handle && jm.mem[i]->offset < end[2] &&
		    g->c.offset < end[i])
			return -EINVAL;
	return 0;
}

/* ---- the model of struct vitsa_job, struct vitsa_vec and runs of lists (uapi.rst) ---- */

/* The bytes of @j's union past its first @used bytes are all 0. */
static bool union_tail_zero(const struct vitsa_job *j, size_t used)
{
	const uint8_t *p = (const uint8_t *)j + offsetof(struct vitsa_job, vec) + used;

	for (; p < (const uint8_t *)(j + 1); p++)
		if (*p)
			return false;
	return true;
}

/* The operands' extents of a vector job, from its op, rows, cols and parameters. */
static uint32_t vec_extent(const struct vitsa_vec *v, struct vitsa_vec_extent *e)
{
	struct vitsa_hw_desc d = { .opcode = v->op, .m = v->rows, .n = v->cols };

	memcpy(d.param, v->param, sizeof(d.param));
	return vitsa_vec_extent(&d, e);
}

/* A vector job's fields, before any handle is looked up: 0 (with each extent) or -EINVAL. */
static int vec_fields_verdict(const struct vitsa_job *j, struct vitsa_vec_extent *e,
			      uint64_t *end)
{
	const struct vitsa_vec *v = &j->vec;
	const struct vitsa_mem *m[VITSA_VEC_OPNDS] = { &v->in0, &v->in1, &v->out };
	uint64_t max_dim = F.params[VITSA_PARAM_MAX_DIM];
	uint32_t bit = v->op - VITSA_VEC_FIRST, i;
	int o;

	if (v->op < VITSA_VEC_FIRST || bit >= 32 || !(F.params[VITSA_PARAM_VEC_OPS] >> bit & 1))
		return -EINVAL;
	if (v->pad || v->pad2 || !union_tail_zero(j, sizeof(j->vec)))
		return -EINVAL;
	for (i = vitsa_vec_traits(v->op).nparams; i < VITSA_VEC_PARAMS; i++)
		if (v->param[i])
			return -EINVAL;
	if (!v->rows || !v->cols || v->rows > max_dim || v->cols > max_dim ||
	    vec_extent(v, e) != VITSA_ERR_OK)
		return -EINVAL;
	for (o = 0; o < VITSA_VEC_OPNDS; o++) {
		if (!e->rows[o]) {
			if (!mem_unused(m[o]))
				return -EINVAL;
			continue;
		}
		if (!mem_fields_ok(m[o], e->row_bytes[o], false) || m[o]->offset % e->align[o] ||
		    m[o]->stride % e->align[o] ||
		    !mem_end(m[o], e->rows[o], e->row_bytes[o], &end[o]))
			return -EINVAL;
	}
	return 0;
}

/* 0, -EINVAL, -ENOENT or VERDICT_UNKNOWN for one vector job on the objects of @f. */
static int vec_verdict(struct file *f, const struct vitsa_job *j)
{
	const struct vitsa_vec *v = &j->vec;
	const struct vitsa_mem *m[VITSA_VEC_OPNDS] = { &v->in0, &v->in1, &v->out };
	uint64_t end[VITSA_VEC_OPNDS], out_end;
	struct vitsa_vec_extent e;
	int o, ret;

	ret = vec_fields_verdict(j, &e, end);
	if (ret)
		return ret;
	for (o = 0; o < VITSA_VEC_OPNDS; o++)
		if (e.rows[o] && !obj_find(f, m[o]->handle))
			return f->uncertain ? VERDICT_UNKNOWN : -ENOENT;
	for (o = 0; o < VITSA_VEC_OPNDS; o++)
		if (e.rows[o] && end[o] > obj_find(f, m[o]->handle)->size)
			return -EINVAL;
	/* out sharing a byte of its object with an input, unless exactly in place (ADD) */
	out_end = end[VITSA_VEC_OUT];
	for (o = 0; o < VITSA_VEC_OUT; o++) {
		if (!e.rows[o] || m[o]->handle != v->out.handle || m[o]->offset >= out_end ||
		    v->out.offset >= end[o])
			continue;
		if (!vitsa_vec_traits(v->op).in_place || m[o]->offset != v->out.offset ||
		    m[o]->stride != v->out.stride)
			return -EINVAL;
	}
	return 0;
}

/* One struct vitsa_job of a SUBMIT or, with @in_list, of a LIST_CREATE. */
static int entry_verdict(struct file *f, const struct vitsa_job *j, bool in_list)
{
	if (j->kind == VITSA_JOB_KIND_LIST && !in_list) {
		if (!F.params[VITSA_PARAM_LIST_MAX] || j->pad || j->list.pad ||
		    !union_tail_zero(j, sizeof(j->list)))
			return -EINVAL;
		if (!list_find(f, j->list.handle))
			return f->uncertain ? VERDICT_UNKNOWN : -ENOENT;
		return 0;
	}
	if (j->pad)
		return -EINVAL;
	switch (j->kind) {
	case VITSA_JOB_KIND_GEMM:
		return job_verdict(f, &j->gemm);
	case VITSA_JOB_KIND_VEC:
		return vec_verdict(f, j);
	default:
		return -EINVAL;	/* a list inside a list, too */
	}
}

/* ---- job generation ---- */

static uint32_t pick_dim(void)
{
	switch (below(20)) {
	case 0:
		return 1 + below(512);
	case 1 ... 5:
		return 1 + below(48);
	default:
		return 1 + below(8);
	}
}

/* Place @mem (@rows of @rb bytes) in a random object of @f where it fits. */
static void mem_place(struct file *f, struct vitsa_mem *mem, uint64_t rows, uint64_t rb,
		      bool one_row)
{
	uint64_t stride = one_row ? 0 : rb + (below(3) ? 0 : below(16)), extent;
	struct obj *o;

	if (!one_row && rows == 1 && permille(100))
		stride = edge64() | rb;
	extent = (rows - 1) * stride + rb;
	*mem = (struct vitsa_mem){ .handle = pick_handle(f), .stride = stride };
	if (!f->nobjs)
		return;
	o = &f->objs[below(f->nobjs)];
	mem->handle = o->handle;
	if (rows > 1 && extent / (rows - 1) < stride)
		return;		/* a huge stride: no offset helps */
	if (extent <= o->size)
		mem->offset = below(o->size - extent + 1);
}

/* A job the model accepts if @f has objects big enough, on random objects of @f. */
static void job_valid(struct file *f, struct vitsa_gemm *g)
{
	static const uint32_t results[] = {
		VITSA_TYPE_S8, VITSA_TYPE_U8, VITSA_TYPE_S4, VITSA_TYPE_U4, VITSA_TYPE_S16,
	};
	struct job_mems jm;
	int i;

	*g = (struct vitsa_gemm){
		.m = pick_dim(), .n = pick_dim(), .k = pick_dim(),
		.flags = (uint32_t)r64() & VITSA_GEMM_FLAGS,
		.a_type = below(4), .b_type = below(4), .c_type = VITSA_TYPE_S32,
	};
	if (g->flags & VITSA_GEMM_REQUANT) {
		g->c_type = results[below(ARRAY_SIZE(results))];
		g->c_zero = below(2) ? (int32_t)below(256) - 128 : (int32_t)edge32();
	}
	job_mems(g, &jm);
	for (i = 0; i < jm.n; i++)
		mem_place(f, (struct vitsa_mem *)jm.mem[i], jm.rows[i], jm.rb[i], jm.one_row[i]);
}

static void job_mutate(struct file *f, struct vitsa_gemm *g)
{
	uint32_t *w32 = (uint32_t *)g;
	__u64 *w64;
	struct vitsa_mem *mems[5] = { &g->a, &g->b, &g->c, &g->bias, &g->rq }, *m;
	unsigned int i, n = below(4) ? 1 + below(3) : 0;

	for (i = 0; i < n; i++) {
		m = mems[below(5)];
		switch (below(9)) {
		case 0:
			flip_bits(g, sizeof(*g));
			break;
		case 1:
			w32[below(sizeof(*g) / 4)] = edge32();
			break;
		case 2:
			w64 = below(2) ? &m->offset : &m->stride;
			*w64 = below(2) ? edge64() : *w64 + below(9) - 4;
			break;
		case 3:
			m->handle = pick_handle(f);
			break;
		case 4:
			g->flags = below(2) ? g->flags ^ (1u << below(32)) : edge32();
			break;
		case 5:
			(&g->a_type)[below(3)] = below(2) ? below(8) : edge32();
			break;
		case 6:
			(&g->m)[below(3)] = below(2) ? (uint32_t)F.params[VITSA_PARAM_MAX_DIM] +
						       below(3) - 1 : edge32();
			break;
		case 7:
			m->pad = edge32();
			break;
		default:
			g->c_zero = (int32_t)edge32();
			break;
		}
	}
}

/* Halve a valid job's largest dimension until it takes at most @macs, cheap enough for TCG. */
static void job_cap(struct file *f, struct vitsa_gemm *g, uint64_t macs)
{
	while (!job_verdict(f, g) && (uint64_t)g->m * g->n * g->k > macs) {
		if (g->m >= g->n && g->m >= g->k)
			g->m = (g->m + 1) / 2;
		else if (g->n >= g->k)
			g->n = (g->n + 1) / 2;
		else
			g->k = (g->k + 1) / 2;
	}
}

/* A 1x1x1 job on random objects of @f, valid if they are big enough: for big batches. */
static void job_tiny(struct file *f, struct vitsa_gemm *g)
{
	job_valid(f, g);
	g->m = 1 + below(4);
	g->n = 1 + below(4);
	g->k = 1 + below(4);
	job_valid(f, g);
	g->m = g->n = g->k = 1;
}

/* Place @m (@rows of @rb bytes, offset and stride multiples of @align) in an object of @f. */
static void vec_mem_place(struct file *f, struct vitsa_mem *m, uint64_t rows, uint64_t rb,
			  uint32_t align)
{
	uint64_t stride = (rb + (below(3) ? 0 : below(16)) + align - 1) / align * align, extent;
	struct obj *o;

	*m = (struct vitsa_mem){ .handle = pick_handle(f), .stride = stride };
	if (!f->nobjs)
		return;
	o = &f->objs[below(f->nobjs)];
	m->handle = o->handle;
	extent = (rows - 1) * stride + rb;
	if (extent <= o->size)
		m->offset = below(o->size - extent + 1) / align * align;
}

/*
 * A vector job the model accepts if @f has objects big enough, on random objects of @f; its
 * parameters are mostly small, now and then out of range (the device fails it with PARAM).
 */
static void vec_valid(struct file *f, struct vitsa_job *j)
{
	struct vitsa_vec *v = &j->vec;
	struct vitsa_mem *m[VITSA_VEC_OPNDS] = { &v->in0, &v->in1, &v->out };
	struct vitsa_vec_extent e;
	uint32_t i, patch;
	int o;

	memset(j, 0, sizeof(*j));
	j->kind = VITSA_JOB_KIND_VEC;
	v->op = VITSA_VEC_FIRST + below(VITSA_OP_VEC_END - VITSA_OP_VEC_FIRST);
	v->rows = pick_dim();
	v->cols = pick_dim();
	for (i = 0; i < vitsa_vec_traits(v->op).nparams; i++)
		v->param[i] = below(8) ? below(16) : edge32();
	if (v->op == VITSA_VEC_INPUT) {
		patch = 1 + below(4);
		v->param[0] = 1 + below(4);
		v->param[1] = patch * (1 + below(4));
		v->param[2] = patch;
		v->rows = (v->param[1] / patch) * (v->param[1] / patch);
		v->cols = v->param[0] * patch * patch;
	} else if (v->op == VITSA_VEC_EMBED) {
		v->param[0] = below(v->rows < 2 ? v->rows + 1 : 3);
	} else if (v->op == VITSA_VEC_SHIFTMAX16) {
		v->param[5] = v->cols + below(16);
	}
	if (vec_extent(v, &e) != VITSA_ERR_OK)
		return;
	for (o = 0; o < VITSA_VEC_OPNDS; o++)
		if (e.rows[o])
			vec_mem_place(f, m[o], e.rows[o], e.row_bytes[o], e.align[o]);
	if (v->op == VITSA_VEC_ADD && !below(4))
		v->out = below(2) ? v->in0 : v->in1;
}

static void vec_mutate(struct file *f, struct vitsa_job *j)
{
	struct vitsa_vec *v = &j->vec;
	struct vitsa_mem *mems[VITSA_VEC_OPNDS] = { &v->in0, &v->in1, &v->out }, *m;
	unsigned int i, n = below(2) ? 1 + below(2) : 0;
	__u64 *w64;

	for (i = 0; i < n; i++) {
		m = mems[below(VITSA_VEC_OPNDS)];
		switch (below(9)) {
		case 0:
			flip_bits(v, sizeof(*v));
			break;
		case 1:
			((uint32_t *)v)[below(sizeof(*v) / 4)] = edge32();
			break;
		case 2:
			w64 = below(2) ? &m->offset : &m->stride;
			*w64 = below(2) ? edge64() : *w64 + below(9) - 4;
			break;
		case 3:
			m->handle = pick_handle(f);
			break;
		case 4:
			v->op = below(2) ? VITSA_VEC_FIRST + below(16) - 2 : edge32();
			break;
		case 5:
			(&v->rows)[below(2)] = below(2) ? (uint32_t)F.params[VITSA_PARAM_MAX_DIM] +
						       below(3) - 1 : edge32();
			break;
		case 6:
			v->param[below(VITSA_VEC_PARAMS)] = edge32();
			break;
		case 7:
			*m = (struct vitsa_mem){ 0 };
			break;
		default:	/* the union's bytes past struct vitsa_vec */
			((uint8_t *)(j + 1))[-1 - (int)below(sizeof(*j) - sizeof(*v) - 8)] =
				1u << below(8);
			break;
		}
	}
}

/* What a job of a list costs the device at each run, about, in MACs: its own and the entry's. */
static uint64_t entry_macs(const struct vitsa_job *j)
{
	if (j->kind == VITSA_JOB_KIND_GEMM)
		return ENTRY_MACS + (uint64_t)j->gemm.m * j->gemm.n * j->gemm.k;
	return ENTRY_MACS + (uint64_t)j->vec.rows * j->vec.cols;
}

/* A run of list @handle, as SUBMIT_JOBS takes it; unless @clean, a pad set now and then. */
static void list_run_make(struct vitsa_job *j, uint32_t handle, bool clean)
{
	memset(j, 0, sizeof(*j));
	j->kind = VITSA_JOB_KIND_LIST;
	j->list.handle = handle;
	if (clean)
		return;
	if (permille(30))
		j->list.pad = edge32();
	if (permille(30))
		((uint8_t *)(j + 1))[-1 - (int)below(sizeof(*j) - sizeof(j->list) - 8)] =
			1u << below(8);
}

/*
 * One struct vitsa_job: a GEMM (its MACs capped at @macs), a vector job or, with @run_macs, a
 * run of a list whose MACs still fit *@run_macs; unless @clean, mutated, now and then with a
 * wrong kind or a pad.
 */
static void entry_make(struct file *f, struct vitsa_job *j, uint64_t macs, uint64_t *run_macs,
		       bool clean)
{
	uint32_t r = below(100), handle;
	struct list *l;

	if (run_macs && r < 15) {
		handle = pick_list_handle(f);
		l = list_find(f, handle);
		if (!l || *run_macs + l->macs <= SUBMIT_LIST_MACS) {
			*run_macs += l ? l->macs : 0;
			list_run_make(j, handle, clean);
			if (!clean && permille(20))
				j->pad = edge32();
			return;
		}
	}
	if (r < 40) {
		vec_valid(f, j);
		if (!clean)
			vec_mutate(f, j);
	} else {
		memset(j, 0, sizeof(*j));
		job_valid(f, &j->gemm);
		if (!clean)
			job_mutate(f, &j->gemm);
		job_cap(f, &j->gemm, macs);
	}
	if (clean)
		return;
	if (permille(30))
		j->kind = below(2) ? VITSA_JOB_KIND_LIST : edge32();
	if (permille(20))
		j->pad = edge32();
}

/*
 * struct vitsa_job entries into the job area, ending at its guard page (@big: 1x1x1 GEMMs);
 * runs of lists only with @run_macs (SUBMIT); a third of the time (half for a list) none is
 * mutated.  Returns their address.
 */
static struct vitsa_job *entries_make(struct file *f, uint32_t filled, bool big, uint64_t macs,
				      uint64_t *run_macs)
{
	struct vitsa_job *jobs = (struct vitsa_job *)F.jobs_end - filled;
	bool clean = permille(run_macs ? 333 : 500);
	uint32_t i;

	for (i = 0; i < filled; i++) {
		if (big && i) {
			jobs[i] = jobs[0];
		} else if (big) {
			memset(&jobs[i], 0, sizeof(jobs[i]));
			job_tiny(f, &jobs[i].gemm);
		} else {
			entry_make(f, &jobs[i], macs, run_macs, clean);
		}
	}
	return jobs;
}

/* ---- SUBMIT and WAIT ---- */

/* A WAIT's report: each failure once, oldest first, with a status a fuzz job may have. */
static bool wait_report(struct file *f, uint64_t fence, const struct vitsa_wait *out,
			uint64_t protect_from)
{
	if (!out->error_fence) {
		if (out->error)
			fail("WAIT up to %llu: error %u without error_fence",
			     (unsigned long long)fence, out->error);
		return !out->error;
	}
	if (out->error_fence > fence || out->error_fence <= f->last_error_fence) {
		fail("WAIT up to %llu reported fence %llu failed (status %u); last reported %llu",
		     (unsigned long long)fence, (unsigned long long)out->error_fence, out->error,
		     (unsigned long long)f->last_error_fence);
		return false;
	}
	f->last_error_fence = out->error_fence;
	F.job_failures++;
	if ((out->error != VITSA_JOB_RQ && out->error != VITSA_JOB_PARAM) ||
	    (protect_from && out->error_fence >= protect_from)) {
		fail("job %llu failed with status %u (%s)", (unsigned long long)out->error_fence,
		     out->error, vitsa_job_status_name(out->error));
		return false;
	}
	return true;
}

/* After a SUBMIT of @count jobs that succeeded with @fence: fences are consecutive. */
static void fence_advance(struct file *f, uint64_t fence, uint32_t count)
{
	if (fence != f->last_fence + count) {
		if (!f->uncertain || fence < f->last_fence + count)
			fail("SUBMIT of %u jobs gave fence %llu, the last one was %llu", count,
			     (unsigned long long)fence, (unsigned long long)f->last_fence);
	}
	f->last_fence = fence;
	F.jobs_queued += count;
}

/* SUBMIT of one 1x1x1 job on @f's first object: the next fence shows what happened before. */
static void submit_probe(struct file *f, uint32_t queued_maybe)
{
	struct vitsa_gemm g = {
		.m = 1, .n = 1, .k = 1,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		/* C past A and B (which share byte 0): C may not overlap an input */
		.a = { .stride = 1 }, .b = { .stride = 1 }, .c = { .offset = 64, .stride = 4 },
	};
	uint64_t fence;
	int ret;

	if (!f->nobjs) {
		f->uncertain = true;
		return;
	}
	g.a.handle = g.b.handle = g.c.handle = f->objs[0].handle;
	do
		ret = submit(f->fd, &g, 1, &fence);
	while (ret == -EINTR);
	F.syscalls++;
	if (ret) {
		fail("a 1x1x1 SUBMIT after an EFAULT failed: %s", ret_name(ret));
		return;
	}
	if (fence > f->last_fence + 1)
		side_effect(f, SE_FENCES_USED, "%u jobs, fences %llu..%llu used up",
			    queued_maybe, (unsigned long long)f->last_fence + 1,
			    (unsigned long long)fence - 1);
	f->last_fence = fence;
	F.jobs_queued++;
}

/* Jobs for one SUBMIT into the job area, ending at its guard page: returns their address. */
static struct vitsa_gemm *jobs_make(struct file *f, uint32_t filled, bool big)
{
	struct vitsa_gemm *jobs = (struct vitsa_gemm *)F.jobs_end - filled;
	uint32_t i;

	for (i = 0; i < filled; i++) {
		if (big && i) {
			jobs[i] = jobs[0];
			continue;
		}
		if (big) {
			job_tiny(f, &jobs[i]);
			continue;
		}
		job_valid(f, &jobs[i]);
		job_mutate(f, &jobs[i]);
		job_cap(f, &jobs[i], FUZZ_MAX_MACS);
	}
	return jobs;
}

/*
 * What SUBMIT must return for @count jobs of which @filled are readable: struct vitsa_gemm,
 * or with @kinds (the flags say VITSA_SUBMIT_JOBS) struct vitsa_job.
 */
static void submit_expect(struct file *f, const struct vitsa_submit *a, const void *jobs,
			  bool kinds, uint32_t filled, bool bad_ptr, struct expect *e)
{
	bool nonblock = a->flags & VITSA_SUBMIT_NONBLOCK;
	uint32_t max = nonblock ? F.params[VITSA_PARAM_RING_ENTRIES] / 2 : MAX_JOBS;
	uint32_t i, n = a->count < filled ? a->count : filled;
	int v = 0;

	expect_add(e, -EINTR);
	expect_add(e, -ENOMEM);
	if ((a->flags & ~VITSA_SUBMIT_FLAGS) || !a->count || a->count > max) {
		expect_add(e, -EINVAL);
		return;
	}
	if (bad_ptr) {
		expect_add(e, -EFAULT);
		return;
	}
	for (i = 0; i < n && !v; i++)
		v = kinds ? entry_verdict(f, (const struct vitsa_job *)jobs + i, false) :
			    job_verdict(f, (const struct vitsa_gemm *)jobs + i);
	if (v == VERDICT_UNKNOWN) {
		expect_add(e, 0);
		expect_add(e, -EINVAL);
		expect_add(e, -ENOENT);
		v = 0;
	}
	if (a->count > filled)
		expect_add(e, -EFAULT);		/* the array runs into the guard page */
	if (v) {
		expect_add(e, v);
	} else if (a->count <= filled) {
		expect_add(e, 0);
		if (nonblock)
			expect_add(e, -EAGAIN);
	}
}

/*
 * SUBMIT: struct vitsa_gemm arrays, or (@kinds) struct vitsa_job arrays with
 * VITSA_SUBMIT_JOBS; flags now and then NONBLOCK or anything.  A flags word that is valid but
 * does not say what the array holds makes the driver read the other struct: no prediction.
 */
static void fuzz_submit(void)
{
	struct file *f = pick_file();
	bool big = permille(1) && f->nobjs, bad_ptr = permille(20), kinds = permille(400);
	uint32_t filled = !big ? (below(4) ? 1 + below(3) : 1 + below(16)) :
			  permille(100) ? 64 + below(MAX_JOBS - 63) :	/* up to the limit */
			  permille(300) ? 257 + below(64) :		/* more than the ring */
			  64 + below(64);
	uint64_t run_macs = 0;
	void *jobs = kinds ? (void *)entries_make(f, filled, big, FUZZ_MAX_MACS, &run_macs) :
			     (void *)jobs_make(f, filled, big);
	struct vitsa_submit a = {
		.jobs = (uintptr_t)jobs,
		.count = filled,
		.flags = kinds ? VITSA_SUBMIT_JOBS : 0,
		.fence = r64(),
	}, out;
	enum where w = pick_where();
	struct expect e = { 0 };
	struct vitsa_job first;
	bool unwritable;
	int ret;

	if (permille(100))
		a.flags = below(2) ? a.flags | VITSA_SUBMIT_NONBLOCK : edge32();

	if (!big && permille(100))
		a.count = below(2) ? edge32() : filled + 1 + below(8);
	if (bad_ptr)
		a.jobs = (uintptr_t)arg_place((enum where)(W_NULL + below(4)), 0, &(size_t){ 0 },
					      &(size_t){ 0 });
	if (!big && permille(30))
		flip_bits(&a, sizeof(a));
	submit_expect(f, &a, jobs, kinds, filled, bad_ptr, &e);
	if (!bad_ptr && a.jobs != (uintptr_t)jobs)
		e.n = 0;	/* a flipped bit in the pointer: any documented return */
	if (!(a.flags & ~VITSA_SUBMIT_FLAGS) && !(a.flags & VITSA_SUBMIT_JOBS) != !kinds)
		e.n = 0;	/* the array read as the other struct */
	describe("SUBMIT fd %d count %u (%u %s filled%s) flags %#x jobs %#llx arg %s", f->fd,
		 a.count, filled, kinds ? "vitsa_job" : "vitsa_gemm", big ? ", big" : "", a.flags,
		 (unsigned long long)a.jobs, where_name[w]);
	if (kinds)
		first = *(struct vitsa_job *)jobs;
	else
		first = (struct vitsa_job){ .kind = VITSA_JOB_KIND_GEMM,
					    .gemm = *(struct vitsa_gemm *)jobs };
	describe_job(&first);
	ret = ioctl_at(f->fd, VITSA_IOCTL_SUBMIT, w, &a, sizeof(a), &out, e.n ? &e : NULL,
		       &unwritable);
	if (!check_ret(K_SUBMIT, ret, e.n ? &e : NULL))
		return;
	if (!ret && (a.flags & VITSA_SUBMIT_JOBS))
		for (uint32_t i = 0; i < a.count; i++)
			F.list_runs += ((struct vitsa_job *)jobs)[i].kind == VITSA_JOB_KIND_LIST;
	if (!ret)
		fence_advance(f, out.fence, a.count);
	else if (ret == -EFAULT && unwritable)
		submit_probe(f, a.count);
}

static uint64_t pick_fence(struct file *f)
{
	uint64_t last = f->last_fence;

	switch (below(12)) {
	case 0 ... 3:
		return last;
	case 4 ... 6:
		return 1 + below(last ? last : 1);
	case 7:
		return 0;
	case 8:
		return last + 1 + below(3);
	case 9:
		return UINT64_MAX - below(2);
	case 10:
		return F.files[below(FUZZ_FILES)].last_fence;
	default:
		return edge64();
	}
}

static uint64_t pick_timeout(void)
{
	switch (below(20)) {
	case 0 ... 7:
		return 0;
	case 8 ... 15:
		return below(100000);
	case 16 ... 18:
		return below(1000000);
	default:
		return 5000000;
	}
}

static void fuzz_wait(void)
{
	struct file *f = pick_file();
	struct vitsa_wait a = {
		.fence = pick_fence(f),
		.timeout_ns = pick_timeout(),
		.error_fence = r64(),
		.error = (uint32_t)r64(),
		.flags = permille(950) ? 0 : edge32(),
	}, out;
	enum where w = pick_where();
	struct expect e = { 0 };
	bool unwritable;
	int ret;

	if (permille(50))
		flip_bits(&a, sizeof(a));
	if (a.timeout_ns > 5000000)
		a.timeout_ns &= 0x3fffff;	/* a flipped high bit: keep the run bounded */
	if (a.flags || !a.fence || a.fence > f->last_fence) {
		expect_add(&e, -EINVAL);
	} else {
		expect_add(&e, 0);
		expect_add(&e, -ETIMEDOUT);
		if (a.timeout_ns)
			expect_add(&e, -EINTR);
	}
	if (!a.flags && a.fence > f->last_fence && f->uncertain) {
		expect_add(&e, 0);
		expect_add(&e, -ETIMEDOUT);
		expect_add(&e, -EINTR);
	}
	describe("WAIT fd %d fence %llu (last %llu) timeout %llu flags %#x arg %s", f->fd,
		 (unsigned long long)a.fence, (unsigned long long)f->last_fence,
		 (unsigned long long)a.timeout_ns, a.flags, where_name[w]);
	ret = ioctl_at(f->fd, VITSA_IOCTL_WAIT, w, &a, sizeof(a), &out, &e, &unwritable);
	if (check_ret(K_WAIT, ret, &e) && !ret)
		wait_report(f, a.fence, &out, 0);
}

/* ---- LIST_CREATE and LIST_DESTROY ---- */

/* What LIST_CREATE must return for @a, of whose @count jobs @filled are readable. */
static void list_create_expect(struct file *f, const struct vitsa_list_create *a,
			       const struct vitsa_job *jobs, uint32_t filled, bool bad_ptr,
			       struct expect *e)
{
	uint32_t i;
	int v = 0;

	expect_add(e, -ENOMEM);
	if (a->flags || a->pad || !a->count || a->count > F.params[VITSA_PARAM_LIST_MAX]) {
		expect_add(e, -EINVAL);
		return;
	}
	if (bad_ptr || a->count > filled) {
		expect_add(e, -EFAULT);	/* copied in whole before any job is checked */
		return;
	}
	for (i = 0; i < a->count && !v; i++)
		v = entry_verdict(f, &jobs[i], true);
	if (v == VERDICT_UNKNOWN) {
		expect_add(e, -EINVAL);
		expect_add(e, -ENOENT);
		v = 0;
	}
	if (v) {
		expect_add(e, v);
		return;
	}
	expect_add(e, 0);
	if (f->uncertain)
		expect_add(e, -ENOSPC);		/* lists this program does not know of */
}

static void fuzz_list_destroy_in(struct file *f, bool own);

/* A list succeeded: its handle must be new to @f; it is tracked with its cost. */
static void list_created(struct file *f, uint32_t handle, const struct vitsa_job *jobs,
			 uint32_t count)
{
	struct list l = { handle, 0 };
	uint32_t i;

	if (!handle || (list_find(f, handle) && !f->uncertain)) {
		fail("LIST_CREATE gave handle %u (%u lists live)", handle, f->nlists);
		return;
	}
	list_remove(f, handle);		/* an unknown list with that handle is gone */
	for (i = 0; i < count; i++)
		l.macs += entry_macs(&jobs[i]);
	f->lists[f->nlists++] = l;
	F.lists_created++;
}

/*
 * LIST_CREATE: mostly a few jobs as SUBMIT_JOBS gets them (a run of a list among them is a
 * list in a list), now and then a long list of 1x1x1 GEMMs up to and past LIST_MAX.  A list's
 * GEMMs share FUZZ_MAX_MACS, so that running it stays cheap.
 */
static void fuzz_list_create(void)
{
	struct file *f = pick_file();
	bool big = permille(20) && f->nobjs, bad_ptr = permille(20);
	uint32_t filled = !big ? 1 + below(below(4) ? 4 : 16) :
			  permille(200) ? LIST_MAX + below(2) : 17 + below(LIST_MAX - 16);
	struct vitsa_job *jobs;
	struct vitsa_list_create a, out;
	enum where w = pick_where();
	struct expect e = { 0 };
	bool unwritable;
	int64_t lists;
	int ret;

	if (f->nlists >= MAX_LISTS) {
		fuzz_list_destroy_in(f, true);
		return;
	}
	jobs = entries_make(f, filled, big, FUZZ_MAX_MACS / filled, NULL);
	if (permille(50))
		jobs[below(filled)] = (struct vitsa_job){ .kind = VITSA_JOB_KIND_LIST,
							  .list.handle = pick_list_handle(f) };
	a = (struct vitsa_list_create){
		.jobs = (uintptr_t)jobs,
		.count = filled,
		.flags = permille(950) ? 0 : edge32(),
		.handle = (uint32_t)r64(),
		.pad = permille(950) ? 0 : edge32(),
	};
	if (permille(50))
		a.count = below(2) ? edge32() : filled + 1 + below(4);
	if (bad_ptr)
		a.jobs = (uintptr_t)arg_place((enum where)(W_NULL + below(4)), 0, &(size_t){ 0 },
					      &(size_t){ 0 });
	if (permille(30))
		flip_bits(&a, sizeof(a));
	list_create_expect(f, &a, jobs, filled, bad_ptr, &e);
	if (!bad_ptr && a.jobs != (uintptr_t)jobs)
		e.n = 0;	/* a flipped bit in the pointer: any documented return */
	describe("LIST_CREATE fd %d count %u (%u filled%s) flags %#x pad %#x jobs %#llx arg %s",
		 f->fd, a.count, filled, big ? ", big" : "", a.flags, a.pad,
		 (unsigned long long)a.jobs, where_name[w]);
	describe_job(jobs);
	ret = ioctl_at(f->fd, VITSA_IOCTL_LIST_CREATE, w, &a, sizeof(a), &out, e.n ? &e : NULL,
		       &unwritable);
	if (!check_ret(K_LIST_CREATE, ret, e.n ? &e : NULL))
		return;
	if (ret == -EFAULT && unwritable) {
		lists = fdinfo_value(f->fd, "vitsa-lists");
		if (lists > (int64_t)f->nlists)
			side_effect(f, SE_LIST_CREATED, "fdinfo vitsa-lists %lld, %u known",
				    (long long)lists, f->nlists);
		else if (lists < 0)
			f->uncertain = true;
	}
	if (!ret)
		list_created(f, out.handle, jobs, a.count);
}

/* LIST_DESTROY on @f: of one of its own lists when @own, else of any handle. */
static void fuzz_list_destroy_in(struct file *f, bool own)
{
	struct vitsa_list_destroy a = {
		.handle = own && f->nlists ? f->lists[below(f->nlists)].handle :
			  pick_list_handle(f),
		.pad = own || permille(950) ? 0 : edge32(),
	}, out;
	enum where w = own ? W_RW : pick_where();
	struct expect e = { 0 };
	bool unwritable;
	int ret;

	if (!own && permille(50))
		flip_bits(&a, sizeof(a));
	if (a.pad) {
		expect_add(&e, -EINVAL);
	} else if (list_find(f, a.handle)) {
		expect_add(&e, 0);
	} else {
		expect_add(&e, -ENOENT);
		if (f->uncertain)
			expect_add(&e, 0);
	}
	describe("LIST_DESTROY fd %d handle %u pad %#x arg %s", f->fd, a.handle, a.pad,
		 where_name[w]);
	ret = ioctl_at(f->fd, VITSA_IOCTL_LIST_DESTROY, w, &a, sizeof(a), &out, &e, &unwritable);
	if (check_ret(K_LIST_DESTROY, ret, &e) && !ret)
		list_remove(f, a.handle);
}

static void fuzz_list_destroy(void)
{
	fuzz_list_destroy_in(pick_file(), false);
}

/* ---- JOB_TIMES ---- */

/*
 * A fence handed out gets its times once retired and while among the file's last
 * VITSA_JOB_TIMES_KEPT (which fences those are depends on the device's pace: any of the three
 * answers); times that come back are in order.
 */
static void fuzz_job_times(void)
{
	struct file *f = pick_file();
	struct vitsa_job_times a = {
		.fence = pick_fence(f), .queued_ns = r64(), .started_ns = r64(), .done_ns = r64(),
		.flags = permille(950) ? 0 : edge32(), .pad = permille(950) ? 0 : edge32(),
	}, out;
	enum where w = pick_where();
	struct expect e = { 0 };
	bool unwritable, known;
	int ret;

	if (permille(50))
		flip_bits(&a, sizeof(a));
	known = a.fence && (a.fence <= f->last_fence || f->uncertain);
	if (a.flags || a.pad || !a.fence || a.fence > f->last_fence)
		expect_add(&e, -EINVAL);
	if (!a.flags && !a.pad && known) {
		expect_add(&e, 0);
		expect_add(&e, -EAGAIN);
		expect_add(&e, -ENOENT);
	}
	describe("JOB_TIMES fd %d fence %llu (last %llu) flags %#x pad %#x arg %s", f->fd,
		 (unsigned long long)a.fence, (unsigned long long)f->last_fence, a.flags, a.pad,
		 where_name[w]);
	ret = ioctl_at(f->fd, VITSA_IOCTL_JOB_TIMES, w, &a, sizeof(a), &out, &e, &unwritable);
	if (check_ret(K_JOB_TIMES, ret, &e) && !ret && !unwritable &&
	    (out.fence != a.fence || out.queued_ns > out.started_ns ||
	     out.started_ns > out.done_ns))
		fail("JOB_TIMES of fence %llu: fence %llu, queued %llu, started %llu, done %llu",
		     (unsigned long long)a.fence, (unsigned long long)out.fence,
		     (unsigned long long)out.queued_ns, (unsigned long long)out.started_ns,
		     (unsigned long long)out.done_ns);
}

/* ---- commands that do not exist ---- */

static const unsigned long real_cmds[] = {
	VITSA_IOCTL_GET_PARAM, VITSA_IOCTL_BO_CREATE, VITSA_IOCTL_BO_DESTROY,
	VITSA_IOCTL_SUBMIT, VITSA_IOCTL_WAIT, VITSA_IOCTL_LIST_CREATE, VITSA_IOCTL_LIST_DESTROY,
	VITSA_IOCTL_JOB_TIMES,
};

/* Types the VFS answers itself for every file (do_vfs_ioctl): never sent. */
static bool vfs_type(unsigned int type)
{
	return type == 0 || type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
	       type == 0x15;
}

static void fuzz_bad_cmd(void)
{
	static const unsigned int others[] = { 'x', 0xb8, 0xba, 0xff, 'v' };
	struct file *f = pick_file();
	unsigned int nr, type = VITSA_IOCTL_BASE, dir = below(4), size = below(64), i;
	enum where w = permille(900) ? W_RW : pick_where();
	struct expect e = { 0 };
	uint8_t arg[64], out[64];
	unsigned long cmd;
	bool unwritable;
	int ret;

	switch (below(4)) {
	case 0:
		nr = ARRAY_SIZE(real_cmds) + below(256 - ARRAY_SIZE(real_cmds));
		break;
	case 1:
		nr = below(ARRAY_SIZE(real_cmds));
		if (below(2))
			size = _IOC_SIZE(real_cmds[nr]);
		break;
	case 2:
		nr = below(256);
		type = others[below(ARRAY_SIZE(others))];
		break;
	default:
		nr = below(256);
		type = below(256);
		size = below(1u << 14);
		break;
	}
	if (vfs_type(type))
		type = 0xba;
	cmd = _IOC(dir, type, nr, size);
	for (i = 0; i < ARRAY_SIZE(real_cmds); i++)
		if (cmd == real_cmds[i])
			cmd ^= _IOC(0, 0, 0, 1);	/* one byte off: the wrong size */
	if (size > sizeof(arg))
		w = W_RW;
	for (i = 0; i < sizeof(arg); i++)
		arg[i] = (uint8_t)r64();
	expect_add(&e, -ENOTTY);
	describe("ioctl fd %d cmd %#lx (dir %u type %#x nr %#x size %u) arg %s", f->fd, cmd, dir,
		 type, nr, size, where_name[w]);
	ret = ioctl_at(f->fd, cmd, w, arg, size < sizeof(arg) ? size : sizeof(arg), out, NULL,
		       &unwritable);
	check_ret(K_BAD_CMD, ret, &e);
}

/* ---- mappings ---- */

/* Read, and where allowed write, one byte of each of a few pages of a mapping. */
static bool touch(const struct mapping *m, unsigned int pages)
{
	uint64_t npages = (m->len + F.page - 1) / F.page, off;
	volatile uint8_t *p;
	unsigned int i;
	int sig;

	sig = sigsetjmp(fault_jmp, 1);
	if (sig) {
		fault_armed = 0;
		fail("signal %d touching the mapping %p+%#llx (prot %d)", sig, m->addr,
		     (unsigned long long)m->len, m->prot);
		return false;
	}
	fault_armed = 1;
	for (i = 0; i < pages; i++) {
		off = below(npages) * F.page + below(F.page);
		if (off >= m->len)
			off = m->len - 1;
		p = m->addr + off;
		if (m->prot & PROT_READ)
			(void)*p;
		if (m->prot & PROT_WRITE)
			*p = (uint8_t)r64();
	}
	fault_armed = 0;
	return true;
}

static void map_remove(unsigned int i)
{
	F.maps[i] = F.maps[--F.nmaps];
}

/* What mmap(2) must return for @len bytes at @offset of @fd's file @f. */
static void mmap_expect(struct file *f, uint64_t len, uint64_t offset, int prot, int flags,
			struct expect *e)
{
	struct obj *o = obj_by_offset(f, offset);
	uint64_t rounded = (len + F.page - 1) & ~(uint64_t)(F.page - 1);

	if (!len || offset % F.page) {
		expect_add(e, -EINVAL);
		return;
	}
	if (len >= 1ull << 40 || rounded < len) {
		/* Too big for the address space, or past 2^64, or past the object. */
		expect_add(e, -ENOMEM);
		expect_add(e, -EOVERFLOW);
		expect_add(e, -EINVAL);
		if (f->rdonly && (flags & MAP_SHARED) && (prot & PROT_WRITE))
			expect_add(e, -EACCES);
		return;
	}
	if (offset / F.page > (UINT64_MAX - rounded) / F.page) {
		expect_add(e, -EOVERFLOW);	/* offset + len beyond 2^64 */
		return;
	}
	if (f->rdonly && (flags & MAP_SHARED) && (prot & PROT_WRITE)) {
		expect_add(e, -EACCES);
		return;
	}
	expect_add(e, -ENOMEM);
	if (!(flags & MAP_SHARED) || !o || rounded > o->size) {
		expect_add(e, -EINVAL);
		if (!o && f->uncertain)
			expect_add(e, 0);
		return;
	}
	expect_add(e, 0);
}

static void fuzz_munmap_one(void);

static void fuzz_mmap(void)
{
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_WRITE, PROT_NONE,
	};
	struct file *f = &F.files[below(FUZZ_FILES + 1)];
	struct file *owner = permille(850) ? f : &F.files[below(FUZZ_FILES + 1)];
	struct obj *o = owner->nobjs ? &owner->objs[below(owner->nobjs)] : NULL;
	uint64_t offset = o ? o->mmap_offset : edge64() & ~(uint64_t)(F.page - 1);
	uint64_t size = o ? o->size : F.page, len;
	int prot = prots[below(ARRAY_SIZE(prots))], flags = permille(900) ? MAP_SHARED : MAP_PRIVATE;
	struct expect e = { 0 };
	struct mapping *m;
	void *p;
	int ret;

	if (F.nmaps >= MAX_MAPS) {
		fuzz_munmap_one();
		return;
	}
	switch (below(20)) {
	case 0 ... 7:
		len = size;
		break;
	case 8 ... 13:
		len = F.page * (1 + below(size / F.page));
		break;
	case 14:
		len = 1 + below(size);
		break;
	case 15:
		len = size + F.page;
		break;
	case 16:
		len = 0;
		break;
	default:
		len = edge64();
		break;
	}
	if (permille(100))
		offset += below(2) ? F.page * (1 + below(4)) : 1 + below(F.page - 1);
	else if (permille(50))
		offset = edge64();
	mmap_expect(f, len, offset, prot, flags, &e);
	describe("mmap fd %d len %#llx prot %d %s offset %#llx", f->fd, (unsigned long long)len,
		 prot, flags & MAP_SHARED ? "shared" : "private", (unsigned long long)offset);
	p = mmap(NULL, len, prot, flags, f->fd, (off_t)offset);
	ret = p == MAP_FAILED ? -errno : 0;
	if (!check_ret(K_MMAP, ret, &e) || ret)
		return;
	m = &F.maps[F.nmaps++];
	*m = (struct mapping){ p, len, prot };
	touch(m, 2);
}

/* munmap(2) of all or part of a mapping; a range that splits it keeps both ends. */
static void fuzz_munmap_one(void)
{
	unsigned int i = below(F.nmaps);
	struct mapping *m = &F.maps[i];
	uint64_t pages = (m->len + F.page - 1) / F.page, first = 0, count = pages;
	struct expect e = { 0 };
	uint8_t *addr;
	uint64_t len;
	int ret, how = below(20);

	if (how >= 10 && how < 13) {
		count = 1 + below(pages);		/* a head */
	} else if (how >= 13 && how < 16) {
		count = 1 + below(pages);		/* a tail */
		first = pages - count;
	} else if (how >= 16 && how < 18 && pages >= 3 && F.nmaps < MAX_MAPS) {
		first = 1 + below(pages - 2);		/* the middle: splits the VMA */
		count = 1;
	}
	addr = m->addr + first * F.page;
	len = count * F.page - (below(4) ? 0 : below(F.page));
	if (how == 18)
		addr += 1 + below(F.page - 1);
	if (how == 19)
		len = 0;
	expect_add(&e, how >= 18 ? -EINVAL : 0);
	describe("munmap %p+%#llx of the mapping %p+%#llx", addr, (unsigned long long)len,
		 m->addr, (unsigned long long)m->len);
	ret = munmap(addr, len) ? -errno : 0;
	if (!check_ret(K_MUNMAP, ret, &e) || ret)
		return;
	if (first == 0 && count == pages) {
		map_remove(i);
	} else if (first == 0) {
		m->addr += count * F.page;
		m->len = (pages - count) * F.page;
	} else if (first + count == pages) {
		m->len = first * F.page;
	} else {
		/* Keep the head here and the tail as a new mapping (there is room for it). */
		F.maps[F.nmaps++] = (struct mapping){
			m->addr + (first + count) * F.page, (pages - first - count) * F.page,
			m->prot,
		};
		m->len = first * F.page;
		touch(&F.maps[F.nmaps - 1], 2);
	}
	if (i < F.nmaps && F.maps[i].len)
		touch(&F.maps[i], 2);
}

static void fuzz_munmap(void)
{
	if (!F.nmaps || F.nmaps >= MAX_MAPS)
		return;
	fuzz_munmap_one();
}

static void fuzz_touch(void)
{
	if (!F.nmaps)
		return;
	describe("touch a mapping");
	touch(&F.maps[below(F.nmaps)], 1 + below(4));
}

static void fuzz_reopen(void)
{
	struct file *f = pick_file();
	bool rdonly = permille(200);

	describe("close fd %d (%u objects, fence %llu) and reopen%s", f->fd, f->nobjs,
		 (unsigned long long)f->last_fence, rdonly ? " read-only" : "");
	if (close(f->fd)) {
		fail("close: %s", strerror(errno));
		return;
	}
	file_open(f, rdonly);
}

/* ---- valid jobs, checked against the CPU reference ---- */

static bool verify_bo(struct file *f, uint64_t size, struct bo *bo)
{
	struct obj o;
	int ret;

	ret = bo_create_mapped(f->fd, size, bo);
	F.syscalls += 2;
	if (ret) {
		fail("verified job: an object of %llu bytes: %s", (unsigned long long)size,
		     ret_name(ret));
		return false;
	}
	o = (struct obj){ bo->handle, bo->size, bo->mmap_offset };
	obj_add(f, &o);
	return true;
}

static void verify_release(struct file *f, struct bo *bos, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		bo_unmap(&bos[i]);
		if (bo_destroy(f->fd, bos[i].handle))
			fail("verified job: BO_DESTROY %u: %s", bos[i].handle, strerror(errno));
		obj_remove(f, bos[i].handle);
		F.syscalls += 2;
	}
}

/* Wait for @fence on @f through SIGALRM, collecting earlier failures of fuzz jobs. */
static bool verify_wait(struct file *f, uint64_t fence)
{
	uint64_t deadline = now_ns() + VERIFY_TIMEOUT;
	struct vitsa_wait w;
	int ret;

	for (;;) {
		ret = wait_fence(f->fd, fence, deadline - now_ns(), &w);
		F.syscalls++;
		if (ret == -EINTR && now_ns() < deadline)
			continue;
		if (ret) {
			fail("verified job: WAIT for fence %llu: %s", (unsigned long long)fence,
			     ret_name(ret));
			return false;
		}
		if (!w.error_fence)
			return true;
		if (!wait_report(f, fence, &w, fence))
			return false;
	}
}

/*
 * SUBMIT @g as the one job of a list, destroyed as soon as its run is queued (the run holds
 * it): one list more and one less on @f, which the model need not know of.
 */
static int verify_submit_list(struct file *f, const struct vitsa_gemm *g, uint64_t *fence)
{
	struct vitsa_job j = { .kind = VITSA_JOB_KIND_GEMM, .gemm = *g }, run;
	uint32_t handle;
	int ret;

	ret = list_create(f->fd, &j, 1, &handle);
	F.syscalls++;
	if (ret)
		return ret;
	run = list_run(handle);
	do
		ret = submit_jobs(f->fd, &run, 1, fence);
	while (ret == -EINTR);
	F.syscalls += 2;
	if (list_destroy(f->fd, handle))
		fail("verified job: LIST_DESTROY %u: %s", handle, strerror(errno));
	return ret;
}

static void fuzz_verify(void)
{
	struct file *f = &F.files[below(2) ? FUZZ_FILES : below(FUZZ_FILES)];
	bool as_list = F.params[VITSA_PARAM_LIST_MAX] && !below(3);
	struct vitsa_gemm g;
	struct bo bos[5], *a = &bos[0], *b = &bos[1], *c = &bos[2], *bias = NULL, *rq = NULL;
	struct job_mems jm;
	uint64_t fence, i;
	uint8_t *expect;
	int n, ret;

	if (f->rdonly || f->nobjs > MAX_OBJS - 5)
		f = &F.files[FUZZ_FILES];
	describe("verified job on fd %d%s", f->fd, as_list ? ", as a list" : "");
	/* A valid job on objects of its own: each matrix at offset 0 of an object just big enough. */
	job_valid(&(struct file){ 0 }, &g);
	g.m = 1 + below(40);
	g.n = 1 + below(40);
	g.k = 1 + below(40);
	job_mems(&g, &jm);
	for (n = 0; n < jm.n; n++) {
		struct vitsa_mem *mem = (struct vitsa_mem *)jm.mem[n];
		uint64_t stride = jm.one_row[n] ? 0 : jm.rb[n] + below(4);

		if (!verify_bo(f, 64 + (jm.rows[n] - 1) * stride + jm.rb[n], &bos[n])) {
			verify_release(f, bos, n);
			return;
		}
		*mem = (struct vitsa_mem){ bos[n].handle, 0, below(64), stride };
		fill_random(bos[n].map, bos[n].size);
	}
	n = 3;
	if (g.flags & VITSA_GEMM_BIAS)
		bias = &bos[n++];
	if (g.flags & VITSA_GEMM_REQUANT) {
		rq = &bos[n++];
		for (i = 0; i < g.n; i++)	/* shifts the device takes: 0..62 */
			memcpy(rq->map + g.rq.offset + 8 * i + 4, &(uint32_t){ below(63) }, 4);
	}
	expect = malloc(c->size);
	if (!expect) {
		fail("out of memory");
		verify_release(f, bos, n);
		return;
	}
	memset(c->map, SENTINEL, c->size);
	memset(expect, SENTINEL, c->size);
	gemm_ref(&g, a, b, bias, rq, expect);
	if (as_list) {
		ret = verify_submit_list(f, &g, &fence);
	} else {
		do
			ret = submit(f->fd, &g, 1, &fence);
		while (ret == -EINTR);
		F.syscalls++;
	}
	if (ret) {
		fail("verified job: %s: %s", as_list ? "a list" : "SUBMIT", ret_name(ret));
	} else {
		fence_advance(f, fence, 1);
		if (verify_wait(f, fence)) {
			i = first_diff(c->map, expect, c->size);
			if (i < c->size)
				fail("verified job %ux%ux%u flags %#x types %u %u %u: C byte %llu is %#x, reference %#x",
				     g.m, g.n, g.k, g.flags, g.a_type, g.b_type, g.c_type,
				     (unsigned long long)i, c->map[i], expect[i]);
			else
				F.jobs_verified++;
		}
	}
	free(expect);
	verify_release(f, bos, n);
}

/* ---- the run ---- */

static void (*const fuzz_fn[K_COUNT])(void) = {
	[K_GET_PARAM] = fuzz_get_param, [K_BO_CREATE] = fuzz_bo_create,
	[K_BO_DESTROY] = fuzz_bo_destroy, [K_SUBMIT] = fuzz_submit, [K_WAIT] = fuzz_wait,
	[K_LIST_CREATE] = fuzz_list_create, [K_LIST_DESTROY] = fuzz_list_destroy,
	[K_JOB_TIMES] = fuzz_job_times, [K_BAD_CMD] = fuzz_bad_cmd, [K_MMAP] = fuzz_mmap, [K_MUNMAP] = fuzz_munmap,
	[K_TOUCH] = fuzz_touch, [K_REOPEN] = fuzz_reopen, [K_VERIFY] = fuzz_verify,
};

static enum kind pick_kind(void)
{
	uint32_t r = below(1000);
	int k;

	for (k = 0; k < K_COUNT - 1; k++) {
		if (r < kind_permille[k])
			break;
		r -= kind_permille[k];
	}
	return (enum kind)k;
}

static void alarm_set(bool on)
{
	struct itimerval it = { { 0, on ? ALARM_US : 0 }, { 0, on ? ALARM_US : 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static bool setup(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	size_t jobs_bytes = (LIST_MAX + 64) * sizeof(struct vitsa_job), jobs_pages;
	uint8_t *jobs;
	int i;

	F.page = sysconf(_SC_PAGESIZE);
	for (i = 0; i <= FUZZ_FILES; i++)
		if (!file_open(&F.files[i], false))
			return false;
	for (i = 0; i < VITSA_PARAM_COUNT; i++) {
		if (get_param(F.files[0].fd, i, &F.params[i])) {
			fail("GET_PARAM %d: %s", i, strerror(errno));
			return false;
		}
	}

	F.arena = mmap(NULL, ARENA_PAGES * F.page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jobs_pages = (jobs_bytes + F.page - 1) / F.page + 1;
	jobs = mmap(NULL, jobs_pages * F.page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (F.arena == MAP_FAILED || jobs == MAP_FAILED ||
	    mprotect(F.arena + ARENA_GUARD0 * F.page, F.page, PROT_NONE) ||
	    mprotect(F.arena + ARENA_RO * F.page, F.page, PROT_READ) ||
	    mprotect(F.arena + ARENA_GUARD1 * F.page, F.page, PROT_NONE) ||
	    mprotect(jobs + (jobs_pages - 1) * F.page, F.page, PROT_NONE)) {
		fail("argument memory: %s", strerror(errno));
		return false;
	}
	F.jobs_end = jobs + (jobs_pages - 1) * F.page;

	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_fault;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	return true;
}

static void fuzz_run(void)
{
	uint64_t t0 = now_ns(), t;
	enum kind k;

	alarm_set(true);
	for (F.call = 0; F.call < F.calls && !F.failed; F.call++) {
		prng = VTEST_RNG(F.seed * 0x9e3779b97f4a7c15ull ^ F.call);
		r64();
		rng_seed((uint32_t)r64());
		k = pick_kind();

		F.kind_calls[k]++;
		F.desc[0] = 0;
		F.desc_has_job = false;
		t = now_ns();
		fuzz_fn[k]();
		F.kind_ns[k] += now_ns() - t;
	}
	alarm_set(false);
	ksft_print_msg("%llu calls (%llu syscalls, %llu checked against the model) in %.1f s\n",
		       (unsigned long long)F.call, (unsigned long long)F.syscalls,
		       (unsigned long long)F.predicted, (now_ns() - t0) / 1e9);
}

static void print_counts(void)
{
	char line[512];
	int k, e;

	for (k = 0; k < K_COUNT; k++) {
		int len = snprintf(line, sizeof(line), "%-12s %6llu calls %6.2f s", kind_name[k],
				   (unsigned long long)F.kind_calls[k], F.kind_ns[k] / 1e9);

		for (e = 0; e < (int)ARRAY_SIZE(F.errno_calls[k]); e++)
			if (F.errno_calls[k][e] && len < (int)sizeof(line))
				len += snprintf(line + len, sizeof(line) - len, "  %s %llu",
						ret_name(-e), (unsigned long long)F.errno_calls[k][e]);
		ksft_print_msg("%s\n", line);
	}
	ksft_print_msg("%llu jobs queued by the fuzzer (%llu runs of its %llu lists), %llu fuzz jobs failed (RQ, PARAM), %llu valid jobs verified\n",
		       (unsigned long long)F.jobs_queued, (unsigned long long)F.list_runs,
		       (unsigned long long)F.lists_created, (unsigned long long)F.job_failures,
		       (unsigned long long)F.jobs_verified);
}

/* C[2x2] = A[2x3] x B[3x2], worked out by hand, then a larger requantized int4 job. */
static bool known_gemm(void)
{
	static const int8_t a_val[6] = { 1, 2, 3, -4, 5, -6 }, b_val[6] = { 7, 8, 9, 10, 11, 12 };
	static const int32_t c_val[4] = { 58, 64, -49, -54 };
	struct vitsa_gemm g = {
		.m = 2, .n = 2, .k = 3,
		.a_type = VITSA_TYPE_S8, .b_type = VITSA_TYPE_S8, .c_type = VITSA_TYPE_S32,
		.a = { .stride = 3 }, .b = { .offset = 64, .stride = 2 },
		.c = { .offset = 128, .stride = 8 },
	};
	struct bo bo, rq;
	uint64_t fence, i;
	uint8_t *expect = NULL;
	bool ok = false;
	int fd;

	rng_seed(0x6b6e6f77);
	fd = vitsa_open();
	if (fd < 0 || bo_create_mapped(fd, 1 << 20, &bo) || bo_create_mapped(fd, 4096, &rq))
		goto out;
	memcpy(bo.map, a_val, 6);
	memcpy(bo.map + 64, b_val, 6);
	g.a.handle = g.b.handle = g.c.handle = bo.handle;
	if (submit(fd, &g, 1, &fence) || wait_fence(fd, fence, WAIT_LONG_NS, NULL) ||
	    memcmp(bo.map + 128, c_val, 8) || memcmp(bo.map + 136, c_val + 2, 8)) {
		ksft_print_msg("the 2x3 x 3x2 GEMM went wrong\n");
		goto out;
	}

	g = (struct vitsa_gemm){
		.m = 61, .n = 45, .k = 83,
		.flags = VITSA_GEMM_B_TRANS | VITSA_GEMM_REQUANT,
		.a_type = VITSA_TYPE_S4, .b_type = VITSA_TYPE_U8, .c_type = VITSA_TYPE_S8,
		.c_zero = 5,
		.a = { bo.handle, 0, 0, 42 }, .b = { bo.handle, 0, 8192, 83 },
		.c = { bo.handle, 0, 65536, 48 }, .rq = { rq.handle, 0, 8, 0 },
	};
	fill_random(bo.map, bo.size);
	for (i = 0; i < g.n; i++) {
		memcpy(rq.map + 8 + 8 * i, &(int32_t){ (int32_t)(rng() % 4096) - 2048 }, 4);
		memcpy(rq.map + 12 + 8 * i, &(uint32_t){ 4 + rng() % 12 }, 4);
	}
	expect = malloc(bo.size);
	if (!expect)
		goto out;
	memcpy(expect, bo.map, bo.size);
	gemm_ref(&g, &bo, &bo, NULL, &rq, expect);
	if (submit(fd, &g, 1, &fence) || wait_fence(fd, fence, WAIT_LONG_NS, NULL))
		goto out;
	i = first_diff(bo.map, expect, bo.size);
	if (i < bo.size) {
		ksft_print_msg("the 61x45x83 GEMM: byte %llu is %#x, reference %#x\n",
			       (unsigned long long)i, bo.map[i], expect[i]);
		goto out;
	}
	ok = true;
out:
	free(expect);
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool close_all(void)
{
	bool ok = true;
	int i;

	for (i = 0; i <= FUZZ_FILES; i++)
		ok &= !close(F.files[i].fd);
	for (i = 0; i < (int)F.nmaps; i++) {
		ok &= touch(&F.maps[i], 1);	/* still valid with the files closed */
		ok &= !munmap(F.maps[i].addr, F.maps[i].len);
	}
	F.nmaps = 0;
	return ok;
}

int main(int argc, char **argv)
{
	const char *trace = getenv("VITSA_FUZZ_TRACE");
	bool fuzzed;
	int i;

	F.seed = argc > 1 ? strtoull(argv[1], NULL, 0) : SEED_DEFAULT;
	F.calls = argc > 2 ? strtoull(argv[2], NULL, 0) : CALLS_DEFAULT;
	F.trace_from = trace ? strtoull(trace, NULL, 0) : 0;

	ksft_print_header();
	ksft_set_plan(8);
	ksft_print_msg("seed %#llx, %llu calls on %s (vitsa_fuzz %#llx %llu reproduces this run)\n",
		       (unsigned long long)F.seed, (unsigned long long)F.calls, vitsa_path(),
		       (unsigned long long)F.seed, (unsigned long long)F.calls);
	if (!setup())
		ksft_exit_fail_msg("setup failed\n");

	fuzz_run();
	print_counts();
	fuzzed = !F.failed;
	ksft_test_result(fuzzed, "fuzz_calls_return_documented_errnos\n");
	ksft_test_result(fuzzed && F.jobs_verified > 0, "fuzz_valid_jobs_verified\n");
	for (i = 0; i < SE_COUNT; i++)
		if (F.side_effects[i])
			ksft_print_msg("%s: %llu times; the first: %s\n", side_effect_name[i],
				       (unsigned long long)F.side_effects[i],
				       F.side_effect_first[i]);
	ksft_test_result(!F.args_rewritten, "failed_calls_leave_the_argument_alone\n");
	ksft_test_result(!F.side_effects[SE_FENCES_USED], "failed_submit_queues_nothing\n");
	ksft_test_result(!F.side_effects[SE_OBJECT_CREATED], "failed_bo_create_creates_nothing\n");
	ksft_test_result(!F.side_effects[SE_LIST_CREATED], "failed_list_create_creates_nothing\n");
	ksft_test_result(close_all(), "files_close_mappings_stay\n");
	ksft_test_result(known_gemm(), "known_gemm_after_fuzz\n");
	ksft_finished();
}
