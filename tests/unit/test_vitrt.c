// SPDX-License-Identifier: MIT
/*
 * libvitrt on the sim backend: buffers, job checks before anything runs, fences, job errors,
 * sealed (weight) buffers, the trace hook; the thread pool, and a caller pinned beside it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "tap.h"
#include "vitrt.h"
#include "vitrt_pool.h"
#include "vitrt_trace.h"
#include "vitsa.h"
#include "vitsa_model.h"

static struct vitrt_dev *dev;
static struct vitrt_buf *buf, *small;

static struct vitrt_gemm good_job(void)
{
	return (struct vitrt_gemm){
		.m = 8, .n = 8, .k = 8, .a_type = VITRT_S8, .b_type = VITRT_S8, .c_type = VITRT_S32,
		.a = { buf, 0, 8 }, .b = { buf, 64, 8 }, .c = { buf, 128, 32 },
	};
}

TEST(open_and_info)
{
	int err;
	const struct vitrt_dev_info *info;

	dev = vitrt_dev_open("sim", &err);
	CHECK(dev && !err, "open sim: %s", vitrt_strerror(err));
	if (!dev)
		exit(1);
	info = vitrt_dev_info(dev);
	CHECK(!strcmp(info->backend, "sim") && info->rows == 16 && info->cols == 16, "info");
	buf = vitrt_buf_new(dev, 1000, &err);
	CHECK(buf && vitrt_buf_size(buf) == 4096, "buffer rounds to a page");
	small = vitrt_buf_new(dev, 1, &err);
	CHECK(small, "small buffer");
	CHECK(!vitrt_buf_new(dev, 0, &err) && err == VITRT_EINVAL, "size 0");
	CHECK(!vitrt_dev_open("nonsense", &err) && err == VITRT_EINVAL, "bad spec");
	CHECK(!vitrt_dev_open("dev:/nonexistent", &err) && err == VITRT_ENODEV, "no node");
}

TEST(job_checks_reject_before_running)
{
	uint64_t fence;
	struct vitrt_gemm j;
	int err;
	struct vitrt_dev *other = vitrt_dev_open("sim", &err);
	struct vitrt_buf *other_buf = vitrt_buf_new(other, 4096, &err);

#define REJECT(...)						\
	do {								\
		j = good_job();						\
		__VA_ARGS__;						\
		CHECK(vitrt_submit(dev, &j, 1, &fence) == VITRT_EINVAL, "%s accepted", #__VA_ARGS__); \
	} while (0)

	REJECT(j.c.offset = 4096 - 255);			/* C's last row past the end */
	REJECT(j.a.stride = 7);					/* stride shorter than a row */
	REJECT(j.a.stride = UINT64_MAX / 4);			/* (M-1)*stride overflows */
	REJECT(j.a.offset = UINT64_MAX - 8);			/* offset+extent overflows */
	REJECT(j.b.buf = NULL);					/* operand missing */
	REJECT(j.a = (struct vitrt_mat){ other_buf, 0, 8 });	/* another device's buffer */
	REJECT(j.bias = (struct vitrt_mat){ buf, 256, 0 });	/* bias without the flag */
	REJECT(j.flags = VITRT_GEMM_BIAS);			/* flag without the bias */
	REJECT(j.flags = 1u << 5);
	REJECT(j.c_type = VITRT_S8);				/* requant type without REQUANT */
	REJECT(j.a_type = VITRT_S16);
	REJECT(j.a_type = (enum vitrt_type)77);
	REJECT(j.m = 0);
	REJECT(j.k = 40000);
	REJECT(j.c_zero = 3);
	REJECT(j.c.offset = 127);				/* C's first byte is B's last */
	REJECT(j.c.offset = 0);					/* in place over A */
	REJECT(j.c.offset = 8, j.a.stride = 256);		/* C in the gaps of A's rows */
#undef REJECT
	j = good_job();
	CHECK(vitrt_submit(dev, &j, 0, &fence) == VITRT_EINVAL, "zero jobs");
	vitrt_buf_del(other_buf);
	vitrt_dev_close(other);
}

