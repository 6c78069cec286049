#!/bin/bash
# mkinitramfs.sh OUT MODULE SUITE_DIR DATA_DIR BIN...: a busybox initramfs (newc, gzip)
# holding /init (tests/vm/init.sh), the module as /vitsa.ko, the suites in /suites, their data
# in /data and BINs in /bin.
set -euo pipefail
out=$1 module=$2 suites=$3 data=$4
shift 4
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,suites,data}
cp /bin/busybox "$root/bin/busybox"
cp "$(dirname "$0")/init.sh" "$root/init"
cp "$module" "$root/vitsa.ko"
cp "$suites"/* "$root/suites/"
cp "$data"/* "$root/data/"
for b in "$@"; do cp "$b" "$root/bin/"; done
chmod 755 "$root/init" "$root"/suites/* "$root"/bin/*
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
