// SPDX-License-Identifier: MIT
/* Classifying images with the integer program or the FP32 reference (vitrt_infer.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrt_image.h"
#include "vitrt_infer.h"
#include "vitrt_pool.h"
#include "vitrt_trace.h"
#include "vitrt_vit.h"

/* One image of a batch: its session and outputs (slot 0 is the single image's). */
struct slot {
	struct vitrt_session *sess;	/* integer program, on device (index % devices) */
	bool own;			/* sess is the slot's (else a device's first) */
	int16_t *raw;
	float *logits, *prob;
	const uint8_t *pix;		/* the image of the run in progress */
	struct vitrt_result *r;
	int err;
};

struct vitrt_infer {
	/* integer program */
	struct vitrt_prog *prog;
	struct vitrt_dev *dev;
	struct vitrt_session *sess;
	int16_t *raw;
	struct slot *slots;		/* batch slots of every set (slot 0 is the single image's) */
	uint32_t batch;
	/*
	 * Batches in flight (vitrt_infer_submit_batch): on one device that runs a batch as one
	 * submission, two sets of slots take turns, so that the device computes one batch while
	 * the host collects the other and copies the next in; else one set, run at submit.
	 */
	uint32_t sets, head, inflight;	/* sets of slots; the oldest in flight; how many */
	uint32_t counts[VITRT_MAX_IN_FLIGHT];	/* images of each set's batch */
	struct vitrt_result res[VITRT_MAX_BATCH];	/* a run-at-submit batch's, for collect */
	/* devices beyond the first, each with the session of its first slot */
	struct vitrt_dev *devs[VITRT_MAX_DEVICES];
	struct vitrt_session *dev_sess[VITRT_MAX_DEVICES];
	uint32_t ndevs;			/* 1 + those */
	uint32_t count;			/* images of the batch being run */
	int32_t submitter_cpu;		/* vitrt_infer_pin_submitter's CPU, or -1 */
	/* FP32 reference */
	struct vitrt_vit *vit;
	float *input;
	/* both */
	uint32_t size, chans, classes;
	char *const *labels;
	float *logits, *prob;
};

static int alloc_outputs(struct vitrt_infer *inf)
{
	inf->logits = calloc(inf->classes, sizeof(float));
	inf->prob = calloc(inf->classes, sizeof(float));
	return inf->logits && inf->prob ? 0 : VITRT_ENOMEM;
}

/* An empty infer: one image at a time, one set of slots. */
static struct vitrt_infer *infer_new(int *err, char *msg, size_t cap)
{
	struct vitrt_infer *inf = calloc(1, sizeof(*inf));

	if (!inf) {
		*err = VITRT_ENOMEM;
		snprintf(msg, cap, "out of memory");
		return NULL;
	}
	inf->batch = inf->sets = 1;
	inf->submitter_cpu = -1;
	return inf;
}

struct vitrt_infer *vitrt_infer_int(const char *model, const char *backend, int *err,
				    char *msg, size_t cap)
{
	struct vitrt_infer *inf = infer_new(err, msg, cap);

	if (!inf)
		return NULL;
	inf->prog = vitrt_prog_load(model, err, msg, cap);
	if (!inf->prog)
		goto fail;
	inf->size = inf->prog->info.img;
	inf->chans = inf->prog->info.chans;
	inf->classes = inf->prog->info.classes;
	inf->labels = inf->prog->labels;
	inf->dev = vitrt_dev_open(backend, err);
	if (!inf->dev) {
		snprintf(msg, cap, "backend '%s': %s", backend ? backend : "auto", vitrt_strerror(*err));
		goto fail;
	}
	inf->ndevs = 1;
	inf->sess = vitrt_session_new(inf->dev, inf->prog, err);
	if (!inf->sess) {
		snprintf(msg, cap, "%s: cannot set up on the device: %s", model, vitrt_strerror(*err));
		goto fail;
	}
	inf->raw = calloc(inf->classes, sizeof(*inf->raw));
	*err = inf->raw ? alloc_outputs(inf) : VITRT_ENOMEM;
	if (!*err)
		return inf;
	snprintf(msg, cap, "out of memory");
fail:
	vitrt_infer_free(inf);
	return NULL;
}