TEST(runs_and_reports_job_errors)
{
	uint64_t f1, f2;
	struct vitrt_gemm jobs[2] = { good_job(), good_job() };
	struct vitrt_job_error jerr;
	int32_t *c = (int32_t *)((uint8_t *)vitrt_buf_map(buf) + 128);
	int8_t *a = vitrt_buf_map(buf);

	for (int i = 0; i < 64; i++)
		a[i] = a[64 + i] = (int8_t)(i - 20);
	CHECK(vitrt_submit(dev, jobs, 2, &f1) == 0 && f1 == 2, "fence %lu", f1);
	CHECK(vitrt_wait(dev, f1, 0, &jerr) == 0 && jerr.fence == 0, "wait");
	CHECK(c[0] == -720, "C[0][0] = sum_k (k - 20)(8k - 20) = -720, got %d", c[0]);
	for (int m = 0; m < 8; m++) {
		for (int n = 0; n < 8; n++) {
			int32_t want = 0;

			for (int k = 0; k < 8; k++)
				want += (m * 8 + k - 20) * (k * 8 + n - 20);
			CHECK(c[m * 8 + n] == want, "C[%d][%d] = %d, want %d", m, n, c[m * 8 + n], want);
		}
	}
	jobs[0].flags = VITRT_GEMM_REQUANT;
	jobs[0].c_type = VITRT_S8;
	jobs[0].rq = (struct vitrt_mat){ buf, 512, 0 };
	((uint32_t *)((uint8_t *)vitrt_buf_map(buf) + 512))[1] = 63;	/* shift 63: device error */
	CHECK(vitrt_submit(dev, jobs, 2, &f2) == 0 && f2 == 4, "second batch");
	CHECK(vitrt_wait(dev, f2, 0, &jerr) == VITRT_EJOB && jerr.fence == 3 && jerr.status == 8,
	      "job error %lu %u", jerr.fence, jerr.status);
	CHECK(vitrt_wait(dev, f2, 0, &jerr) == 0 && jerr.fence == 0, "reported once");
	CHECK(vitrt_wait(dev, 99, 0, &jerr) == VITRT_EINVAL, "future fence");
}

/*
 * The uapi names every status a job can end with (the values are tied to the device's at
 * compile time, vitrt_err.c); its names are the hardware model's, so that QEMU's log and the
 * runtime's messages say the same thing.
 */
TEST(status_names_are_the_devices)
{
	for (uint32_t s = 0; s < VITSA_ERR_COUNT; s++)
		CHECK(!strcmp(vitrt_job_status_name(s), vitsa_err_name(s)), "status %u: %s, hw %s",
		      s, vitrt_job_status_name(s), vitsa_err_name(s));
	CHECK(!strcmp(vitrt_job_status_name(VITSA_JOB_TIMEOUT), "job timeout, device reset"),
	      "timeout");
	CHECK(!strcmp(vitrt_job_status_name(VITSA_JOB_DEVICE_COUNT), "unknown status"), "gap");
	CHECK(!strcmp(vitrt_job_status_name(VITSA_JOB_STATUS_COUNT), "unknown status"), "past");
	CHECK(!strcmp(vitrt_job_status_name(UINT32_MAX), "unknown status"), "far");
}

/*
 * A job list is checked once and runs on whatever its buffers hold each time: a GEMM whose
 * int32 C a vector ADD then reads (the list's order), run twice on different A, each result
 * against the sums written out here.  A list with one bad job is refused whole.
 */
TEST(job_list_runs_on_new_data)
{
	struct vitrt_job jobs[2] = { { .kind = VITRT_JOB_GEMM, .gemm = good_job() } };
	struct vitrt_vec *v = &jobs[1].vec;
	int8_t *a = vitrt_buf_map(buf);
	int32_t *c = (int32_t *)(a + 128);
	int16_t *sum = (int16_t *)(a + 1024), *x = (int16_t *)(a + 2048);
	struct vitrt_joblist *list;
	uint64_t fence;
	int err;

	/* ADD of 1 x 8 s16: sum = sat16(x + C's low halves seen as s16 row of C[0]) */
	jobs[1].kind = VITRT_JOB_VEC;
	*v = (struct vitrt_vec){ .op = VITRT_VEC_FIRST + 8, .rows = 1, .cols = 16,
				 .in0 = { buf, 2048, 32 }, .in1 = { buf, 128, 32 },
				 .out = { buf, 1024, 32 }, .param = { 1, 0, 1, 0 } };
	list = vitrt_joblist_new(dev, jobs, 2, &err);
	CHECK(list && !err, "list: %s", vitrt_strerror(err));
	for (int run = 0; run < 2 && list; run++) {
		for (int i = 0; i < 64; i++)
			a[i] = a[64 + i] = (int8_t)(i * (run ? 3 : -1) + run);
		for (int i = 0; i < 16; i++)
			x[i] = (int16_t)(1000 * i - 7000 + run);
		CHECK(vitrt_joblist_submit(list, &fence) == 0, "submit %d", run);
		CHECK(vitrt_wait(dev, fence, 0, NULL) == 0, "wait %d", run);
		for (int i = 0; i < 16; i++) {
			int16_t half = ((int16_t *)c)[i];	/* C[0][i / 2]'s halves */
			int32_t want = x[i] + half;

			want = want > 32767 ? 32767 : want < -32768 ? -32768 : want;
			CHECK(sum[i] == want, "run %d: sum[%d] = %d, want %d", run, i, sum[i],
			      want);
		}
	}
	vitrt_joblist_free(list);
	v->param[1] = 63;	/* a shift the device refuses: the whole list is */
	CHECK(!vitrt_joblist_new(dev, jobs, 2, &err) && err == VITRT_EINVAL, "bad job kept");
	CHECK(!vitrt_joblist_new(dev, jobs, 0, &err) && err == VITRT_EINVAL, "empty list");
}

