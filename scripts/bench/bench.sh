#!/bin/bash
# make bench: vitrt (integer program and FP32 reference) against ONNX Runtime FP32 on random
# DeiT-T/S/B-shaped checkpoints (224x224, patch 16, depth 12; models/bench_vit.py); vitrt also
# as built for a CPU without AVX-512 and AVX-VNNI (build/avx2only, path vitrt-int-avx2).
#   scripts/bench/bench.sh [--json] [--models deit-t,deit-s,deit-b]
# Installs what it needs (Debian's python3-torch, npm's onnxruntime-node with --ignore-scripts
# into build/bench/ort), makes and caches checkpoints, ONNX files and compiled models in
# build/bench, then times one thing at a time, ONNX Runtime and vitrt in turn, BENCH_ROUNDS
# times over (default 3): each figure is the median of its rounds, so a neighbour's burst on
# a shared host moves one round of one side, not the ratio.  Progress goes to stderr, the table
# (or JSON) to stdout; the JSON is also kept in build/bench/results.json.  Figures are printed,
# never asserted.  Environment: BENCH_MODELS (as --models), BENCH_SECONDS (time per vitrt
# measurement, default 8), BENCH_ROUNDS.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=build/bench
ORT_DIR=$OUT/ort
ORT_VERSION=1.31.1
PY=/usr/bin/python3		# Debian's, with python3-torch (not a python3 earlier on PATH)
VITRT=build/vitrt
VITRT_AVX2=build/avx2only/vitrt	# hw/model/vitsa_kern.h: VITSA_AVX2_ONLY
MODELS=${BENCH_MODELS:-deit-t deit-s deit-b}
SECS=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-3}
JSON=
CPUS=$(nproc)

while [ $# -gt 0 ]; do
	case $1 in
	--json) JSON=--json ;;
	--models) MODELS=$2; shift ;;
	-h|--help) sed -n '2,13s/^# \?//p' "$0"; exit 0 ;;
	*) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
MODELS=${MODELS//,/ }
for m in $MODELS; do
	case $m in deit-t|deit-s|deit-b) ;; *) echo "bench: unknown model '$m'" >&2; exit 2 ;; esac
done
log() { echo "bench: $*" >&2; }

# ---- install (idempotent) ----
install() {
	local pkgs=(python3-torch libopenblas0-pthread) missing=() p
	command -v npm >/dev/null || pkgs+=(nodejs npm)
	scripts/deps.sh --run >&2
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]} (a few minutes the first time)"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >&2
	fi
	# --ignore-scripts: the CPU binding ships in the package; its install script only
	# fetches GPU libraries.
	if ! (cd "$ORT_DIR" 2>/dev/null && node -e "require('onnxruntime-node')") 2>/dev/null; then
		log "installing onnxruntime-node@$ORT_VERSION into $ORT_DIR"
		mkdir -p "$ORT_DIR"
		npm install --prefix "$ORT_DIR" --ignore-scripts --no-audit --no-fund \
			--loglevel=error "onnxruntime-node@$ORT_VERSION" >&2
		(cd "$ORT_DIR" && node -e "require('onnxruntime-node')")
	fi
	make -s userspace avx2only >&2
}

# fresh FILE SOURCE...: FILE exists and is newer than every SOURCE.
fresh() {
	local f=$1 s
	shift
	[ -s "$f" ] || return 1
	for s; do [ "$f" -nt "$s" ] || return 1; done
}

# ---- models: checkpoint + ONNX (cached), compiled program (again after vitrt changes) ----
prepare() {
	local m=$1 ckpt=$OUT/$1.safetensors
	if ! fresh "$OUT/$m.onnx" models/bench_vit.py models/vit.py ||
	   ! fresh "$ckpt.json" models/bench_vit.py; then
		log "$m: random checkpoint and ONNX export"
		"$PY" models/bench_vit.py model "$m" "$OUT" >&2
	fi
	if ! fresh "$OUT/$m.vitsa" "$ckpt" "$VITRT" "$OUT/calib/train-images-idx3-ubyte"; then
		log "$m: vitrt quantize"
		# random weights give nearly flat logits, which the integer approximations move by
		# up to 0.4 of their range (the shipped model: 0.05): checked, to a looser bound
		"$VITRT" quantize "$ckpt" --calib "$OUT/calib" -n 16 --max-logit-error 1 \
			--mean-logit-error 1 -o "$OUT/$m.vitsa" >&2
	fi
}

