#!/bin/bash
# make check: every suite, each writing KTAP into build/logs/<suite>.tap, then one summary
# ending in "N passed, N failed".  Exit status non-zero on any failure or missing result.
set -u
cd "$(dirname "$0")/.."
B=build
LOGS=$B/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

# suite NAME CMD...: run CMD, keep its KTAP in $LOGS/NAME.tap followed by its exit status
# (tap-summary.awk fails a non-zero one without a failing result), note how long it took.
suite() {
	local name=$1 t0=$SECONDS rc
	shift
	echo "== $name" >&2
	{ echo "# suite: $name"; "$@" 2>"$LOGS/$name.err"; } >"$LOGS/$name.tap"
	rc=$?
	echo "# suite-exit: $name $rc" >>"$LOGS/$name.tap"
	echo "   $name: exit $rc in $((SECONDS - t0)) s (log $LOGS/$name.tap)" >&2
}

# runner NAME CMD...: CMD runs several suites and names each itself (tests/vm/run.sh); any
# non-zero exit of CMD is one more failure.
runner() {
	local name=$1 t0=$SECONDS rc
	shift
	echo "== $name" >&2
	"$@" >"$LOGS/$name.tap" 2>"$LOGS/$name.err"
	rc=$?
	[ $rc -eq 0 ] || echo "# suite-error: $name exited with status $rc" >>"$LOGS/$name.tap"
	echo "   $name: exit $rc in $((SECONDS - t0)) s (log $LOGS/$name.tap)" >&2
}

# The summary itself first: a runner that cannot tell a broken log from a good one would
# make every line below meaningless.
suite unit-runner tests/unit/test_runner.sh

suite unit-model $B/test_model
suite unit-kern $B/test_kern
suite unit-vitrt $B/test_vitrt
suite unit-fp32 $B/test_fp32
suite unit-iops $B/test_iops
suite unit-prog $B/test_prog
suite unit-reorder $B/test_reorder
suite unit-modeled $B/test_modeled
suite unit-resize $B/test_resize
suite vitrt-cli tests/unit/vitrt_cli.sh $B/vitrt
suite rtl $B/rtl/vitsa_rtl_tb
suite rtl-4x7 $B/rtl/vitsa_rtl_tb_4x7 -n 1000
suite rtl-9x3 $B/rtl/vitsa_rtl_tb_9x3 -n 1000
suite rtl-fp16 $B/rtl/act_fcheck -n 200000

# The device and the driver need our QEMU; the VM also Debian's kernel and the initramfs.
if ! qemu=$(scripts/qemu.sh | tail -n 1) || [ ! -x "$qemu" ]; then
	echo "# suite-error: qemu building QEMU with the vitsa device failed" >"$LOGS/qemu.tap"
else
	suite qtest-device make -s qtest-run QEMU="$qemu"
	if make -s vm >&2 && kernel=$(scripts/kernel.sh | tail -n 1); then
		runner vm tests/vm/run.sh "$qemu" "$kernel" $B/vm/initramfs.cpio.gz
		# Again on q35 behind intel-iommu (strict): the DMA API use, GEMMs and selftests only.
		runner vm-iommu env VM_IOMMU=1 VM_SUITES=10-gemm,20-vitsa_test \
			VM_LOG=$LOGS/vm-iommu-console.log \
			tests/vm/run.sh "$qemu" "$kernel" $B/vm/initramfs.cpio.gz
	else
		echo "# suite-error: vm building the module or the VM image failed" >"$LOGS/vm.tap"
	fi
fi

echo
cat "$LOGS"/*.tap | awk -f tests/tap-summary.awk
