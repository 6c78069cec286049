#!/bin/sh
# In the VM, before the unplug suite takes /dev/vitsa1 away: a batch in lockstep on one device
# (one submission per SYNC for all its images) and a batch of 16 sharded over both devices
# (vitrt --devices) give the logits of the host's in-process run bit for bit, each device does
# its half of the jobs (stats/jobs_completed), and `vitrt bench` counts every image it ran on
# its devices and prints the images/s of one device and of two, by device time and by the
# clock (figures, not asserted).
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
echo "1..6"
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
exit $failed
