#!/bin/sh
# In the VM, before the unplug suite takes /dev/vitsa1 away: a batch in lockstep on one device
# (one submission per SYNC for all its images) and a batch of 16 sharded over both devices
# (vitrt --devices) give the logits of the host's in-process run bit for bit, each device does
# its half of the jobs (stats/jobs_completed), and `vitrt bench` counts every image it ran on
# its devices and prints the images/s of one device and of two, by device time and by the
# clock (figures, not asserted).  On one device the thread that waits runs on the CPU the
# device interrupts, wherever the interrupt is sent; not with two devices, nor with VITRT_PIN=0.
n=0
failed=0
cd /data || exit 1
s=w8a8

check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=1
	fi
}

jobs_of() {
	cat /sys/class/misc/vitsa$1/stats/jobs_completed
}

echo "TAP version 13"
echo "1..8"
[ -e /dev/vitsa0 ] && [ -e /dev/vitsa1 ]
check $? two_devices_present

j0=$(jobs_of 0) j1=$(jobs_of 1)
vitrt run --devices all --batch 16 --json -n 32 model-$s.vitsa images.idx >/tmp/out.json \
	2>/tmp/err && cmp -s /tmp/out.json expected-$s.json
rc=$?
check $rc "${s}_batch_16_on_all_devices_equals_host_sim"
[ $rc = 0 ] || { cat /tmp/err; cmp /tmp/out.json expected-$s.json; } 2>&1 | head -5 | sed 's/^/# /'
d0=$(($(jobs_of 0) - j0)) d1=$(($(jobs_of 1) - j1))
echo "# jobs: /dev/vitsa0 $d0, /dev/vitsa1 $d1"
[ "$d0" -gt 0 ] && [ "$d0" = "$d1" ]
check $? each_device_ran_half_of_the_jobs

vitrt run --devices 1,0 --batch 5 --json -n 32 model-$s.vitsa images.idx >/tmp/out.json \
	2>/tmp/err && cmp -s /tmp/out.json expected-$s.json
check $? "${s}_batch_5_on_devices_1_0_equals_host_sim"

vitrt run --devices 0 --batch 7 --json -n 32 model-$s.vitsa images.idx >/tmp/out.json \
	2>/tmp/err && cmp -s /tmp/out.json expected-$s.json
check $? "${s}_batch_7_in_lockstep_on_one_device_equals_host_sim"

# The bench's devices together count every image it ran: one warm-up batch of 16 per batch
# in flight ("N in flight": 2 on one device, whose two sets of sessions both count) and 32.
ok=0
for d in 0 all; do
	vitrt bench model-$s.vitsa --devices $d --batch 16 -n 32 >/tmp/bench 2>&1 || ok=1
	sed "s/^/# devices $d: /" /tmp/bench
	depth=$(sed -n 's/.*, \([0-9]*\) in flight$/\1/p' /tmp/bench)
	got=$(awk '/^ *device [0-9]+ / { n += $3 } END { print n + 0 }' /tmp/bench)
	[ -n "$depth" ] && [ "$got" = $((16 * depth + 32)) ] || ok=1
	echo "# devices $d: $got images counted, $depth in flight"
done
check $ok bench_counts_every_image_on_its_devices

# The CPU `vitrt bench` with these arguments says it waited on; "null" when not pinned.
submitter_cpu() {
	vitrt bench model-$s.vitsa -n 8 --json "$@" 2>/dev/null |
		sed -n 's/.*"submitter_cpu": \([0-9a-z]*\),.*/\1/p'
}
mm=$(stat -c '%t %T' /dev/vitsa0)
irq=$(cat "/sys/dev/char/$((0x${mm% *})):$((0x${mm#* }))/device/irq")
mask=$(cat "/proc/irq/$irq/smp_affinity")
ok=0 seen=
for c in 0 1; do
	echo $((1 << c)) >"/proc/irq/$irq/smp_affinity" || ok=1
	# x86 moves an MSI at its next interrupt: the first run's make the move happen
	submitter_cpu --backend dev:/dev/vitsa0 >/dev/null
	eff=$(cut -d, -f1 "/proc/irq/$irq/effective_affinity_list" | cut -d- -f1)
	got=$(submitter_cpu --backend dev:/dev/vitsa0)
	echo "# interrupt $irq to CPU $c: effective CPU $eff, bench waited on CPU $got"
	[ "$got" = "$eff" ] || ok=1
	seen="$seen$eff"
done
echo "$mask" >"/proc/irq/$irq/smp_affinity"
# the interrupt did move, so a CPU fixed in vitrt would not pass
[ "$seen" = 01 ] || ok=1
check $ok waits_on_the_cpu_the_device_interrupts

two=$(submitter_cpu --devices all) off=$(VITRT_PIN=0 submitter_cpu --backend dev:/dev/vitsa0)
echo "# two devices: $two, VITRT_PIN=0: $off"
[ "$two" = null ] && [ "$off" = null ]
check $? not_pinned_on_two_devices_or_with_vitrt_pin_0
exit $failed
