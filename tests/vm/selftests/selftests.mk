# SPDX-License-Identifier: GPL-2.0-only
#
# The driver selftests as a suite of the test VM, for a Makefile that defines $(B) (the build
# directory) and includes this fragment *before* tests/vm/vm.mk, which reads:
#   VM_SELFTEST_BINS  binaries copied into the initramfs's /bin
#   VM_SUITE_RULES    recipe line that adds the suite script to $(VM_SUITES)
# The binary itself is built by tests/vm/selftests/Makefile (see there).

VM_SELFTEST_BINS := $(B)/vm/vitsa_test
VM_SUITE_RULES = cp tests/vm/selftests/selftests.sh $(VM_SUITES)/20-selftests.sh

.PHONY: vm-selftests
vm-selftests: $(VM_SELFTEST_BINS)

# Always ask the sub-make: it knows the binary's real prerequisites.
$(VM_SELFTEST_BINS): vm-selftests-force
	$(MAKE) -C tests/vm/selftests O=$(abspath $(B))

.PHONY: vm-selftests-force
vm-selftests-force:
