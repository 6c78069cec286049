#!/bin/bash
# Make the fuzzers' seed corpora, tests/fuzz/corpus/<harness>/ (each well under 100 KB).  Run
# once from the top of the tree after `make userspace`; the output is committed, nothing here
# runs at test time.  Needs python3, cjpeg (libjpeg-turbo-progs) and dataset-fashion-mnist.
set -euo pipefail
cd "$(dirname "$0")/../.."
C=tests/fuzz/corpus
FM=/usr/share/datasets/fashion-mnist
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
rm -rf "$C"
mkdir -p "$C"/{safetensors,mfile,image,model,submit}

# le16 N: N as 2 little-endian bytes (the length prefix of a two-file input, fuzz_split).
le16() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8)))"; }
# pair OUT A B: the two files as one input.
pair() { { le16 "$(stat -c %s "$2")"; cat "$2" "$3"; } >"$1"; }

# safetensors: sidecar-prefixed checkpoints (fuzz_safetensors.c).
tests/fuzz/make_seeds.py ckpt "$T/tiny.safetensors"
pair "$C/safetensors/tiny" "$T/tiny.safetensors.json" "$T/tiny.safetensors"
printf '{"heads": 2, "eps": 1e-5, "mean": [0.5], "std": [0.25], "labels": ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]}' \
	>"$T/labels.json"
pair "$C/safetensors/labels" "$T/labels.json" "$T/tiny.safetensors"
{ le16 0; cat "$T/tiny.safetensors"; } >"$C/safetensors/no-sidecar"

# mfile: the tiny checkpoint compiled, W8A8 on a 16x16 array, W4A8 and W4A4 on 8x8.
build/vitrt quantize "$T/tiny.safetensors" --calib $FM -n 8 -o "$C/mfile/tiny-w8a8.vitrt" >/dev/null
build/vitrt quantize "$T/tiny.safetensors" --calib $FM -n 8 -s w4a8 --array 8x8 \
	-o "$C/mfile/tiny-w4a8.vitrt" >/dev/null
build/vitrt quantize "$T/tiny.safetensors" --calib $FM -n 8 -s w4a4 --array 8x8 \
	-o "$C/mfile/tiny-w4a4.vitrt" >/dev/null

# image: mode byte, prep byte, then the file(s) (fuzz_image.c).
tests/fuzz/make_seeds.py pics "$T"
cjpeg -quality 80 "$T/rgb.ppm" >"$T/rgb.jpg"
cjpeg -progressive -grayscale "$T/gray.pgm" >"$T/prog.jpg"
{ printf '\x00\x0e'; cat tests/unit/data/gray28.png; } >"$C/image/png-gray"
{ printf '\x00\x2f'; cat "$T/rgb.jpg"; } >"$C/image/jpeg-rgb"
{ printf '\x00\x45'; cat "$T/prog.jpg"; } >"$C/image/jpeg-progressive"
{ printf '\x00\x87'; cat "$T/rgba16.png"; } >"$C/image/png-rgba16"
{ printf '\x00\x03'; cat tests/golden/resize/in/green_palette.png; } >"$C/image/png-palette"
# Three images and their labels, as IDX (plain and gzip'ed).
python3 - "$T" <<'PY'
import gzip, struct, sys
raw = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read(16 + 3 * 784)
lab = gzip.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").read(8 + 3)
img = struct.pack(">IIII", 0x803, 3, 28, 28) + raw[16:]
open(sys.argv[1] + "/images", "wb").write(img)
open(sys.argv[1] + "/labels", "wb").write(struct.pack(">II", 0x801, 3) + lab[8:])
open(sys.argv[1] + "/images.gz", "wb").write(gzip.compress(img, mtime=0))
PY
{ printf '\x01\x00'; cat "$T/images"; } >"$C/image/idx"
{ printf '\x01\x00'; cat "$T/images.gz"; } >"$C/image/idx-gz"
{ printf '\x02\x0e'; pair /dev/stdout "$T/images.gz" "$T/labels"; } >"$C/image/idx-pair"
{ printf '\x03\x0f'; pair /dev/stdout tests/unit/data/gray32.png "$T/rgb.jpg"; } >"$C/image/folders"
{ printf '\x03\x8e'; pair /dev/stdout tests/unit/data/gray28.png "$T/prog.jpg"; } >"$C/image/flat"

# model and submit: descriptors and memory images.
tests/fuzz/make_seeds.py desc "$C/model"
cp "$C"/model/* "$C/submit/"
tests/fuzz/make_seeds.py vdesc "$C/submit"
du -sh "$C"/*
