#!/bin/sh
# In the VM, for make bench-vm only (scripts/bench/bench-vm.sh puts it alone in an initramfs of
# its own; never in make check's): `vitrt bench` of /data/model.vitsa through /dev/vitsa0 (the
# driver and the QEMU device) and in-process (sim, on the same emulated CPU), one after the
# other, on one thread and on as many as the VM has CPUs.  /data/bench.args holds the images
# per measurement on the device, the batch and the images for sim: "N B SIM_N" (0: dev only).
# Then a batch of 16 on /dev/vitsa0 alone and sharded over every device (--devices all).  A test
# fails only when vitrt does; each figure is a line "# bench: KEY=VALUE ..." for the host.
n=0
failed=0
cd /data || exit 1
read -r images batch sim_images <bench.args
cpus=$(grep -c '^processor' /proc/cpuinfo)
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
threads=1
[ "$cpus" -gt 1 ] && threads="1 $cpus"
echo "TAP version 13"
paths=2
[ "$sim_images" = 0 ] && paths=1
echo "1..$(($(echo "$threads" | wc -w) * paths + 2))"
echo "# bench: cpu=$cpus model=$cpu"
# bench NAME THREADS BATCH IMAGES ARGS...: `vitrt bench model.vitsa ARGS` as path NAME, one test;
# its figures (ms/image, kernel, images/s by device time where printed) on a "# bench:" line.
bench() {
	name=$1 t=$2 b=$3 count=$4
	shift 4
	n=$((n + 1))
	if vitrt bench model.vitsa -n "$count" --batch "$b" --threads "$t" "$@" >/tmp/out 2>&1
	then
		ms=$(sed -n 's/^ *integer program .*(\([0-9.]*\) ms\/image).*/\1/p' /tmp/out)
		kernel=$(sed -n 's/.*(kernel \([^,]*\),.*/\1/p' /tmp/out)
		dt=$(sed -n 's/.* \([0-9.]*\) images\/s by device time.*/\1/p' /tmp/out)
		echo "# bench: path=$name threads=$t batch=$b images=$count ms=$ms" \
			"kernel=${kernel:--} device_ips=${dt:--}"
		echo "ok $n bench_${name}_threads_$t"
	else
		failed=1
		echo "not ok $n bench_${name}_threads_$t"
	fi
	sed 's/^/# /' /tmp/out
}
for t in $threads; do
	bench dev "$t" "$batch" "$images" --backend dev:/dev/vitsa0
	[ "$sim_images" = 0 ] || bench sim "$t" "$batch" "$sim_images" --backend sim
done
bench devices1 "$cpus" 16 "$images" --devices /dev/vitsa0
bench devices2 "$cpus" 16 "$images" --devices all
exit $failed
