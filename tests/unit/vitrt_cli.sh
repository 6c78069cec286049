#!/bin/bash
# vitrt command-line tests on the in-process backend (KTAP).  $1: the vitrt binary.
set -u
VITRT=$1
. "$(dirname "$0")/ktap.sh"	# n, failed, t NAME CMD...
. "$(dirname "$0")/logits.sh"	# int_vs_fp32, lg_judge

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

# timmvit with 3 channels (tests/unit/data/make_rgb.py): a gray image gives the same logits.
cp tests/unit/data/timmvit-rgb.safetensors "$tmp/rgb.safetensors"
echo '{"heads": 3, "mean": [0, 0, 0], "std": [1, 1, 1]}' >"$tmp/rgb.safetensors.json"
"$VITRT" quantize "$tmp/rgb.safetensors" --calib "$FMNIST" -n 32 -o "$tmp/rgb.vitsa" >/dev/null 2>&1
TVCKPT=tests/golden/fp32/tvvit.safetensors
D=tests/unit/data

# eval_batches MODEL CKPT: eval's figures (FP32 side too) do not depend on the batch size.
eval_batches() {
	local a b
	a=$("$VITRT" eval --backend sim "$1" --dataset "$FMNIST" -n 200 --fp32 "$2" --json \
		--batch 1 2>/dev/null) || return 1
	b=$("$VITRT" eval --backend sim "$1" --dataset "$FMNIST" -n 200 --fp32 "$2" --json \
		--batch 7 2>/dev/null) || return 1
	[ -n "$a" ] && [ "$a" = "$b" ]
}

# same_logits MODEL: the logits of a few images with the integer ops on the host (the split
# schedule, one thread), bit for bit the same as the whole program on the in-process device's
# vector unit on 1 to 5 threads (every row-wise step split too), in batches of 3 and 8, a batch
# sharded over 2 and 3 devices, and with every GEMM kernel this CPU runs.
same_logits() {
	local ref out th cpu
	ref=$(VITRT_SCHEDULE=split "$VITRT" run --backend sim "$1" \
		"$FMNIST/t10k-images-idx3-ubyte.gz" -n 8 --json --threads 1) || return 1
	grep -q '"logits"' <<<"$ref" || return 1
	for th in 1 2 3 5; do
		out=$(VITRT_PAR_MIN_ELEMS=1 "$VITRT" run --backend sim "$1" \
			"$FMNIST/t10k-images-idx3-ubyte.gz" -n 8 --json --threads $th) || return 1
		[ "$out" = "$ref" ] || { echo "$th threads differ"; return 1; }
	done
	for b in 3 8; do
		out=$("$VITRT" run --backend sim "$1" "$FMNIST/t10k-images-idx3-ubyte.gz" -n 8 \
			--json --threads 2 --batch $b) || return 1
		[ "$out" = "$ref" ] || { echo "batch $b differs"; return 1; }
	done
	for d in sim,sim sim,sim,sim; do
		out=$("$VITRT" run --devices $d "$1" "$FMNIST/t10k-images-idx3-ubyte.gz" -n 8 \
			--json --batch 8) || return 1
		[ "$out" = "$ref" ] || { echo "devices $d differ"; return 1; }
	done
	for cpu in $("$VITRT" --help | sed -n 's/.*VITRT_CPU *GEMM kernel of the in-process device: \(.*\) (default.*/\1/p'); do
		out=$(VITRT_CPU=$cpu "$VITRT" run --backend sim "$1" \
			"$FMNIST/t10k-images-idx3-ubyte.gz" -n 8 --json --threads 2) || return 1
		[ "$out" = "$ref" ] || { echo "kernel $cpu differs"; return 1; }
	done
}

