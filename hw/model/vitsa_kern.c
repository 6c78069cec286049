// SPDX-License-Identifier: MIT
/* vitsa GEMM kernels: the plain-C kernel and the choice among them (see vitsa_kern.h). */
#include <stdatomic.h>
#include <string.h>

#include "vitsa_kern.h"

/* An operand byte as the value it stands for. */
static inline int32_t val(uint8_t v, bool is_signed)
{
	return is_signed ? (int32_t)v - ((int32_t)(v & 0x80) << 1) : (int32_t)v;
}

static bool ref_supported(void)
{
	return true;
}

static size_t ref_b_size(uint32_t nb, uint32_t k)
{
	return (size_t)nb * k * sizeof(int16_t);
}

/* B widened to int16 rows: the layout of the obvious loop. */
static void ref_pack_b(void *dst, const uint8_t *b, size_t ldb, uint32_t nb, uint32_t k,
		       uint32_t sign)
{
	int16_t *out = dst;

	for (uint32_t j = 0; j < nb; j++)
		for (uint32_t kk = 0; kk < k; kk++)
			*out++ = (int16_t)val(b[j * ldb + kk], sign & VITSA_KERN_B_SIGNED);
}

static size_t ref_work_size(uint32_t mb, uint32_t k)
{
	(void)mb, (void)k;
	return 0;
}

static void ref_gemm(int32_t *acc, size_t ldacc, const uint8_t *a, size_t lda, const void *pb,
		     uint32_t mb, uint32_t nb, uint32_t k, uint32_t sign, const uint32_t *corr,
		     const struct vitsa_kern_out *out, void *work)
{
	const int16_t *b = pb;

	(void)corr, (void)out, (void)work;	/* exact as it is; never fused */
	for (uint32_t i = 0; i < mb; i++) {
		for (uint32_t j = 0; j < nb; j++) {
			uint32_t s = 0;

			for (uint32_t kk = 0; kk < k; kk++)
				s += (uint32_t)(val(a[i * lda + kk], sign & VITSA_KERN_A_SIGNED) *
						b[(size_t)j * k + kk]);
			acc[i * ldacc + j] = (int32_t)s;
		}
	}
}

const struct vitsa_kern vitsa_kern_ref = {
	.name = "ref",
	.supported = ref_supported,
	.b_size = ref_b_size,
	.pack_b = ref_pack_b,
	.work_size = ref_work_size,
	.gemm = ref_gemm,
};

static const struct vitsa_kern *const kerns[VITSA_ISA_COUNT] = {
	[VITSA_ISA_REF] = &vitsa_kern_ref,
	[VITSA_ISA_AVX2] = &vitsa_kern_avx2,
	[VITSA_ISA_AVXVNNI] = &vitsa_kern_avxvnni,
	[VITSA_ISA_AVX512VNNI] = &vitsa_kern_avx512vnni,
};

/* The chosen kernel; NULL until the first job asks (then the best this CPU runs). */
static _Atomic(const struct vitsa_kern *) active;

const struct vitsa_kern *vitsa_kern_get(uint32_t isa)
{
	if (isa > VITSA_ISA_TOP || !kerns[isa]->supported())
		return NULL;
	return kerns[isa];
}

const struct vitsa_kern *vitsa_kern_active(void)
{
	const struct vitsa_kern *k = atomic_load_explicit(&active, memory_order_acquire);

	for (uint32_t isa = VITSA_ISA_COUNT; !k && isa-- > 0;)
		k = vitsa_kern_get(isa);
	atomic_store_explicit(&active, k, memory_order_release);
	return k;
}

int vitsa_kern_select(const char *name)
{
	for (uint32_t isa = 0; isa < VITSA_ISA_COUNT; isa++) {
		if (strcmp(kerns[isa]->name, name))
			continue;
		if (!vitsa_kern_get(isa))
			return -1;
		atomic_store_explicit(&active, kerns[isa], memory_order_release);
		return 0;
	}
	return -1;
}
