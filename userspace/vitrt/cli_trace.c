// SPDX-License-Identifier: MIT
/*
 * --trace FILE (run, eval, bench): the integer program's work as Chrome trace-event JSON, the
 * format ui.perfetto.dev and chrome://tracing open.  Every event is an "X" (complete) event,
 * ts and dur in microseconds (ns as decimals) from the moment the trace was opened:
 *
 *   pid 1 "host": one track per thread (its Linux tid) with the program's steps run on the
 *     host, and on the main thread one "batch" per call that classifies a batch;
 *   pid 2 + d "device d": per submitting thread T, a track of its submissions (tid
 *     T + (2d + 1) 2^22) and one of their jobs (tid T + (2d + 2) 2^22), each job with its
 *     cycles.  Above every Linux tid (PID_MAX_LIMIT is 2^22), and no tid in two processes:
 *     Perfetto can take a tid seen again under another pid for a new thread.
 *
 * The file is written as the events come: each is built as a jansson object, dumped and
 * freed (json_dumps), under a mutex.  A long eval makes millions of events, which as one
 * json_t tree would be held until the end.  The tracks' names ("M" events) follow the last
 * event, when every track is known.  Written to FILE.tmp and renamed when complete: a run
 * that fails leaves no half of a trace under FILE.
 */
#define _GNU_SOURCE	/* gettid, asprintf */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vitrt_cli.h"
#include "vitrt_infer.h"
#include "vitrt_prog.h"
#include "vitrt_trace.h"

#define HOST_PID	1
#define TID_SPAN	(1ll << 22)	/* PID_MAX_LIMIT: no thread's tid reaches it */

/* The track of device @d's submissions (@jobs: their jobs) from thread @tid. */
static long long dev_tid(uint32_t d, bool jobs, long long tid)
{
	return tid + (2ll * d + 1 + jobs) * TID_SPAN;
}

struct track {
	int pid;
	long long tid;
};

/* A batch in flight: when it was submitted, its first image. */
struct flight {
	uint64_t at;
	uint32_t first;
};

struct cli_trace {
	FILE *f;
	char *path, *tmp;
	struct vitrt_infer *inf;
	pthread_mutex_t lock;		/* the file, the tracks, the devices, err */
	uint64_t t0;			/* ns: the trace's zero */
	uint32_t first;			/* the last submitted batch's first image, from 0 */
	uint32_t next;			/* the first image of the next batch submitted */
	struct flight flight[VITRT_MAX_IN_FLIGHT];	/* the batches in flight, oldest first */
	uint32_t inflight;
	const struct vitrt_dev *devs[VITRT_MAX_DEVICES];
	uint32_t ndevs;
	struct track *tracks;
	uint32_t ntracks, cap;
	int err;			/* ENOMEM or a write's errno: reported at close */
};

/* Index of device @dev, numbered as first seen (the lock held). */
static uint32_t dev_index(struct cli_trace *t, const struct vitrt_dev *dev)
{
	uint32_t d;

	for (d = 0; d < t->ndevs; d++)
		if (t->devs[d] == dev)
			return d;
	if (d < VITRT_MAX_DEVICES)
		t->devs[t->ndevs++] = dev;
	return d;
}

/* Remember track (@pid, @tid) for its name at the end (the lock held). */
static void track_seen(struct cli_trace *t, int pid, long long tid)
{
	struct track *n;

	for (uint32_t i = 0; i < t->ntracks; i++)
		if (t->tracks[i].pid == pid && t->tracks[i].tid == tid)
			return;
	if (t->ntracks == t->cap) {
		n = realloc(t->tracks, sizeof(*n) * (t->cap ? 2 * t->cap : 16));
		if (!n) {
			t->err = ENOMEM;
			return;
		}
		t->tracks = n;
		t->cap = t->cap ? 2 * t->cap : 16;
	}
	t->tracks[t->ntracks++] = (struct track){ .pid = pid, .tid = tid };
}

/* @ns after the trace's zero, in us. */
static json_t *us(const struct cli_trace *t, uint64_t ns)
{
	return json_real((double)(ns > t->t0 ? ns - t->t0 : 0) / 1000.0);
}

/* Event @e (taken; NULL: out of memory) on track (@pid, @tid), one line of the file. */
static void put(struct cli_trace *t, json_t *e, int pid, long long tid)
{
	char *line = NULL;

	if (e && !json_object_set_new(e, "pid", json_integer(pid)) &&
	    !json_object_set_new(e, "tid", json_integer(tid)))
		line = json_dumps(e, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(e);
	pthread_mutex_lock(&t->lock);
	if (!line)
		t->err = ENOMEM;
	else if (fprintf(t->f, ",\n%s", line) < 0)
		t->err = errno;
	track_seen(t, pid, tid);
	pthread_mutex_unlock(&t->lock);
	free(line);
}

/* An "X" event from @a to @b with @args (taken). */
static json_t *complete(const struct cli_trace *t, const char *name, const char *cat,
			uint64_t a, uint64_t b, json_t *args)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "name", name, "cat", cat, "ph", "X",
			 "ts", us(t, a), "dur", json_real((double)(b > a ? b - a : 0) / 1000.0),
			 "args", args);
}

/* The image of the whole run that the batch's image @slot is. */
static json_int_t image_of(const struct cli_trace *t, uint32_t slot)
{
	return (json_int_t)t->first + slot;
}

/* A job's shape: m, n, k of a GEMM, rows and cols of a vector job. */
static int job_shape(json_t *args, const struct vitrt_job *j)
{
	if (j->kind == VITRT_JOB_GEMM)
		return json_object_update_new(args, json_pack("{s:I, s:I, s:I}",
			"m", (json_int_t)j->gemm.m, "n", (json_int_t)j->gemm.n,
			"k", (json_int_t)j->gemm.k));
	return json_object_update_new(args, json_pack("{s:I, s:I, s:I}",
		"vop", (json_int_t)j->vec.op, "rows", (json_int_t)j->vec.rows,
		"cols", (json_int_t)j->vec.cols));
}

/* Where a job's times come from (vitrt_trace.h): the args' "timing". */
static const char *timing(uint32_t flags)
{
	if (flags & VITRT_TRACE_DRIVER)
		return flags & VITRT_TRACE_PLACED ?
		       "placed by cycles within the driver's times of its list" :
		       "the driver's times of its ring job";
	return flags & VITRT_TRACE_PLACED ? "placed by cycles within the submission" :
	       "measured";
}

/* A job's args: what ran, its cycles, where it came from; NULL when out of memory. */
static json_t *job_args(const struct cli_trace *t, const struct vitrt_trace_event *ev)
{
	json_t *args = json_pack("{s:s, s:I, s:I, s:I, s:s}",
		"kind", ev->job->kind == VITRT_JOB_GEMM ? "gemm" : "vector",
		"index", (json_int_t)ev->jobs, "cycles", (json_int_t)ev->cycles,
		"status", (json_int_t)ev->status,
		"timing", timing(ev->flags));
	int err = !args || job_shape(args, ev->job);

	if (!err && ev->step != VITRT_TRACE_NONE)
		err = json_object_update_new(args, json_pack("{s:I, s:I}",
			"step", (json_int_t)ev->step, "image", image_of(t, ev->image)));
	if (err) {
		json_decref(args);
		return NULL;
	}
	return args;
}

/* A job, named by its step's op (or its kind, for a job of no program). */
static json_t *job_event(const struct cli_trace *t, const struct vitrt_trace_event *ev)
{
	const char *name = ev->job->kind == VITRT_JOB_GEMM ? "gemm" : "vector";

	if (ev->step != VITRT_TRACE_NONE)
		name = vitrt_op_name(ev->op);
	/* json_pack refuses a NULL args: out of memory comes out as NULL */
	return complete(t, name, "job", ev->t0, ev->t1, job_args(t, ev));
}

static void on_event(void *arg, const struct vitrt_trace_event *ev)
{
	struct cli_trace *t = arg;
	long long tid = gettid();
	uint32_t d;

	if (ev->kind == VITRT_TRACE_STEP) {
		put(t, complete(t, vitrt_op_name(ev->op), "host", ev->t0, ev->t1,
				json_pack("{s:I, s:I}", "step", (json_int_t)ev->step,
					  "image", image_of(t, ev->image))), HOST_PID, tid);
		return;
	}
	pthread_mutex_lock(&t->lock);
	d = dev_index(t, ev->dev);
	pthread_mutex_unlock(&t->lock);
	if (ev->kind == VITRT_TRACE_SUBMIT)
		put(t, complete(t, "submission", "device", ev->t0, ev->t1,
				json_pack("{s:I}", "jobs", (json_int_t)ev->jobs)), 2 + (int)d,
		    dev_tid(d, false, tid));
	else
		put(t, job_event(t, ev), 2 + (int)d, dev_tid(d, true, tid));
}

struct cli_trace *cli_trace_open(const char *path, struct vitrt_infer *inf, const char *cmd)
{
	struct cli_trace *t = calloc(1, sizeof(*t));

	/* asprintf leaves its pointer undefined when it fails */
	if (t && (t->path = strdup(path)) && asprintf(&t->tmp, "%s.tmp", path) < 0)
		t->tmp = NULL;
	if (!t || !t->path || !t->tmp) {
		die("%s: out of memory", cmd);
		goto fail;
	}
	t->f = fopen(t->tmp, "w");
	if (!t->f) {
		die("%s: %s: %s", cmd, t->tmp, strerror(errno));
		goto fail;
	}
	/* the events follow with a comma each: the first element is the trace's own name */
	fprintf(t->f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n"
		"{\"name\": \"process_name\", \"ph\": \"M\", \"ts\": 0, \"pid\": %d, \"tid\": 0, "
		"\"args\": {\"name\": \"host\"}}", HOST_PID);
	pthread_mutex_init(&t->lock, NULL);
	t->inf = inf;
	t->t0 = vitrt_trace_now();
	vitrt_infer_set_tracer(inf, &(struct vitrt_tracer){ .event = on_event, .arg = t });
	return t;
fail:
	if (t) {
		free(t->tmp);
		free(t->path);
	}
	free(t);
	return NULL;
}

