# SPDX-License-Identifier: MIT
#
# The vitsa RTL (hw/rtl/*.v) and its Verilator testbench; included by the top-level Makefile
# (paths relative to the repository root).
#
#   make rtl        lint the RTL and build build/rtl/vitsa_rtl_tb (ROWS x COLS from RTL_ROWS,
#                   RTL_COLS, default 16 x 16)
#   make rtl-run    run it: KTAP on stdout (>= 1000 random jobs against the C model)
#
# The testbench links the C model (hw/model/*.c) and tb_job.c, compiled as C by the host
# rules; Verilator compiles the generated C++ and tb_main.cpp.

VERILATOR  ?= verilator
RTL_ROWS   ?= 16
RTL_COLS   ?= 16
RTL_B      := $(B)/rtl
RTL_BIN    := $(RTL_B)/vitsa_rtl_tb
RTL_V      := $(wildcard hw/rtl/*.v)
RTL_COBJ   := $(call obj,host,hw/rtl/tb/tb_job.c $(HW_SRC))
RTL_VFLAGS := -Wall -Wno-UNUSEDSIGNAL --top-module vitsa_top -GROWS=$(RTL_ROWS) -GCOLS=$(RTL_COLS)

.PHONY: rtl rtl-lint rtl-run
rtl: $(RTL_BIN)

rtl-lint:
	$(VERILATOR) --lint-only $(RTL_VFLAGS) $(RTL_V)

$(RTL_BIN): $(RTL_V) hw/rtl/tb/tb_main.cpp hw/rtl/tb/tb_job.h $(RTL_COBJ) hw/rtl/rtl.mk
	@mkdir -p $(RTL_B)
	$(VERILATOR) --cc --exe --build -j 2 $(RTL_VFLAGS) --Mdir $(RTL_B)/obj -o $(abspath $@) \
		-CFLAGS "-O2 -I$(abspath hw/rtl/tb) -DTB_ROWS=$(RTL_ROWS) -DTB_COLS=$(RTL_COLS)" \
		-LDFLAGS "$(abspath $(RTL_COBJ))" \
		$(abspath $(RTL_V) hw/rtl/tb/tb_main.cpp) >$(RTL_B)/build.log 2>&1 || \
		{ tail -n 30 $(RTL_B)/build.log; exit 1; }

rtl-run: $(RTL_BIN)
	$(RTL_BIN)
