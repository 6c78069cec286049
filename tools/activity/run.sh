#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tools/activity/run.sh: regenerate the activity table of Documentation/hw/activity.rst.
#
#   tools/activity/run.sh [OUT]       (make activity; OUT defaults to build/activity)
#
# From the repository root, after `make userspace` (build/vitrt, build/libvitrt.a).  Steps:
#  1. act_fcheck: the baseline's fp units against the host IEEE arithmetic, bit for bit;
#  2. vitrt quantize vit-fmnist (w8a8, w4a8), act_dump: the operands of its linear layers
#     (patch embedding, first and last block) for one test image;
#  3. yosys: each PE synthesised to 2-input gates, cell counts and gate netlists;
#  4. act_tb per PE and layer, on the RTL (register toggles) and on the gate netlist (every
#     net), each partial sum checked against a C reference; act_cov sums the toggles;
#  5. act_table: the table, OUT/table.txt.
# Everything runs under nice -n 19: the build machine is shared.
set -euo pipefail

[ "$(nice)" -ge 19 ] || exec nice -n 19 "$0" "$@"

OUT=$(realpath -m "${1:-build/activity}")
A=tools/activity
CKPT=models/vit-fmnist.safetensors
DATA=/usr/share/datasets/fashion-mnist
CALIB=64		# calibration images, as for `vitrt quantize -n`
IMAGE=0			# the test image whose GEMMs are replayed
LAYERS="b0.qkv b5.fc2"
STRIDE=8		# every 8th output channel of each layer: the netlist simulation is slow
WARN="-std=gnu11 -O2 -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror"

die() { echo "run.sh: $*" >&2; exit 1; }

need() {
	for t in verilator yosys gcc g++; do
		command -v $t >/dev/null || die "$t missing (apt-get install verilator yosys g++)"
	done
	for f in build/vitrt build/libvitrt.a $CKPT $DATA; do
		[ -e $f ] || die "$f missing (make userspace; dataset-fashion-mnist)"
	done
}

# stale TARGET ARGS...: TARGET is missing or older than a file among ARGS (options are skipped)
stale() {
	local t=$1 f

	shift
	[ -e $t ] || return 0
	for f in "$@"; do
		if [ -f "$f" ] && [ "$f" -nt $t ]; then
			return 0
		fi
	done
	return 1
}

# vbuild NAME TOP CFLAGS VERILATOR_ARGS... : a Verilated bench in $OUT/NAME
vbuild() {
	local name=$1 top=$2 cflags=$3
	shift 3
	stale $OUT/$name "$@" || return 0
	verilator --cc --exe --build -j 1 --top-module $top --Mdir $OUT/$name.obj \
		-o $OUT/$name -CFLAGS "-O2 -I$PWD/$A $cflags" "$@" >$OUT/$name.log 2>&1 ||
		{ tail -n 20 $OUT/$name.log; die "building $name failed"; }
}

build_tools() {
	gcc $WARN -Ihw/include -Ihw/model -Iuapi -Iuserspace/include -Iuserspace/lib $A/act_dump.c \
		-o $OUT/act_dump build/libvitrt.a -ljansson -lpng -ljpeg -lz -lm
	gcc $WARN $A/act_cov.c -o $OUT/act_cov
	gcc $WARN $A/act_table.c -o $OUT/act_table
	vbuild act_fcheck act_fcheck "" -Wall -Wno-UNUSEDSIGNAL $A/act_fcheck.v $A/act_fmul.v \
		$A/act_fadd.v $PWD/$A/act_fcheck.cpp
}

operands() {
	mkdir -p $OUT/models $OUT/ops
	for s in w8a8 w4a8; do
		build/vitrt quantize $CKPT --calib $DATA -n $CALIB -s $s -o $OUT/models/$s.vitsa
	done
	$OUT/act_dump $CKPT $DATA $CALIB $IMAGE $STRIDE $OUT/ops $OUT/models/w8a8.vitsa \
		$OUT/models/w4a8.vitsa
}

