#!/bin/bash
# make run: the GEMMs of one DeiT-S encoder block (197 tokens, 16x16 array) on the in-process
# device model, each checked bit for bit against the CPU reference, with MACs, modeled cycles
# and array utilization; then 50 random jobs over every type and option.
set -euo pipefail
vitrt=${1:-build/vitrt}
B="--backend ${VITRT_BACKEND:-sim}"

echo "== DeiT-S block GEMMs on the vitsa model (int8 x int8, int32 accumulate)"
"$vitrt" gemm $B --shape 197x1152x384 -t --bias -o s8 | sed '$d'    # qkv
"$vitrt" gemm $B --shape 197x197x64 -t | sed 1d | sed '$d'                  # q k^T, one head
"$vitrt" gemm $B --shape 197x64x197 -a u8 | sed 1d | sed '$d'               # attn v, one head
"$vitrt" gemm $B --shape 197x384x384 -t --bias -o s16 | sed 1d | sed '$d'   # proj
"$vitrt" gemm $B --shape 197x1536x384 -t --bias -o u8 | sed 1d | sed '$d'   # fc1
"$vitrt" gemm $B --shape 197x384x1536 -a u8 -t --bias -o s16 | sed 1d | sed '$d' # fc2
"$vitrt" gemm $B --shape 197x384x384 -a s8 -w s4 -t --bias -o s8 | sed 1d | sed '$d' # W4A8
echo
echo "== 50 random GEMMs (M, N, K in 1..512; s8/u8/s4/u4; int32 or requantized results)"
"$vitrt" gemm $B --random 50 --seed "${SEED:-$RANDOM}" -q
