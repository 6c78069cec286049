# vitsa: one entry point.
#   make run     build the runtime and run GEMMs on the in-process device model
#   make check   every test: host unit tests, the QEMU device test, the driver in a QEMU VM
#   make bench   vitrt vs ONNX Runtime on DeiT-T/S/B-shaped models (scripts/bench/bench.sh;
#                BENCH_MODELS=deit-s to restrict, BENCH_ARGS=--json for JSON)
#   make bench-vm  the compiled Fashion-MNIST model through the test VM's /dev/vitsa0 vs
#                in-process (scripts/bench/bench-vm.sh; BENCH_VM_ARGS=--json for JSON)
# Parts: make hw | userspace | man | rtl | kernel | qemu | vm | deps
#   make activity  the per-PE switching-activity study (tools/activity/activity.mk)
# Install: make install [PREFIX=/usr/local] [DESTDIR=] (and uninstall): vitrt, libvitrt.so and
#          .a, <vitrt/*.h>, vitrt.pc, the man pages

B       := build
CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Werror
CPPFLAGS := -Ihw/include -Ihw/model -Iuapi -Iuserspace/include -Iuserspace/lib -Itests/lib
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -MMD -MP
# jansson: libvitrt's JSON reader (vitrt_json.c) and the CLI's --json (cli_json.c); the static
# VM binary links Debian's libjansson.a.
JSON_CFLAGS := $(shell pkg-config --cflags jansson)
CPPFLAGS += $(JSON_CFLAGS)
# cairo: the charts (userspace/lib/vitrt_chart.c).  The static VM binary has no cairo and no
# fonts: it links userspace/lib/nocairo/ instead, which refuses charts by name.
CAIRO_LIBS := $(shell pkg-config --libs cairo)
CPPFLAGS += $(shell pkg-config --cflags cairo)
LDLIBS  := $(shell pkg-config --libs jansson) $(CAIRO_LIBS) -lpng -ljpeg -lz -lm -lpthread

HW_SRC   := $(wildcard hw/model/*.c)
# The reference GEMM and the integer operations' _ref twins are the spec everything is tested
# against, not part of the runtime: they go with the PRNG and the random-GEMM generator into
# libvitsa_test.a (tests/lib/vtest.h), which the tests and the CLI (vitrt gemm checks a device
# against the reference GEMM) link.
REF_SRC  := hw/model/vitsa_ref.c hw/model/vitsa_iops_ref.c
TEST_LIB_SRC := $(wildcard tests/lib/*.c) $(REF_SRC)
LIB_SRC  := $(wildcard userspace/lib/*.c) $(filter-out $(REF_SRC),$(HW_SRC))
CLI_SRC  := $(wildcard userspace/vitrt/*.c)

obj = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

# libnl-genl for `vitrt top` (the "vitsa" generic netlink family, uapi/vitsa_netlink.h); the
# static VM binary links Debian's libnl-3.a and libnl-genl-3.a (ld's warnings about getaddrinfo
# and getprotobyname in a static link come from libnl's address helpers, which top never calls).
NL_CFLAGS      := $(shell pkg-config --cflags libnl-genl-3.0)
NL_LIBS        := $(shell pkg-config --libs libnl-genl-3.0)
NL_STATIC_LIBS := $(shell pkg-config --static --libs libnl-genl-3.0)
$(B)/host/userspace/vitrt/cmd_top.o: CPPFLAGS += $(NL_CFLAGS)


.PHONY: all hw userspace man kernel qemu vm deps run check bench bench-vm clean
all: hw userspace

# ---- host builds (objects per flavour: host, static for the VM) ----
$(B)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -fvisibility=hidden -c $< -o $@

$(B)/libvitrt.a: $(call obj,host,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/libvitsa_test.a: $(call obj,host,$(TEST_LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/vitrt: $(call obj,host,$(CLI_SRC)) $(B)/libvitsa_test.a $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(NL_LIBS)

# ---- libvitrt.so: the same sources as position-independent objects (build/pic/).  It exports
# what userspace/include/vitrt/ marks VITRT_API, nothing else (tests/install.sh checks).  The
# CLI and the tests link libvitrt.a: they use the library's internals.  The version is read
# from the header, the one place it is written.
VITRT_PUB_H := userspace/include/vitrt/core.h
vitrt_version_part = $(shell sed -n 's/^.define VITRT_VERSION_$(1)[[:space:]]*\([0-9]*\)$$/\1/p' \
	$(VITRT_PUB_H))
VITRT_MAJOR := $(call vitrt_version_part,MAJOR)
VITRT_MINOR := $(call vitrt_version_part,MINOR)
VITRT_PATCH := $(call vitrt_version_part,PATCH)
ifeq ($(VITRT_MAJOR).$(VITRT_MINOR).$(VITRT_PATCH),..)
$(error no VITRT_VERSION_MAJOR/MINOR/PATCH in $(VITRT_PUB_H))
endif
VITRT_VERSION := $(VITRT_MAJOR).$(VITRT_MINOR).$(VITRT_PATCH)
VITRT_SONAME  := libvitrt.so.$(VITRT_MAJOR)
VITRT_SO      := $(B)/libvitrt.so.$(VITRT_VERSION)

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

# The version script lists the functions the public headers declare VITRT_API and hides the
# rest: -fvisibility=hidden alone is not enough, as GCC 12 gives the ifunc of every
# target_clones function default visibility whatever it is told.
VITRT_HEADERS := $(wildcard userspace/include/vitrt/*.h)
$(B)/libvitrt.map: $(VITRT_HEADERS)
	@mkdir -p $(dir $@)
	{ echo '{ global:'; \
	  sed -n 's/^VITRT_API .*[ *]\(vitrt_[a-z0-9_]*\)(.*/\t\1;/p' $^; \
	  echo 'local: *; };'; } >$@

