// SPDX-License-Identifier: MIT
/*
 * vitrt gemm: run GEMMs of given or random shapes and types on a backend, check every output
 * bit against the CPU reference (hw/model/vitsa_ref.c), and print MACs, modeled cycles and
 * array utilization.  Checking a device against the spec is this verb's product: the reference,
 * the PRNG and the random jobs' shapes come from the test-support library (tests/lib/vtest.h,
 * libvitsa_test.a), which the CLI links and libvitrt does not.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vitrt.h"
#include "vitrt_cli.h"
#include "vitrt_desc.h"
#include "vitsa_ref.h"
#include "vtest.h"

struct gemm_opts {
	const char *backend;
	uint32_t m, n, k;
	int a_type, b_type, c_type;
	uint32_t flags;
	unsigned random;	/* number of random jobs, 0 = the one job above */
	uint32_t max_dim;	/* for random jobs */
	uint64_t seed;
	bool quiet, json;
};

/* One job's operands: device buffers plus the same bytes in a flat image for the reference. */
struct gemm_run {
	struct vitrt_gemm job;
	struct vitrt_buf *bufs[5];	/* a, b, c, bias, rq */
	uint64_t off[5];		/* offsets of the same in the image */
	uint64_t len[5];
	uint8_t *image;
	size_t image_size;
};

enum { OP_A, OP_B, OP_C, OP_BIAS, OP_RQ };

/* Random jobs: log-uniform sizes, any types and flags, requantization into the result range. */
static const struct vtest_gemm_opts random_opts = {
	.log_dims = true, .a_type = VTEST_ANY, .b_type = VTEST_ANY, .rq_fit = true,
};

static void free_run(struct gemm_run *r)
{
	for (int i = 0; i < 5; i++)
		vitrt_buf_del(r->bufs[i]);
	free(r->image);
}

/* Allocate and fill the operands of r->job (shape, types and flags already set). */
static int setup_run(struct vitrt_dev *dev, struct gemm_run *r, struct vtest_rng *rng)
{
	struct vitrt_gemm *j = &r->job;
	bool bt = j->flags & VITRT_GEMM_B_TRANS;
	struct vitrt_mat *mats[5] = { &j->a, &j->b, &j->c, &j->bias, &j->rq };
	uint64_t pos = 0;
	int err = 0;

	j->a.stride = vitrt_row_bytes(j->a_type, j->k) + vtest_rng_in(rng, 0, 1) * 3;
	j->b.stride = vitrt_row_bytes(j->b_type, bt ? j->k : j->n);
	j->c.stride = vitrt_row_bytes(j->c_type, j->n) + vtest_rng_in(rng, 0, 1) * 5;
	r->len[OP_A] = j->a.stride * j->m;
	r->len[OP_B] = j->b.stride * (bt ? j->n : j->k);
	r->len[OP_C] = j->c.stride * j->m;
	r->len[OP_BIAS] = (j->flags & VITRT_GEMM_BIAS) ? 4ull * j->n : 0;
	r->len[OP_RQ] = (j->flags & VITRT_GEMM_REQUANT) ? 8ull * j->n : 0;
	for (int i = 0; i < 5; i++) {
		r->off[i] = pos;
		pos += (r->len[i] + 63) & ~63ull;
	}
	r->image_size = pos;
	r->image = malloc(pos ? pos : 1);
	if (!r->image)
		return VITRT_ENOMEM;
	vtest_rng_fill(rng, r->image, r->image_size);
	if (r->len[OP_RQ])
		vtest_gemm_rq(rng, &random_opts, r->image + r->off[OP_RQ], j->n, j->k);
	for (int i = 0; i < 5 && !err; i++) {
		if (!r->len[i])
			continue;
		r->bufs[i] = vitrt_buf_new(dev, r->len[i], &err);
		if (r->bufs[i]) {
			memcpy(vitrt_buf_map(r->bufs[i]), r->image + r->off[i], r->len[i]);
			mats[i]->buf = r->bufs[i];
		}
	}
	return err;
}

