#!/bin/busybox sh
# /init of the test VM: load the module, run every suite in /suites (KTAP on the console),
# unload the module, dump the kernel log between markers, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "vitsa-vm: booted $(uname -r)"

# tests/vm/run.sh's VM_SUITES and VM_IOMMU, on the kernel command line:
# vitsa.suites=10-gemm,20-vitsa_test runs only these suites of /suites, vitsa.iommu=1 first
# checks that the device's DMA goes through a translating, strict IOMMU domain (suite
# vm-check).
only= iommu=0
for a in $(cat /proc/cmdline); do
	case $a in
	vitsa.suites=*) only=,${a#vitsa.suites=}, ;;
	vitsa.iommu=1) iommu=1 ;;
	esac
done

if insmod /vitsa.ko; then
	if [ $iommu = 1 ]; then
		echo "# suite: vm-check"
		echo "TAP version 13"
		echo "1..3"
		dev=$(ls -d /sys/bus/pci/drivers/vitsa/0000:* 2>/dev/null | head -n 1)
		grp=
		[ -n "$dev" ] && [ -e "$dev/iommu_group" ] && grp=$(readlink -f "$dev/iommu_group")
		if [ -n "$dev" ] && [ -n "$grp" ] && [ -e "$grp/devices/${dev##*/}" ]; then
			echo "ok 1 vitsa_device_in_iommu_group"
		else
			echo "not ok 1 vitsa_device_in_iommu_group"
		fi
		echo "# device ${dev##*/} group ${grp:-none}"
		type=$(cat "$grp/type" 2>/dev/null)
		# DMA: translated and strict (DMA-FQ is lazy flushing, identity no translation)
		if [ "$type" = DMA ]; then echo "ok 2 iommu_domain_dma_strict"
		else echo "not ok 2 iommu_domain_dma_strict"; fi
		echo "# domain type ${type:-none}"
		if dmesg | grep -q 'DMAR: IOMMU enabled'; then echo "ok 3 dmar_iommu_enabled"
		else echo "not ok 3 dmar_iommu_enabled"; fi
	fi
	for s in /suites/*; do
		name=${s##*/}
		case $only in ""|*,"${name%.sh}",*) ;; *) continue ;; esac
		echo "# suite: vm-${name%.sh}"
		"$s" 2>&1
		echo "vitsa-vm: suite ${name%.sh} exit $?"
	done
	echo "# suite: vm-unload"
	echo "TAP version 13"
	echo "1..2"
	# Every suite has closed its files: no file, object or job of the driver may be left,
	# and exactly one device struct per node still bound (an unplugged one must be gone).
	mount -t debugfs debugfs /sys/kernel/debug
	live=$(tr '\n' ' ' </sys/kernel/debug/vitsa/objects)
	nodes=$(ls /dev | grep -c '^vitsa[0-9]')
	if [ "$live" = "devices $nodes files 0 bos 0 jobs 0 " ]; then
		echo "ok 1 no_leaked_objects"
	else
		echo "not ok 1 no_leaked_objects"
	fi
	echo "# live: $live(device nodes: $nodes)"
	if rmmod vitsa; then echo "ok 2 rmmod_vitsa"; else echo "not ok 2 rmmod_vitsa"; fi
else
	echo "# suite-error: vm-insmod insmod /vitsa.ko failed"
fi

echo "vitsa-vm: dmesg begin"
dmesg
echo "vitsa-vm: dmesg end"
echo "vitsa-vm: done"
poweroff -f
