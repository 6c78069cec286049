/* SPDX-License-Identifier: MIT */
/* libvitrt internals: the backend ops table and the objects behind the opaque handles. */
#ifndef VITRT_PRIV_H
#define VITRT_PRIV_H

#include <stdbool.h>

#include "vitrt.h"
#include "vitrt_desc.h"
#include "vitrt_trace.h"

struct vitrt_dataset;
struct vitrt_trace_sub;
struct vitrt_prep;

struct vitrt_backend_ops {
	const char *name;
	/* Fill dev->info and dev->priv; @path is the device node (dev backend) or NULL. */
	int (*open)(struct vitrt_dev *dev, const char *path);
	void (*close)(struct vitrt_dev *dev);
	/* Allocate @buf->size bytes (may round up), set buf->map and buf->handle. */
	int (*buf_alloc)(struct vitrt_dev *dev, struct vitrt_buf *buf);
	void (*buf_free)(struct vitrt_dev *dev, struct vitrt_buf *buf);
	/* Optional: @buf's contents will not change again (vitrt_buf_seal). */
	int (*buf_seal)(struct vitrt_dev *dev, struct vitrt_buf *buf);
	/* @count jobs, already checked against their buffers, in the backend's form in *@be. */
	int (*prepare)(struct vitrt_dev *dev, const struct vitrt_job *jobs, unsigned count,
		       void **be);
	/*
	 * Queue the @count prepared jobs of @be, in order.  @ts: NULL, or a traced submission
	 * whose jobs a backend with times_jobs reports itself (vitrt_trace_job) as they run.
	 */
	int (*submit)(struct vitrt_dev *dev, void *be, unsigned count, uint64_t *fence,
		      const struct vitrt_trace_sub *ts);
	void (*release)(struct vitrt_dev *dev, void *be);
	int (*wait)(struct vitrt_dev *dev, uint64_t fence, uint64_t timeout_ns,
		    struct vitrt_job_error *jerr);
	/*
	 * Optional: report the @count jobs of @be, submitted up to @fence and waited for, from
	 * the driver's times (VITRT_TRACE_DRIVER); VITRT_EUNSUPPORTED (nothing reported) when
	 * it has none, and they are placed within the submission.
	 */
	int (*trace_jobs)(struct vitrt_dev *dev, void *be, unsigned count, uint64_t fence,
			  const struct vitrt_trace_sub *ts);
	bool times_jobs;	/* submit reports each job; else they are placed after the wait */
	/* Optional: the CPUs that take the device's completion interrupt, as a CPU list. */
	int (*irq_cpus)(struct vitrt_dev *dev, char *list, size_t cap);
};

struct vitrt_dev {
	const struct vitrt_backend_ops *ops;
	struct vitrt_dev_info info;
	char path[64];
	void *priv;
	struct vitrt_tracer tracer;	/* event NULL: not traced */
};

struct vitrt_buf {
	struct vitrt_dev *dev;
	void *map;
	size_t size;
	uint32_t handle;	/* backend's name for it */
	bool sealed;		/* vitrt_buf_seal: jobs may not write to it */
	struct vitrt_buf *next;	/* sim: list of live buffers */
};

/* 0 if vitrt_submit_jobs would take @j, else why not (VITRT_EINVAL, VITRT_EUNSUPPORTED). */
int vitrt_job_check(const struct vitrt_dev *dev, const struct vitrt_job *j);

/* Modeled device cycles of @j on @dev (the hw cycle model: array, or vector unit). */
uint64_t vitrt_job_cycles(const struct vitrt_dev *dev, const struct vitrt_job *j);

/* ---- tracing (vitrt_trace.h; vitrt_trace.c) ---- */

/* Where a job of a program's run came from: its trace event's step, op and image. */
struct vitrt_job_origin {
	uint32_t step, op, image;
};

/* A traced submission as its backend sees it: the device to report to and its jobs. */
struct vitrt_trace_sub {
	const struct vitrt_dev *dev;
	const struct vitrt_job *jobs;
	const struct vitrt_job_origin *org;	/* NULL: the jobs of no program */
};

/* Hand @ev to @dev's tracer (which is set). */
void vitrt_trace_emit(const struct vitrt_dev *dev, const struct vitrt_trace_event *ev);
/* Job @i of @ts ran from @t0 to @t1. */
void vitrt_trace_job(const struct vitrt_trace_sub *ts, unsigned i, uint64_t t0, uint64_t t1,
		     uint64_t cycles, uint32_t status, uint32_t flags);
/*
 * The @count jobs of @ts were submitted at @t0 and waited for until @t1; with @place, report
 * each job too, placed within that span by its modeled cycles (the backend timed none).
 */
void vitrt_trace_submit(const struct vitrt_trace_sub *ts, unsigned count, uint64_t t0,
			uint64_t t1, bool place);
/* Jobs [@first, @first + @count) of @ts placed across [@t0, @t1] by cycles, with @flags too. */
void vitrt_trace_place(const struct vitrt_trace_sub *ts, unsigned first, unsigned count,
		       uint64_t t0, uint64_t t1, uint32_t flags);

/*
 * A job list (vitrt_joblist_new) that, made on a traced device, keeps a copy of @jobs and of
 * @org (NULL: jobs of no program) for its events.
 */
struct vitrt_joblist *vitrt_joblist_make(struct vitrt_dev *dev, const struct vitrt_job *jobs,
					 const struct vitrt_job_origin *org, unsigned count,
					 int *err);
/* @l was made on a traced device: its runs report their jobs. */
bool vitrt_joblist_traced(const struct vitrt_joblist *l);
/* Submit @l and wait for it (no timeout); traced, report the submission and its jobs. */
int vitrt_joblist_run(struct vitrt_joblist *l, struct vitrt_job_error *jerr);

/*
 * "<path>: <problem>" into @msg (cap bytes, may be 0) for every reader of files; returns @err so
 * callers can `return vitrt_file_error(...)`.
 */
int vitrt_file_error(char *msg, size_t cap, int err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Datasets in folders (vitrt_folder.c), behind vitrt_dataset_open_path / _get / _close. */
struct vitrt_dataset *vitrt_folder_open(const char *root, int *err, char *msg, size_t cap);
void vitrt_folder_close(struct vitrt_dataset *ds);
int vitrt_folder_get(const struct vitrt_dataset *ds, uint32_t i, const struct vitrt_prep *p,
		     uint8_t *pix, int32_t *label, char *msg, size_t cap);

extern const struct vitrt_backend_ops vitrt_sim_ops;
extern const struct vitrt_backend_ops vitrt_kdev_ops;

#endif /* VITRT_PRIV_H */
