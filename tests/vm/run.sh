#!/bin/bash
# run.sh QEMU KERNEL INITRAMFS: boot the test VM (TCG; VITSA_KVM=1 opts into KVM) with two
# vitsa devices (qdev ids vitsa0 and vitsa1, probed in that order as /dev/vitsa0 and
# /dev/vitsa1; a suite uses /dev/vitsa0 unless it says otherwise), print the KTAP its suites
# wrote (with each one's exit status, see console-tap.sh), then a vm-kernel-log suite that fails
# on any WARN, BUG, oops, lockdep or KASAN report or IOMMU (DMAR) fault.  A VM that does not
# finish fails vm_completed and exits 1.
set -u
qemu=$1 kernel=$2 initrd=$3
log=${VM_LOG:-build/logs/vm-console.log}
limit=${VM_TIMEOUT:-1200}
accel=tcg
[ "${VITSA_KVM:-0}" = 1 ] && accel=kvm
# VM_IOMMU=1: q35 with intel-iommu (before the vitsa device), the guest's IOMMU on and strict,
# a vm-check suite in the guest, every suite name prefixed vm-iommu-.  DMA remapping only:
# with interrupt remapping the kernel's IO-APIC timer check can fail under a loaded TCG and
# panic at boot.  VM_SUITES=a,b runs only these suites of /suites (names without .sh, e.g.
# 10-gemm,20-vitsa_test).
machine=pc iommu_dev=() append= tag=vm-
if [ "${VM_IOMMU:-0}" = 1 ]; then
	machine=q35 iommu_dev=(-device intel-iommu,intremap=off) tag=vm-iommu-
	append=" intel_iommu=on iommu.strict=1 vitsa.iommu=1"
fi
# VM_INTX=1: no MSI in the guest (pci=nomsi), so the driver takes the shared, level-triggered
# INTx path; every suite name prefixed vm-intx-, and the kernel-log suite checks that the
# driver did use INTx.
if [ "${VM_INTX:-0}" = 1 ]; then
	append="$append pci=nomsi" tag=vm-intx-
fi
# VM_NOVEC=1: both devices without the vector unit (vector=off, hardware 1.2), so the runtime
# falls back to the split schedule; the suites read vitsa.novec=1 from /proc/cmdline.
vec=
if [ "${VM_NOVEC:-0}" = 1 ]; then
	vec=,vector=off tag=vm-novec- append="$append vitsa.novec=1"
fi
[ -n "${VM_SUITES:-}" ] && append="$append vitsa.suites=$VM_SUITES"
# Hot-unplug on request: a guest suite prints the line "vitsa-vm: unplug <qdev id>" and the
# watcher below answers with device_del on a second monitor, QMP on a pipe chardev
# ($mon/qmp.in, $mon/qmp.out), whose replies and events (DEVICE_DELETED) are appended to the
# console log at the end as "vitsa-vm: qmp: ..." lines.  Only the pc machine can unplug (ACPI
# PCI hotplug on its root bus; q35's root bus has none): vitsa.hotplug=1 tells the guest.
[ $machine = pc ] && append="$append vitsa.hotplug=1"
mon=$(mktemp -d)
trap 'rm -rf "$mon"' EXIT
mkfifo "$mon/qmp.in" "$mon/qmp.out"
exec 3<>"$mon/qmp.in" 4<>"$mon/qmp.out"
cat <&4 >"$mon/qmp.log" &
drain=$!
echo '{"execute": "qmp_capabilities"}' >&3
# The recovery suite aims the device's test-only faults at its jobs: x-fault-inject=on, and
# iomem=relaxed so that the guest may map the BAR the driver has claimed.

mkdir -p "$(dirname "$log")"
: >"$log"
tail -n +1 -F --pid=$$ "$log" 2>/dev/null | while IFS= read -r line; do
	if [[ $line =~ ^vitsa-vm:\ unplug\ ([A-Za-z0-9_-]+)$ ]]; then
		echo "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"${BASH_REMATCH[1]}\"}}" >&3
	fi
done &
watch=$!
# The console goes to the log line by line (sed -u), for the watcher.
timeout "$limit" "$qemu" -machine $machine,accel=$accel -nodefaults -nographic -no-reboot \
	-serial mon:stdio -L /usr/share/qemu -L /usr/share/seabios -m 1024 -smp 2 \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 loglevel=3 panic=-1 iomem=relaxed$append" \
	-chardev pipe,id=qmp,path="$mon/qmp" -mon chardev=qmp,mode=control \
	"${iommu_dev[@]}" -device vitsa,id=vitsa0,x-fault-inject=on$vec -device vitsa,id=vitsa1$vec \
	</dev/null 2>&1 | sed -u 's/\r//g' >"$log"
rc=${PIPESTATUS[0]}
kill $watch $drain 2>/dev/null
wait $watch $drain 2>/dev/null
sed 's/^/vitsa-vm: qmp: /' "$mon/qmp.log" >>"$log"

# The suites' output with their exit statuses: everything between boot and the kernel log dump.
"$(dirname "$0")/console-tap.sh" "$tag" <"$log"

echo "# suite: ${tag}kernel-log"
echo "TAP version 13"
echo "1..$([ "${VM_INTX:-0}" = 1 ] && echo 3 || echo 2)"
dmesg=$(sed -n '/^vitsa-vm: dmesg begin/,/^vitsa-vm: dmesg end/p' "$log")
bad=$(printf '%s\n' "$dmesg" |
      grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|KASAN|UBSAN|possible circular locking|possible recursive locking|lockdep|kernel panic|Kernel panic|DMAR: DRHD: handling fault|DMAR: \[DMA|nobody cared|Disabling IRQ' | head -n 20)
if grep -q '^vitsa-vm: dmesg end' "$log" && [ -z "$bad" ]; then
	echo "ok 1 no_kernel_warnings"
else
	echo "not ok 1 no_kernel_warnings"
	printf '%s\n' "$bad" | sed 's/^/# /'
fi
if grep -q '^vitsa-vm: done' "$log"; then
	echo "ok 2 vm_completed"
else
	echo "not ok 2 vm_completed"
	echo "# qemu exit status $rc (124 = timeout after ${limit}s); last lines of $log:"
	tail -n 15 "$log" | sed 's/^/# /'
	exit 1
fi
if [ "${VM_INTX:-0}" = 1 ]; then
	# Every probe (rebinds included) logs its interrupt kind.
	intx=$(printf '%s\n' "$dmesg" | grep -c '/dev/vitsa[0-9]*: .* INTx interrupt')
	msi=$(printf '%s\n' "$dmesg" | grep -c '/dev/vitsa[0-9]*: .* MSI interrupt')
	if [ "$intx" -ge 2 ] && [ "$msi" = 0 ]; then
		echo "ok 3 intx_in_use"
	else
		echo "not ok 3 intx_in_use"
	fi
	echo "# probes with INTx: $intx, with MSI: $msi"
fi
