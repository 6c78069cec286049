#!/bin/bash
# vitrt run|eval|bench --trace (KTAP): the Chrome trace-event files of the integer program on the
# in-process device pass tests/unit/trace.jq (well-formed events, tracks that nest, every step
# once per image, jobs that match their submissions), for one inference of DeiT-S (random
# weights, build/mkvit), one 197-token image, batches on several threads, the split schedule
# and two devices; vitrt profile's sums agree with jq's; a traced run gives the logits of an
# untraced one; trace.jq itself rejects a trace with a step left out or two events overlapping.
# $1: the vitrt binary that compiles the models; $2 (default $1): the one traced (TSan's).
set -u
VITRT=$1
RUN=${2:-$1}
. "$(dirname "$0")/ktap.sh"	# n, failed, t NAME CMD...

JQ=$(dirname "$0")/trace.jq
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
IDX=$FMNIST/t10k-images-idx3-ubyte.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The shipped model (28x28, 17 tokens) and the RGB 224 one: 197 tokens, DeiT-S's sequence (at
# DeiT-T's widths and depth 4: the repository has no DeiT-S checkpoint, and no Python here).
"$VITRT" quantize models/vit-fmnist.safetensors --calib "$FMNIST" -n 16 -o "$tmp/fm.vitsa" \
	>/dev/null 2>&1
"$VITRT" quantize models/vit-fmnist-rgb224 --calib "$FMNIST" -n 8 -o "$tmp/rgb.vitsa" \
	>/dev/null 2>&1

# DeiT-S itself (224, patch 16, dim 384, depth 12, heads 6, MLP 1536, 1000 classes), random
# weights from build/mkvit: flat logits, so the quantizer's check gets bench.sh's loose bounds.
"$(dirname "$VITRT")/mkvit" "$tmp/deits.safetensors" 384 12 6 >/dev/null &&
"$VITRT" quantize "$tmp/deits.safetensors" --calib "$FMNIST" -n 4 --check 2 \
	--max-logit-error 1 --mean-logit-error 1 -o "$tmp/deits.vitsa" >/dev/null 2>&1
rm -f "$tmp/deits.safetensors"

# checked FILE MODEL IMAGES: FILE is a trace of IMAGES images of MODEL that trace.jq accepts.
checked() {
	local s
	s=$("$VITRT" info --json "$2" | jq -c .schedule) || return 1
	jq -e --argjson images "$3" --argjson s "$s" -f "$JQ" "$1" >/dev/null
}

# traced NAME MODEL IMAGES CMD...: CMD --trace $tmp/NAME.json, then checked.
traced() {
	local name=$1 model=$2 images=$3
	shift 3
	"$@" --trace "$tmp/$name.json" >/dev/null || return 1
	checked "$tmp/$name.json" "$model" "$images"
}

# mutant NAME JQ PATTERN: trace.jq rejects the eval trace edited by JQ, saying PATTERN.
mutant() {
	local s err
	s=$("$VITRT" info --json "$tmp/fm.vitsa" | jq -c .schedule) || return 1
	jq "$2" "$tmp/eval.json" >"$tmp/$1.json" || return 1
	err=$(jq -e --argjson images 20 --argjson s "$s" -f "$JQ" "$tmp/$1.json" 2>&1 >/dev/null)
	[ $? -ne 0 ] && grep -q -- "$3" <<<"$err"
}

# A host op (of the split schedule) ending halfway through the next one on its thread.
OVERLAP='[.traceEvents[] | select(.cat == "host" and .args.step != null)] as $h | $h[0] as $a |
	([$h[] | select(.tid == $a.tid and .ts >= $a.ts + $a.dur)] | min_by(.ts)) as $b |
	(.traceEvents[] | select(. == $a) | .dur) = ($b.ts - $a.ts + $b.dur / 2)'
# The first event of a step, gone.
DROP='del(.traceEvents[[.traceEvents[] | .args.step != null] | index(true)])'

echo "TAP version 13"
t run_one_197_token_image traced run1 "$tmp/rgb.vitsa" 1 \
	"$RUN" run --backend sim "$tmp/rgb.vitsa" tests/unit/data/gray28.png
t deit_s_is_deit_s sh -c "'$VITRT' info --json '$tmp/deits.vitsa' | jq -e '.vit | .img == 224
	and .patch == 16 and .tokens == 197 and .dim == 384 and .depth == 12 and .heads == 6 and
	.mlp == 1536 and .classes == 1000' >/dev/null"
t run_one_deit_s_inference traced deits "$tmp/deits.vitsa" 1 \
	"$RUN" run --backend sim "$tmp/deits.vitsa" tests/unit/data/gray28.png
t run_batches_on_threads traced run "$tmp/fm.vitsa" 7 \
	"$RUN" run --backend sim "$tmp/fm.vitsa" "$IDX" -n 7 --batch 3 --threads 3
t eval_batches_split_schedule traced eval "$tmp/fm.vitsa" 20 \
	env VITRT_SCHEDULE=split VITRT_PAR_MIN_ELEMS=1 \
	"$RUN" eval --backend sim "$tmp/fm.vitsa" --dataset "$FMNIST" -n 20 --batch 8 --threads 2
t eval_whole_program_on_threads traced evalw "$tmp/fm.vitsa" 12 \
	"$RUN" eval --backend sim "$tmp/fm.vitsa" --dataset "$FMNIST" -n 12 --batch 5 --threads 2
