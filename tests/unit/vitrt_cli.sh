#!/bin/bash
# vitrt command-line tests on the in-process backend (KTAP).  $1: the vitrt binary.
set -u
VITRT=$1
n=0
failed=0

# t NAME CMD...: one result, ok when CMD succeeds.
t() {
	local name=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		failed=1
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/# /'
	fi
}

# Expect CMD to fail with exit status $2 and print $3 on stderr.
fails_with() {
	local status=$1 pattern=$2 err rc
	shift 2
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq "$status" ] && grep -q -- "$pattern" <<<"$err"
}

# A compiled model and damaged copies of files, in a scratch directory.
CKPT=tests/golden/fp32/timmvit.safetensors
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VITRT" quantize "$CKPT" --calib "$FMNIST" -n 32 -o "$tmp/m.vitsa" >/dev/null 2>&1
head -c 3000 "$CKPT" >"$tmp/trunc.safetensors"
cp "$CKPT.json" "$tmp/trunc.safetensors.json"
cp "$tmp/m.vitsa" "$tmp/flip.vitsa"
printf '\x55' | dd of="$tmp/flip.vitsa" bs=1 seek=5000 conv=notrunc 2>/dev/null
cp "$tmp/m.vitsa" "$tmp/ver.vitsa"
printf '\x09' | dd of="$tmp/ver.vitsa" bs=1 seek=8 conv=notrunc 2>/dev/null
echo "not an image" >"$tmp/text.png"
D=tests/unit/data

echo "TAP version 13"
echo "1..20"
t gemm_random_200_jobs_bit_exact "$VITRT" gemm --backend sim --random 200 --max-dim 512 --seed 11 -q
t gemm_512_cube_s8 "$VITRT" gemm --backend sim --shape 512x512x512
t gemm_odd_u4_s4_requant_u4 "$VITRT" gemm --backend sim --shape 33x17x65 -a u4 -w s4 -o u4 --bias -t
t gemm_s16_out "$VITRT" gemm --backend sim --shape 197x64x197 -a u8 -w s8 -o s16
t rejects_bad_type fails_with 2 "not an operand type" "$VITRT" gemm -a s32
t rejects_bad_shape fails_with 1 "wants MxNxK" "$VITRT" gemm --shape 3x4
t rejects_dim_above_max fails_with 1 "invalid argument" "$VITRT" gemm --backend sim --shape 1x1x40000
t dev_without_device fails_with 1 "no such device" "$VITRT" gemm --backend dev:/nonexistent/vitsa0
t unknown_command fails_with 2 "unknown command" "$VITRT" frobnicate
t quantize_writes_a_model test -s "$tmp/m.vitsa"
t info_describes_it sh -c "'$VITRT' info '$tmp/m.vitsa' | grep -q 'depth 2, heads 3'"
t run_classifies_png "$VITRT" run --backend sim "$tmp/m.vitsa" $D/gray28.png
t run_fp32_from_checkpoint "$VITRT" run --fp32 "$CKPT" $D/gray28.png
t quantize_truncated_checkpoint fails_with 1 "trunc.safetensors" "$VITRT" quantize \
	"$tmp/trunc.safetensors" --calib "$FMNIST" -o "$tmp/x.vitsa"
t no_half_written_model test ! -e "$tmp/x.vitsa"
t run_model_bad_checksum fails_with 1 "checksum mismatch" "$VITRT" run "$tmp/flip.vitsa" \
	$D/gray28.png
t run_model_bad_version fails_with 1 "format version 9" "$VITRT" run "$tmp/ver.vitsa" \
	$D/gray28.png
t run_unsupported_image fails_with 1 "text.png" "$VITRT" run --backend sim "$tmp/m.vitsa" \
	"$tmp/text.png"
t run_wrong_image_size fails_with 1 "image is 32x32, the model wants 28x28" "$VITRT" run \
	--backend sim "$tmp/m.vitsa" $D/gray32.png
t eval_json_fields sh -c "'$VITRT' eval --backend sim '$tmp/m.vitsa' --dataset '$FMNIST' \
	--fp32 '$CKPT' -n 50 --json 2>/dev/null | grep -q '\"images\": 50, \"scheme\": \"w8a8\", \"fp32_top1\": .*\"int_top1\": .*\"agreement\": '"
exit $failed
