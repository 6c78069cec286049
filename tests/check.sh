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
suite unit-vec $B/test_vec
suite unit-kern $B/test_kern
suite unit-vitrt $B/test_vitrt
suite unit-fp32 $B/test_fp32
suite unit-iops $B/test_iops
suite unit-prog $B/test_prog
suite unit-reorder $B/test_reorder
suite unit-modeled $B/test_modeled
suite unit-resize $B/test_resize
suite vitrt-cli tests/unit/vitrt_cli.sh $B/vitrt
# --trace: Chrome trace-event files of run, eval and bench that nest and hold every step.
suite trace tests/unit/trace.sh $B/vitrt
suite man tests/unit/man.sh $B/vitrt
# make install into a temporary DESTDIR; an application built with pkg-config against it.
suite install tests/install.sh $B/idx_png
# The shipped model W8A8 and W4A8 against the true labels and PyTorch's FP32 predictions.
suite accuracy tests/unit/accuracy.sh $B/vitrt
# The 197-token RGB 224 model W8A8 and W4A8 against PyTorch's FP32 top-1 (issue 12).
suite accuracy-rgb224 tests/unit/accuracy_rgb224.sh $B/vitrt $B/idx_png
# What a CPU without AVX-512 and AVX-VNNI runs (build/avx2only), against the plain build.
suite avx2only tests/unit/vitrt_avx2only.sh $B/vitrt $B/avx2only/vitrt

# san_suite NAME CMD...: suite NAME with the sanitizers' options (make asan tsan builds the
# programs, Documentation/testing.rst).  A report stops the program with a non-zero status
# (halt_on_error; ASan and UBSan exit 86, TSan 66).  ASan and TSan write it to
# $LOGS/NAME.san.PID: any such file fails the suite too (a report from a command whose status a
# test script does not check is not lost) and is appended to $LOGS/NAME.err.  GCC 12's UBSan
# ignores log_path: its reports go to stderr, and its exit status fails the test.
san_suite() {
	local name=$1 f san=$LOGS/$1.san
	shift
	ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:log_path=$san" \
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86:log_path=$san" \
	LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
	TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$san" \
		suite "$name" "$@"
	for f in "$san".*; do
		[ -e "$f" ] || continue
		echo "# suite-error: $name sanitizer report in $f" >>"$LOGS/$name.tap"
		cat "$f" >>"$LOGS/$name.err"
	done
}

# The unit tests and the CLI tests again under ASan + UBSan; the threads under TSan (the GEMM
# kernels' tasks on 3 threads, a smaller workload: TSan is ~10x slower; vitrt's pool, batches
# and kernels, compared with the plain build).
for t in model vec kern vitrt fp32 iops prog reorder modeled resize; do
	san_suite asan-unit-$t $B/asan/test_$t
done
san_suite asan-vitrt-cli tests/unit/vitrt_cli.sh $B/asan/vitrt
san_suite asan-trace tests/unit/trace.sh $B/vitrt $B/asan/vitrt
san_suite tsan-kern env TEST_KERN_QUICK=1 $B/tsan/test_kern
san_suite tsan-vitrt tests/unit/vitrt_tsan.sh $B/vitrt $B/tsan/vitrt
san_suite tsan-trace tests/unit/trace.sh $B/vitrt $B/tsan/vitrt
# The libFuzzer harnesses (tests/fuzz/, Documentation/testing.rst): each replays its committed
# seeds, then fuzzes from them for FUZZ_CHECK_SECONDS (15 s); an input that fails is kept in
# build/fuzz/crashes/.
if make -s -j2 fuzz-build >&2; then
	for f in safetensors mfile image model submit; do
		suite fuzz-$f tests/fuzz/run.sh check "${FUZZ_CHECK_SECONDS:-15}" $f
	done
else
	echo "# suite-error: fuzz building the harnesses failed" >"$LOGS/fuzz.tap"
fi
suite rtl $B/rtl/vitsa_rtl_tb
suite rtl-4x7 $B/rtl/vitsa_rtl_tb_4x7 -n 1000
suite rtl-9x3 $B/rtl/vitsa_rtl_tb_9x3 -n 1000
suite rtl-fp16 $B/activity/act_fcheck -n 200000
suite rtl-vec $B/rtl/vitsa_vec_tb
# vitsa.ko packaged for DKMS and through modules_install, for linux-headers-amd64's kernel.
suite dkms tests/dkms.sh

# The device and the driver need our QEMU; the VM also Debian's kernel and the initramfs.
if ! qemu=$(scripts/qemu.sh | tail -n 1) || [ ! -x "$qemu" ]; then
	echo "# suite-error: qemu building QEMU with the vitsa device failed" >"$LOGS/qemu.tap"
else
	suite qtest-device make -s qtest-run QEMU="$qemu"
	if make -s vm >&2 && kernel=$(scripts/kernel.sh | tail -n 1); then
		runner vm tests/vm/run.sh "$qemu" "$kernel" $B/vm/initramfs.cpio.gz
		# Again on q35 behind intel-iommu (strict): the DMA API use, GEMMs, selftests and the
		# model's whole-program submissions.
		runner vm-iommu env VM_IOMMU=1 VM_SUITES=10-gemm,20-vitsa_test,30-model \
			VM_LOG=$LOGS/vm-iommu-console.log \
			tests/vm/run.sh "$qemu" "$kernel" $B/vm/initramfs.cpio.gz
		# Again without MSI: the shared INTx line, through jobs, hangs, resets, a dead device.
		runner vm-intx env VM_INTX=1 VM_SUITES=10-gemm,20-vitsa_test,21-vitsa_recovery \
			VM_LOG=$LOGS/vm-intx-console.log \
			tests/vm/run.sh "$qemu" "$kernel" $B/vm/initramfs.cpio.gz
		# Again on 1.2 devices (no vector unit): the runtime's split schedule, same logits.
		runner vm-novec env VM_NOVEC=1 VM_SUITES=10-gemm,30-model \
			VM_LOG=$LOGS/vm-novec-console.log \
			tests/vm/run.sh "$qemu" "$kernel" $B/vm/initramfs.cpio.gz
	else
		echo "# suite-error: vm building the module or the VM image failed" >"$LOGS/vm.tap"
	fi
fi

echo
cat "$LOGS"/*.tap | awk -f tests/tap-summary.awk