# cells_of NAME: "NAME cells flip-flops" from the yosys statistics (flip-flops: $_*DFF* cells)
cells_of() {
	local cells=0 ffs=0 a b c d

	while read -r a b c d _; do
		case "$a" in
		Number) [ "$b $c" = "of cells:" ] && cells=$d ;;
		\$_*DFF*) ffs=$((ffs + b)) ;;
		esac
	done <$OUT/syn/$1.stat
	echo "$1 $cells $ffs"
}

# synth NAME TOP [YOSYS COMMANDS BEFORE hierarchy]: gate counts and netlist of one PE
synth() {
	local name=$1 top=$2 pre=${3:-}

	if stale $OUT/syn/$name.v $A/act_pe_fp16.v $A/act_fmul.v $A/act_fadd.v $A/act_pe_fixed.v \
		hw/rtl/vitsa_pe.v; then
		yosys_pe $name $top "$pre"
	fi
	cells_of $name >>$OUT/syn/cells
}

# yosys_pe NAME TOP PRE: run the synthesis
yosys_pe() {
	local name=$1 top=$2 pre=$3

	yosys -q -l $OUT/syn/$name.log -p "read_verilog $A/act_pe_fp16.v $A/act_fmul.v \
		$A/act_fadd.v $A/act_pe_fixed.v hw/rtl/vitsa_pe.v; $pre hierarchy -top $top;
		synth -flatten -top $top; abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; opt_clean -purge;
		rename -enumerate -pattern n%; tee -q -o $OUT/syn/$name.stat stat;
		write_verilog -noattr $OUT/syn/$name.v"
}

synthesise() {
	mkdir -p $OUT/syn
	: >$OUT/syn/cells
	synth int vitsa_pe
	synth fp32 act_pe_fp16
	synth fp16 act_pe_fp16 "chparam -set ACC_E 5 -set ACC_M 10 act_pe_fp16;"
	synth int8_only act_pe_fixed
	synth int4w_only act_pe_fixed "chparam -set B_TYPE 2 act_pe_fixed;"
}

# The column benches: RTL and gate-level, integer and the two fp accumulators.
benches() {
	local rtl_int="$A/act_pe_fp16.v $A/act_fmul.v $A/act_fadd.v"
	# RTL: --flatten, else the ports of act_fmul/act_fadd count one instance only; the
	# netlist has no submodules, and one shared PE class compiles 16 times faster.
	local cov="--coverage-toggle --flatten" f16="-GACC_E=5 -GACC_M=10"
	local gl="--coverage-toggle +define+ACT_GL -Wno-fatal -Wno-lint -Wno-style"

	vbuild tb_int act_col "-DACT_FP=0 -DACT_ACC16=0" $cov -Wall -Wno-UNUSEDSIGNAL \
		$A/act_col.v hw/rtl/vitsa_pe.v $rtl_int $PWD/$A/act_tb.cpp
	vbuild tb_f32 act_col "-DACT_FP=1 -DACT_ACC16=0" $cov -Wall -Wno-UNUSEDSIGNAL -GFP=1 \
		$A/act_col.v hw/rtl/vitsa_pe.v $rtl_int $PWD/$A/act_tb.cpp
	vbuild tb_f16 act_col "-DACT_FP=1 -DACT_ACC16=1" $cov -Wall -Wno-UNUSEDSIGNAL -GFP=1 $f16 \
		$A/act_col.v hw/rtl/vitsa_pe.v $rtl_int $PWD/$A/act_tb.cpp
	vbuild gl_int act_col "-DACT_FP=0 -DACT_ACC16=0" $gl \
		$A/act_col.v $OUT/syn/int.v $rtl_int $PWD/$A/act_tb.cpp
	vbuild gl_f32 act_col "-DACT_FP=1 -DACT_ACC16=0" $gl -GFP=1 \
		$A/act_col.v $OUT/syn/fp32.v hw/rtl/vitsa_pe.v $PWD/$A/act_tb.cpp
	vbuild gl_f16 act_col "-DACT_FP=1 -DACT_ACC16=1" $gl -GFP=1 $f16 \
		$A/act_col.v $OUT/syn/fp16.v hw/rtl/vitsa_pe.v $PWD/$A/act_tb.cpp
}

