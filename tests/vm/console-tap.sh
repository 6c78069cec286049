#!/bin/bash
# console-tap.sh TAG <CONSOLE_LOG: the suites' KTAP out of the test VM's console log (run.sh),
# everything between "vitsa-vm: booted" and "vitsa-vm: dmesg begin" (to the end if the VM
# died), suite names prefixed TAG (vm- or vm-iommu-) instead of vm-.  init.sh's line
# "vitsa-vm: suite NAME exit N" after each suite becomes "# suite-exit: TAGNAME N" for
# tap-summary.awk (on a line of its own when the suite's last line had no newline), so a suite
# that dies, even before its TAP version line, still fails; other vitsa-vm: lines (unplug
# requests, QMP replies) are dropped.
set -u
tag=${1:-vm-}
sed -n '/vitsa-vm: booted/,/^vitsa-vm: dmesg begin/p' |
	sed -e 's/^vitsa-vm: suite \([^ ]*\) exit \([0-9]*\)$/# suite-exit: vm-\1 \2/' \
	    -e 's/^\(..*\)vitsa-vm: suite \([^ ]*\) exit \([0-9]*\)$/\1\n# suite-exit: vm-\2 \3/' |
	grep -v 'vitsa-vm: ' |
	sed "s/^# suite\(-error\|-exit\)\{0,1\}: vm-/# suite\1: $tag/"
