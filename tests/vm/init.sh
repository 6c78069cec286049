#!/bin/busybox sh
# /init of the test VM: load the module, run every suite in /suites (KTAP on the console),
# unload the module, dump the kernel log between markers, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "vitsa-vm: booted $(uname -r)"

if insmod /vitsa.ko; then
	for s in /suites/*; do
		name=${s##*/}
		echo "# suite: vm-${name%.sh}"
		"$s" 2>&1
		echo "vitsa-vm: suite ${name%.sh} exit $?"
	done
	echo "# suite: vm-unload"
	echo "TAP version 13"
	echo "1..1"
	if rmmod vitsa; then echo "ok 1 rmmod_vitsa"; else echo "not ok 1 rmmod_vitsa"; fi
else
	echo "# suite-error: vm-insmod insmod /vitsa.ko failed"
fi

echo "vitsa-vm: dmesg begin"
dmesg
echo "vitsa-vm: dmesg end"
echo "vitsa-vm: done"
poweroff -f
