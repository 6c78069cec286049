#!/bin/bash
# Tests of make check's runner itself (KTAP): tests/tap-summary.awk fed crafted logs, in the
# line formats tests/check.sh and tests/vm/console-tap.sh write, each expecting its last line
# "N passed, N failed" and exit status 1 exactly when something failed.  A VM console log goes
# through console-tap.sh first, as in tests/vm/run.sh.
set -u
cd "$(dirname "$0")/../.."
SUMMARY=tests/tap-summary.awk
CONSOLE=tests/vm/console-tap.sh
n=0
failed=0

# verdict NAME WANT [FILTER...] <LOG: the summary of LOG (passed through FILTER first, if any)
# must end in the line WANT and exit 1 unless WANT says 0 failed.
verdict() {
	local name=$1 want=$2 out rc want_rc=1
	shift 2
	n=$((n + 1))
	[[ $want == *" 0 failed" ]] && want_rc=0
	if [ $# -gt 0 ]; then
		out=$("$@" | awk -f $SUMMARY)
	else
		out=$(awk -f $SUMMARY)
	fi
	rc=$?
	if [ "$(tail -n 1 <<<"$out")" = "$want" ] && [ $rc -eq $want_rc ]; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		failed=1
		echo "# expected '$want' and exit $want_rc, got exit $rc after:"
		sed 's/^/# /' <<<"$out"
	fi
}

echo "TAP version 13"
echo "1..30"

verdict good_suite "2 passed, 0 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
ok 2 y
# suite-exit: a 0
EOF
verdict good_suites_ktap_and_unnumbered "4 passed, 0 failed" <<'EOF'
# suite: a
KTAP version 1
1..2
ok 1 - x
ok 2 - y
# suite-exit: a 0
# suite: b
TAP version 13
1..2
ok - x
ok
# suite-exit: b 0
EOF
verdict plan_at_the_end "2 passed, 0 failed" <<'EOF'
# suite: a
TAP version 13
ok 1 x
ok 2 y
1..2
EOF
verdict nested_results_are_not_top_level "1 passed, 0 failed" <<'EOF'
# suite: a
TAP version 13
1..1
    KTAP version 1
    1..2
    ok 1 sub1
    not ok 2 sub2 # SKIP nested, the parent decides
ok 1 x
EOF
verdict not_ok "1 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
not ok 2 y
# suite-exit: a 1
EOF
verdict skip_fails "1 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
ok 2 y # SKIP no second device
EOF
# The case the issue reported passing: no version line, two failures, exit 1.
verdict no_version_line "0 passed, 3 failed" <<'EOF'
# suite: a
1..2
not ok 1 x
not ok 2 y
# suite-exit: a 1
EOF
verdict results_outside_any_suite "0 passed, 3 failed" <<'EOF'
not ok 1 x
EOF
verdict no_plan "2 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
ok 1 x
ok 2 y
EOF
verdict short_plan "2 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..3
ok 1 x
ok 2 y
# suite-exit: a 0
EOF
verdict results_beyond_plan "2 passed, 2 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
ok 2 y
ok 3 z
ok
EOF
verdict result_number_zero "1 passed, 2 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 0 x
ok 1 y
EOF
verdict duplicate_numbers "1 passed, 2 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
ok 1 x
EOF
verdict two_plans "2 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
ok 2 y
1..2
EOF
verdict bail_out "1 passed, 2 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
Bail out! cannot open /dev/vitsa0
EOF
verdict empty_plan "0 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..0
# suite-exit: a 0
EOF
verdict empty_log "0 passed, 1 failed" </dev/null
verdict suite_printed_nothing "2 passed, 2 failed" <<'EOF'
# suite: a
# suite-exit: a 0
# suite: b
TAP version 13
1..2
ok 1 x
ok 2 y
EOF
verdict exit_status_without_failure "2 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
ok 2 y
# suite-exit: a 139
EOF
verdict exit_status_outside_its_suite "2 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
ok 2 y
# suite-exit: b 1
EOF
verdict suite_error "2 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..2
ok 1 x
ok 2 y
# suite-error: a the VM timed out
EOF
verdict second_version_line_is_a_new_suite "1 passed, 1 failed" <<'EOF'
# suite: a
TAP version 13
1..1
ok 1 x
TAP version 13
1..1
EOF

# The VM: console-tap.sh turns init.sh's exit lines into suite-exit lines.
verdict vm_good "3 passed, 0 failed" $CONSOLE vm- <<'EOF'
SeaBIOS noise
vitsa-vm: booted 6.1.0
# suite: vm-10-gemm
TAP version 13
1..2
ok 1 x
vitsa-vm: unplug vitsa1
ok 2 y
vitsa-vm: suite 10-gemm exit 0
# suite: vm-unload
TAP version 13
1..1
ok 1 rmmod_vitsa
vitsa-vm: dmesg begin
ok 7 from the kernel log
EOF
# Issue 11: a suite that died before its version line vanished from the summary.
verdict vm_suite_died_before_version "1 passed, 2 failed" $CONSOLE vm- <<'EOF'
vitsa-vm: booted 6.1.0
# suite: vm-10-gemm
TAP version 13
1..1
ok 1 x
vitsa-vm: suite 10-gemm exit 0
# suite: vm-23-vitsa_fuzz
Segmentation fault
vitsa-vm: suite 23-vitsa_fuzz exit 139
vitsa-vm: dmesg begin
EOF
verdict vm_suite_exit_status "2 passed, 1 failed" $CONSOLE vm-iommu- <<'EOF'
vitsa-vm: booted 6.1.0
# suite: vm-20-vitsa_test
TAP version 13
1..2
ok 1 x
ok 2 y
vitsa-vm: suite 20-vitsa_test exit 1
vitsa-vm: dmesg begin
EOF
verdict vm_exit_line_after_unterminated_result "1 passed, 1 failed" $CONSOLE vm- <<'EOF'
vitsa-vm: booted 6.1.0
# suite: vm-40-top
TAP version 13
1..1
ok 1 xvitsa-vm: suite 40-top exit 2
vitsa-vm: dmesg begin
EOF
verdict vm_died_mid_suite "1 passed, 1 failed" $CONSOLE vm- <<'EOF'
vitsa-vm: booted 6.1.0
# suite: vm-22-vitsa_stress
TAP version 13
1..2
ok 1 x
[   42.000000] Kernel panic - not syncing
EOF
verdict vm_insmod_failed "0 passed, 2 failed" $CONSOLE vm- <<'EOF'
vitsa-vm: booted 6.1.0
# suite-error: vm-insmod insmod /vitsa.ko failed
vitsa-vm: dmesg begin
EOF
verdict vm_never_booted "0 passed, 1 failed" $CONSOLE vm- <<'EOF'
qemu-system-x86_64: -device vitsa: 'vitsa' is not a valid device model name
EOF

# The suite names console-tap.sh gives (vm-iommu- instead of vm-) and the exit lines.
n=$((n + 1))
got=$(printf '%s\n' 'vitsa-vm: booted' '# suite: vm-20-vitsa_test' \
	'vitsa-vm: suite 20-vitsa_test exit 3' '# suite-error: vm-insmod x' | $CONSOLE vm-iommu-)
want=$(printf '%s\n' '# suite: vm-iommu-20-vitsa_test' '# suite-exit: vm-iommu-20-vitsa_test 3' \
	'# suite-error: vm-iommu-insmod x')
if [ "$got" = "$want" ]; then
	echo "ok $n console_tap_names"
else
	echo "not ok $n console_tap_names"
	failed=1
	sed 's/^/# got: /' <<<"$got"
fi
exit $failed
