#!/bin/bash
# The FP32 forward against PyTorch at full size (issue 12): random DeiT-S-shaped checkpoints
# (plain, distilled, DeiT-III folder, average-pooled with fc_norm, no class token and no qkv
# bias, 384x384, patches 14 and 8) and ViT-B/16, B/32, L/16 with torchvision names, one image
# each, within 1e-5 relative of PyTorch's float64 logits (test_fp32's full_size).  Not part of
# make check: about 3.5 GB of checkpoints in a scratch directory, 6 GB of memory, and a few
# minutes on 2 cores.
#   scripts/fp32_fullsize.sh [--only deit_s,tv_vit_b_16,...] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
only=() keep=
while [ $# -gt 0 ]; do
	case $1 in
	--only) only=(--only "$2"); shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	*) echo "usage: $0 [--only NAMES] [--keep DIR]" >&2; exit 2 ;;
	esac
done
dir=${keep:-$(mktemp -d)}
[ -n "$keep" ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"
make -j2 build/test_fp32 >/dev/null
/usr/bin/python3 tests/golden/fp32/make_refs.py --full "$dir" "${only[@]}"
rc=0
out=$(VITRT_FP32_FULL=$dir build/test_fp32) || rc=$?
grep -E '^(not ok|ok [0-9]+ full_size|# .*(OK|NOT OK)\)$|# tests/)' <<<"$out" || true
exit $rc
