#!/bin/bash
# The man pages (KTAP): `make man` builds vitrt(1) and vitsa(4) from Documentation/man/*.rst
# with rst2man (any docutils warning fails it); man and groff render each with every warning
# on and must print none; lexgrog finds each NAME line; every command `vitrt --help` lists has
# its own section in vitrt(1), and every VITSA_IOCTL_* of uapi/vitsa.h its own in vitsa(4),
# so a command or ioctl added without documentation fails here.
# $1: the vitrt whose --help is the list of commands.
set -u
VITRT=$1
cd "$(dirname "$0")/../.."
. tests/unit/ktap.sh	# n, failed, t NAME CMD...
B=build/man

# quiet CMD...: CMD succeeds and writes nothing to stderr (its stdout is dropped).
quiet() {
	local err
	err=$("$@" 2>&1 >/dev/null) || { echo "$* failed: $err"; return 1; }
	[ -z "$err" ] || { echo "$err"; return 1; }
}

render() {
	LC_ALL=C.UTF-8 MANWIDTH=80 quiet man --warnings=w -E UTF-8 -l "$1" &&
		quiet groff -man -ww -z -Tutf8 "$1"
}

# sections PAGE HEADING...: PAGE has a subsection (.SS) titled exactly each HEADING.
sections() {
	local page=$1 h missing=0
	shift
	[ $# -gt 0 ] || { echo "nothing to look for"; return 1; }
	for h in "$@"; do
		grep -qxF ".SS $h" "$page" || { echo "$page: no section '$h'"; missing=1; }
	done
	return $missing
}

# The commands of `vitrt --help`: the indented words after "commands", up to the blank line.
verbs=$("$VITRT" --help | awk '/^commands/ { on = 1; next } on && /^$/ { exit }
	on && /^  [a-z]/ { print "vitrt " $1 }')
ioctls=$(grep -o '^#define VITSA_IOCTL_[A-Z_]*' uapi/vitsa.h | awk '{ print $2 }' |
	grep -vx VITSA_IOCTL_BASE)
mapfile -t verbs <<<"$verbs"
mapfile -t ioctls <<<"$ioctls"

echo "TAP version 13"
echo "1..7"
t pages_build make --no-print-directory -s man
t vitrt_1_renders_without_warnings render $B/vitrt.1
t vitsa_4_renders_without_warnings render $B/vitsa.4
t name_lines lexgrog $B/vitrt.1 $B/vitsa.4
t every_command_documented sections $B/vitrt.1 "${verbs[@]}"
t every_ioctl_documented sections $B/vitsa.4 "${ioctls[@]}"
# vitsa(4)'s other parts: its top-level sections, and every module parameter of kernel/.
parts() {
	local s p
	for s in IOCTLS SYSFS DEBUGFS NETLINK "MODULE PARAMETERS" FILES; do
		grep -qxF ".SH $s" $B/vitsa.4 || { echo "vitsa(4): no $s section"; return 1; }
	done
	for p in $(grep -ho 'module_param([a-z_]*' kernel/*.c | cut -d'(' -f2); do
		grep -qF "\fB$p\fP (" $B/vitsa.4 || { echo "vitsa(4): no parameter $p"; return 1; }
	done
}
t vitsa_4_sections parts
exit $failed
