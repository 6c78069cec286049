// SPDX-License-Identifier: MIT
/* vitsa cycle model: Documentation/hw/vitsa.rst, "Cycle model". */
#include "vitsa_model.h"

uint64_t vitsa_model_cycles(const struct vitsa_model_cfg *cfg, uint32_t m, uint32_t n,
			    uint32_t k)
{
	uint64_t tiles = (uint64_t)((k + cfg->rows - 1) / cfg->rows) *
			 ((n + cfg->cols - 1) / cfg->cols);
	uint64_t per_tile = m > cfg->rows ? m : cfg->rows;

	return cfg->rows + tiles * per_tile + cfg->rows + cfg->cols - 1 + 2;
}