/* The reference on the image: the same job with its operands at their offsets there. */
static uint32_t run_ref(struct gemm_run *r)
{
	struct vitrt_job j = { .kind = VITRT_JOB_GEMM, .gemm = r->job };
	struct vitrt_mat *mats[5] = { &j.gemm.a, &j.gemm.b, &j.gemm.c, &j.gemm.bias, &j.gemm.rq };
	struct vitsa_hw_desc d;

	for (int i = 0; i < 5; i++)
		if (r->len[i])
			*mats[i] = (struct vitrt_mat){ .offset = r->off[i], .stride = mats[i]->stride };
	vitrt_job_desc(&d, &j, 0);
	return vitsa_ref_gemm(&d, r->image, r->image_size);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void describe(const struct vitrt_gemm *j, char *buf, size_t cap)
{
	snprintf(buf, cap, "%ux%ux%u %s*%s->%s%s%s", j->m, j->n, j->k, vitrt_type_name(j->a_type),
		 vitrt_type_name(j->b_type), vitrt_type_name(j->c_type),
		 (j->flags & VITRT_GEMM_B_TRANS) ? " bT" : "",
		 (j->flags & VITRT_GEMM_BIAS) ? " +bias" : "");
}

/* One job's outcome, for the text line or the JSON object. */
struct gemm_result {
	uint64_t macs, cycles;
	double util, ms;
	char msg[160];		/* why it failed */
};

/* Run r->job on @dev; 0 when bit-exact, 1 on a mismatch, negative (with res->msg) on a failure. */
static int run_one(struct vitrt_dev *dev, struct gemm_run *r, struct vtest_rng *rng,
		   struct gemm_result *res)
{
	const struct vitrt_dev_info *info = vitrt_dev_info(dev);
	struct vitrt_job_error jerr;
	uint64_t fence;
	uint32_t ref;
	double t0;
	int err = setup_run(dev, r, rng);

	res->macs = (uint64_t)r->job.m * r->job.n * r->job.k;
	res->cycles = vitrt_gemm_cycles(dev, r->job.m, r->job.n, r->job.k);
	res->util = (double)res->macs / ((double)res->cycles * info->rows * info->cols);
	if (err)
		return snprintf(res->msg, sizeof(res->msg), "buffers: %s", vitrt_strerror(err)), err;
	t0 = now_s();
	err = vitrt_submit(dev, &r->job, 1, &fence);
	if (!err)
		err = vitrt_wait(dev, fence, 60ull * 1000000000, &jerr);
	res->ms = (now_s() - t0) * 1e3;
	if (err == VITRT_EJOB)
		return snprintf(res->msg, sizeof(res->msg), "device status %u (%s)", jerr.status,
				vitrt_job_status_name(jerr.status)), err;
	if (err)
		return snprintf(res->msg, sizeof(res->msg), "%s", vitrt_strerror(err)), err;
	ref = run_ref(r);
	if (ref)
		return snprintf(res->msg, sizeof(res->msg), "reference refused the job: %s",
				vitrt_job_status_name(ref)), -1;
	return memcmp(vitrt_buf_map(r->bufs[OP_C]), r->image + r->off[OP_C], r->len[OP_C]) != 0;
}

/* The job @j and its outcome @status (run_one's) as an object. */
static json_t *job_json(const struct vitrt_gemm *j, int status, const struct gemm_result *res)
{
	const char *result = status < 0 ? "failed" : status ? "mismatch" : "bit-exact";

	return json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:o, s:o, s:s, s:o}",
		"m", (json_int_t)j->m, "n", (json_int_t)j->n, "k", (json_int_t)j->k,
		"a_type", vitrt_type_name(j->a_type), "b_type", vitrt_type_name(j->b_type),
		"c_type", vitrt_type_name(j->c_type), "b_trans", !!(j->flags & VITRT_GEMM_B_TRANS),
		"bias", !!(j->flags & VITRT_GEMM_BIAS), "macs", (json_int_t)res->macs,
		"cycles", (json_int_t)res->cycles, "utilization", cli_json_fixed(res->util, 6),
		"ms", status < 0 ? json_null() : cli_json_fixed(res->ms, 3), "result", result,
		"error", status < 0 ? cli_json_str(res->msg) : json_null());
}