# ---- timing ----
# ms/image of the "integer" or "fp32" line of `vitrt bench`'s output.
ms_of() { sed -n "s/^ *$1.*(\([0-9.]*\) ms\/image).*/\1/p" | head -n 1; }

# record MODEL PATH THREADS BATCH MS: one result line.
record() {
	[ -n "$5" ] || { log "$1: no $2 figure in the output of vitrt bench"; exit 1; }
	awk -v m="$1" -v p="$2" -v t="$3" -v b="$4" -v ms="$5" -v macs="$MACS" 'BEGIN {
		printf "{\"model\": \"%s\", \"path\": \"%s\", \"threads\": %d, \"batch\": %d, " \
		       "\"ms_per_image\": %.4f, \"images_per_s\": %.4f, \"macs\": %s}\n",
		       m, p, t, b, ms, 1000 / ms, macs }' >> "$RESULTS"
}

bench_vitrt() {
	local m=$1 help threads=1 batches=1 t b n out probe opt
	help=$("$VITRT" bench --help)
	# Thread and batch options when vitrt has them; without, it runs one thread, one image.
	grep -q -- '--threads' <<<"$help" && threads=$(echo 1 "$CPUS" | tr ' ' '\n' | uniq)
	grep -q -- '--batch' <<<"$help" && batches="1 8"
	# Images per measurement: about $SECS seconds of both paths, from a one-image probe.
	probe=$("$VITRT" bench "$OUT/$m.vitsa" --fp32 "$OUT/$m.safetensors" -n 1)
	n=$(awk -v s="$SECS" -v a="$(ms_of integer <<<"$probe")" -v b="$(ms_of fp32 <<<"$probe")" \
		'BEGIN { n = int(s * 1000 / (a + b)); n = n < 8 ? 8 : n > 2000 ? 2000 : n;
			 print int((n + 7) / 8) * 8 }')
	for t in $threads; do
		for b in $batches; do
			opt=()
			[ "$threads" = 1 ] || opt+=(--threads "$t")
			[ "$batches" = 1 ] || opt+=(--batch "$b")
			log "$m: vitrt bench -n $n ${opt[*]}"
			out=$("$VITRT" bench "$OUT/$m.vitsa" --fp32 "$OUT/$m.safetensors" -n "$n" \
				"${opt[@]}")
			record "$m" vitrt-int "$t" "$b" "$(ms_of integer <<<"$out")"
			record "$m" vitrt-fp32 "$t" "$b" "$(ms_of fp32 <<<"$out")"
			# The AVX2-only build: this CPU as one without AVX-512 and AVX-VNNI
			# runs vitrt (ONNX Runtime still uses AVX-512: a ratio that errs low).
			out=$("$VITRT_AVX2" bench "$OUT/$m.vitsa" -n "$n" "${opt[@]}")
			record "$m" vitrt-int-avx2 "$t" "$b" "$(ms_of integer <<<"$out")"
		done
	done
}

bench_ort() {
	local m=$1 line
	log "$m: ONNX Runtime, 1 and $CPUS threads, batch 1 and 8"
	node scripts/bench/ort.mjs "$(realpath "$ORT_DIR")" "$OUT/$m.onnx" \
		"$(echo 1 "$CPUS" | tr ' ' '\n' | uniq | paste -sd,)" 1,8 |
	while read -r line; do
		echo "{\"model\": \"$m\", \"macs\": $MACS, ${line#\{}"
	done >> "$RESULTS"
}

install
mkdir -p "$OUT"
fresh "$OUT/calib/train-images-idx3-ubyte" models/bench_vit.py ||
	"$PY" models/bench_vit.py calib "$OUT/calib" 16 >&2
for m in $MODELS; do prepare "$m"; done

RESULTS=$OUT/results.jsonl
: > "$RESULTS"
t0=$SECONDS
for r in $(seq "$ROUNDS"); do
	for m in $MODELS; do
		MACS=$("$VITRT" info "$OUT/$m.vitsa" | sed -n 's/^ *per image *\([0-9]*\) MACs.*/\1/p')
		log "round $r of $ROUNDS"
		bench_ort "$m"
		bench_vitrt "$m"
	done
done
log "timed in $((SECONDS - t0)) s"
"$PY" scripts/bench/report.py "$RESULTS" --json > "$OUT/results.json"
"$PY" scripts/bench/report.py "$RESULTS" $JSON