# measure VARIANT BENCH SCHEME: every layer on the RTL and the netlist -> results.VARIANT, cells
measure() {
	local var=$1 tb=$2 scheme=$3 l line macs regs nets glregs cells

	: >$OUT/results.$var
	: >$OUT/runs.$var
	for l in $LAYERS; do
		line=$($OUT/$tb $OUT/ops/$scheme.$l.bin $OUT/cov/$var.$l.rtl.dat) ||
			die "$tb $scheme.$l: $line"
		echo "$var $line" >>$OUT/runs.$var
		macs=$(set -- $line; echo $3)
		read -r _ regs _ _ _ _ < <($OUT/act_cov $OUT/cov/$var.$l.rtl.dat)
		line=$($OUT/gl_${tb#tb_} $OUT/ops/$scheme.$l.bin $OUT/cov/$var.$l.gl.dat) ||
			die "gl_${tb#tb_} $scheme.$l: $line"
		echo "$var gl $line" >>$OUT/runs.$var
		read -r _ glregs _ nets _ _ < <($OUT/act_cov $OUT/cov/$var.$l.gl.dat)
		# the netlist's registers must toggle exactly as the RTL's
		[ "$glregs" = "$regs" ] || die "$var $l: netlist registers $glregs, RTL $regs"
		echo "$var $l $macs $regs $((glregs + nets))" >>$OUT/results.$var
	done
	case $tb in tb_int) cells=int ;; tb_f32) cells=fp32 ;; *) cells=fp16 ;; esac
	echo "$var $(grep "^$cells " $OUT/syn/cells | cut -d" " -f2-)" >$OUT/cells.$var
}

# The variants in table order, the baseline last.  The integer pair, then the three fp ones,
# run in parallel (waiting on each pid: a plain wait would lose a failure).
VARIANTS="int8_W8A8:tb_int:w8a8 int4_W4A8:tb_int:w4a8 fp16_acc16_W8A8:tb_f16:w8a8
	fp16_acc32_W4A8:tb_f32:w4a8 fp16_acc32_W8A8:tb_f32:w8a8"

# progress TOTAL: on a terminal, a bar on stderr of the simulations finished (the lines of
# runs.*), redrawn each second until all TOTAL are.
progress() {
	local total=$1 n bar

	[ -t 2 ] || return 0
	while :; do
		n=$(cat $OUT/runs.* 2>/dev/null | wc -l)
		bar=$(printf '%*s' $((n * 30 / total)) '' | tr ' ' '#')
		printf '\ractivity: simulations [%-30s] %d/%d' "$bar" "$n" "$total" >&2
		[ "$n" -lt "$total" ] || return 0
		sleep 1
	done
}

measure_all() {
	local v pids="" p bar layers=($LAYERS) variants=($VARIANTS)

	rm -f $OUT/runs.*
	progress $((${#variants[@]} * ${#layers[@]} * 2)) &	# RTL and netlist per layer
	bar=$!
	for v in $VARIANTS; do
		measure ${v//:/ } &
		pids="$pids $!"
		case $v in int4*) for p in $pids; do wait $p; done; pids="" ;; esac
	done
	for p in $pids; do wait $p; done
	kill $bar 2>/dev/null || true
	wait $bar 2>/dev/null || true
	[ ! -t 2 ] || printf '\r\033[K' >&2
	: >$OUT/results
	: >$OUT/cells
	: >$OUT/runs.log
	for v in $VARIANTS; do
		cat $OUT/results.${v%%:*} >>$OUT/results
		cat $OUT/cells.${v%%:*} >>$OUT/cells
		cat $OUT/runs.${v%%:*} >>$OUT/runs.log
	done
}

main() {
	need
	mkdir -p $OUT/cov
	build_tools
	$OUT/act_fcheck -n 1000000
	operands
	synthesise
	benches
	measure_all
	$OUT/act_table $OUT/results $OUT/cells | tee $OUT/table.txt
	echo
	echo "cells of PEs built for one mode (yosys, same flow):"
	sed 's/^/  /' $OUT/syn/cells
	echo "operands flushed to zero by the fp16 conversion (per run):"
	while read -r var gl name _ _ _ _ _ n _; do
		[ "$gl" = gl ] && [ "${var#fp16}" != "$var" ] && echo "  $var $name $n"
	done <$OUT/runs.log
}

main
