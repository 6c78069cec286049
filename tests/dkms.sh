#!/bin/bash
# vitsa.ko as a DKMS package (KTAP).  `make -C kernel dkms-src` assembles the source tree in a
# temporary DESTDIR; Debian's dkms adds it, builds it for the kernel of linux-headers-amd64
# (KVER, as kernel/Makefile resolves it), installs it and removes it; the same tree is built
# with plain make and `make modules_install` puts vitsa.ko into a temporary INSTALL_MOD_PATH.
# dkms gets its source, module and install trees (--sourcetree, --dkmstree, --installtree) and
# its signing key in the temporary directory too, so nothing outside it changes: /usr/src,
# /var/lib/dkms and /lib/modules/KVER are compared before and after (the last result).  The
# directory goes on exit (trap), also after a failure.  Needs root (dkms install).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/unit/ktap.sh	# n, failed, t NAME CMD...

exec 3>&2	# whole build logs go to the suite's stderr; t keeps the last 5 lines only
KVER=$(make -s -C kernel kver)
ARCH=$(uname -m)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
mkdir "$tmp/dkms"
mkdir -p "$tmp/lib/modules/$KVER"
TREES=(--sourcetree "$tmp/usr/src" --dkmstree "$tmp/dkms" --installtree "$tmp/lib/modules")
# dkms 3.0.10 keeps these from its environment when framework.conf does not set them; without
# them its first build would create /var/lib/dkms/mok.key and mok.pub.
export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub

# state: whatever dkms or modules_install could change outside $tmp.
state() {
	ls -d /usr/src/vitsa-* 2>/dev/null
	find /var/lib/dkms "/lib/modules/$KVER" 2>/dev/null | sort
}
before=$(state)

# logged LOG CMD...: CMD with its output in LOG; on failure the log goes to stderr and its
# first error lines (the cause, then make's) to stdout, where t shows them.
logged() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 && return 0
	cat "$log" >&3
	grep -E 'error|Error' "$log" | head -n 4
	return 1
}

# for_kver KO: KO is vitsa.ko, and its vermagic names KVER's release.
for_kver() {
	local name vermagic
	name=$(modinfo -F name "$1") && vermagic=$(modinfo -F vermagic "$1") || return 1
	echo "$1: name '$name', vermagic '$vermagic'"
	[ "$name" = vitsa ] && [ "${vermagic%% *}" = "$KVER" ]
}

# src_tree_ok: one tree named after a MAJOR.MINOR version, its dkms.conf carrying that version,
# and nothing in it but sources (no objects or *.mod.c from an earlier in-tree build).
src_tree_ok() {
	local extra
	echo "tree $src, version '$VER'"
	[[ $VER =~ ^[0-9]+\.[0-9]+$ ]] || return 1
	grep -qx "PACKAGE_VERSION=\"$VER\"" "$src/dkms.conf" || return 1
	extra=$(find "$src" -type f ! -name dkms.conf ! -name Kbuild ! -name Makefile \
		! -name '*.[ch]' -o -name '*.mod.c')
	[ -z "$extra" ] || { echo "not sources: $extra"; return 1; }
}

# dkms_build: as logged, with DKMS's make.log (kept in its build directory on failure) first.
dkms_build() {
	local out=$tmp/dkms-build.log log=$tmp/dkms/vitsa/$VER/build/make.log
	dkms build -m vitsa -v "$VER" -k "$KVER" "${TREES[@]}" >"$out" 2>&1 && return 0
	[ -f "$log" ] || log=/dev/null
	cat "$log" "$out" >&3
	cat "$log" "$out" | grep -E 'error|Error' | head -n 4
	return 1
}

# dkms_status STATE: dkms says vitsa/VER is STATE (built, installed) for KVER.
dkms_status() {
	dkms status -m vitsa -v "$VER" -k "$KVER" "${TREES[@]}" | tee /dev/stderr |
		grep -q "^vitsa/$VER, $KVER, $ARCH: $1\$"
}

dkms_installed() {
	for_kver "$tmp/lib/modules/$KVER/updates/dkms/vitsa.ko" && dkms_status installed
}

plain_build() {
	cp -a "$src" "$plain" && make -C "$plain/kernel" modules
}

# untouched: state() as it was at the start; otherwise what changed.
untouched() {
	diff <(printf '%s\n' "$before") <(state)
}

# dkms_removed: gone from DKMS's tree and from the install tree.
dkms_removed() {
	dkms remove -m vitsa -v "$VER" --all --no-depmod "${TREES[@]}" &&
		[ ! -e "$tmp/dkms/vitsa" ] && [ ! -e "$tmp/lib/modules/$KVER/updates/dkms/vitsa.ko" ]
}

echo "TAP version 13"
echo "1..15"
echo "# kernel $KVER ($ARCH), dkms $(dkms --version 2>/dev/null)"

t headers_for_kver test -n "$KVER" -a -d "/usr/src/linux-headers-$KVER"
t dkms_present command -v dkms

t dkms_src logged "$tmp/src.log" make -C kernel dkms-src DESTDIR="$tmp"
src=$(echo "$tmp"/usr/src/vitsa-*)
VER=${src##*/vitsa-}
t dkms_src_tree src_tree_ok

t dkms_add dkms add -m vitsa -v "$VER" "${TREES[@]}"
t dkms_build dkms_build
t dkms_status_built dkms_status built
t dkms_module_for_kver for_kver "$tmp/dkms/vitsa/$VER/$KVER/$ARCH/module/vitsa.ko"
# dkms's depmod would work on /lib/modules whatever the install tree: --no-depmod.
t dkms_install dkms install -m vitsa -v "$VER" -k "$KVER" --no-depmod "${TREES[@]}"
t dkms_installed_for_kver dkms_installed
t dkms_remove dkms_removed

# The tree also builds without dkms, with kernel/Makefile's own targets.
plain=$tmp/plain
t plain_build logged "$tmp/plain.log" plain_build
t modules_install logged "$tmp/install.log" \
	make -C "$plain/kernel" modules_install INSTALL_MOD_PATH="$tmp/root"
t modules_install_for_kver for_kver "$tmp/root/lib/modules/$KVER/extra/vitsa.ko"

t system_untouched untouched
exit $failed