# -z defs: a symbol missing from the libraries listed is an error here, not in the application
$(VITRT_SO): $(call obj,pic,$(LIB_SRC)) $(B)/libvitrt.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(VITRT_SONAME) -Wl,--version-script,$(B)/libvitrt.map \
		-Wl,-z,defs -Wl,--as-needed -o $@ $(filter %.o,$^) $(LDLIBS)

# the runtime link (SONAME) names the file; the development link, for -lvitrt, the SONAME
$(B)/$(VITRT_SONAME): $(VITRT_SO)
	ln -sf $(notdir $<) $@
$(B)/libvitrt.so: $(B)/$(VITRT_SONAME)
	ln -sf $(notdir $<) $@

-include $(shell find $(B)/pic -name '*.d' 2>/dev/null)

VM_LIB_SRC := $(filter-out userspace/lib/vitrt_chart.c,$(LIB_SRC)) \
	      userspace/lib/nocairo/vitrt_chart_none.c
# one compiler run, so no .d files: every header may change it
VM_BIN_HDRS := $(shell find userspace hw uapi tests/lib -name '*.h')
$(B)/vm-bin/vitrt: $(CLI_SRC) $(VM_LIB_SRC) $(TEST_LIB_SRC) $(VM_BIN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) $(CPPFLAGS) $(NL_CFLAGS) -static -o $@ $(filter %.c,$^) \
		$(filter-out $(CAIRO_LIBS),$(LDLIBS)) \
		$(NL_STATIC_LIBS)

$(B)/test_model: $(call obj,host,tests/unit/test_model.c $(HW_SRC)) $(B)/libvitsa_test.a
	$(CC) $(CFLAGS) -o $@ $^ -lm

$(B)/test_vec: $(call obj,host,tests/unit/test_vec.c $(HW_SRC)) $(B)/libvitsa_test.a
	$(CC) $(CFLAGS) -o $@ $^ -lm

$(B)/test_kern: $(call obj,host,tests/unit/test_kern.c $(HW_SRC)) $(B)/libvitsa_test.a
	$(CC) $(CFLAGS) -o $@ $^ -lm -lpthread