# bench: the warm-up batch and two timed ones
t bench_batches traced bench "$tmp/fm.vitsa" 6 \
	"$RUN" bench --backend sim "$tmp/fm.vitsa" -n 4 --batch 2 --threads 2
t run_two_devices traced dev2 "$tmp/fm.vitsa" 6 \
	"$RUN" run --devices sim,sim "$tmp/fm.vitsa" "$IDX" -n 6 --batch 3
t two_devices_two_tracks sh -c "jq -e '[.traceEvents[] | select(.cat == \"device\") | .pid] |
	unique == [2, 3]' '$tmp/dev2.json' >/dev/null"
t split_has_host_ops sh -c "jq -e '[.traceEvents[] | select(.cat == \"host\" and .args.step)] |
	length > 0' '$tmp/eval.json' >/dev/null"
t tracks_named sh -c "jq -e '[.traceEvents[] | select(.ph == \"M\") | .args.name] |
	index(\"host\") and index(\"main thread\") and
	any(.[]; startswith(\"device 0: sim\"))' '$tmp/run.json' >/dev/null"
t same_logits_traced sh -c "'$RUN' run --backend sim '$tmp/fm.vitsa' '$IDX' -n 5 --batch 2 \
	--json >'$tmp/a' && '$RUN' run --backend sim '$tmp/fm.vitsa' '$IDX' -n 5 --batch 2 \
	--json --trace '$tmp/t.json' >'$tmp/b' && cmp '$tmp/a' '$tmp/b'"
t checker_rejects_a_missing_step mutant drop "$DROP" "without [0-9]* steps"
t checker_rejects_an_overlap mutant overlap "$OVERLAP" "overlaps without nesting"
t unwritable_trace_fails sh -c "! '$RUN' run --backend sim '$tmp/fm.vitsa' \
	tests/unit/data/gray28.png --trace '$tmp/no/such/dir/t.json' 2>'$tmp/err' &&
	grep -q 'no/such/dir/t.json.tmp' '$tmp/err'"
t no_trace_of_fp32 sh -c "'$RUN' run --fp32 models/vit-fmnist.safetensors \
	tests/unit/data/gray28.png --trace '$tmp/f.json' 2>/dev/null; [ \$? -eq 2 ] &&
	[ ! -e '$tmp/f.json' ]"
t no_trace_of_modeled sh -c "'$RUN' bench --modeled --model deit-s --trace '$tmp/m.json' \
	2>/dev/null; [ \$? -eq 2 ]"
# vitrt profile: its sums per op and place against jq's own over the split-schedule trace,
# its chart, and its refusals.
# profile_sums TRACE: every (op, where)'s events and ms, the images and the total agree.
profile_sums() {
	local want got
	want=$(jq -c '[.traceEvents[] | select(.ph == "X" and (.cat == "host" or .cat == "job")
		and .args.step != null)] | {images: (map(.args.image) | max + 1),
		ms: (map(.dur) | add / 1000), ops: (group_by([.name, .cat]) | map({op: .[0].name,
		where: (if .[0].cat == "host" then "host" else "device" end), events: length,
		ms: (map(.dur) | add / 1000)}) | sort_by(.op, .where))}' "$1") || return 1
	got=$("$RUN" profile "$1" --json | jq -c '{images, ms, ops: (.ops | map({op, where,
		events, ms}) | sort_by(.op, .where))}') || return 1
	jq -e -n --argjson w "$want" --argjson g "$got" '
		def near(a; b): (a - b | fabs) <= 1e-6 * (b | fabs) + 1e-9;
		$w.images == $g.images and near($g.ms; $w.ms) and ($w.ops | length) > 3 and
		($w.ops | length) == ($g.ops | length) and
		([$w.ops, $g.ops] | transpose | all(.[0].op == .[1].op and
		.[0].where == .[1].where and .[0].events == .[1].events and
		near(.[1].ms; .[0].ms)))' >/dev/null || { echo "# want $want"; echo "# got $got"; false; }
}
t profile_sums_every_op profile_sums "$tmp/eval.json"
t profile_sums_a_deit_s_inference profile_sums "$tmp/deits.json"
t profile_sums_jobs_of_the_whole_program profile_sums "$tmp/evalw.json"
# profile_png: --plot writes a PNG whose header says 960 x 600.
profile_png() {
	"$RUN" profile "$tmp/eval.json" --plot "$tmp/p.png" >/dev/null &&
	[ "$(od -An -tx1 -j16 -N8 "$tmp/p.png" | tr -d ' \n')" = 000003c000000258 ]
}
# profile_refuses CONTENT PATTERN: a file holding CONTENT is refused with PATTERN said.
profile_refuses() {
	printf '%s' "$1" >"$tmp/bad.json"
	! "$RUN" profile "$tmp/bad.json" 2>"$tmp/err" >/dev/null && grep -q -- "$2" "$tmp/err"
}
t profile_plot_is_a_960x600_png profile_png
t profile_refuses_other_json profile_refuses '{"a": 1}' 'bad.json: no traceEvents'
t profile_refuses_broken_json profile_refuses "$(head -c 300 "$tmp/eval.json")" 'bad.json: line'
t profile_refuses_a_trace_without_steps profile_refuses '{"traceEvents": []}' 'no step'
t profile_refuses_a_step_without_dur profile_refuses \
	'{"traceEvents": [{"ph": "X", "cat": "job", "name": "gemm", "args": {"step": 1}}]}' \
	'event 0: a step needs'
echo "1..$n"	# the plan last: counted, never kept by hand
exit $failed