TEST(inputs_may_share_bytes)
{
	struct vitrt_gemm j = good_job();
	uint64_t fence;

	j.b.offset = 0;
	CHECK(!vitrt_submit(dev, &j, 1, &fence) && !vitrt_wait(dev, fence, UINT64_MAX, NULL),
	      "A = B refused");
}

/* A fresh sealed buffer of weights B[k][n] = (k * 8 + n) * @scale - 20, 8 x 8. */
static struct vitrt_buf *sealed_weights(int scale)
{
	int err;
	struct vitrt_buf *w = vitrt_buf_new(dev, 4096, &err);
	int8_t *b = vitrt_buf_map(w);

	for (int i = 0; i < 64; i++)
		b[i] = (int8_t)(i * scale - 20);
	CHECK(vitrt_buf_seal(w) == 0 && vitrt_buf_seal(w) == 0, "seal (twice)");
	return w;
}

/* good_job with B in @w: C is A times the weights, whether packed now or kept packed. */
static void check_weights_job(struct vitrt_buf *w, int scale, const char *what)
{
	struct vitrt_gemm j = good_job();
	const int8_t *a = vitrt_buf_map(buf);
	const int32_t *c = (const int32_t *)((const uint8_t *)vitrt_buf_map(buf) + 128);
	uint64_t fence;
	int bad = 0;

	j.b = (struct vitrt_mat){ w, 0, 8 };
	CHECK(!vitrt_submit(dev, &j, 1, &fence) && !vitrt_wait(dev, fence, UINT64_MAX, NULL),
	      "%s: job failed", what);
	for (int m = 0; m < 8; m++) {
		for (int n = 0; n < 8; n++) {
			int32_t want = 0;

			for (int k = 0; k < 8; k++)
				want += a[m * 8 + k] * (int8_t)((k * 8 + n) * scale - 20);
			bad += c[m * 8 + n] != want;
		}
	}
	CHECK(!bad, "%s: %d of 64 results wrong", what, bad);
}

/*
 * Weights in a sealed buffer: the device keeps them packed, results stay exact; a job may not
 * write into it; a buffer sealed after the first one was freed (often at the same address)
 * gets its own packing, not the freed one's.
 */
TEST(sealed_buffers_keep_weights)
{
	struct vitrt_buf *w = sealed_weights(1);
	struct vitrt_gemm j = good_job();
	uint64_t fence;

	check_weights_job(w, 1, "first job");
	check_weights_job(w, 1, "second job");
	j.c = (struct vitrt_mat){ w, 128, 32 };
	CHECK(vitrt_submit(dev, &j, 1, &fence) == VITRT_EINVAL, "C in a sealed buffer accepted");
	vitrt_buf_del(w);
	w = sealed_weights(3);
	check_weights_job(w, 3, "new weights");
	vitrt_buf_del(w);
}

/* ---- the pool ---- */

#define ITEMS 1000

static _Atomic uint32_t seen[ITEMS];
static pthread_t owner[ITEMS];		/* the thread that ran each item of a split */
static _Atomic uint32_t nested_inline;

static void count_task(void *arg, uint32_t t)
{
	(void)arg;
	atomic_fetch_add(&seen[t], 1);
}

