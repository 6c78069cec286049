# SPDX-License-Identifier: MIT
#
# The vitsa RTL (hw/rtl/*.v) and its Verilator testbench; included by the top-level Makefile
# (paths relative to the repository root).
#
#   make rtl        build the testbenches: build/rtl/vitsa_rtl_tb (16 x 16, the device's
#                   geometry) and two small odd geometries, build/rtl/vitsa_rtl_tb_RxC, that
#                   keep the ROWS/COLS parameters honest (ROWS < COLS, ROWS > COLS, neither a
#                   power of two); Verilator lints the RTL with -Wall on the way
#   make rtl-run    run them (KTAP on stdout; each checks its jobs against the C model)
#   make rtl-vec    only the vector unit's datapaths (hw/rtl/vec/) and their bench,
#                   build/rtl/vitsa_vec_tb (also part of make rtl); make rtl-vec-run runs it
#
# The testbench links the C model (hw/model/*.c) and tb_job.c, compiled as C by the host
# rules; Verilator compiles the generated C++ and tb_main.cpp.

VERILATOR  ?= verilator
RTL_B      := $(B)/rtl
RTL_V      := $(wildcard hw/rtl/*.v)
RTL_TB_SRC := hw/rtl/tb/tb_main.cpp hw/rtl/tb/tb_job.h
RTL_COBJ   := $(call obj,host,hw/rtl/tb/tb_job.c $(HW_SRC))
RTL_LINT   := -Wall -Wno-UNUSEDSIGNAL --top-module vitsa_top
# Accumulator depth 2^RTL_MW rows (M), epilogue tables 2^RTL_NTW N tiles: every GEMM of
# DeiT-T/S/B at 224 fits one job on 16 x 16 (M 197, N up to 3072).
RTL_MW     := 10
RTL_NTW    := 8
RTL_BINS   := $(RTL_B)/vitsa_rtl_tb $(RTL_B)/vitsa_rtl_tb_4x7 $(RTL_B)/vitsa_rtl_tb_9x3 \
	      $(RTL_B)/vitsa_vec_tb

# rtl_tb BINARY,ROWS,COLS: the Verilated core of that geometry with the bench.
define rtl_tb
$(1): $(RTL_V) $(RTL_TB_SRC) $(RTL_COBJ) hw/rtl/rtl.mk
	@mkdir -p $(RTL_B)
	$(VERILATOR) --cc --exe --build -j 2 $(RTL_LINT) -GROWS=$(2) -GCOLS=$(3) \
		-GMW=$(RTL_MW) -GNTW=$(RTL_NTW) \
		--Mdir $(1).obj -o $$(abspath $$@) \
		-CFLAGS "-O2 -I$(abspath hw/rtl/tb) -DTB_ROWS=$(2) -DTB_COLS=$(3) \
			 -DTB_MW=$(RTL_MW) -DTB_NTW=$(RTL_NTW)" \
		-LDFLAGS "$(abspath $(RTL_COBJ)) -lm" \
		$(abspath $(RTL_V) hw/rtl/tb/tb_main.cpp) >$(1).log 2>&1 || \
		{ tail -n 30 $(1).log; exit 1; }
endef
$(eval $(call rtl_tb,$(RTL_B)/vitsa_rtl_tb,16,16))
$(eval $(call rtl_tb,$(RTL_B)/vitsa_rtl_tb_4x7,4,7))
$(eval $(call rtl_tb,$(RTL_B)/vitsa_rtl_tb_9x3,9,3))

# The vector unit's datapaths (outside hw/rtl/*.v, so vitsa_top's lint and build never see
# them) side by side under one bench top, against the C model's integer ops.
RTL_VEC_V   := $(wildcard hw/rtl/vec/*.v) hw/rtl/vec/tb/vitsa_vec_tbtop.v
RTL_VEC_OBJ := $(call obj,host,hw/rtl/vec/tb/tb_vec_model.c $(HW_SRC))
$(RTL_B)/vitsa_vec_tb: $(RTL_VEC_V) hw/rtl/vec/tb/tb_vec.cpp $(RTL_VEC_OBJ) hw/rtl/rtl.mk
	@mkdir -p $(RTL_B)
	$(VERILATOR) --cc --exe --build -j 2 -Wall -Wno-UNUSEDSIGNAL --top-module vitsa_vec_tbtop \
		--Mdir $@.obj -o $(abspath $@) -CFLAGS "-O2 -I$(abspath hw/model)" \
		-LDFLAGS "$(abspath $(RTL_VEC_OBJ)) -lm" \
		$(abspath $(RTL_VEC_V) hw/rtl/vec/tb/tb_vec.cpp) >$@.log 2>&1 || \
		{ tail -n 30 $@.log; exit 1; }

.PHONY: rtl-vec rtl-vec-run
rtl-vec: $(RTL_B)/vitsa_vec_tb

rtl-vec-run: $(RTL_B)/vitsa_vec_tb
	$(RTL_B)/vitsa_vec_tb

.PHONY: rtl rtl-run
rtl: $(RTL_BINS)

rtl-run: $(RTL_BINS)
	$(RTL_B)/vitsa_rtl_tb
	$(RTL_B)/vitsa_rtl_tb_4x7 -n 1000
	$(RTL_B)/vitsa_rtl_tb_9x3 -n 1000
	$(RTL_B)/vitsa_vec_tb
