#!/bin/bash
# The AVX2-only build (KTAP): build/avx2only/vitrt takes the paths a CPU without AVX-512 and
# AVX-VNNI takes (the AVX2 GEMM kernel, the AVX2 clones of the row-wise ops, Shiftmax and GELU
# without vpermi2b/vpermi2w), which a machine with AVX-512 never runs otherwise.  Its output
# must be the plain build's, byte for byte: W8A8, W4A8 and W4A4, one and three threads,
# batches, the shipped model and the 197-token RGB one.
# $1: the plain vitrt (makes the models and the expected output), $2: the AVX2-only vitrt.
set -u
PLAIN=$1
AVX2=$2
. "$(dirname "$0")/ktap.sh"	# n, failed, t NAME CMD...
OTHER=$AVX2 OTHER_NAME=AVX2-only
. "$(dirname "$0")/same.sh"	# same ARGS...

FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
IMAGES=$FMNIST/t10k-images-idx3-ubyte.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in w8a8 w4a8 w4a4; do
	"$PLAIN" quantize models/vit-fmnist.safetensors --calib "$FMNIST" -n 32 -s $s \
		-o "$tmp/f-$s.vitsa" >/dev/null 2>&1
done
"$PLAIN" quantize models/vit-fmnist-rgb224 --calib "$FMNIST" -n 8 -o "$tmp/rgb.vitsa" \
	>/dev/null 2>&1

echo "TAP version 13"
echo "1..7"
# Not a single AVX-512 or AVX-VNNI kernel on offer, and AVX2 the one it picks.
kernels() {
	"$AVX2" --help | grep -q 'in-process device: ref avx2 (default' &&
		"$AVX2" --help | grep -A1 'in-process device' | grep -q 'now avx2)'
}
t offers_ref_and_avx2_only kernels
for s in w8a8 w4a8 w4a4; do
	t "${s}_batches_of_4_on_3_threads" same run --backend sim "$tmp/f-$s.vitsa" "$IMAGES" \
		-n 16 --json --threads 3 --batch 4
done
t w8a8_one_thread same run --backend sim "$tmp/f-w8a8.vitsa" "$IMAGES" -n 8 --json --threads 1
t w8a8_eval_200 same eval --backend sim "$tmp/f-w8a8.vitsa" --dataset "$FMNIST" -n 200 \
	--batch 8 --json
t rgb224_w8a8 same run --backend sim "$tmp/rgb.vitsa" "$IMAGES" -n 2 --json --threads 2
exit $failed