/* Report one job: a failure on stderr; then its line, or its object into @jobs. */
static int report_job(const struct gemm_run *r, int status, const struct gemm_result *res,
		      const struct gemm_opts *o, json_t *jobs)
{
	char what[96];

	describe(&r->job, what, sizeof(what));
	if (status < 0)
		die("%s: %s", what, res->msg);
	if (o->json)
		return status || !o->quiet ? cli_json_push(jobs, job_json(&r->job, status, res)) : 0;
	if (status > 0)
		printf("%-34s MISMATCH against the CPU reference\n", what);
	else if (!status && !o->quiet)
		printf("%-34s %12" PRIu64 " MACs %10" PRIu64 " cycles  util %5.1f%%  %8.2f ms  "
		       "bit-exact\n", what, res->macs, res->cycles, 100.0 * res->util, res->ms);
	return 0;
}

/* A job of the shared generator's shape (its type codes are the runtime's, vitrt_err.c). */
static void random_job(struct vitrt_gemm *j, const struct gemm_opts *o, struct vtest_rng *rng)
{
	struct vtest_gemm_opts opts = random_opts;
	struct vitsa_hw_desc d;

	opts.max_dim = o->max_dim;
	vtest_gemm_shape(rng, &opts, &d);
	*j = (struct vitrt_gemm){
		.m = d.m, .n = d.n, .k = d.k, .flags = d.flags, .c_zero = d.c_zero,
		.a_type = VITSA_DESC_A_TYPE(d.types), .b_type = VITSA_DESC_B_TYPE(d.types),
		.c_type = VITSA_DESC_C_TYPE(d.types),
	};
}

static void fixed_job(struct vitrt_gemm *j, const struct gemm_opts *o)
{
	*j = (struct vitrt_gemm){
		.m = o->m, .n = o->n, .k = o->k, .flags = o->flags,
		.a_type = o->a_type, .b_type = o->b_type, .c_type = o->c_type,
	};
}

static int usage(int status)
{
	printf("usage: vitrt gemm [OPTIONS]\n"
	       "Run GEMMs on the accelerator and check every output against the CPU reference.\n\n"
	       "  -b, --backend B     auto (default), sim, dev or dev:/dev/vitsaN\n"
	       "  -s, --shape MxNxK   one GEMM of this shape (default 256x256x256)\n"
	       "  -a, --a-type T      s8 (default), u8, s4, u4\n"
	       "  -w, --b-type T      s8 (default), u8, s4, u4\n"
	       "  -o, --out T         s32 (default, raw accumulators) or s8, u8, s4, u4, s16\n"
	       "                      (requantized per output channel)\n"
	       "  -t, --b-trans       B stored N x K\n"
	       "      --bias          add an int32 bias per output channel\n"
	       "  -r, --random N      N jobs of random shape, types and options instead\n"
	       "      --max-dim D     largest random M, N, K (default 512)\n"
	       "      --seed S        random seed (default 1)\n"
	       "  -q, --quiet         print only the summary and failures\n"
	       "  -j, --json          one JSON object: backend, device, rows, cols, hw_version\n"
	       "                      (major << 16 | minor), jobs [{m, n, k, a_type, b_type,\n"
	       "                      c_type, b_trans, bias, macs, cycles, utilization (0..1),\n"
	       "                      ms, result (bit-exact, mismatch or failed), error}] (with\n"
	       "                      --quiet only those not bit-exact), count, macs, bit_exact,\n"
	       "                      mismatched, failed\n");
	return status;
}

static int parse_type(const char *arg, bool operand, int *out)
{
	int t = vitrt_type_parse(arg);

	if (t < 0 || (operand && t > VITRT_U4))
		return die("gemm: '%s' is not a%s type", arg, operand ? "n operand" : " result");
	*out = t;
	return 0;
}

