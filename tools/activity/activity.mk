# SPDX-License-Identifier: MIT
#
# The activity study (Documentation/hw/activity.rst): switching activity and cells of the
# device's PE against a dequantize-first fp16 PE, on real GEMMs.  Included by the top-level
# Makefile after hw/rtl/rtl.mk (paths relative to the repository root).  A tool that measures
# the hardware, so it lives outside hw/: it reads hw/rtl/vitsa_pe.v and runs libvitrt, and
# nothing in hw/ knows of it.
#
#   make activity   tools/activity/run.sh: the table, build/activity/table.txt (~11 min)
#   make rtl        also builds build/activity/act_fcheck, the study's fp16 multiplier and
#                   fp32/fp16 adder against the host's IEEE arithmetic (suite rtl-fp16);
#                   make rtl-run runs it too

ACT_B   := $(B)/activity
ACT_FP_V := $(addprefix tools/activity/,act_fcheck.v act_fmul.v act_fadd.v)

$(ACT_B)/act_fcheck: $(ACT_FP_V) tools/activity/act_fcheck.cpp tools/activity/activity.mk
	@mkdir -p $(ACT_B)
	$(VERILATOR) --cc --exe --build -j 2 -Wall -Wno-UNUSEDSIGNAL --top-module act_fcheck \
		--Mdir $@.obj -o $(abspath $@) -CFLAGS "-O2" \
		$(abspath $(ACT_FP_V) tools/activity/act_fcheck.cpp) >$@.log 2>&1 || \
		{ tail -n 30 $@.log; exit 1; }

.PHONY: act-fcheck-run activity
rtl: $(ACT_B)/act_fcheck
rtl-run: act-fcheck-run
act-fcheck-run: $(ACT_B)/act_fcheck
	$(ACT_B)/act_fcheck -n 200000

activity: $(B)/vitrt $(B)/libvitrt.a
	nice -n 19 tools/activity/run.sh $(ACT_B)