/* A "batch" event on the host's track: @count images from @first, from @a until now. */
static void put_batch(struct cli_trace *t, uint64_t a, uint32_t first, uint32_t count)
{
	put(t, complete(t, "batch", "host", a, vitrt_trace_now(),
			json_pack("{s:I, s:I}", "first_image", (json_int_t)first,
				  "images", (json_int_t)count)), HOST_PID, gettid());
}

/* A batch of @count images is submitted: its jobs' events name images from t->first. */
static void submitting(struct cli_trace *t, uint32_t count)
{
	t->first = t->next;
	t->next += count;
}

int cli_trace_run_batch(struct cli_trace *t, struct vitrt_infer *inf, const uint8_t *pix,
			uint32_t count, struct vitrt_result *r)
{
	uint64_t a;
	int err;

	if (!t || t->inf != inf)
		return vitrt_infer_run_batch(inf, pix, count, r);
	a = vitrt_trace_now();
	submitting(t, count);
	err = vitrt_infer_run_batch(inf, pix, count, r);
	put_batch(t, a, t->first, count);
	return err;
}

int cli_trace_submit_batch(struct cli_trace *t, struct vitrt_infer *inf, const uint8_t *pix,
			   uint32_t count)
{
	uint64_t a = vitrt_trace_now();
	bool traced = t && t->inf == inf && t->inflight < VITRT_MAX_IN_FLIGHT;
	int err;

	if (traced)
		submitting(t, count);
	err = vitrt_infer_submit_batch(inf, pix, count);
	if (err && traced)
		t->next -= count;
	else if (traced)
		t->flight[t->inflight++] = (struct flight){ a, t->first };
	return err;
}

int cli_trace_collect_batch(struct cli_trace *t, struct vitrt_infer *inf,
			    struct vitrt_result *r, uint32_t *count)
{
	int err = vitrt_infer_collect_batch(inf, r, count);

	if (!t || t->inf != inf || !t->inflight)
		return err;
	put_batch(t, t->flight[0].at, t->flight[0].first, *count);
	memmove(t->flight, t->flight + 1, --t->inflight * sizeof(*t->flight));
	return err;
}

/* The name of the thread @tid in the track names. */
static void thread_name(char *buf, size_t cap, long long tid)
{
	if (tid == getpid())
		snprintf(buf, cap, "main thread");
	else
		snprintf(buf, cap, "thread %lld", tid);
}

/* The "M" event naming @what (process_name, thread_name) of (@pid, @tid) @name. */
static void meta(struct cli_trace *t, const char *what, int pid, long long tid, const char *name)
{
	put(t, json_pack("{s:s, s:s, s:i, s:{s:s}}", "name", what, "ph", "M", "ts", 0,
			 "args", "name", name), pid, tid);
}

/* Every track's name, and each device's. */
static void names(struct cli_trace *t)
{
	uint32_t n = t->ntracks;
	char th[64], name[192];

	for (uint32_t d = 0; d < t->ndevs; d++) {
		const struct vitrt_dev_info *di = vitrt_dev_info(t->devs[d]);

		snprintf(name, sizeof(name), "device %u: %s %s", d, di->backend, di->path);
		meta(t, "process_name", 2 + (int)d, 0, name);
	}
	/* meta() adds tracks (the process names'): only those seen before are threads */
	for (uint32_t i = 0; i < n; i++) {
		struct track k = t->tracks[i];
		/* device d's tracks: (2d + 1) 2^22 above the thread, + 2^22 for the jobs */
		bool jobs = k.pid != HOST_PID && (k.tid / TID_SPAN) % 2 == 0;

		thread_name(th, sizeof(th), k.tid % TID_SPAN);
		if (k.pid == HOST_PID)
			snprintf(name, sizeof(name), "%s", th);
		else
			snprintf(name, sizeof(name), "%s from %s", jobs ? "jobs" : "submissions", th);
		meta(t, "thread_name", k.pid, k.tid, name);
	}
}

int cli_trace_close(struct cli_trace *t, bool keep)
{
	int ret = 0;

	if (!t)
		return 0;
	vitrt_infer_set_tracer(t->inf, NULL);
	if (keep)
		names(t);
	if (fprintf(t->f, "\n]}\n") < 0 && !t->err)
		t->err = errno;
	if ((ferror(t->f) | fclose(t->f)) && !t->err)
		t->err = errno ? errno : EIO;
	if (keep && t->err)
		ret = die("--trace: %s: %s", t->tmp, strerror(t->err));
	else if (keep && rename(t->tmp, t->path))
		ret = die("--trace: %s: %s", t->path, strerror(errno));
	if (!keep || ret)
		unlink(t->tmp);
	pthread_mutex_destroy(&t->lock);
	free(t->tracks);
	free(t->tmp);
	free(t->path);
	free(t);
	return ret;
}
