# SPDX-License-Identifier: GPL-2.0-only
#
# The driver selftests as suites of the test VM, for a Makefile that defines $(B) (the build
# directory) and includes this fragment *before* tests/vm/vm.mk, which reads:
#   VM_SELFTEST_BINS  binaries copied into the initramfs's /bin
#   VM_SUITE_RULES    recipe line that adds the suite scripts to $(VM_SUITES)
# The binaries themselves are built by tests/vm/selftests/Makefile (see there).
#
# Every binary of VM_SELFTESTS is its own suite, vm-<NN>-<binary>, run in this order from
# NN = 20 on (after vm-10-gemm, before vm-30-model); selftests.sh, copied as <NN>-<binary>.sh,
# runs the binary its name ends in.  A new test binary is one more word here.

VM_SELFTESTS := vitsa_test vitsa_recovery vitsa_stress vitsa_fuzz vitsa_unplug
VM_SELFTEST_BINS := $(addprefix $(B)/vm/,$(VM_SELFTESTS))
VM_SUITE_RULES = n=20; for t in $(VM_SELFTESTS); do \
		cp tests/vm/selftests/selftests.sh $(VM_SUITES)/$$n-$$t.sh || exit 1; \
		n=$$((n + 1)); \
	done

# Always ask the sub-make, once: it knows the binaries' real prerequisites.
.PHONY: vm-selftests
vm-selftests:
	$(MAKE) -C tests/vm/selftests O=$(abspath $(B)) TESTS="$(VM_SELFTESTS)"

$(VM_SELFTEST_BINS): vm-selftests ;