static int parse_opts(int argc, char **argv, struct gemm_opts *o)
{
	static const struct option longs[] = {
		{ "backend", 1, 0, 'b' }, { "shape", 1, 0, 's' }, { "a-type", 1, 0, 'a' },
		{ "b-type", 1, 0, 'w' }, { "out", 1, 0, 'o' }, { "b-trans", 0, 0, 't' },
		{ "bias", 0, 0, 'B' }, { "random", 1, 0, 'r' }, { "max-dim", 1, 0, 'D' },
		{ "seed", 1, 0, 'S' }, { "quiet", 0, 0, 'q' }, { "json", 0, 0, 'j' },
		{ "help", 0, 0, 'h' }, { 0 },
	};
	int c;

	*o = (struct gemm_opts){ .m = 256, .n = 256, .k = 256, .c_type = VITRT_S32,
				 .max_dim = 512, .seed = 1 };
	while ((c = getopt_long(argc, argv, "b:s:a:w:o:tr:qjh", longs, NULL)) != -1) {
		switch (c) {
		case 'b': o->backend = optarg; break;
		case 's':
			if (sscanf(optarg, "%ux%ux%u", &o->m, &o->n, &o->k) != 3)
				return die("gemm: --shape wants MxNxK, not '%s'", optarg);
			break;
		case 'a': if (parse_type(optarg, true, &o->a_type)) return 2; break;
		case 'w': if (parse_type(optarg, true, &o->b_type)) return 2; break;
		case 'o': if (parse_type(optarg, false, &o->c_type)) return 2; break;
		case 't': o->flags |= VITRT_GEMM_B_TRANS; break;
		case 'B': o->flags |= VITRT_GEMM_BIAS; break;
		case 'r': o->random = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'D': o->max_dim = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'S': o->seed = strtoull(optarg, NULL, 0); break;
		case 'q': o->quiet = true; break;
		case 'j': o->json = true; break;
		case 'h': exit(usage(0));
		default: return usage(2);
		}
	}
	if (optind != argc)
		return die("gemm: unexpected argument '%s'", argv[optind]), 2;
	if (o->c_type != VITRT_S32)
		o->flags |= VITRT_GEMM_REQUANT;
	if (!o->max_dim || !o->seed)
		return die("gemm: --max-dim and --seed must be non-zero"), 2;
	return 0;
}

/* The summary line or, --json, the whole run as one object with @jobs (taken). */
static int print_summary(const struct vitrt_dev_info *info, const struct gemm_opts *o,
			 json_t *jobs, unsigned count, uint64_t macs, unsigned bad, unsigned failed)
{
	if (!o->json) {
		printf("%u jobs, %" PRIu64 " MACs: %u bit-exact, %u mismatched, %u failed\n", count,
		       macs, count - bad - failed, bad, failed);
		return 0;
	}
	return cli_json_print(json_pack("{s:s, s:o, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I}",
		"backend", info->backend, "device", cli_json_str(info->path),
		"rows", (json_int_t)info->rows, "cols", (json_int_t)info->cols,
		"hw_version", (json_int_t)info->hw_version, "jobs", jobs, "count", (json_int_t)count,
		"macs", (json_int_t)macs, "bit_exact", (json_int_t)(count - bad - failed),
		"mismatched", (json_int_t)bad, "failed", (json_int_t)failed), false);
}

int cmd_gemm(int argc, char **argv)
{
	struct gemm_opts o;
	struct vitrt_dev *dev;
	const struct vitrt_dev_info *info;
	unsigned count, bad = 0, failed = 0;
	struct vtest_rng rng;
	uint64_t macs = 0;
	json_t *jobs = NULL;
	int err = parse_opts(argc, argv, &o), ret;

	if (err)
		return err;
	dev = vitrt_dev_open(o.backend, &err);
	if (!dev)
		return die("gemm: cannot open backend '%s': %s", o.backend ? o.backend : "auto",
			   vitrt_strerror(err));
	info = vitrt_dev_info(dev);
	if (o.json)
		jobs = json_array();
	else
		printf("backend %s (%s), array %ux%u, hw %u.%u\n", info->backend, info->path,
		       info->rows, info->cols, info->hw_version >> 16, info->hw_version & 0xffff);
	rng = VTEST_RNG(o.seed);
	count = o.random ? o.random : 1;
	for (unsigned i = 0; i < count; i++) {
		struct gemm_run r = { 0 };
		struct gemm_result res = { 0 };
		int status;

		if (o.random)
			random_job(&r.job, &o, &rng);
		else
			fixed_job(&r.job, &o);
		status = run_one(dev, &r, &rng, &res);
		bad += status > 0;
		failed += status < 0;
		if (!status)
			macs += res.macs;
		if (report_job(&r, status, &res, &o, jobs)) {
			json_decref(jobs);
			jobs = NULL;	/* out of memory: print_summary says so */
		}
		free_run(&r);
	}
	ret = print_summary(info, &o, jobs, count, macs, bad, failed);
	vitrt_dev_close(dev);
	return ret || bad || failed ? 1 : 0;
}
