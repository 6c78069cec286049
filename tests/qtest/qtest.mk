# SPDX-License-Identifier: MIT
#
# Host qtest of the vitsa QEMU device; included by the top-level Makefile (paths are relative
# to the repository root).
#
#   make qtest                        build the test program
#   make qtest-run QEMU=path/to/qemu-system-x86_64
#                                     run it; without QEMU=, scripts/qemu.sh provides the binary
#
# The test links the C model (hw/model/*.c) for the reference GEMM and the cycle count, and
# the test-support library's sources (tests/lib/) for its PRNG.

QTEST_CC      ?= gcc
QTEST_CFLAGS  ?= -O2 -Wall -Wextra
QTEST_BIN     ?= $(or $(B),build)/tests/qtest/vitsa-qtest
QTEST_SRCS    := $(wildcard tests/qtest/*.c) $(wildcard hw/model/*.c) $(wildcard tests/lib/*.c)
QTEST_DEPS    := $(QTEST_SRCS) $(wildcard tests/qtest/*.h hw/model/*.h hw/include/*.h tests/lib/*.h)

$(QTEST_BIN): $(QTEST_DEPS)
	@mkdir -p $(@D)
	$(QTEST_CC) $(QTEST_CFLAGS) -Ihw/include -Ihw/model -Itests/lib -o $@ $(QTEST_SRCS) -lm

.PHONY: qtest qtest-run
qtest: $(QTEST_BIN)

qtest-run: $(QTEST_BIN)
	@qemu='$(QEMU)'; [ -n "$$qemu" ] || qemu=$$(scripts/qemu.sh) || exit 1; \
	$(QTEST_BIN) "$$qemu"
