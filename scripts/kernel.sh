#!/bin/bash
# The Debian kernel the VM boots: the ABI linux-headers-amd64 points at (the same headers the
# module builds against).  Downloads that linux-image .deb once, extracts its vmlinuz into the
# cache and prints the vmlinuz path (last line of stdout).  Usage: scripts/kernel.sh [--version]
set -euo pipefail
cache=${VITSA_CACHE:-$HOME/.cache/vitsa}

kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -o 'linux-headers-[^ ,]*' |
       head -n1 | sed 's/^linux-headers-//')
[ -n "$kver" ] || { echo "kernel.sh: linux-headers-amd64 is not installed" >&2; exit 1; }
if [ "${1:-}" = --version ]; then
	echo "$kver"
	exit 0
fi

dir=$cache/linux-image-$kver
if [ ! -s "$dir/vmlinuz" ]; then
	mkdir -p "$dir/deb"
	(cd "$dir/deb" && apt-get download -q "linux-image-$kver" >&2)
	dpkg-deb -x "$dir"/deb/linux-image-"$kver"_*.deb "$dir/x"
	cp "$dir/x/boot/vmlinuz-$kver" "$dir/vmlinuz.tmp"
	mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
	rm -rf "$dir/x" "$dir/deb"
fi
echo "$dir/vmlinuz"
