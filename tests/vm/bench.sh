#!/bin/sh
# In the VM, for make bench-vm only (scripts/bench/bench-vm.sh puts it alone in an initramfs of
# its own; never in make check's): `vitrt bench` of /data/model.vitsa through /dev/vitsa0 (the
# driver and the QEMU device) and in-process (sim, on the same emulated CPU), one after the
# other, on one thread and on as many as the VM has CPUs.  /data/bench.args holds the images
# per measurement and the batch: "N B".  Then a batch of 16 on /dev/vitsa0 alone and sharded
# over every device (--devices all).  A test fails only when vitrt does; each figure is a
# line "# bench: KEY=VALUE ..." for the host to read.
n=0
failed=0
cd /data || exit 1
read -r images batch <bench.args
cpus=$(grep -c '^processor' /proc/cpuinfo)
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
threads=1
[ "$cpus" -gt 1 ] && threads="1 $cpus"
echo "TAP version 13"
echo "1..$(($(echo "$threads" | wc -w) * 2 + 2))"
echo "# bench: cpu=$cpus model=$cpu"
for t in $threads; do
	for backend in dev:/dev/vitsa0 sim; do
		n=$((n + 1))
		name=${backend%%:*}
		if vitrt bench model.vitsa --backend "$backend" -n "$images" --batch "$batch" \
			--threads "$t" >/tmp/out 2>&1; then
			ms=$(sed -n 's/^ *integer program .*(\([0-9.]*\) ms\/image).*/\1/p' /tmp/out)
			kernel=$(sed -n 's/.*(kernel \([^,]*\),.*/\1/p' /tmp/out)
			echo "# bench: path=$name threads=$t batch=$batch images=$images ms=$ms" \
				"kernel=${kernel:--}"
			echo "ok $n bench_${name}_threads_$t"
		else
			failed=1
			echo "not ok $n bench_${name}_threads_$t"
		fi
		sed 's/^/# /' /tmp/out
	done
done
# devices LIST NAME: batch 16 sharded over LIST, as path NAME
devices() {
	n=$((n + 1))
	if vitrt bench model.vitsa --devices "$1" -n "$images" --batch 16 \
		--threads "$cpus" >/tmp/out 2>&1; then
		ms=$(sed -n 's/^ *integer program .*(\([0-9.]*\) ms\/image).*/\1/p' /tmp/out)
		dt=$(sed -n 's/.* \([0-9.]*\) images\/s by device time.*/\1/p' /tmp/out)
		echo "# bench: path=$2 threads=$cpus batch=16 images=$images ms=$ms kernel=-" \
			"device_ips=${dt:--}"
		echo "ok $n bench_$2"
	else
		failed=1
		echo "not ok $n bench_$2"
	fi
	sed 's/^/# /' /tmp/out
}
devices /dev/vitsa0 devices1
devices all devices2
exit $failed
