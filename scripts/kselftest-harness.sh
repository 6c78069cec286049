#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kselftest-harness.sh [OUTDIR]: put the kernel's kselftest_harness.h and the kselftest.h it
# includes into OUTDIR (default build/kselftest), taken from Debian's linux-source-6.1 package
# at build time, so that nothing third-party is committed.  Installs linux-source-6.1 when it
# is missing (needs root).  Idempotent: does nothing when both headers are already there.
# Prints OUTDIR as the last line on stdout; everything else goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/build/kselftest}
PKG=linux-source-6.1
TARBALL=/usr/src/$PKG.tar.xz
HEADERS=(kselftest_harness.h kselftest.h)

log() { echo "kselftest-harness.sh: $*" >&2; }

have_all() {
	local h
	for h in "${HEADERS[@]}"; do
		[ -s "$OUT/$h" ] || return 1
	done
}

if have_all; then
	echo "$OUT"
	exit 0
fi

if [ ! -f "$TARBALL" ]; then
	log "installing $PKG for $TARBALL"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$PKG" \
		>/dev/null || { log "error: apt-get install $PKG failed"; exit 1; }
fi

# Extract only the two headers; the tarball's top directory is named after the package.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
members=()
for h in "${HEADERS[@]}"; do
	members+=("$PKG/tools/testing/selftests/$h")
done
log "extracting ${HEADERS[*]} from $TARBALL"
tar -xJf "$TARBALL" -C "$tmp" "${members[@]}"

mkdir -p "$OUT"
for h in "${HEADERS[@]}"; do
	cp "$tmp/$PKG/tools/testing/selftests/$h" "$OUT/$h.tmp"
	mv "$OUT/$h.tmp" "$OUT/$h"
done
echo "$OUT"
