// SPDX-License-Identifier: MIT
/*
 * The cycle model's vector-unit constants for tb_vec.cpp, which cannot include vitsa_timing.h
 * itself (vitsa_hw.h's _Static_assert is C11, not C++).
 */
#include "../../../model/vitsa_timing.h"

const unsigned tb_vec_sqrt_latency = VITSA_VEC_SQRT_LATENCY;
const unsigned tb_vec_div_latency = VITSA_VEC_DIV_LATENCY;
