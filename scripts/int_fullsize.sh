#!/bin/bash
# The integer program at full size (issue 12): every checkpoint scripts/fp32_fullsize.sh makes
# that the compiler takes (class token, distilled, fc_norm average pooling, DeiT-III folder,
# torchvision names) quantized W8A8 with calibration from an ImageFolder of the committed
# photos (tests/golden/resize/in, each of its own size), then run on those photos, integer
# against FP32: logits correlated r >= 0.99 and no logit further than 10% of the FP32 range.
# Not part of make check (3.5 GB of checkpoints, several minutes on 2 cores); figures printed.
#   scripts/int_fullsize.sh [--only deit_s,tv_vit_b_16,...] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/unit/logits.sh	# int_vs_fp32, lg_judge
VITRT=build/vitrt
only=deit_s,deit_s_distilled,deit3_s,vit_s_gap,vit_s16_384,tv_vit_b_16 keep=
while [ $# -gt 0 ]; do
	case $1 in
	--only) only=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	*) echo "usage: $0 [--only NAMES] [--keep DIR]" >&2; exit 2 ;;
	esac
done
dir=${keep:-$(mktemp -d)}
[ -n "$keep" ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/calib/a" "$dir/calib/b"
make -j2 build/vitrt >/dev/null
photos=(tests/golden/resize/in/*.png tests/golden/resize/in/*.jpg)
cp "${photos[@]:0:4}" "$dir/calib/a/"
cp "${photos[@]:4}" "$dir/calib/b/"
/usr/bin/python3 tests/golden/fp32/make_refs.py --full "$dir" --only "$only" >/dev/null

# compare NAME CKPT: quantize, run both ways on every photo, print and judge.
compare() {
	"$VITRT" quantize "$2" --calib "$dir/calib" --check 8 --max-logit-error 1 \
		--mean-logit-error 1 -o "$dir/$1.vitsa" --json | jq -c '{scheme, check}' | sed "s/^/$1: quantize /"
	int_vs_fp32 auto "$dir/$1.vitsa" "$2" "${photos[@]}" || return 1
	lg_judge -v m="$1" 'printf "%s: top-1 the same on %d of %d photos\n", m, same, images
		printf "%s: logits r %.4f, largest difference %.3f of the range\n", m, r,
		       diff / range
		exit !(r >= 0.99 && diff <= 0.1 * range)'
}

rc=0
for name in ${only//,/ }; do
	ckpt=$dir/$name.safetensors
	[ -e "$ckpt" ] || ckpt=$dir/$name
	compare "$name" "$ckpt" || { echo "$name: NOT OK"; rc=1; }
done
exit $rc
