# The test VM: Debian's kernel, an initramfs with busybox, vitsa.ko, vitrt and the suites.
VM_DIR      := $(B)/vm
VM_SUITES   := $(VM_DIR)/suites
VM_BINS     := $(B)/vm-bin/vitrt $(VM_SELFTEST_BINS)

.PHONY: vm vm-suites
vm: $(VM_DIR)/initramfs.cpio.gz

vm-suites: $(VM_BINS)
	@rm -rf $(VM_SUITES) && mkdir -p $(VM_SUITES)
	cp tests/vm/gemm.sh $(VM_SUITES)/10-gemm.sh
	$(VM_SUITE_RULES)

$(VM_DIR)/initramfs.cpio.gz: kernel vm-suites tests/vm/init.sh tests/vm/mkinitramfs.sh
	tests/vm/mkinitramfs.sh $@ kernel/vitsa.ko $(VM_SUITES) $(VM_BINS)