struct vitrt_infer *vitrt_infer_fp32(const char *ckpt, const struct vitrt_vit_opts *o, int *err,
				     char *msg, size_t cap)
{
	struct vitrt_infer *inf = infer_new(err, msg, cap);

	if (!inf)
		return NULL;
	inf->vit = vitrt_vit_load_opts(ckpt, o, err, msg, cap);
	if (!inf->vit) {
		vitrt_infer_free(inf);
		return NULL;
	}
	inf->size = inf->vit->cfg.img;
	inf->chans = inf->vit->cfg.chans;
	inf->classes = inf->vit->cfg.classes;
	inf->labels = inf->vit->labels;
	inf->input = malloc((size_t)inf->chans * inf->size * inf->size * sizeof(float));
	*err = inf->input ? alloc_outputs(inf) : VITRT_ENOMEM;
	if (*err) {
		snprintf(msg, cap, "out of memory");
		vitrt_infer_free(inf);
		return NULL;
	}
	return inf;
}

/* Slots @from (> 0: slot 0 is @inf's own) .. @to - 1. */
static void free_slot_range(struct vitrt_infer *inf, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; inf->slots && i < to; i++) {
		if (inf->slots[i].own)
			vitrt_session_free(inf->slots[i].sess);
		free(inf->slots[i].raw);
		free(inf->slots[i].logits);
		free(inf->slots[i].prob);
		inf->slots[i] = (struct slot){ 0 };
	}
}

static void free_slots(struct vitrt_infer *inf)
{
	free_slot_range(inf, 1, inf->batch * inf->sets);
	free(inf->slots);
	inf->slots = NULL;
	inf->batch = inf->sets = 1;
}

void vitrt_infer_free(struct vitrt_infer *inf)
{
	if (!inf)
		return;
	free_slots(inf);
	for (uint32_t d = 1; d < inf->ndevs; d++) {
		vitrt_session_free(inf->dev_sess[d]);
		vitrt_dev_close(inf->devs[d]);
	}
	vitrt_session_free(inf->sess);
	vitrt_dev_close(inf->dev);
	vitrt_prog_free(inf->prog);
	vitrt_vit_free(inf->vit);
	free(inf->raw);
	free(inf->input);
	free(inf->logits);
	free(inf->prob);
	free(inf);
}

/* Softmax for printing, and the top classes (by the logits, ties to the lower class). */
static void rank(uint32_t classes, const float *logits, float *prob, struct vitrt_result *r)
{
	float max = -INFINITY;
	double sum = 0;

	for (uint32_t c = 0; c < classes; c++)
		max = fmaxf(max, logits[c]);
	for (uint32_t c = 0; c < classes; c++)
		sum += prob[c] = expf(logits[c] - max);
	for (uint32_t c = 0; c < classes; c++)
		prob[c] = (float)(prob[c] / sum);
	for (uint32_t i = 0; i < VITRT_TOPK; i++) {
		uint32_t best = UINT32_MAX;

		for (uint32_t c = 0; c < classes; c++) {
			bool taken = false;

			for (uint32_t j = 0; j < i; j++)
				taken |= r->top[j] == c;
			if (!taken && (best == UINT32_MAX || logits[c] > logits[best]))
				best = c;
		}
		r->top[i] = best == UINT32_MAX ? 0 : best;
	}
	r->classes = classes;
	r->logits = logits;
	r->prob = prob;
}

/* Raw logits of the integer program dequantized and ranked. */
static void finish_int(const struct vitrt_infer *inf, const int16_t *raw, float *logits,
		       float *prob, struct vitrt_result *r)
{
	for (uint32_t c = 0; c < inf->classes; c++)
		logits[c] = raw[c] * inf->prog->info.logit_scale;
	rank(inf->classes, logits, prob, r);
}

/* The integer program on one slot's session. */
static int run_int(const struct vitrt_infer *inf, struct vitrt_session *sess, int16_t *raw,
		   float *logits, float *prob, const uint8_t *pix, struct vitrt_result *r)
{
	int err = vitrt_session_run(sess, pix, raw);

	if (!err)
		finish_int(inf, raw, logits, prob, r);
	return err;
}

int vitrt_infer_run(struct vitrt_infer *inf, const uint8_t *pix, struct vitrt_result *r)
{
	const struct vitrt_vit_config *c;
	int err;

	if (inf->inflight)	/* slot 0 may be the device's */
		return VITRT_EINVAL;
	if (inf->prog)
		return run_int(inf, inf->sess, inf->raw, inf->logits, inf->prob, pix, r);
	c = &inf->vit->cfg;
	vitrt_image_to_input(inf->input, pix, c->chans, c->chans, (size_t)c->img * c->img,
			     c->mean, c->std);
	err = vitrt_vit_forward(inf->vit, inf->input, inf->logits, NULL, NULL);
	if (!err)
		rank(inf->classes, inf->logits, inf->prob, r);
	return err;
}

int vitrt_infer_add_device(struct vitrt_infer *inf, const char *spec, char *msg, size_t cap)
{
	uint32_t d = inf->ndevs;
	int err;

	if (!inf->prog || inf->batch > 1 || d >= VITRT_MAX_DEVICES) {
		snprintf(msg, cap, "%s", !inf->prog ? "only the integer program runs on devices" :
			 inf->batch > 1 ? "devices go before the batch is set" :
			 "too many devices");
		return VITRT_EINVAL;
	}
	inf->devs[d] = vitrt_dev_open(spec, &err);
	if (!inf->devs[d]) {
		snprintf(msg, cap, "backend '%s': %s", spec, vitrt_strerror(err));
		return err;
	}
	inf->dev_sess[d] = vitrt_session_new(inf->devs[d], inf->prog, &err);
	if (!inf->dev_sess[d]) {
		snprintf(msg, cap, "%s: cannot set up the model: %s", spec, vitrt_strerror(err));
		vitrt_dev_close(inf->devs[d]);
		inf->devs[d] = NULL;
		return err;
	}
	inf->ndevs++;
	return 0;
}

void vitrt_infer_set_tracer(struct vitrt_infer *inf, const struct vitrt_tracer *tr)
{
	for (uint32_t d = 0; inf->prog && d < inf->ndevs; d++)
		vitrt_dev_set_tracer(d ? inf->devs[d] : inf->dev, tr);
}

uint32_t vitrt_infer_devices(const struct vitrt_infer *inf)
{
	return inf->ndevs ? inf->ndevs : 1;
}

/* Slot @i runs on device i % ndevs: that device's first slot owns its session. */
static int add_slot(struct vitrt_infer *inf, uint32_t i)
{
	struct slot *sl = &inf->slots[i];
	uint32_t place = i % inf->batch;
	uint32_t d = inf->prog ? i % inf->ndevs : 0;
	int err = 0;

	sl->logits = calloc(inf->classes, sizeof(*sl->logits));
	sl->prob = calloc(inf->classes, sizeof(*sl->prob));
	sl->raw = calloc(inf->classes, sizeof(*sl->raw));
	if (!sl->logits || !sl->prob || !sl->raw)
		return VITRT_ENOMEM;
	if (!inf->prog)
		return 0;
	if (d && i == d) {
		sl->sess = inf->dev_sess[d];
	} else {
		sl->sess = vitrt_session_new_shared(d ? inf->dev_sess[d] : inf->sess, &err);
		sl->own = sl->sess != NULL;
	}
	if (sl->sess)	/* trace events name the image by its place in the batch */
		vitrt_session_set_tag(sl->sess, place);
	return err;
}