static void count_range(void *arg, uint32_t lo, uint32_t hi)
{
	const uint32_t *align = arg;

	for (uint32_t i = lo; i < hi; i++) {
		atomic_fetch_add(&seen[i], 1);
		owner[i] = pthread_self();
	}
	/* cut at multiples of the alignment, except the end of the last range */
	if (lo % *align || (hi % *align && hi != ITEMS))
		atomic_fetch_add(&seen[0], 100);
}

static void nested_task(void *arg, uint32_t t)
{
	(void)arg, (void)t;
	vitrt_parallel(4, count_task, NULL);	/* from inside a region: runs here */
	atomic_fetch_add(&nested_inline, 1);
}

static int all_seen_once(void)
{
	for (uint32_t i = 0; i < ITEMS; i++)
		if (atomic_exchange(&seen[i], 0) != 1)
			return 0;
	return 1;
}

/*
 * Every task once on 3 threads; a split covers [0, ITEMS) once in aligned ranges, the same
 * range on the same thread every time, on as many threads as asked; nested regions run inline.
 */
TEST(pool_runs_every_task_once_and_splits_stably)
{
	uint32_t align = 8, threads = 0;
	pthread_t first[ITEMS];

	vitrt_set_threads(3);
	vitrt_parallel(ITEMS, count_task, NULL);
	CHECK(all_seen_once(), "vitrt_parallel: a task ran twice or never");
	vitrt_parallel_split(ITEMS, align, count_range, &align);
	memcpy(first, owner, sizeof(first));
	CHECK(all_seen_once(), "split: an item ran twice or never, or a cut is not aligned");
	for (int round = 0; round < 20; round++) {
		vitrt_parallel_split(ITEMS, align, count_range, &align);
		CHECK(all_seen_once(), "split round %d", round);
		CHECK(!memcmp(first, owner, sizeof(first)), "round %d: a range moved thread", round);
	}
	for (uint32_t i = 1; i < ITEMS; i++)
		threads += !pthread_equal(first[i], first[i - 1]);
	CHECK(threads == 2, "%u thread changes along the items, not 2", threads);
	vitrt_parallel(4, nested_task, NULL);
	CHECK(atomic_load(&nested_inline) == 4, "nested regions");
	for (uint32_t t = 0; t < 4; t++)
		atomic_store(&seen[t], 0);
	vitrt_set_threads(0);
}

/* CPUs each pool thread may run on, as it takes its range of a split (range t: thread t). */
static uint32_t thread_cpus[VITRT_MAX_THREADS];

static void cpus_range(void *arg, uint32_t lo, uint32_t hi)
{
	cpu_set_t set;

	(void)arg, (void)hi;
	thread_cpus[lo] = pthread_getaffinity_np(pthread_self(), sizeof(set), &set) ? 0 :
			  (uint32_t)CPU_COUNT(&set);
}

/*
 * vitrt_pin_caller takes the kernel's CPU lists and nothing else; a pinned caller runs on the
 * CPU named, while the thread count and the workers started after the pin keep every CPU.
 */
TEST(pinned_caller_leaves_the_pool_every_cpu)
{
	static const char *const bad[] = { "", "x", "-1", "1-", "3-1", "0,", ",0", "0 ", " 0",
					   "+0", "0-1024", "1024", "0\n1", "99999999999999999999" };
	cpu_set_t all, now;
	uint32_t cpu = 99, n, first = 0;
	char list[16];

	CHECK(!pthread_getaffinity_np(pthread_self(), sizeof(all), &all), "affinity");
	n = (uint32_t)CPU_COUNT(&all);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(vitrt_pin_caller(bad[i], &cpu) == VITRT_EINVAL, "'%s' is no CPU list", bad[i]);
	while (!CPU_ISSET(first, &all))
		first++;
	if (!CPU_ISSET(1023, &all))
		CHECK(vitrt_pin_caller("1023", &cpu) == VITRT_EUNSUPPORTED, "a CPU not ours");
	CHECK(!pthread_getaffinity_np(pthread_self(), sizeof(now), &now) && CPU_EQUAL(&now, &all),
	      "a refused pin changed the affinity");

	snprintf(list, sizeof(list), "%u\n", first);
	CHECK(!vitrt_pin_caller(list, &cpu) && cpu == first, "pin to CPU %u: %u", first, cpu);
	CHECK(!pthread_getaffinity_np(pthread_self(), sizeof(now), &now) && CPU_COUNT(&now) == 1 &&
	      CPU_ISSET(first, &now), "the caller runs on CPU %u", first);
	CHECK(vitrt_threads() == n, "%u threads by default when pinned, not %u", vitrt_threads(), n);
	/* a pool of n + 1 threads, then one of n + 2: all its workers start after the pin */
	vitrt_set_threads(n + 1);
	vitrt_parallel_split(n + 1, 1, cpus_range, NULL);
	vitrt_set_threads(n + 2);
	vitrt_parallel_split(n + 2, 1, cpus_range, NULL);
	CHECK(thread_cpus[0] == 1, "the caller's region task on %u CPUs", thread_cpus[0]);
	for (uint32_t t = 1; t <= n + 1; t++)
		CHECK(thread_cpus[t] == n, "worker %u on %u CPUs, not %u", t, thread_cpus[t], n);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	vitrt_set_threads(0);
}

