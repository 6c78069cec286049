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

echo "TAP version 13"
echo "1..9"
t gemm_random_200_jobs_bit_exact "$VITRT" gemm --backend sim --random 200 --max-dim 512 --seed 11 -q
t gemm_512_cube_s8 "$VITRT" gemm --backend sim --shape 512x512x512
t gemm_odd_u4_s4_requant_u4 "$VITRT" gemm --backend sim --shape 33x17x65 -a u4 -w s4 -o u4 --bias -t
t gemm_s16_out "$VITRT" gemm --backend sim --shape 197x64x197 -a u8 -w s8 -o s16
t rejects_bad_type fails_with 2 "not an operand type" "$VITRT" gemm -a s32
t rejects_bad_shape fails_with 1 "wants MxNxK" "$VITRT" gemm --shape 3x4
t rejects_dim_above_max fails_with 1 "invalid argument" "$VITRT" gemm --backend sim --shape 1x1x40000
t dev_without_device fails_with 1 "no such device" "$VITRT" gemm --backend dev:/nonexistent/vitsa0
t unknown_command fails_with 2 "unknown command" "$VITRT" frobnicate
exit $failed