/* The integer program on the in-process device. */
static bool in_process(const struct vitrt_infer *inf)
{
	return inf->prog && !strcmp(vitrt_dev_info(inf->dev)->backend, "sim");
}

/* More sets of slots pay: one device (not in-process) that runs a batch as one submission. */
static bool pipelined(const struct vitrt_infer *inf)
{
	return inf->prog && inf->ndevs == 1 && vitrt_session_whole(inf->sess) && !in_process(inf);
}

int vitrt_infer_set_batch(struct vitrt_infer *inf, uint32_t batch)
{
	uint32_t sets = pipelined(inf) ? VITRT_MAX_IN_FLIGHT : 1, n;
	int err = 0;

	if (!batch || batch > VITRT_MAX_BATCH || inf->inflight)
		return VITRT_EINVAL;
	free_slots(inf);
	inf->slots = calloc(batch * sets, sizeof(*inf->slots));
	if (!inf->slots)
		return VITRT_ENOMEM;
	inf->batch = batch;
	inf->sets = sets;
	inf->head = 0;
	/* slot 0 is the single image's, owned by @inf */
	inf->slots[0] = (struct slot){ .sess = inf->sess, .raw = inf->raw, .logits = inf->logits,
				       .prob = inf->prob };
	for (n = 1; n < batch && !err; n++)
		err = add_slot(inf, n);
	if (err) {
		inf->batch = n;		/* free_slots: slots 1..n-1, the failed one included */
		inf->sets = 1;
		free_slots(inf);
		return err;
	}
	/* the second set is only worth its memory: without it (EDQUOT, say), one batch at a time */
	for (; n < batch * sets && !err; n++)
		err = add_slot(inf, n);
	if (err) {
		free_slot_range(inf, batch, n);
		inf->sets = 1;
	}
	return 0;
}

/* FP32 image @i (> 0) of a batch, with the results copied into slot i. */
static int run_one_into_slot(struct vitrt_infer *inf, uint32_t i, const uint8_t *pix,
			     struct vitrt_result *r)
{
	struct slot *sl = &inf->slots[i];
	int err = vitrt_infer_run(inf, pix, r);

	if (err)
		return err;
	memcpy(sl->logits, r->logits, inf->classes * sizeof(*sl->logits));
	memcpy(sl->prob, r->prob, inf->classes * sizeof(*sl->prob));
	r->logits = sl->logits;
	r->prob = sl->prob;
	return 0;
}

/* Image t of a batch on its own slot (slot 0: the single image's session and outputs). */
static void batch_task(void *arg, uint32_t t)
{
	struct vitrt_infer *inf = arg;
	struct slot *sl = &inf->slots[t];

	sl->err = run_int(inf, sl->sess, sl->raw, sl->logits, sl->prob, sl->pix, sl->r);
}

/*
 * Device d's images of the batch in lockstep (vitrt_session_run_lockstep: one submission per
 * SYNC for all of them), while the other devices run theirs.
 */
static void device_task(void *arg, uint32_t d)
{
	struct vitrt_infer *inf = arg;
	struct vitrt_session *sess[VITRT_MAX_BATCH];
	const uint8_t *pix[VITRT_MAX_BATCH];
	int16_t *raw[VITRT_MAX_BATCH];
	uint32_t n = 0;
	int err;

	for (uint32_t t = d; t < inf->count; t += inf->ndevs, n++) {
		struct slot *sl = &inf->slots[t];

		sess[n] = sl->sess;
		raw[n] = sl->raw;
		pix[n] = sl->pix;
	}
	err = vitrt_session_run_lockstep(sess, n, pix, raw);
	for (uint32_t t = d; t < inf->count; t += inf->ndevs) {
		struct slot *sl = &inf->slots[t];

		sl->err = err;
		if (!err)
			finish_int(inf, sl->raw, sl->logits, sl->prob, sl->r);
	}
}

