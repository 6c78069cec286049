#!/bin/bash
# vitrt's threads under ThreadSanitizer (KTAP): the in-process backend's pool, the parallel GEMM
# kernels and batches run one image per thread, each compared with the plain build's output.
# $1: the plain vitrt (makes the models and the expected output), $2: the TSan vitrt.
# tests/check.sh sets TSAN_OPTIONS (halt_on_error, exitcode, log_path): a race makes the TSan
# vitrt exit non-zero here, and check.sh also fails the suite on any report file it leaves.
set -u
PLAIN=$1
TSAN=$2
. "$(dirname "$0")/ktap.sh"	# n, failed, t NAME CMD...
OTHER=$TSAN OTHER_NAME=TSan
. "$(dirname "$0")/same.sh"	# same ARGS...

CKPT=tests/golden/fp32/timmvit.safetensors
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
IMAGES=$FMNIST/t10k-images-idx3-ubyte.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PLAIN" quantize models/vit-fmnist.safetensors --calib "$FMNIST" -n 32 -o "$tmp/f.vitsa" \
	>/dev/null 2>&1
"$PLAIN" quantize "$CKPT" --calib "$FMNIST" -n 32 --scheme w4a8 -o "$tmp/m4.vitsa" \
	>/dev/null 2>&1

echo "TAP version 13"
echo "1..7"
t run_batches_on_3_threads same run --backend sim "$tmp/f.vitsa" "$IMAGES" -n 8 --json \
	--threads 3 --batch 4
# Every row-wise CPU step split over the threads, one image at a time.
rows_split() {
	VITRT_PAR_MIN_ELEMS=1 same run --backend sim "$tmp/f.vitsa" "$IMAGES" -n 2 --json --threads 3
}
t run_rows_split_on_3_threads rows_split
t run_batch_on_3_devices same run --devices sim,sim,sim "$tmp/f.vitsa" "$IMAGES" -n 8 --json \
	--threads 3 --batch 8
t run_w4a8_batches same run --backend sim "$tmp/m4.vitsa" "$IMAGES" -n 6 --json --threads 3 \
	--batch 3
t eval_batches_of_8 same eval --backend sim "$tmp/f.vitsa" --dataset "$FMNIST" -n 200 \
	--batch 8 --json
t eval_fp32_side_batches same eval --backend sim "$tmp/f.vitsa" --dataset "$FMNIST" -n 24 \
	--fp32 models/vit-fmnist.safetensors --batch 8 --json

# Every GEMM kernel this CPU runs, its tasks on 3 threads.
kernels() {
	local cpu
	for cpu in $("$PLAIN" --help | sed -n 's/.*VITRT_CPU *GEMM kernel of the in-process device: \(.*\) (default.*/\1/p'); do
		VITRT_CPU=$cpu same run --backend sim "$tmp/f.vitsa" "$IMAGES" -n 4 --json \
			--threads 3 --batch 2 || { echo "kernel $cpu"; return 1; }
	done
}
t every_kernel_on_3_threads kernels
exit $failed