# modeled JQ ARGS...: `vitrt bench --modeled --json ARGS` checked by the jq expression JQ and
# by the invariants every report must keep.
modeled_ok() {
	local expect=$1
	shift
	"$VITRT" bench --modeled --json "$@" | jq -e "
		(.array | split(\"x\") | map(tonumber)) as [\$rows, \$cols] |
		def util(\$macs; \$cyc): \$macs / (\$cyc * \$rows * \$cols);
		def close(\$a; \$b): (\$a - \$b) | fabs < 1e-9;
		if [\$rows, \$cols] != [.rows, .cols] then error(\"array vs rows, cols\")
		elif .cycles != ([.layers[] | .cycles * .count] | add) then error(\"cycles\")
		elif .macs != ([.layers[] | .macs * .count] | add) then error(\"macs\")
		elif any(.layers[]; .macs != .m * .n * .k) then error(\"layer macs\")
		elif (close(.utilization; util(.macs; .cycles)) | not) then error(\"utilization\")
		elif any(.layers[]; close(.utilization; util(.macs; .cycles)) | not)
			then error(\"layer utilization\")
		elif .utilization <= 0 or .utilization > 1 then error(\"utilization out of 0..1\")
		elif .whole.macs != .macs then error(\"whole macs\")
		elif ([.whole.layers[].critical] | add) != .whole.cycles then error(\"critical path\")
		elif (close(.whole.utilization; util(.macs; .whole.cycles)) | not)
			then error(\"whole utilization\")
		elif .whole.cycles < .whole.array_busy or .whole.cycles < .whole.vector_busy
			then error(\"whole cycles below an engine's busy time\")
		else ($expect) end" >/dev/null
}

# The DeiT-S GEMMs of one image, stated here from the reference's shapes (name M N K count).
DEIT_S_SHAPES='[["embed",196,384,768,1], ["qkv",197,1152,384,12], ["q.k^T",197,197,64,72],
	["attn.v",197,64,197,72], ["proj",197,384,384,12], ["fc1",197,1536,384,12],
	["fc2",197,384,1536,12], ["head",1,1000,384,1]]'

# Every DeiT-S layer's modeled cycles are those the in-process device reports for that GEMM.
modeled_matches_device() {
	local layers name m n k cyc dev
	layers=$("$VITRT" bench --modeled --json --model deit-s --array 16x16 |
		jq -r '.layers[] | "\(.name) \(.m) \(.n) \(.k) \(.cycles)"') || return 1
	[ "$(wc -l <<<"$layers")" -eq 8 ] || return 1
	while read -r name m n k cyc; do
		dev=$("$VITRT" gemm --backend sim --shape "${m}x${n}x${k}" </dev/null |
			awk '/ cycles /{for (i = 1; i < NF; i++) if ($(i + 1) == "cycles") print $i}')
		[ "$dev" = "$cyc" ] || { echo "$name: modeled $cyc, device $dev"; return 1; }
	done <<<"$layers"
}

echo "TAP version 13"
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
t run_refuses_picture_over_2e28_pixels fails_with 1 "image 16385x16384 is too large" \
	"$VITRT" run --backend sim "$tmp/m.vitsa" $D/png-16385x16384.png
t quantize_truncated_checkpoint fails_with 1 "trunc.safetensors" "$VITRT" quantize \
	"$tmp/trunc.safetensors" --calib "$FMNIST" -o "$tmp/x.vitsa"
t no_half_written_model test ! -e "$tmp/x.vitsa"
t run_model_bad_checksum fails_with 1 "checksum mismatch" "$VITRT" run "$tmp/flip.vitsa" \
	$D/gray28.png
t run_model_bad_version fails_with 1 "format version 9, this vitrt reads version 2: compile the model again" "$VITRT" run "$tmp/ver.vitsa" \
	$D/gray28.png
t run_unsupported_image fails_with 1 "text.png" "$VITRT" run --backend sim "$tmp/m.vitsa" \
	"$tmp/text.png"
t run_resizes_image "$VITRT" run --backend sim "$tmp/m.vitsa" $D/gray32.png \
	--interpolation bilinear --crop-pct 0.9
t run_bad_interpolation fails_with 2 "bicubic or bilinear, not 'lanczos'" "$VITRT" run \
	--backend sim "$tmp/m.vitsa" $D/gray32.png --interpolation lanczos
t run_bad_crop_pct fails_with 2 "crop-pct wants a number in \[0.05, 1\], not '1.5'" \
	"$VITRT" run --backend sim "$tmp/m.vitsa" $D/gray32.png --crop-pct 1.5
t eval_json_fields sh -c "'$VITRT' eval --backend sim '$tmp/m.vitsa' --dataset '$FMNIST' \
	--fp32 '$CKPT' -n 50 --json 2>/dev/null | jq -e '.images == 50 and .scheme == \"w8a8\" and
	([.fp32_top1, .int_top1, .agreement] | map(type) == [\"number\", \"number\", \"number\"])'"
# IDX images are fitted like pictures: gray to RGB, 28x28 resized to the model's 32x32.
t eval_idx_gray_on_rgb_model sh -c "'$VITRT' eval --backend sim '$tmp/rgb.vitsa' \
	--dataset '$FMNIST' -n 20 | grep -q '^20 images'"
t eval_idx_resized sh -c "'$VITRT' quantize tests/golden/fp32/deitdist.safetensors \
	--calib '$FMNIST' -n 8 --check 4 -o '$tmp/dd28.vitsa' >/dev/null &&
	'$VITRT' eval --backend sim '$tmp/dd28.vitsa' --dataset '$FMNIST' -n 20 | grep -q '^20 images'"
t run_idx_resized sh -c "'$VITRT' run --backend sim '$tmp/dd28.vitsa' \
	'$FMNIST/t10k-images-idx3-ubyte.gz' -n 3 | grep -c 'idx3-ubyte.gz#' | grep -qx 3"
t eval_checks_fp32_size fails_with 1 \
	"the checkpoint takes 3x32x32 images and has 10 classes, the model $tmp/m.vitsa 1x28x28" \
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$FMNIST" -n 20 --fp32 "$TVCKPT"
t eval_checks_fp32_channels fails_with 1 "rgb.safetensors: the checkpoint takes 3x28x28" \
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$FMNIST" -n 20 --fp32 \
	"$tmp/rgb.safetensors"
t bench_checks_fp32 fails_with 1 "the checkpoint takes 3x32x32 images" "$VITRT" bench \
	--backend sim "$tmp/m.vitsa" -n 2 --fp32 "$TVCKPT"
t bench_fp32_same_input "$VITRT" bench --backend sim "$tmp/rgb.vitsa" -n 2 --fp32 \
	"$tmp/rgb.safetensors"
t modeled_macs_deit_t modeled_ok '.macs == 1253683200 and .model == "deit-t"' \
	--model deit-t
t modeled_macs_deit_s modeled_ok '.macs == 4598882304 and .array == "16x16"' \
	--model deit-s
t modeled_macs_deit_b_32x32 modeled_ok '.macs == 17563828224 and .array == "32x32"' \
	--model deit-b --array 32x32
t modeled_deit_s_layer_shapes modeled_ok \
	"[.layers[] | [.name, .m, .n, .k, .count]] == $DEIT_S_SHAPES" \
	--model deit-s --array 8x24
t modeled_cycles_are_the_devices modeled_matches_device
t modeled_table_total sh -c "'$VITRT' bench --modeled --model deit-s | \
	grep -q '^total: 4598882304 MACs in [0-9]* cycles: utilization [0-9.]*%$'"
t modeled_plot_png sh -c "'$VITRT' bench --modeled --model deit-s --json --plot '$tmp/u.png' \
	>/dev/null && test -s '$tmp/u.png' && ! ls '$tmp' | grep -q '^u.png.tmp'"
t modeled_plot_is_a_png sh -c "head -c 8 '$tmp/u.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
t modeled_whole_parameters modeled_ok \
	'.whole.spad_kib == 256 and .whole.dram_bw == 8 and .whole.cycles > .cycles' \
	--model deit-t --spad 256 --dram-bw 8
t modeled_whole_table sh -c "'$VITRT' bench --modeled --model deit-s | \
	grep -q '^whole: 4598882304 MACs in [0-9]* cycles: utilization [0-9.]*%$'"
t modeled_rejects_spad_0 fails_with 2 "spad wants a whole number 1..1048576, not '0'" \
	"$VITRT" bench --modeled --model deit-s --spad 0
t modeled_rejects_spad_unit fails_with 2 "not '512k'" "$VITRT" bench --modeled \
	--model deit-s --spad 512k
t modeled_rejects_dram_bw fails_with 2 "dram-bw wants a whole number 1..65536, not '1.5'" \
	"$VITRT" bench --modeled --model deit-s --dram-bw 1.5
t modeled_rejects_spad_below_tiles fails_with 2 "cannot hold the two 32x32 weight-tile" \
	"$VITRT" bench --modeled --model deit-s --array 32x32 --spad 1
t modeled_rejects_unknown_model fails_with 2 "unknown model 'deit-x'" "$VITRT" bench \
	--modeled --model deit-x
t modeled_rejects_array_0x16 fails_with 2 "not '0x16'" "$VITRT" bench --modeled \
	--model deit-s --array 0x16
t modeled_rejects_array_16x fails_with 2 "not '16x'" "$VITRT" bench --modeled \
	--model deit-s --array 16x
t modeled_rejects_array_too_big fails_with 2 "each side 1..256" "$VITRT" bench --modeled \
	--model deit-s --array 16x512
t modeled_needs_model fails_with 2 "needs --model" "$VITRT" bench --modeled
t modeled_options_need_modeled fails_with 2 "go with --modeled" "$VITRT" bench "$tmp/m.vitsa" \
	--plot "$tmp/u.png"
t modeled_unwritable_plot fails_with 1 "m.vitsa/u.png" "$VITRT" bench --modeled \
	--model deit-s --plot "$tmp/m.vitsa/u.png"

"$VITRT" quantize "$CKPT" --calib "$FMNIST" -n 32 --scheme w4a8 -o "$tmp/m4.vitsa" >/dev/null 2>&1
t threads_and_kernels_same_logits_w8a8 same_logits "$tmp/m.vitsa"
t threads_and_kernels_same_logits_w4a8 same_logits "$tmp/m4.vitsa"
"$VITRT" quantize "$CKPT" --calib "$FMNIST" -n 32 --scheme w4a4 -o "$tmp/m44.vitsa" >/dev/null 2>&1
t threads_and_kernels_same_logits_w4a4 same_logits "$tmp/m44.vitsa"
t threads_bad_count fails_with 2 "not a thread count" "$VITRT" run "$tmp/m.vitsa" --threads 0 \
	"$D/gray28.png"
t batch_out_of_range fails_with 2 "batch wants 1..256" "$VITRT" eval "$tmp/m.vitsa" \
	--dataset "$FMNIST" --batch 0
# The limits themselves (Documentation/runtime.rst, Resource limits): VITRT_MAX_BATCH and
# VITRT_MAX_THREADS are allowed, one more is refused.
t batch_limit_allowed "$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$FMNIST" -n 2 \
	--batch 256
t batch_past_limit fails_with 2 "batch wants 1..256" "$VITRT" eval "$tmp/m.vitsa" \
	--dataset "$FMNIST" -n 2 --batch 257
t threads_limit_allowed "$VITRT" run --backend sim "$tmp/m.vitsa" --threads 256 "$D/gray28.png"
t threads_past_limit fails_with 2 "not a thread count 1..256" "$VITRT" run "$tmp/m.vitsa" \
	--threads 257 "$D/gray28.png"
# The shipped model, whose predictions differ from image to image (timmvit's do not).
"$VITRT" quantize models/vit-fmnist.safetensors --calib "$FMNIST" -n 32 -o "$tmp/f.vitsa" \
	>/dev/null 2>&1
t eval_same_for_every_batch eval_batches "$tmp/f.vitsa" models/vit-fmnist.safetensors
# eval_values MODEL: eval's JSON figures on the first 100 test images are the counts of its
# --predictions file, whose labels and FP32 classes are PyTorch's (tests/golden/accuracy).
eval_values() {
	local out want
	out=$("$VITRT" eval --backend sim "$1" --dataset "$FMNIST" -n 100 --json --fp32 \
		models/vit-fmnist.safetensors --predictions "$tmp/pred" 2>/dev/null) || return 1
	want=$(grep -v '^#' tests/golden/accuracy/fmnist-t10k.txt | head -n 100 |
		paste -d ' ' - "$tmp/pred" | awk '
		$1 != $3 || $2 != $5 { bad++ }
		{ n++; i += $4 == $3; f += $5 == $3; a += $4 == $5 }
		END { printf "{\"images\": %d, \"scheme\": \"w8a8\", \"fp32_top1\": %.2f, " \
			"\"int_top1\": %.2f, \"agreement\": %.2f}", n, 100 * f / n, 100 * i / n,
			100 * a / n; exit bad > 0 }') ||
		{ echo "labels or FP32 classes differ from PyTorch's"; return 1; }
	echo "$out"
	jq -e --argjson w "$want" 'to_entries | map(select(.key | in($w))) | from_entries == $w' \
		<<<"$out" >/dev/null
}
t eval_values eval_values "$tmp/f.vitsa"
# Datasets as folders: an ImageFolder tree of 10 classes (PNGs of two sizes, an RGB JPEG
# photo), a flat folder, and broken ones, all made here from committed images.
HUBBLE=tests/golden/resize/in/hubble_deep_field.jpg
IF=$tmp/if
for c in c0 c1 c2 c3 c4 c5 c6 c7 c8 c9; do
	mkdir -p "$IF/$c"
	cp $D/gray28.png "$IF/$c/a.png"
	cp $D/gray32.png "$IF/$c/b.PNG"
	echo "not an image, not listed" >"$IF/$c/notes.txt"
done
cp "$HUBBLE" "$IF/c3/hubble.jpg"
mkdir -p "$tmp/flat" "$tmp/empty" "$tmp/noimg/c0" "$tmp/noimg/c1" "$tmp/mixed/c0"
cp $D/gray28.png $D/gray32.png "$HUBBLE" "$tmp/flat/"
cp $D/gray28.png "$tmp/noimg/c0/"
cp $D/gray28.png "$tmp/mixed/"
cp $D/gray28.png "$tmp/mixed/c0/"
cp -r "$IF" "$tmp/badjpg"
head -c 20000 "$HUBBLE" >"$tmp/badjpg/c5/cut.jpg"
cp -r "$IF" "$tmp/badpng"
head -c 100 $D/gray28.png >"$tmp/badpng/c7/cut.png"
mkdir -p "$tmp/three/a" "$tmp/three/b" "$tmp/three/c"
for c in a b c; do cp $D/gray28.png "$tmp/three/$c/"; done

eval_folder_json() {
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$1" --json 2>"$tmp/err" |
		grep -q "$2"
}
t eval_imagefolder eval_folder_json "$IF" '"images": 21, .*"int_top5": [0-9.]*, "skipped": 0}'
t eval_imagefolder_fp32_top5 sh -c "'$VITRT' eval --backend sim '$tmp/m.vitsa' \
	--dataset '$IF' --fp32 '$CKPT' --json --batch 4 2>/dev/null | grep -q '\"fp32_top5\": [0-9.]*, \"int_top5\": [0-9.]*, '"
t eval_skips_corrupt_jpeg eval_folder_json "$tmp/badjpg" '"images": 21, .*"skipped": 1}'
t eval_names_skipped_jpeg grep -q "badjpg/c5/cut.jpg: JPEG: .*(skipped)" "$tmp/err"
t eval_strict_corrupt_jpeg fails_with 1 "badjpg/c5/cut.jpg: JPEG: " "$VITRT" eval \
	--backend sim "$tmp/m.vitsa" --dataset "$tmp/badjpg" --strict
t eval_strict_truncated_png fails_with 1 "badpng/c7/cut.png: PNG: " "$VITRT" eval \
	--backend sim "$tmp/m.vitsa" --dataset "$tmp/badpng" --strict
t eval_class_without_images fails_with 1 "noimg/c1: class folder without PNG or JPEG images" \
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$tmp/noimg"
t eval_empty_folder fails_with 1 "empty: no PNG or JPEG images and no class folders" \
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$tmp/empty"
t eval_mixed_folder fails_with 1 "mixed: both images (gray28.png) and folders (c0)" \
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$tmp/mixed"
t eval_flat_has_no_labels fails_with 1 "flat: a folder of images has no labels" \
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$tmp/flat"
t eval_class_count fails_with 1 "three: 3 class folders, the model has 10 classes" \
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$tmp/three"
t eval_not_a_folder fails_with 1 "gray28.png: not a folder" "$VITRT" eval --backend sim \
	"$tmp/m.vitsa" --dataset $D/gray28.png
t quantize_calib_flat sh -c "'$VITRT' quantize '$CKPT' --calib '$tmp/flat' \
	--interpolation bilinear -o '$tmp/flat.vitsa' | grep -q ', 3 calibration images'"
t quantize_calib_imagefolder_rgb sh -c "'$VITRT' quantize '$tmp/rgb.safetensors' \
	--calib '$IF' -n 12 -o '$tmp/if.vitsa' | grep -q ', 12 calibration images'"
t quantize_calib_skips sh -c "'$VITRT' quantize '$CKPT' --calib '$tmp/badjpg' -n 100 \
	-o '$tmp/bj.vitsa' 2>&1 | grep -q '1 unreadable calibration images skipped'"
t quantize_calib_strict fails_with 1 "badpng/c7/cut.png: PNG: " "$VITRT" quantize "$CKPT" \
	--calib "$tmp/badpng" -n 100 --strict -o "$tmp/bp.vitsa"
t quantize_calib_strict_no_file test ! -e "$tmp/bp.vitsa"
t quantize_calib_empty fails_with 1 "empty: no PNG or JPEG images" "$VITRT" quantize \
	"$CKPT" --calib "$tmp/empty" -o "$tmp/e.vitsa"
# Nested ImageFolder trees (imagefolder_tree.txt): images at any depth below a class folder,
# symlinks followed, loops not, in torchvision's order with its labels (imagefolder_order.txt,
# written by imagefolder_order.py).  A copy with damaged images names every file, in order.
make_tree() {	# DIR PNG JPEG
	local kind path target
	while read -r kind path target; do
		case $kind in file|link|loop) mkdir -p "$1/$(dirname "$path")" ;; *) continue ;; esac
		case $kind:$path in
		file:*.[jJ][pP][gG] | file:*.[jJ][pP][eE][gG]) cp "$3" "$1/$path" ;;
		file:*) cp "$2" "$1/$path" ;;
		*) ln -s "$target" "$1/$path" ;;
		esac
	done <$D/imagefolder_tree.txt
}
head -c 2000 "$HUBBLE" >"$tmp/cut.jpg"
make_tree "$tmp/nest" $D/gray28.png "$HUBBLE"
make_tree "$tmp/nestcut" "$tmp/badpng/c7/cut.png" "$tmp/cut.jpg"
nested_order() {
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$tmp/nest" \
		--predictions "$tmp/nest.pred" >/dev/null || return 1
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$tmp/nestcut" 2>&1 >/dev/null |
		sed -n "s|^vitrt: $tmp/nestcut/\(.*\): [A-Z]*: .*(skipped)\$|\1|p" >"$tmp/nest.paths"
	cut -d' ' -f1 "$tmp/nest.pred" | paste -d' ' "$tmp/nest.paths" - |
		diff - <(grep -v '^#' $D/imagefolder_order.txt)
}
t eval_nested_order nested_order
mkdir -p "$tmp/noimg2/c0" "$tmp/noimg2/c1/sub"
cp $D/gray28.png "$tmp/noimg2/c0/"
cp $D/gray28.png "$tmp/noimg2/c1/sub/x.bmp"
ln -s .. "$tmp/noimg2/c1/sub/loop"
t eval_nested_class_without_images fails_with 1 \
	"noimg2/c1: class folder without PNG or JPEG images (.png, .jpg, .jpeg), at any depth" \
	"$VITRT" eval --backend sim "$tmp/m.vitsa" --dataset "$tmp/noimg2"
# Every compiled model is checked against its fake-quant graph before it is written.
t quantize_checks_held_out sh -c "'$VITRT' quantize '$CKPT' --calib '$FMNIST' -n 16 --check 8 \
	-o '$tmp/c.vitsa' | grep -q 'checked on 8 held-out images: top-1 agreement'"
t quantize_json_check sh -c "'$VITRT' quantize '$CKPT' --calib '$FMNIST' -n 16 --check 8 --json \
	-o '$tmp/c.vitsa' | grep -q '\"check\": {\"images\": 8, \"held_out\": true, \"agreement\": '"
t quantize_checks_calibration_when_all_used sh -c "'$VITRT' quantize '$CKPT' \
	--calib '$tmp/flat' -o '$tmp/c.vitsa' | grep -q 'checked on 3 calibration images'"
t quantize_check_beyond_bound fails_with 1 \
	"disagrees with its fake-quant graph: logit error .* (bound 0.00); nothing written" \
	"$VITRT" quantize "$CKPT" --calib "$FMNIST" -n 16 --check 8 --max-logit-error 0.000001 \
	-o "$tmp/nw.vitsa"
t quantize_check_beyond_bound_no_file test ! -e "$tmp/nw.vitsa"
t quantize_check_zero fails_with 2 "check wants a positive count, not '0'" "$VITRT" quantize \
	"$CKPT" --calib "$FMNIST" --check 0 -o "$tmp/nw.vitsa"
t quantize_bad_bound fails_with 2 "max-logit-error wants a positive number, not 'x'" \
	"$VITRT" quantize "$CKPT" --calib "$FMNIST" --max-logit-error x -o "$tmp/nw.vitsa"
t quantize_check_beyond_mean_bound fails_with 1 \
	"logit error .* on average over 8 images of .* (bound 0.00); nothing written" \
	"$VITRT" quantize "$CKPT" --calib "$FMNIST" -n 16 --check 8 --mean-logit-error 0.000001 \
	-o "$tmp/nw.vitsa"
t quantize_bad_mean_bound fails_with 2 "mean-logit-error wants a positive number, not '0'" \
	"$VITRT" quantize "$CKPT" --calib "$FMNIST" --mean-logit-error 0 -o "$tmp/nw.vitsa"
t quantize_w4a4_bounds sh -c "'$VITRT' quantize '$CKPT' --calib '$FMNIST' -n 16 --check 8 \
	--scheme w4a4 --json -o '$tmp/c.vitsa' | jq -e '.check.bound == 0.5 and
	.check.mean_bound == 0.15' >/dev/null"
# A compiled model resizes and crops pictures as it was calibrated, unless told otherwise.
"$VITRT" quantize "$CKPT" --calib "$FMNIST" -n 16 --check 4 --interpolation bilinear \
	--crop-pct 1 -o "$tmp/pp.vitsa" >/dev/null 2>&1
compiled_preprocessing() {
	local a b c
	a=$("$VITRT" run "$tmp/pp.vitsa" "$HUBBLE" --json) &&
	b=$("$VITRT" run "$tmp/pp.vitsa" "$HUBBLE" --json --interpolation bilinear --crop-pct 1) &&
	c=$("$VITRT" run "$tmp/pp.vitsa" "$HUBBLE" --json --interpolation bicubic --crop-pct 0.875) &&
	[ "$a" = "$b" ] && [ "$a" != "$c" ]
}
t info_shows_preprocessing sh -c "'$VITRT' info '$tmp/pp.vitsa' | \
	grep -q 'resized bilinear, centre crop 1.000 (as calibrated)'"
t run_uses_compiled_preprocessing compiled_preprocessing
# File names are data (issue 15).  Each name below is a folder holding the files of every
# command's --json, named after it too: every output must be JSON (jq parses it) in UTF-8
# (iconv reads it) and carry the names as given, byte for byte, or where a name is not UTF-8
# (JSON holds only Unicode) with each stray byte as U+FFFD.  HOSTILE is the name, AS_JSON
# the same as JSON has it, KIND names the test.
FFFD=$'\xef\xbf\xbd'
L=$(printf 'x%.0s' {1..200})
LONG="$L/$L/$L/$L/$L/$L/$L/$L"	# twice in a path: over 3,200 bytes
HOSTILE=('a"b' 'a\b\\c' $'new\nline\n' $'\x01\x1f\t\x7f\x1b[31m' 'é ✓ 😀'
	 $'bad\xff\xfe' $'cut\xc3 \xe2\x82' $'over\xc0\xaf\xed\xa0\x80' "$LONG")
AS_JSON=("${HOSTILE[@]:0:5}" "bad$FFFD$FFFD" "cut$FFFD $FFFD$FFFD" "over$FFFD$FFFD$FFFD$FFFD$FFFD"
	 "$LONG")
KIND=(quote backslash newline control utf8 not_utf8 cut_utf8 overlong_surrogate long_path)

# names_in JQ STRING... -- CMD...: CMD succeeds and prints JSON text in UTF-8, and the strings
# that the jq filter JQ picks out of it, in order, are the STRINGs.
names_in() {
	local filter=$1 out=$tmp/names_in.json want=()
	shift
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	"$@" >"$out" || return 1
	jq empty "$out" || return 1
	iconv -f UTF-8 -t UTF-8 "$out" >/dev/null || { echo "not UTF-8"; return 1; }
	cmp <(jq -j "($filter) | (., \"\\u0000\")" "$out") <(printf '%s\0' "${want[@]}") ||
		{ head -c 1000 "$out" | cat -v; return 1; }
}

# hostile_json KIND NAME AS_JSON: the name NAME (AS_JSON in JSON) through every command that
# takes a file name, one test each (not "local n": that is ktap.sh's count).
hostile_json() {
	local k=$1 f=$2 fw=$3 d=$tmp/hostile/$1/$2 dw=$tmp/hostile/$1/$3
	case $f in */*) mkdir -p "$d/${f%/*}" ;; *) mkdir -p "$d" ;; esac
	cp "$tmp/m.vitsa" "$d/$f.vitsa"
	cp $D/gray28.png "$d/$f.png"
	cp "$CKPT" "$d/$f.safetensors"
	cp "$CKPT.json" "$d/$f.safetensors.json"
	ln -s "$(realpath "$FMNIST")" "$d/$f.d"
	ln -s "$(realpath "$FMNIST")/t10k-images-idx3-ubyte.gz" "$d/$f.idx"
	t json_${k}_run names_in .image "$dw/$fw.png" "$dw/$fw.idx#0" "$dw/$fw.idx#1" -- \
		"$VITRT" run --backend sim "$d/$f.vitsa" "$d/$f.png" "$d/$f.idx" -n 2 --json
	t json_${k}_run_fp32 names_in .image "$dw/$fw.png" -- \
		"$VITRT" run --fp32 "$d/$f.safetensors" "$d/$f.png" --json
	t json_${k}_eval names_in '.model, .dataset, .checkpoint' "$dw/$fw.vitsa" "$dw/$fw.d" \
		"$dw/$fw.safetensors" -- "$VITRT" eval --backend sim "$d/$f.vitsa" \
		--dataset "$d/$f.d" -n 4 --fp32 "$d/$f.safetensors" --json
	t json_${k}_quantize names_in '.checkpoint, .calib, .output' "$dw/$fw.safetensors" \
		"$dw/$fw.d" "$dw/$fw.out.vitsa" -- "$VITRT" quantize "$d/$f.safetensors" \
		--calib "$d/$f.d" -n 4 --check 2 -o "$d/$f.out.vitsa" --json
	t json_${k}_info names_in .model "$dw/$fw.vitsa" -- "$VITRT" info "$d/$f.vitsa" --json
	t json_${k}_bench names_in '.model, .checkpoint' "$dw/$fw.vitsa" "$dw/$fw.safetensors" -- \
		"$VITRT" bench --backend sim "$d/$f.vitsa" -n 2 --fp32 "$d/$f.safetensors" --json
	t json_${k}_modeled names_in .plot "$dw/$fw.plot.png" -- \
		"$VITRT" bench --modeled --model deit-t --plot "$d/$f.plot.png" --json
	t json_${k}_profile names_in '.trace, .plot' "$dw/$fw.trace.json" "$dw/$fw.prof.png" -- \
		sh -c '"$1" run --backend sim "$2.vitsa" "$2.png" --trace "$2.trace.json" \
		>/dev/null && "$1" profile "$2.trace.json" --plot "$2.prof.png" --json' sh \
		"$VITRT" "$d/$f"
}
for i in "${!HOSTILE[@]}"; do
	hostile_json "${KIND[$i]}" "${HOSTILE[$i]}" "${AS_JSON[$i]}"
done
# Labels are data too: a sidecar's class names through quantize into run's and info's JSON.
jq -n '{heads: 3, eps: 1e-6, mean: [0], std: [1], labels: ["q\"uote", "back\\slash",
	"new\nline", "\u0001\u001f\u007f", "é ✓ 😀", "</script>", "", " ", "\\u0000", "x"]}' \
	>"$tmp/lab.safetensors.json"
cp "$CKPT" "$tmp/lab.safetensors"
"$VITRT" quantize "$tmp/lab.safetensors" --calib "$FMNIST" -n 8 --check 2 \
	-o "$tmp/lab.vitsa" >/dev/null 2>&1
t json_labels_info sh -c "'$VITRT' info --json '$tmp/lab.vitsa' >'$tmp/lab.info' &&
	jq -e --slurpfile s '$tmp/lab.safetensors.json' '.labels == \$s[0].labels' '$tmp/lab.info'"
t json_labels_run sh -c "'$VITRT' run --backend sim --json '$tmp/lab.vitsa' $D/gray28.png \
	>'$tmp/lab.run' && jq -e --slurpfile s '$tmp/lab.safetensors.json' \
	'[.top5[] | \$s[0].labels[.class] == .label] | length == 5 and all' '$tmp/lab.run'"
# The commands without file names: their JSON parses and holds what --help says.
t json_gemm sh -c "'$VITRT' gemm --backend sim --random 3 --max-dim 64 --json |
	jq -e '.count == 3 and .bit_exact == 3 and (.jobs | length) == 3 and
	all(.jobs[]; .result == \"bit-exact\" and .macs == .m * .n * .k)'"
t json_gemm_quiet sh -c "'$VITRT' gemm --backend sim --random 3 --max-dim 64 --json -q |
	jq -e '.count == 3 and .jobs == []'"
t json_version sh -c "'$VITRT' --version --json | jq -e '.vitrt and .uapi and .hw and .netlink'"
t version_text sh -c "'$VITRT' version | grep -q '^vitrt [0-9.]*\$'"
t json_bench_kernels sh -c "'$VITRT' bench --kernels --json --threads 1 |
	jq -e '.results | length > 0 and all(.[]; .threads == 1 and (.shapes | length) == 6)'"
t cpu_unknown_kernel fails_with 2 "VITRT_CPU=sse9: not a kernel this CPU runs" \
	env VITRT_CPU=sse9 "$VITRT" run "$tmp/m.vitsa" "$D/gray28.png"
# Models as people download them (issue 12): a timm folder (model.safetensors + config.json),
# the variants, mean/std required, unknown tensors named.
G=tests/golden/fp32
cp "$G/timmvit.safetensors" "$tmp/nonorm.safetensors"
echo '{"heads": 3}' >"$tmp/nonorm.safetensors.json"
cp -r "$G/deit3" "$tmp/deit3x"
LC_ALL=C sed -i 's/blocks\.1\.ls2\.gamma/blocks.1.ls3.gamma/' "$tmp/deit3x/model.safetensors"
FMNIST_LABEL='T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot'

# int_follows_fp32 MODEL CKPT IMAGE...: the integer logits correlate with the FP32 ones
# (Pearson r > 0.9 over every logit of every image).
int_follows_fp32() {
	int_vs_fp32 sim "$@" || return 1
	lg_judge 'printf "# %d logits, correlation %.4f\n", n, r; exit !(r > 0.9)'
}

t fp32_folder_config sh -c "'$VITRT' run --fp32 $G/deit3 $D/gray28.png | grep -Eq '$FMNIST_LABEL'"
# run_pair A... -- B...: two `run --json` invocations, their outputs in $ra and $rb.
run_pair() {
	local a=()
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	ra=$("$VITRT" run --json "${a[@]}") && rb=$("$VITRT" run --json "$@")
}
same_run() { run_pair "$@" && [ "$ra" = "$rb" ]; }
other_run() { run_pair "$@" && [ "$ra" != "$rb" ]; }
t fp32_folder_prep_from_config same_run --fp32 $G/deit3 "$HUBBLE" -- --fp32 $G/deit3 \
	--interpolation bilinear --crop-pct 1 "$HUBBLE"
t fp32_folder_prep_overridden other_run --fp32 $G/deit3 "$HUBBLE" -- --fp32 $G/deit3 \
	--interpolation bicubic --crop-pct 0.875 "$HUBBLE"
t fp32_no_mean_std fails_with 1 "nonorm.safetensors: no input mean/std: give them in a sidecar" \
	"$VITRT" run --fp32 "$tmp/nonorm.safetensors" $D/gray28.png
t fp32_mean_std_given "$VITRT" run --fp32 "$tmp/nonorm.safetensors" --mean 0 --std 1 \
	$D/gray28.png
t fp32_mean_std_count fails_with 1 "3 mean and 3 std values given for 1 input channels" \
	"$VITRT" run --fp32 "$tmp/nonorm.safetensors" --mean 0,0,0 --std 1,1,1 $D/gray28.png
t quantize_no_mean_std fails_with 1 "no input mean/std" "$VITRT" quantize \
	"$tmp/nonorm.safetensors" --calib "$tmp/flat" -o "$tmp/nn.vitsa"
t run_mean_needs_checkpoint fails_with 2 "are a checkpoint's (--fp32 CKPT)" "$VITRT" run \
	"$tmp/m.vitsa" --mean 0.5 $D/gray28.png
t fp32_unknown_tensor fails_with 1 "unexpected tensor 'blocks.1.ls3.gamma'" "$VITRT" run \
	--fp32 "$tmp/deit3x" $D/gray28.png
# int_close_to_fp32 MODEL CKPT IMAGES...: the same top-1 on every image, and no integer logit
# further from FP32 than 5% of the FP32 logits' range.
int_close_to_fp32() {
	int_vs_fp32 sim "$@" || return 1
	lg_judge 'printf "# top-1 the same on %d of %d images\n", same, images
		printf "# largest difference %.4f of the range\n", diff / range
		exit !(same == images && diff <= 0.05 * range)'
}
t quantize_distilled "$VITRT" quantize $G/deitdist.safetensors --calib "$tmp/flat" \
	-o "$tmp/dd.vitsa"
t distilled_int_close_to_fp32 int_close_to_fp32 "$tmp/dd.vitsa" $G/deitdist.safetensors \
	$D/gray28.png $D/gray32.png "$HUBBLE" tests/golden/resize/in/camera.png \
	tests/golden/resize/in/chelsea.png tests/golden/resize/in/coffee.png
t quantize_avg_pool "$VITRT" quantize $G/gapvit.safetensors --calib "$tmp/flat" \
	-o "$tmp/gap.vitsa"
t avg_pool_int_close_to_fp32 int_close_to_fp32 "$tmp/gap.vitsa" $G/gapvit.safetensors \
	$D/gray28.png $D/gray32.png "$HUBBLE" tests/golden/resize/in/camera.png \
	tests/golden/resize/in/chelsea.png tests/golden/resize/in/coffee.png
# LN of every patch token, then their mean (the array's GEMM by a row of ones)
t quantize_norm_then_mean "$VITRT" quantize $G/gapnocls.safetensors --calib "$tmp/flat" \
	-o "$tmp/gapn.vitsa"
t norm_then_mean_int_close_to_fp32 int_close_to_fp32 "$tmp/gapn.vitsa" \
	$G/gapnocls.safetensors $D/gray28.png $D/gray32.png "$HUBBLE" \
	tests/golden/resize/in/camera.png tests/golden/resize/in/chelsea.png \
	tests/golden/resize/in/coffee.png
t quantize_folder_deit3 "$VITRT" quantize $G/deit3 --calib "$tmp/flat" -o "$tmp/d3.vitsa"
t deit3_int_follows_fp32 int_follows_fp32 "$tmp/d3.vitsa" $G/deit3 $D/gray28.png \
	$D/gray32.png "$HUBBLE" tests/golden/resize/in/camera.png
# --devices: image i of a batch on device i % devices (bench's warm-up batch counts too)
# The in-process device has the vector unit: a batch is one submission unless asked otherwise.
t bench_whole_program_on_sim sh -c "'$VITRT' bench --backend sim '$tmp/m.vitsa' -n 2 |
	grep -q 'batch 1, one submission per batch'"
t bench_split_schedule_asked sh -c "VITRT_SCHEDULE=split '$VITRT' bench --backend sim \
	'$tmp/m.vitsa' -n 2 | grep -q 'batch 1, split at syncs'"
t bench_devices_share_the_batch sh -c "'$VITRT' bench '$tmp/m.vitsa' --devices sim,sim,sim \
	--batch 5 -n 5 | grep -Eq '^  device 0 +4 images' && '$VITRT' bench '$tmp/m.vitsa' \
	--devices sim,sim,sim --batch 5 -n 5 | grep -Eq '^  device 2 +2 images'"
t devices_listed_twice fails_with 1 "lists /dev/vitsa1 twice" "$VITRT" run "$tmp/m.vitsa" \
	--devices 1,/dev/vitsa1 $D/gray28.png
t devices_same_node_twice fails_with 1 "lists /dev/./null twice" "$VITRT" run "$tmp/m.vitsa" \
	--devices /dev/null,/dev/./null $D/gray28.png
t devices_bad_list fails_with 1 "not '1,'" "$VITRT" run "$tmp/m.vitsa" --devices 1, \
	$D/gray28.png
t devices_missing fails_with 1 "'dev:/dev/vitsa77': no such device" "$VITRT" run \
	"$tmp/m.vitsa" --devices sim,77 $D/gray28.png
t devices_not_with_sim_backend fails_with 1 "not with --backend sim" "$VITRT" eval \
	"$tmp/m.vitsa" --dataset "$FMNIST" --backend sim --devices 0
t devices_not_fp32 fails_with 2 "not --fp32" "$VITRT" run --fp32 "$CKPT" --devices 0 \
	$D/gray28.png
# bench's progress bar: on a terminal (script(1) gives it one) drawn to the last image and
# erased; never into a pipe or a file, nor with VITRT_PROGRESS=0.
# on_tty CMD: CMD's output with a pseudo-terminal for stdin, stdout and stderr.
on_tty() {
	script -qec "$*" /dev/null
}
bar_drawn() {
	local out
	out=$(on_tty "'$VITRT' bench --backend sim '$tmp/m.vitsa' -n 6 --batch 2") || return 1
	grep -q $'bench: integer \[#*  *\] 2/6' <<<"$out" &&
	grep -q $'bench: integer \[#*\] 6/6\r\e\[K' <<<"$out" || { cat -v <<<"$out"; false; }
}
t bench_progress_on_a_terminal bar_drawn
t bench_no_progress_with_progress_0 sh -c "! VITRT_PROGRESS=0 script -qec \"'$VITRT' bench \
	--backend sim '$tmp/m.vitsa' -n 6\" /dev/null | grep -q 'bench: integer \['"
t bench_no_progress_into_a_pipe sh -c "'$VITRT' bench --backend sim '$tmp/m.vitsa' -n 6 \
	2>'$tmp/bench.err' >/dev/null && [ ! -s '$tmp/bench.err' ]"
echo "1..$n"	# the plan last: counted, never kept by hand
exit $failed
