#!/bin/bash
# Install the Debian packages vitsa needs, only those missing.  Idempotent; needs root.
# Also adds a deb-src entry (derived from the machine's own apt sources) for `apt-get source qemu`.
set -euo pipefail

PKGS=(build-essential pkg-config bc kmod cpio busybox-static dpkg-dev
      linux-headers-amd64 dkms
      meson ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev flex bison python3
      qemu-system-data seabios
      libnl-3-dev libnl-genl-3-dev libpng-dev libjpeg-dev zlib1g-dev libjansson-dev jq
      libcairo2-dev fonts-dejavu-core	# charts: vitrt bench --plot
      python3-docutils	# make man: rst2man
      linux-source-6.1 dataset-fashion-mnist verilator
      clang libclang-rt-14-dev)	# make fuzz: clang -fsanitize=fuzzer (libclang_rt.fuzzer)

# --run: only what `make run` needs (compiler, image, netlink and JSON libraries, the dataset).
if [ "${1:-}" = --run ]; then
	PKGS=(build-essential pkg-config libpng-dev libjpeg-dev zlib1g-dev libnl-3-dev libnl-genl-3-dev
	      libjansson-dev libcairo2-dev fonts-dejavu-core dataset-fashion-mnist)
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# deb-src: mirror every deb822 "Types: deb" stanza / one-line "deb" entry of Debian's archive.
add_deb_src() {
	local f=/etc/apt/sources.list.d/vitsa-src.sources
	[ -f "$f" ] && return 1
	if grep -rqs '^deb-src\|^Types:.*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return 1
	fi
	local uri suites comps key
	uri=$(grep -rhs -E '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ |
	      grep -o 'https\?://[^ ]*debian[^ ]*' | grep -v security | head -n1)
	uri=${uri:-http://deb.debian.org/debian}
	. /etc/os-release
	suites="${VERSION_CODENAME:-bookworm}"
	key=/usr/share/keyrings/debian-archive-keyring.gpg
	printf 'Types: deb-src\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
		"$uri" "$suites" "$suites" "$key" > "$f"
	return 0
}

need_update=0
add_deb_src && need_update=1
if [ ${#missing[@]} -gt 0 ]; then need_update=1; fi
if [ $need_update = 1 ]; then
	apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
