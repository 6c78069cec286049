#!/bin/bash
# make run: the shipped ViT, compiled to an integer-only program (once), classifies Fashion-MNIST
# test images on the in-process device model; then accuracy and speed against the FP32
# checkpoint on a subset, and the array's view of one DeiT-S block.
set -euo pipefail
vitrt=${VITRT:-build/vitrt}
ckpt=${CKPT:-models/vit-fmnist.safetensors}
data=${FMNIST:-/usr/share/datasets/fashion-mnist}
model=build/models/$(basename "$ckpt" .safetensors)-w8a8.vitsa
B="--backend ${VITRT_BACKEND:-sim}"

mkdir -p build/models
if [ ! -s "$model" ] || [ "$ckpt" -nt "$model" ] || [ "$vitrt" -nt "$model" ]; then
	echo "== vitrt quantize $ckpt (calibrating on 256 training images)"
	"$vitrt" quantize "$ckpt" --calib "$data" -o "$model"
fi
echo "== vitrt info"
"$vitrt" info "$model"
echo
# the first 8 labels after the 8-byte header; od reads a process substitution, so zcat
# killed by SIGPIPE when od has its 16 bytes is no failure under pipefail
truth=$(od -An -tu1 -j 8 -N 8 <(zcat "$data/t10k-labels-idx1-ubyte.gz") | xargs)
echo "== vitrt run: the first 8 test images (true classes: $truth)"
tests/vm/idx-head.sh "$data/t10k-images-idx3-ubyte.gz" 8 >build/models/sample8.idx
"$vitrt" run $B "$model" build/models/sample8.idx
echo
echo "== vitrt eval: 1000 test images, integer-only vs FP32"
"$vitrt" eval $B "$model" --dataset "$data" --fp32 "$ckpt" --limit 1000
echo
echo "== vitrt bench"
"$vitrt" bench $B "$model" --fp32 "$ckpt" -n 200
echo
echo "== one DeiT-S block's GEMMs on the 16x16 array (bit-exact against the CPU reference)"
"$vitrt" gemm $B --shape 197x1152x384 -t --bias -o s8 | sed '$d'    # qkv
"$vitrt" gemm $B --shape 197x197x64 -t | sed 1d | sed '$d'          # q k^T, one head
"$vitrt" gemm $B --shape 197x64x197 -a u8 -o s8 | sed 1d | sed '$d' # probs v, one head
"$vitrt" gemm $B --shape 197x1536x384 -t --bias -o s8 | sed 1d | sed '$d' # fc1
