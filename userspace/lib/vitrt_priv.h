/* SPDX-License-Identifier: MIT */
/* libvitrt internals: the backend ops table and the objects behind the opaque handles. */
#ifndef VITRT_PRIV_H
#define VITRT_PRIV_H

#include <stdbool.h>

#include "vitrt.h"

struct vitrt_dataset;
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
	/* Queue the @count prepared jobs of @be, in order. */
	int (*submit)(struct vitrt_dev *dev, void *be, unsigned count, uint64_t *fence);
	void (*release)(struct vitrt_dev *dev, void *be);
	int (*wait)(struct vitrt_dev *dev, uint64_t fence, uint64_t timeout_ns,
		    struct vitrt_job_error *jerr);
};

struct vitrt_dev {
	const struct vitrt_backend_ops *ops;
	struct vitrt_dev_info info;
	char path[64];
	void *priv;
};

struct vitrt_buf {
	struct vitrt_dev *dev;
	void *map;
	size_t size;
	uint32_t handle;	/* backend's name for it */
	bool sealed;		/* vitrt_buf_seal: jobs may not write to it */
	struct vitrt_buf *next;	/* sim: list of live buffers */
};

struct vitsa_hw_desc;
/* @j as the device's descriptor, with its buffers' mappings for addresses (the sim device's). */
void vitrt_job_desc(struct vitsa_hw_desc *d, const struct vitrt_job *j, uint64_t seq);
/* 0 if vitrt_submit_jobs would take @j, else why not (VITRT_EINVAL, VITRT_EUNSUPPORTED). */
int vitrt_job_check(const struct vitrt_dev *dev, const struct vitrt_job *j);

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
