# vitsa: one entry point.
#   make run     build the runtime and run GEMMs on the in-process device model
#   make check   every test: host unit tests, the QEMU device test, the driver in a QEMU VM
#   make bench   vitrt vs ONNX Runtime on DeiT-T/S/B-shaped models (scripts/bench/bench.sh;
#                BENCH_MODELS=deit-s to restrict, BENCH_ARGS=--json for JSON)
#   make bench-vm  the compiled Fashion-MNIST model through the test VM's /dev/vitsa0 vs
#                in-process (scripts/bench/bench-vm.sh; BENCH_VM_ARGS=--json for JSON)
# Parts: make hw | userspace | rtl | kernel | qemu | vm | deps

B       := build
CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Werror
CPPFLAGS := -Ihw/include -Ihw/model -Iuapi -Iuserspace/lib
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -MMD -MP
LDLIBS  := -lpng -ljpeg -lz -lm -lpthread

HW_SRC   := $(wildcard hw/model/*.c)
LIB_SRC  := $(wildcard userspace/lib/*.c) $(HW_SRC)
CLI_SRC  := $(wildcard userspace/vitrt/*.c)

obj = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

# libnl-genl for `vitrt top` (the "vitsa" generic netlink family, uapi/vitsa_netlink.h); the
# static VM binary links Debian's libnl-3.a and libnl-genl-3.a (ld's warnings about getaddrinfo
# and getprotobyname in a static link come from libnl's address helpers, which top never calls).
NL_CFLAGS      := $(shell pkg-config --cflags libnl-genl-3.0)
NL_LIBS        := $(shell pkg-config --libs libnl-genl-3.0)
NL_STATIC_LIBS := $(shell pkg-config --static --libs libnl-genl-3.0)
$(B)/host/userspace/vitrt/cmd_top.o: CPPFLAGS += $(NL_CFLAGS)

.PHONY: all hw userspace kernel qemu vm deps run check bench bench-vm clean
all: hw userspace

# ---- host builds (objects per flavour: host, static for the VM) ----
$(B)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -fvisibility=hidden -c $< -o $@

$(B)/libvitrt.a: $(call obj,host,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/vitrt: $(call obj,host,$(CLI_SRC)) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(NL_LIBS)

$(B)/vm-bin/vitrt: $(CLI_SRC) $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(CPPFLAGS) $(NL_CFLAGS) -static -o $@ $^ $(LDLIBS) \
		$(NL_STATIC_LIBS)

$(B)/test_model: $(call obj,host,tests/unit/test_model.c $(HW_SRC))
	$(CC) $(CFLAGS) -o $@ $^

$(B)/test_kern: $(call obj,host,tests/unit/test_kern.c $(HW_SRC))
	$(CC) $(CFLAGS) -o $@ $^ -lpthread

$(B)/test_vitrt: $(call obj,host,tests/unit/test_vitrt.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_iops: $(call obj,host,tests/unit/test_iops.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_fp32: $(call obj,host,tests/unit/test_fp32.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_reorder: $(call obj,host,tests/unit/test_reorder.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_prog: $(call obj,host,tests/unit/test_prog.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_modeled: $(call obj,host,tests/unit/test_modeled.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

hw: $(B)/test_model $(B)/test_kern
userspace: $(B)/vitrt $(B)/libvitrt.a $(B)/test_vitrt $(B)/test_prog $(B)/test_iops $(B)/test_fp32 $(B)/test_reorder \
	   $(B)/test_modeled

-include $(shell find $(B)/host -name '*.d' 2>/dev/null)

# ---- kernel module, QEMU, VM ----
kernel:
	$(MAKE) -C kernel

qemu:
	scripts/qemu.sh

-include tests/qtest/qtest.mk
include hw/rtl/rtl.mk
include tests/vm/selftests/selftests.mk
include tests/vm/vm.mk

deps:
	scripts/deps.sh

# ---- the two commands ----
run:
	scripts/deps.sh --run
	$(MAKE) userspace
	VITRT=$(B)/vitrt scripts/run-demo.sh

check: deps
	$(MAKE) all rtl
	tests/check.sh

# Not part of check: figures are printed, never asserted.
bench:
	@BENCH_MODELS="$(BENCH_MODELS)" scripts/bench/bench.sh $(BENCH_ARGS)

bench-vm: kernel $(B)/vitrt $(B)/vm-bin/vitrt
	@scripts/bench/bench-vm.sh $(BENCH_VM_ARGS)

clean:
	rm -rf $(B)
	-$(MAKE) -C kernel clean