/* What the tracer saw of each job, while the job's results were fresh. */
#define TRACED_JOBS 3
static struct traced {
	struct vitrt_trace_event ev;
	bool own_c, next_c;	/* the job's C written; the next job's */
} traced[TRACED_JOBS + 1];
static uint32_t ntraced;

/* C of traced job @i (8 x 8 s32, 256 bytes apart): written when not all zero. */
static bool c_written(uint32_t i)
{
	const int32_t *c = (const int32_t *)((const uint8_t *)vitrt_buf_map(buf) + 1024 + 256 * i);

	for (int e = 0; e < 64; e++)
		if (c[e])
			return true;
	return false;
}

static void on_trace(void *arg, const struct vitrt_trace_event *ev)
{
	struct traced *t = &traced[ntraced < TRACED_JOBS ? ntraced : TRACED_JOBS];

	(void)arg;
	ntraced++;
	t->ev = *ev;
	t->own_c = c_written(ev->jobs);
	t->next_c = ev->jobs + 1 < TRACED_JOBS && c_written(ev->jobs + 1);
}

/*
 * The in-process device reports each job right after it ran and before the next one starts
 * (a tool reads the job's operands there), with the model's cycles; without a tracer, nothing.
 */
TEST(tracer_sees_each_job_after_it_ran)
{
	struct vitrt_gemm jobs[TRACED_JOBS];
	int8_t *a = vitrt_buf_map(buf);
	uint64_t fence;

	for (int i = 0; i < 128; i++)
		a[i] = (int8_t)(i % 13 + 1);
	memset(a + 1024, 0, 256 * TRACED_JOBS);
	for (uint32_t i = 0; i < TRACED_JOBS; i++) {
		jobs[i] = good_job();
		jobs[i].c.offset = 1024 + 256 * i;
	}
	vitrt_dev_set_tracer(dev, &(struct vitrt_tracer){ .event = on_trace });
	CHECK(vitrt_submit(dev, jobs, TRACED_JOBS, &fence) == 0, "submit");
	CHECK(vitrt_wait(dev, fence, 0, NULL) == 0, "wait");
	CHECK(ntraced == TRACED_JOBS, "%u events for %u jobs", ntraced, TRACED_JOBS);
	for (uint32_t i = 0; i < TRACED_JOBS && i < ntraced; i++) {
		const struct vitrt_trace_event *ev = &traced[i].ev;

		CHECK(ev->kind == VITRT_TRACE_JOB && ev->jobs == i && ev->dev == dev, "job %u", i);
		CHECK(ev->step == VITRT_TRACE_NONE && !ev->flags && !ev->status,
		      "job %u: of no program, measured", i);
		CHECK(ev->cycles == vitrt_gemm_cycles(dev, 8, 8, 8), "job %u: %lu cycles", i,
		      ev->cycles);
		CHECK(ev->t0 <= ev->t1 && (!i || traced[i - 1].ev.t1 <= ev->t0), "job %u: times", i);
		CHECK(traced[i].own_c && !traced[i].next_c, "job %u: reported between jobs", i);
	}
	vitrt_dev_set_tracer(dev, NULL);
	ntraced = 0;
	CHECK(vitrt_submit(dev, jobs, TRACED_JOBS, &fence) == 0 && !ntraced, "untraced");
}

TEST(close)
{
	vitrt_buf_del(buf);
	vitrt_buf_del(small);
	vitrt_dev_close(dev);
}

TAP_MAIN
