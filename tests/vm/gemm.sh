#!/bin/sh
# In the VM: GEMMs through /dev/vitsa0 against the CPU reference, bit for bit (KTAP).
n=0
failed=0
t() {
	name=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
		echo "$out" | tail -n 1 | sed 's/^/# /'
	else
		echo "not ok $n $name"
		failed=1
		echo "$out" | tail -n 8 | sed 's/^/# /'
	fi
}
D="--backend dev:/dev/vitsa0"
echo "TAP version 13"
echo "1..14"
t random_shapes_all_types_seed1 vitrt gemm $D --random 40 --max-dim 512 --seed 1 -q
t random_shapes_all_types_seed2 vitrt gemm $D --random 40 --max-dim 512 --seed 2 -q
t random_small_shapes vitrt gemm $D --random 200 --max-dim 40 --seed 3 -q
t cube_512_s8_s32 vitrt gemm $D --shape 512x512x512
t ragged_511x509x513_u8_u8_s32_bias vitrt gemm $D --shape 511x509x513 -a u8 -w u8 --bias
for a in s8 u8 s4 u4; do
	t "odd_${a}_x_s4_requant_s8" vitrt gemm $D --shape 37x29x71 -a $a -w s4 -o s8 --bias -t
done
for o in u8 s4 u4 s16; do
	t "odd_s8_x_u8_requant_${o}" vitrt gemm $D --shape 65x33x17 -a s8 -w u8 -o $o
done
t one_by_one vitrt gemm $D --shape 1x1x1 -a u4 -w u4
exit $failed