/* A batch of @count (1..batch) images on set 0's slots, start to end. */
static int run_now(struct vitrt_infer *inf, const uint8_t *pix, uint32_t count,
		   struct vitrt_result *r)
{
	size_t per = (size_t)inf->chans * inf->size * inf->size;
	bool sim = in_process(inf);
	int err = 0;

	if (!inf->prog || count == 1) {
		/*
		 * FP32: one after the other, each into its slot's outputs; image 0 last, as FP32
		 * computes every image in slot 0's and copies it out.
		 */
		for (uint32_t i = count; i-- > 1 && !err;)
			err = run_one_into_slot(inf, i, pix + i * per, &r[i]);
		return err ?: vitrt_infer_run(inf, pix, &r[0]);
	}
	for (uint32_t i = 0; i < count; i++) {
		inf->slots[i].pix = pix + i * per;
		inf->slots[i].r = &r[i];
	}
	inf->count = count;
	/* In process every image is a task; a device takes its images in lockstep. */
	if (sim && inf->ndevs == 1)
		vitrt_parallel(count, batch_task, inf);
	else if (inf->ndevs == 1)
		device_task(inf, 0);
	else
		vitrt_parallel(count < inf->ndevs ? count : inf->ndevs, device_task, inf);
	for (uint32_t i = 0; i < count && !err; i++)
		err = inf->slots[i].err;
	return err;
}

/* The sessions of set @set's first @count slots, for the lockstep calls. */
static void set_sessions(const struct vitrt_infer *inf, uint32_t set, uint32_t count,
			 struct vitrt_session **sess)
{
	for (uint32_t i = 0; i < count; i++)
		sess[i] = inf->slots[set * inf->batch + i].sess;
}

/* Set @set's images copied in and its batch queued on the device. */
static int set_start(struct vitrt_infer *inf, uint32_t set, const uint8_t *pix, uint32_t count)
{
	size_t per = (size_t)inf->chans * inf->size * inf->size;
	struct vitrt_session *sess[VITRT_MAX_BATCH];
	const uint8_t *img[VITRT_MAX_BATCH];

	set_sessions(inf, set, count, sess);
	for (uint32_t i = 0; i < count; i++)
		img[i] = pix + i * per;
	return vitrt_session_start_lockstep(sess, count, img);
}

/* Set @set's batch waited for, its logits ranked into @r. */
static int set_finish(struct vitrt_infer *inf, uint32_t set, uint32_t count,
		      struct vitrt_result *r)
{
	struct slot *sl = &inf->slots[set * inf->batch];
	struct vitrt_session *sess[VITRT_MAX_BATCH] = { 0 };	/* as GCC cannot see count > 0 */
	int16_t *raw[VITRT_MAX_BATCH] = { 0 };
	int err;

	set_sessions(inf, set, count, sess);
	for (uint32_t i = 0; i < count; i++)
		raw[i] = sl[i].raw;
	err = vitrt_session_finish_lockstep(sess, count, raw);
	for (uint32_t i = 0; i < count && !err; i++)
		finish_int(inf, sl[i].raw, sl[i].logits, sl[i].prob, &r[i]);
	return err;
}

int vitrt_infer_submit_batch(struct vitrt_infer *inf, const uint8_t *pix, uint32_t count)
{
	uint32_t set = (inf->head + inf->inflight) % inf->sets;
	int err;

	if (!count || count > inf->batch || inf->inflight == inf->sets)
		return VITRT_EINVAL;
	if (inf->sets > 1)
		err = set_start(inf, set, pix, count);
	else
		err = run_now(inf, pix, count, inf->res);
	if (err)
		return err;
	inf->counts[set] = count;
	inf->inflight++;
	return 0;
}

int vitrt_infer_collect_batch(struct vitrt_infer *inf, struct vitrt_result *r, uint32_t *count)
{
	uint32_t set = inf->head;

	*count = 0;
	if (!inf->inflight)
		return VITRT_EINVAL;
	inf->inflight--;
	inf->head = (set + 1) % inf->sets;
	*count = inf->counts[set];
	if (inf->sets > 1)
		return set_finish(inf, set, *count, r);
	memcpy(r, inf->res, *count * sizeof(*r));
	return 0;
}

