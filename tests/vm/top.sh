#!/bin/sh
# In the VM: `vitrt top` and the "vitsa" generic netlink family (KTAP).  The figures it reads
# for /dev/vitsa0 must equal /sys/class/misc/vitsa0/stats/*, grow by exactly the jobs and MACs
# of GEMMs run between two refreshes (vitrt gemm queues one job per GEMM), and an unbind/bind
# of the PCI device must reach the events group as device_removed and device_added.
# Busybox only: the JSON lines are picked apart with sed.
n=0
failed=0
D="--backend dev:/dev/vitsa0"
SYS=/sys/class/misc/vitsa0/stats
STATS="jobs_submitted jobs_completed jobs_failed timeouts resets macs busy_cycles idle_cycles
dma_read_bytes dma_write_bytes"
T=/tmp/top

ok() {
	n=$((n + 1))
	echo "ok $n $1"
	[ -n "${2:-}" ] && echo "# $2"
}

not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n $1"
	shift
	for l in "$@"; do echo "$l" | head -n 8 | sed 's/^/# /'; done
}

# check NAME EXPECTED ACTUAL: equal decimal figures
check() {
	if [ -n "$3" ] && [ "$2" = "$3" ]; then
		ok "$1" "$3"
	else
		not_ok "$1" "expected '$2', got '$3'"
	fi
}

# nlstat LINE NAME: counter NAME of vitsa0 in a refresh line (its fields before "stats" hold no '{')
nlstat() {
	echo "$1" | sed -n "s/.*\"name\":\"vitsa0\",[^{]*\"stats\":{[^}]*\"$2\":\([0-9]*\).*/\1/p"
}

# field LINE NAME: a number or string field of vitsa0 in a refresh line
field() {
	echo "$1" | sed -n "s/.*\"name\":\"vitsa0\",[^{]*\"$2\":\"*\([^,\"]*\).*/\1/p"
}

snapshot() {
	vitrt top --json --count 1 2>$T.err
}

# gemm ARGS...: run it; add its jobs (one per GEMM), their m*n*k (from the shapes it prints)
# and their modeled cycles to JOBS, MACS and CYCLES
JOBS=0 MACS=0 CYCLES=0
gemm() {
	if ! vitrt gemm $D "$@" >$T.gemm 2>&1; then
		GEMM_FAILED="$GEMM_FAILED / vitrt gemm $*: $(tail -n 2 $T.gemm)"
		return
	fi
	# one "MxNxK types ... X MACs Y cycles ..." line per job, then "J jobs, M MACs: ..."
	sed -n 's/^\([0-9]*\)x\([0-9]*\)x\([0-9]*\) .* MACs *\([0-9]*\) cycles .*/\1 \2 \3 \4/p' \
		$T.gemm >$T.jobs
	jobs=0
	while read -r m nn k c; do
		jobs=$((jobs + 1))
		MACS=$((MACS + m * nn * k))
		CYCLES=$((CYCLES + c))
	done <$T.jobs
	JOBS=$((JOBS + jobs))
	grep -q "^$jobs jobs, .* $jobs bit-exact, 0 mismatched, 0 failed" $T.gemm ||
		GEMM_FAILED="$GEMM_FAILED / vitrt gemm $*: $jobs job lines but $(tail -n 1 $T.gemm)"
}

echo "TAP version 13"
echo "1..18"

# 1-2: two refreshes a half second apart, the second with rates.
out=$(vitrt top --json --count 2 --interval 0.5 2>&1)
first=$(echo "$out" | sed -n 1p)
second=$(echo "$out" | sed -n 2p)
if [ "$(echo "$out" | grep -c '^{"type":"refresh".*"name":"vitsa0","pci":"[0-9a-f:.]*"')" = 2 ] &&
   [ -n "$(nlstat "$first" jobs_submitted)" ] && [ -n "$(nlstat "$second" dma_write_bytes)" ]; then
	ok top_json_count2_lists_vitsa0 "$(field "$first" pci), $(field "$first" array_rows)x$(field "$first" array_cols), $(field "$first" clock_mhz) MHz, timeout $(field "$first" job_timeout_ms) ms"
else
	not_ok top_json_count2_lists_vitsa0 "$out"
fi
if echo "$first" | grep -q '"interval":null,.*"rates":null' &&
   echo "$second" | grep -q '"rates":{"jobs_per_s":[0-9.e+-]*,"macs_per_s":[0-9.e+-]*,"utilization":'; then
	ok second_refresh_has_rates "$(echo "$second" | sed -n 's/.*"rates":\({[^}]*}\).*/\1/p')"
else
	not_ok second_refresh_has_rates "$first" "$second"
fi

# 3: the same figures as sysfs while the device is idle (idle cycles keep counting).
cmp_sysfs() {
	line=$1
	bad=
	for s in $STATS; do
		nl=$(nlstat "$line" $s)
		sys=$(cat $SYS/$s 2>/dev/null)
		if [ -z "$nl" ] || [ -z "$sys" ]; then
			bad="$bad $s: netlink '$nl' sysfs '$sys';"
		elif [ $s = idle_cycles ]; then
			[ "$sys" -ge "$nl" ] || bad="$bad $s: sysfs $sys < netlink $nl;"
		elif [ "$sys" != "$nl" ]; then
			bad="$bad $s: netlink $nl sysfs $sys;"
		fi
	done
	echo "$bad"
}
a=$(snapshot)
bad=$(cmp_sysfs "$a")
if [ -n "$a" ] && [ -z "$bad" ]; then
	ok netlink_equals_sysfs_before "$(for s in $STATS; do printf '%s=%s ' $s "$(nlstat "$a" $s)"; done)"
