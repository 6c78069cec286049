#!/bin/sh
# In the VM, for make bench-vm only (scripts/bench/bench-vm.sh puts it alone in an initramfs of
# its own; never in make check's): `vitrt bench` of /data/model.vitsa through /dev/vitsa0 (the
# driver and the QEMU device) on one thread and on as many as the VM has CPUs, in rounds; after
# them, once, in-process (sim, on the same emulated CPU).  /data/bench.args holds "N B SIM_N
# ROUNDS PAUSE": the images per measurement on the device, the batch, the images for sim (0:
# dev only), the rounds, and the seconds to stay idle after each round while the host measures
# its in-process figures (it answers the line "vitsa-vm: bench-host ROUND"), so that the host's
# and the device's figures of a round are taken seconds apart, never at once.  Then a batch of
# 16 on /dev/vitsa0 alone and sharded over every device (--devices all).  A test fails only
# when vitrt does; each figure is a line "# bench: KEY=VALUE ..." for the host.
n=0
failed=0
cd /data || exit 1
read -r images batch sim_images rounds pause <bench.args
cpus=$(grep -c '^processor' /proc/cpuinfo)
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
threads=1
[ "$cpus" -gt 1 ] && threads="1 $cpus"
nthreads=$(echo "$threads" | wc -w)
sim_tests=$nthreads
[ "$sim_images" = 0 ] && sim_tests=0
echo "TAP version 13"
echo "1..$((nthreads * rounds + sim_tests + 2))"
echo "# bench: cpu=$cpus model=$cpu"
# bench NAME ROUND THREADS BATCH IMAGES ARGS...: `vitrt bench model.vitsa ARGS` as path NAME,
# one test; its figures (ms/image, kernel, images/s by device time where printed) on a
# "# bench:" line.
bench() {
	name=$1 r=$2 t=$3 b=$4 count=$5
	shift 5
	n=$((n + 1))
	if vitrt bench model.vitsa -n "$count" --batch "$b" --threads "$t" "$@" >/tmp/out 2>&1
	then
		ms=$(sed -n 's/^ *integer program .*(\([0-9.]*\) ms\/image).*/\1/p' /tmp/out)
		kernel=$(sed -n 's/.*(kernel \([^,]*\),.*/\1/p' /tmp/out)
		dt=$(sed -n 's/.* \([0-9.]*\) images\/s by device time.*/\1/p' /tmp/out)
		echo "# bench: path=$name round=$r threads=$t batch=$b images=$count ms=$ms" \
			"kernel=${kernel:--} device_ips=${dt:--}"
		echo "ok $n bench_${name}_round_${r}_threads_$t"
	else
		failed=1
		echo "not ok $n bench_${name}_round_${r}_threads_$t"
	fi
	sed 's/^/# /' /tmp/out
}
r=1
while [ "$r" -le "$rounds" ]; do
	for t in $threads; do
		bench dev "$r" "$t" "$batch" "$images" --backend dev:/dev/vitsa0
	done
	echo "vitsa-vm: bench-host $r"
	sleep "$pause"
	echo "vitsa-vm: bench-resume $r"
	r=$((r + 1))
done
if [ "$sim_images" != 0 ]; then
	for t in $threads; do
		bench sim 1 "$t" "$batch" "$sim_images" --backend sim
	done
fi
bench devices1 1 "$cpus" 16 "$images" --devices /dev/vitsa0
bench devices2 1 "$cpus" 16 "$images" --devices all
exit $failed