uint32_t vitrt_infer_depth(const struct vitrt_infer *inf)
{
	return inf->sets;
}

int vitrt_infer_run_batch(struct vitrt_infer *inf, const uint8_t *pix, uint32_t count,
			  struct vitrt_result *r)
{
	uint32_t n;

	if (count > inf->batch || inf->inflight)
		return VITRT_EINVAL;
	if (!count)
		return 0;
	if (inf->sets == 1)
		return run_now(inf, pix, count, r);
	return vitrt_infer_submit_batch(inf, pix, count) ?: vitrt_infer_collect_batch(inf, r, &n);
}

uint32_t vitrt_infer_size(const struct vitrt_infer *inf)
{
	return inf->size;
}

uint32_t vitrt_infer_chans(const struct vitrt_infer *inf)
{
	return inf->chans;
}

void vitrt_infer_prep(const struct vitrt_infer *inf, struct vitrt_prep *p)
{
	*p = VITRT_PREP_INIT(inf->chans, inf->size);
	if (inf->vit) {
		p->interp = inf->vit->cfg.interp;
		p->crop_pct = inf->vit->cfg.crop_pct;
	} else if (inf->prog) {
		p->interp = inf->prog->info.interp;
		p->crop_pct = inf->prog->info.crop_pct;
	}
}

uint32_t vitrt_infer_classes(const struct vitrt_infer *inf)
{
	return inf->classes;
}

char *const *vitrt_infer_labels(const struct vitrt_infer *inf)
{
	return inf->labels;
}

const int16_t *vitrt_infer_raw(const struct vitrt_infer *inf)
{
	return inf->raw;
}

const struct vitrt_prog *vitrt_infer_prog(const struct vitrt_infer *inf)
{
	return inf->prog;
}

const struct vitrt_run_stats *vitrt_infer_stats(const struct vitrt_infer *inf)
{
	return inf->sess ? vitrt_session_stats(inf->sess) : NULL;
}

const struct vitrt_dev *vitrt_infer_dev(const struct vitrt_infer *inf)
{
	return inf->dev;
}

bool vitrt_infer_whole(const struct vitrt_infer *inf)
{
	return inf->sess && vitrt_session_whole(inf->sess);
}

int vitrt_infer_pin_submitter(struct vitrt_infer *inf, uint32_t *cpu)
{
	char list[256];
	int err;

	if (!inf->prog || inf->ndevs != 1)
		return VITRT_EUNSUPPORTED;
	err = vitrt_dev_irq_cpus(inf->dev, list, sizeof(list));
	err = err ?: vitrt_pin_caller(list, cpu);
	if (!err)
		inf->submitter_cpu = (int32_t)*cpu;
	return err == VITRT_EINVAL ? VITRT_EUNSUPPORTED : err;
}

int32_t vitrt_infer_submitter_cpu(const struct vitrt_infer *inf)
{
	return inf->submitter_cpu;
}

static void add_stats(struct vitrt_run_stats *st, const struct vitrt_run_stats *s)
{
	st->images += s->images;
	st->jobs += s->jobs;
	st->macs += s->macs;
	st->cycles += s->cycles;
	st->syncs += s->syncs;
}

void vitrt_infer_device_stats(const struct vitrt_infer *inf, uint32_t d, struct vitrt_run_stats *st)
{
	*st = (struct vitrt_run_stats){ 0 };
	if (!inf->prog || d >= inf->ndevs)
		return;
	/* The device's first session (slot d's), then the shared ones of its later slots. */
	add_stats(st, vitrt_session_stats(d ? inf->dev_sess[d] : inf->sess));
	for (uint32_t i = d + inf->ndevs; inf->slots && i < inf->batch * inf->sets;
	     i += inf->ndevs)
		add_stats(st, vitrt_session_stats(inf->slots[i].sess));
}