$(B)/test_vitrt: $(call obj,host,tests/unit/test_vitrt.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_iops: $(call obj,host,tests/unit/test_iops.c) $(B)/libvitsa_test.a $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_fp32: $(call obj,host,tests/unit/test_fp32.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_reorder: $(call obj,host,tests/unit/test_reorder.c) $(B)/libvitsa_test.a $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_prog: $(call obj,host,tests/unit/test_prog.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_modeled: $(call obj,host,tests/unit/test_modeled.c) $(B)/libvitsa_test.a $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_resize: $(call obj,host,tests/unit/test_resize.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# IDX images as PNG files, for the RGB 224 accuracy suite (tests/unit/accuracy_rgb224.sh)
$(B)/idx_png: $(call obj,host,tests/unit/idx_png.c) $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# A random checkpoint of any DeiT shape (the trace suite's DeiT-S inference)
$(B)/mkvit: $(call obj,host,tests/unit/mkvit.c) $(B)/libvitsa_test.a $(B)/libvitrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

hw: $(B)/test_model $(B)/test_vec $(B)/test_kern
userspace: $(B)/vitrt $(B)/libvitrt.a $(B)/libvitrt.so $(B)/test_vitrt $(B)/test_prog $(B)/test_iops $(B)/test_fp32 $(B)/test_reorder \
	   $(B)/test_modeled $(B)/test_resize $(B)/idx_png $(B)/mkvit

-include $(shell find $(B)/host -name '*.d' 2>/dev/null)

# ---- sanitizer flavours: the same host programs under ASan + UBSan (build/asan/) and TSan
# (build/tsan/): every unit test binary and vitrt; `make asan tsan`, run by tests/check.sh
# (the asan-* and tsan-* suites, Documentation/testing.rst).  -O1 -g: usable reports at a
# bearable cost (functions marked optimize("O3") keep their O3).
SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_tsan := -fsanitize=thread
SAN_TESTS_HW  := test_model test_vec test_kern
SAN_TESTS_LIB := test_vitrt test_iops test_fp32 test_reorder test_prog test_modeled test_resize

# san_flavour F: objects under $(B)/F/, its libvitrt.a, vitrt and every unit test binary.
define san_flavour
$(B)/$(1)/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) -std=gnu11 -O1 -g $$(SAN_$(1)) $$(WARN) -MMD -MP $$(CPPFLAGS) \
		-fvisibility=hidden -c $$< -o $$@

$(B)/$(1)/userspace/vitrt/cmd_top.o: CPPFLAGS += $$(NL_CFLAGS)

$(B)/$(1)/libvitrt.a: $$(call obj,$(1),$$(LIB_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

$(B)/$(1)/libvitsa_test.a: $$(call obj,$(1),$$(TEST_LIB_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

$(B)/$(1)/vitrt: $$(call obj,$(1),$$(CLI_SRC)) $(B)/$(1)/libvitsa_test.a $(B)/$(1)/libvitrt.a
	$$(CC) $$(SAN_$(1)) -o $$@ $$^ $$(LDLIBS) $$(NL_LIBS)

$(addprefix $(B)/$(1)/,$(SAN_TESTS_HW)): $(B)/$(1)/%: $$(call obj,$(1),tests/unit/%.c $$(HW_SRC)) \
		$(B)/$(1)/libvitsa_test.a
	$$(CC) $$(SAN_$(1)) -o $$@ $$^ -lm -lpthread

$(addprefix $(B)/$(1)/,$(SAN_TESTS_LIB)): $(B)/$(1)/%: $(B)/$(1)/tests/unit/%.o \
		$(B)/$(1)/libvitsa_test.a $(B)/$(1)/libvitrt.a
	$$(CC) $$(SAN_$(1)) -o $$@ $$^ $$(LDLIBS)

$(1): $(B)/$(1)/vitrt $(addprefix $(B)/$(1)/,$(SAN_TESTS_HW) $(SAN_TESTS_LIB))

-include $$(shell find $(B)/$(1) -name '*.d' 2>/dev/null)
endef
$(foreach f,asan tsan,$(eval $(call san_flavour,$(f))))

# target_clones makes GCC emit an ifunc resolver, which ld.so runs while it relocates the
# program, before the TSan runtime is up; GCC 12 instruments the resolver with
# __tsan_func_entry, and the program dies of SIGSEGV before main.  In the files that use
# target_clones (VIT_HOT, vitrt_hot.h) the TSan flavour leaves out the function entry/exit
# hooks only: every memory access is still checked (so no race is missed), but a report's
# stack lacks the callers inside these files (the racing access's own function and the
# callers outside are shown).
# ASan and UBSan do not instrument the resolvers.
SAN_CLONES_SRC := $(shell grep -l -e target_clones -e VIT_HOT $(LIB_SRC))
$(call obj,tsan,$(SAN_CLONES_SRC)): SAN_tsan += --param=tsan-instrument-func-entry-exit=0
.PHONY: asan tsan

# ---- AVX2-only (build/avx2only/vitrt): the same sources built as a CPU without AVX-512 and
# AVX-VNNI runs them (-DVITSA_AVX2_ONLY, hw/model/vitsa_kern.h): no kernel, clone or lookup
# above AVX2.  tests/unit/vitrt_avx2only.sh checks its logits against build/vitrt's; make bench
# times it as its AVX2 row.
$(B)/avx2only/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -DVITSA_AVX2_ONLY -fvisibility=hidden -c $< -o $@

$(B)/avx2only/userspace/vitrt/cmd_top.o: CPPFLAGS += $(NL_CFLAGS)

$(B)/avx2only/vitrt: $(call obj,avx2only,$(CLI_SRC) $(LIB_SRC) $(TEST_LIB_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(NL_LIBS)

avx2only: $(B)/avx2only/vitrt
-include $(shell find $(B)/avx2only -name '*.d' 2>/dev/null)
.PHONY: avx2only

# ---- fuzzers (tests/fuzz/, Documentation/testing.rst): libFuzzer harnesses under clang with
# ASan + UBSan; objects and binaries under $(B)/fuzz/.  `make fuzz` runs each for FUZZ_SECONDS
# on its committed seeds (tests/fuzz/corpus/NAME) and a corpus of its own in $(B)/fuzz/corpus;
# tests/check.sh replays the seeds and fuzzes each briefly (the fuzz-* suites).
FUZZ_CC      := clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_NAMES   := safetensors mfile image model submit
FUZZ_SECONDS ?= 600
FUZZ_BINS    := $(addprefix $(B)/fuzz/fuzz_,$(FUZZ_NAMES))
# clang warns where GCC does not (e.g. missing-field-initializers on { a, b } of a larger struct)
FUZZ_WARN    := $(WARN) -Wno-missing-field-initializers

$(B)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(FUZZ_WARN) -MMD -MP \
		$(CPPFLAGS) -c $< -o $@

# clang 14's __builtin_cpu_supports does not know "avxvnni": the fuzz build leaves that
# kernel out at run time (the others, and the reference, are fuzzed).
$(B)/fuzz/hw/model/vitsa_kern_avxvnni.o: FUZZ_WARN += '-D__builtin_cpu_supports(f)=0'

$(B)/fuzz/libvitrt.a: $(call obj,fuzz,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/fuzz/libvitsa_test.a: $(call obj,fuzz,$(TEST_LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BINS): $(B)/fuzz/fuzz_%: $(B)/fuzz/tests/fuzz/fuzz_%.o $(B)/fuzz/libvitsa_test.a \
		$(B)/fuzz/libvitrt.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

-include $(shell find $(B)/fuzz -name '*.d' 2>/dev/null)
.PHONY: fuzz fuzz-build

# ---- man pages: vitrt(1) and vitsa(4) from Documentation/man/*.rst by Debian's rst2man
# (python3-docutils); any docutils warning is an error ----
RST2MAN ?= rst2man
MAN_PAGES := $(B)/man/vitrt.1 $(B)/man/vitsa.4
man: $(MAN_PAGES)
$(B)/man/%: Documentation/man/%.rst
	@mkdir -p $(dir $@)
	$(RST2MAN) --halt=warning $< $@

# ---- make install / uninstall: PREFIX (default /usr/local) and the usual directories below
# it, all under DESTDIR when given (tests/install.sh installs into a temporary one) ----
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

# vitrt.pc names the directories install uses, relative to ${prefix} where they are below it
# (pkg-config --define-prefix can then move them); rebuilt every time, as they may change.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
$(B)/vitrt.pc: userspace/vitrt.pc.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VITRT_VERSION)|' \
	    $< >$@

# The shared library is installed 644: Debian policy 10.2 (shared libraries are not executable).
# Into the system itself (no DESTDIR), ldconfig then lets ld.so find it in /usr/local/lib;
# a package (DESTDIR) leaves that to the package manager.
install: $(B)/vitrt $(VITRT_SO) $(B)/libvitrt.a $(B)/vitrt.pc $(MAN_PAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/vitrt \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man4
	install -m 755 $(B)/vitrt $(DESTDIR)$(BINDIR)/vitrt
	install -m 644 $(VITRT_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(VITRT_SO)) $(DESTDIR)$(LIBDIR)/$(VITRT_SONAME)
	ln -sf $(VITRT_SONAME) $(DESTDIR)$(LIBDIR)/libvitrt.so
	install -m 644 $(B)/libvitrt.a $(DESTDIR)$(LIBDIR)/libvitrt.a
	install -m 644 $(VITRT_HEADERS) $(DESTDIR)$(INCLUDEDIR)/vitrt/
	install -m 644 $(B)/vitrt.pc $(DESTDIR)$(PKGCONFIGDIR)/vitrt.pc
	install -m 644 $(B)/man/vitrt.1 $(DESTDIR)$(MANDIR)/man1/vitrt.1
	install -m 644 $(B)/man/vitsa.4 $(DESTDIR)$(MANDIR)/man4/vitsa.4
	$(if $(DESTDIR),,-ldconfig)

# What install put there, and the vitrt include directory when nothing else is left in it.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vitrt $(DESTDIR)$(LIBDIR)/libvitrt.so \
		$(DESTDIR)$(LIBDIR)/$(VITRT_SONAME) $(DESTDIR)$(LIBDIR)/$(notdir $(VITRT_SO)) \
		$(DESTDIR)$(LIBDIR)/libvitrt.a $(DESTDIR)$(PKGCONFIGDIR)/vitrt.pc \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/vitrt/,$(notdir $(VITRT_HEADERS))) \
		$(DESTDIR)$(MANDIR)/man1/vitrt.1 $(DESTDIR)$(MANDIR)/man4/vitsa.4
	rmdir $(DESTDIR)$(INCLUDEDIR)/vitrt 2>/dev/null || true
	$(if $(DESTDIR),,-ldconfig)

.PHONY: install uninstall FORCE

# ---- kernel module, QEMU, VM ----
kernel:
	$(MAKE) -C kernel

qemu:
	scripts/qemu.sh

-include tests/qtest/qtest.mk
include hw/rtl/rtl.mk
include tools/activity/activity.mk
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
	$(MAKE) all rtl asan tsan avx2only man
	tests/check.sh

# Not part of check: figures are printed, never asserted.
bench:
	@BENCH_MODELS="$(BENCH_MODELS)" scripts/bench/bench.sh $(BENCH_ARGS)

bench-vm: kernel $(B)/vitrt $(B)/vm-bin/vitrt $(B)/mkvit
	@scripts/bench/bench-vm.sh $(BENCH_VM_ARGS)

clean:
	rm -rf $(B)
	-$(MAKE) -C kernel clean