else
	not_ok netlink_equals_sysfs_before "$bad" "$a" "$(cat $T.err)"
fi

# 4-10: known GEMMs between two refreshes: 1 + 1 + 6 jobs, m*n*k MACs each.
GEMM_FAILED=
gemm --shape 64x48x32
gemm --shape 37x29x71 -a u8 -w s4 -o s8 --bias -t
gemm --random 6 --max-dim 256 --seed 11
b=$(snapshot)
if [ -z "$GEMM_FAILED" ] && [ "$JOBS" = 8 ]; then
	ok gemms_ran "$JOBS jobs, $MACS MACs, $CYCLES modeled cycles"
else
	not_ok gemms_ran "jobs $JOBS$GEMM_FAILED"
fi
delta() {
	x=$(nlstat "$a" $1)
	y=$(nlstat "$b" $1)
	[ -n "$x" ] && [ -n "$y" ] && echo $((y - x))
}
check jobs_submitted_grew_by_jobs $JOBS "$(delta jobs_submitted)"
check jobs_completed_grew_by_jobs $JOBS "$(delta jobs_completed)"
check jobs_failed_unchanged 0 "$(delta jobs_failed)"
check macs_grew_by_mnk $MACS "$(delta macs)"
check busy_cycles_grew_by_modeled_cycles $CYCLES "$(delta busy_cycles)"
d_rd=$(delta dma_read_bytes)
d_wr=$(delta dma_write_bytes)
if [ -n "$d_rd" ] && [ -n "$d_wr" ] && [ "$d_rd" -gt 0 ] && [ "$d_wr" -gt 0 ]; then
	ok dma_bytes_grew "read $d_rd, written $d_wr"
else
	not_ok dma_bytes_grew "read '$d_rd', written '$d_wr'"
fi

# 11: and sysfs still agrees.
bad=$(cmp_sysfs "$b")
if [ -n "$b" ] && [ -z "$bad" ]; then
	ok netlink_equals_sysfs_after
else
	not_ok netlink_equals_sysfs_after "$bad" "$b" "$(cat $T.err)"
fi

# 12-13: one device by index (the doit); an unknown index is ENODEV with the kernel's message.
one=$(vitrt top --json --count 1 --device 0 2>&1)
if echo "$one" | grep -q '"devices":\[{"index":0,"name":"vitsa0"' &&
   [ "$(nlstat "$one" jobs_submitted)" -ge "$(nlstat "$b" jobs_submitted)" ]; then
	ok device_0_by_index
else
	not_ok device_0_by_index "$one"
fi
out=$(vitrt top --count 1 --device 4242 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q 'No such device - No such vitsa device'; then
	ok unknown_index_is_enodev "$out"
else
	not_ok unknown_index_is_enodev "exit $rc: $out"
fi

# 14: text output names the device and its rates.
out=$(vitrt top --count 2 --interval 0.2 2>&1)
if echo "$out" | grep -q '^vitsa0 ' && echo "$out" | grep -q 'jobs/s .*MAC/s .*utilization'; then
	ok text_output
else
	not_ok text_output "$out"
fi

# 15-17: unbind and bind the PCI device while top listens to the events group.
pci=$(field "$b" pci)
vitrt top --json --interval 0.2 >$T.ev 2>&1 &
top_pid=$!
i=0
while [ ! -s $T.ev ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
echo "$pci" >/sys/bus/pci/drivers/vitsa/unbind
sleep 0.5
echo "$pci" >/sys/bus/pci/drivers/vitsa/bind
i=0
while ! grep -q '"event":"device_added"' $T.ev && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $top_pid
wait $top_pid
rc=$?
ev=$(grep '"type":"event"' $T.ev)
check top_exits_0_on_sigterm 0 $rc
if echo "$ev" | grep -q "\"device\":\"vitsa0\",\"pci\":\"$pci\",\"event\":\"device_removed\",\"event_id\":5,"; then
	ok device_removed_event "$(echo "$ev" | grep device_removed)"
else
	not_ok device_removed_event "$(cat $T.ev)"
fi
if echo "$ev" | grep -q "\"device\":\"vitsa0\",\"pci\":\"$pci\",\"event\":\"device_added\",\"event_id\":4,"; then
	ok device_added_event "$(echo "$ev" | grep device_added)"
else
	not_ok device_added_event "$(cat $T.ev)"
fi

# 18: the rebound device is /dev/vitsa0 again and runs jobs.
i=0
while [ ! -e /dev/vitsa0 ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
if out=$(vitrt gemm $D --shape 16x16x16 2>&1); then
	ok gemm_after_rebind "$(echo "$out" | tail -n 1)"
else
	not_ok gemm_after_rebind "$out"
fi
exit $failed
