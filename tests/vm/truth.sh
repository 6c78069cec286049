#!/bin/bash
# truth.sh LABELS.idx[.gz] REF N: for the first N images, one line "LABEL FP32" on stdout: the
# true label from the IDX label file (u8, 1 dimension) and PyTorch FP32's class from REF
# (tests/golden/accuracy/fmnist-t10k.txt: "LABEL PRED" lines after # comments).  Prints
# nothing and fails when either has fewer than N, or when REF's label differs from the IDX
# file's (REF was made for other images).
set -eu
src=$1 ref=$2 n=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ $src == *.gz ]]; then zcat "$src" >"$tmp/idx"; else cp "$src" "$tmp/idx"; fi
hdr=$(head -c 8 "$tmp/idx" | od -An -tx1 | tr -d ' \n')
[ "${hdr:0:8}" = 00000801 ] || { echo "truth.sh: $src is not an IDX label file" >&2; exit 1; }
tail -c +9 "$tmp/idx" | head -c "$n" | od -An -tu1 -v | tr -s ' ' '\n' | sed '/^$/d' \
	>"$tmp/labels"
grep -v '^#' "$ref" >"$tmp/ref"
awk -v n="$n" -v src="$src" -v ref="$ref" '
	NR == FNR { label[NR] = $1; next }
	FNR > n { exit }
	!(FNR in label) || $1 != label[FNR] {
		printf "truth.sh: image %d: label %s in %s, %s in %s\n", FNR - 1,
		       FNR in label ? label[FNR] : "none", src, $1, ref >"/dev/stderr"
		bad = 1; exit
	}
	{ line[FNR] = $1 " " $2 }
	END {
		if (bad)
			exit 1
		if (length(line) != n) {
			printf "truth.sh: %d of %d images in %s\n", length(line), n, ref >"/dev/stderr"
			exit 1
		}
		for (i = 1; i <= n; i++)
			print line[i]
	}' "$tmp/labels" "$tmp/ref"
