# Integer logits against FP32 ones (sourced by tests/unit/vitrt_cli.sh and
# scripts/int_fullsize.sh): a compiled model and its checkpoint run on the same images, the
# figures that say how far apart they are, and one way to print and judge them.  $VITRT: the
# vitrt binary.

# int_vs_fp32 BACKEND MODEL CKPT IMAGE...: `vitrt run --backend BACKEND MODEL` and
# `vitrt run --fp32 CKPT` on the images (--json), their figures in
#   lg_images  images run              lg_same   of those, how many have the same top-1 class
#   lg_n       logits (all images)     lg_r      Pearson r of integer against FP32 logits
#   lg_diff    the largest |integer - FP32| logit    lg_range  the FP32 logits' range
# (printed %.17g, so that lg_judge reads back the very numbers computed here).
int_vs_fp32() {
	local backend=$1 model=$2 ckpt=$3 a b
	shift 3
	a=$("$VITRT" run --backend "$backend" "$model" "$@" --json) || return 1
	b=$("$VITRT" run --fp32 "$ckpt" "$@" --json) || return 1
	read -r lg_images lg_same < <(paste <(jq -c '.top5[0].class' <<<"$a") \
		<(jq -c '.top5[0].class' <<<"$b") | awk -F '\t' '
		$1 == $2 { same++ }
		END { printf "%d %d\n", NR, same }')
	read -r lg_n lg_r lg_diff lg_range < <(paste <(jq -r '.logits[]' <<<"$a") \
		<(jq -r '.logits[]' <<<"$b") | awk '
		{ n++; sx += $1; sy += $2; sxx += $1 * $1; syy += $2 * $2; sxy += $1 * $2
		  d = $1 - $2; d = d < 0 ? -d : d; if (d > md) md = d
		  if (NR == 1 || $2 < lo) lo = $2; if (NR == 1 || $2 > hi) hi = $2 }
		END { r = (n * sxy - sx * sy) / sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))
		      printf "%d %.17g %.17g %.17g\n", n, r, md, hi - lo }')
	[ -n "$lg_range" ]
}

# lg_judge [-v NAME=VALUE]... PROGRAM: the awk PROGRAM run once (BEGIN) with int_vs_fp32's
# figures as images, same, n, r, diff and range; it prints them and exits 0 when they hold.
lg_judge() {
	local vars=()
	while [ "$1" = -v ]; do vars+=(-v "$2"); shift 2; done
	awk -v images="$lg_images" -v same="$lg_same" -v n="$lg_n" -v r="$lg_r" \
		-v diff="$lg_diff" -v range="$lg_range" "${vars[@]}" "BEGIN { $1 }"
}
