#!/bin/bash
# mkinitramfs.sh OUT MODULE SUITE_DIR BIN...: a busybox initramfs (newc, gzip) holding /init
# (tests/vm/init.sh), the module as /vitsa.ko, the suites in /suites and BINs in /bin.
set -euo pipefail
out=$1 module=$2 suites=$3
shift 3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,suites}
cp /bin/busybox "$root/bin/busybox"
cp "$(dirname "$0")/init.sh" "$root/init"
cp "$module" "$root/vitsa.ko"
cp "$suites"/* "$root/suites/"
for b in "$@"; do cp "$b" "$root/bin/"; done
chmod 755 "$root/init" "$root"/suites/* "$root"/bin/*
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
