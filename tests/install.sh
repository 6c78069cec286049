#!/bin/bash
# make install into a temporary DESTDIR, and an application built against what it installed
# (KTAP).  The installed files are exactly the expected ones (modes, links); the version is
# the same in the header, vitrt.pc and vitrt --version; libvitrt.so carries its SONAME and
# exports exactly the functions the installed headers declare; each header compiles on its
# own needing nothing but the C compiler's freestanding headers (so none from outside
# include/vitrt), as C and C++; userspace/examples/classify.c, copied out of the tree, builds
# with `pkg-config --cflags --libs vitrt` alone (and with libvitrt.a, --static) and gives, for
# every test image, the top-1 class and the logits the installed `vitrt run --json` gives;
# make uninstall leaves no file behind.  Everything happens in a temporary directory that
# goes on exit.  $1: the idx_png binary (images of Fashion-MNIST's test set as PNG files).
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1
IDX_PNG=$1
. tests/unit/ktap.sh	# n, failed, t NAME CMD...

exec 3>&2	# make's output goes to the suite's stderr
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
PUB=userspace/include/vitrt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
D=$tmp/root
U=$D/usr

version_part() {
	sed -n "s/^#define VITRT_VERSION_$1[[:space:]]*\([0-9]*\)$/\1/p" $PUB/core.h
}
MAJOR=$(version_part MAJOR)
VERSION=$MAJOR.$(version_part MINOR).$(version_part PATCH)

# pkg-config as an application's build calls it, with the installed tree in $D (not exported:
# make install's own pkg-config calls must see the system as it is).
pc() {
	PKG_CONFIG_PATH=$U/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D pkg-config "$@"
}

expected_files() {
	local h
	echo "usr/bin/vitrt 755"
	for h in $PUB/*.h; do
		echo "usr/include/vitrt/${h##*/} 644"
	done
	echo "usr/lib/libvitrt.a 644"
	echo "usr/lib/libvitrt.so -> libvitrt.so.$MAJOR"
	echo "usr/lib/libvitrt.so.$MAJOR -> libvitrt.so.$VERSION"
	echo "usr/lib/libvitrt.so.$VERSION 644"
	echo "usr/lib/pkgconfig/vitrt.pc 644"
	echo "usr/share/man/man1/vitrt.1 644"
	echo "usr/share/man/man4/vitsa.4 644"
}

# installed: every file and link under $D, with its mode or its target.
installed() {
	(cd "$D" && find . -type l -printf '%P -> %l\n' -o ! -type d -printf '%P %m\n' |
		LC_ALL=C sort)
}

# same WHAT FILE_A FILE_B: the two lists are equal, else their diff.
same_list() {
	diff -u --label "expected $1" --label "got $1" "$2" "$3"
}

files_as_expected() {
	expected_files | LC_ALL=C sort >"$tmp/want"
	installed >"$tmp/got"
	same_list files "$tmp/want" "$tmp/got"
}

soname() {
	local got
	got=$(readelf -d "$U/lib/libvitrt.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	echo "SONAME '$got', want libvitrt.so.$MAJOR"
	[ "$got" = "libvitrt.so.$MAJOR" ]
}

# The functions the installed headers declare, by the compiler (-aux-info), not by a pattern.
declared() {
	echo '#include <vitrt/vitrt.h>' >"$tmp/all.c"
	gcc -fsyntax-only -aux-info "$tmp/aux" -I"$U/include" "$tmp/all.c" || return 1
	grep -F "/* $U/include/vitrt/" "$tmp/aux" | sed 's/ (.*//; s/.*[ *]//' | LC_ALL=C sort
}

exports_are_the_api() {
	declared >"$tmp/api" || return 1
	[ -s "$tmp/api" ] || { echo "no functions declared"; return 1; }
	nm -D --defined-only "$U/lib/libvitrt.so.$VERSION" | awk '{ print $NF }' |
		LC_ALL=C sort >"$tmp/exports"
	same_list symbols "$tmp/api" "$tmp/exports"
}

# Each header alone: C with only the freestanding headers of the compiler, and C++.
headers_standalone() {
	local h ok=0
	for h in "$U"/include/vitrt/*.h; do
		echo "#include <vitrt/${h##*/}>" >"$tmp/one.c"
		gcc -std=c11 -Wall -Wextra -Werror -ffreestanding -nostdinc \
			-isystem "$(gcc -print-file-name=include)" -I"$U/include" \
			-fsyntax-only "$tmp/one.c" || ok=1
		g++ -Wall -Wextra -Werror -I"$U/include" -fsyntax-only -x c++ "$tmp/one.c" || ok=1
	done
	return $ok
}

# The header's version is pkg-config's and the installed vitrt's.
versions_agree() {
	local pcv cli
	pcv=$(pc --modversion vitrt) && cli=$("$U/bin/vitrt" --version | sed -n 1p) || return 1
	echo "header $VERSION, pkg-config '$pcv', vitrt --version '$cli'"
	[ "$pcv" = "$VERSION" ] && [ "$cli" = "vitrt $VERSION" ]
}

# build OUT [--static]: the example, as an application would build it, outside the tree.
# --static links libvitrt.a with what vitrt.pc's private fields name (those as shared
# libraries: Debian ships no static cairo).
build() {
	local out=$1 flags
	shift
	flags=$(pc --cflags --libs "$@" vitrt) || return 1
	[ "${1:-}" = --static ] && flags=${flags/-lvitrt/-l:libvitrt.a}
	cp userspace/examples/classify.c "$tmp/classify.c"
	# shellcheck disable=SC2086
	(cd "$tmp" && gcc -std=c11 -Wall -Wextra -Werror classify.c -o "$out" $flags)
}

# links_so PROGRAM: it needs libvitrt.so.MAJOR, found in $D when run.
links_so() {
	readelf -d "$1" | grep -F "Shared library: [libvitrt.so.$MAJOR]" || return 1
	LD_LIBRARY_PATH=$U/lib ldd "$1" | grep -F "libvitrt.so.$MAJOR => $U/lib/"
}

# six: each number of a "logits" line to 6 significant digits, as the CLI's JSON has them
# (jq may print more digits of the same value).
six() {
	awk '$1 == "logits" { s = $1; for (i = 2; i <= NF; i++) s = s sprintf(" %.6g", $i); $0 = s }
		{ print }'
}

# agrees IMAGE PROGRAM: the installed CLI and the example give IMAGE the same class and the
# same logits.
agrees() {
	local img=$1 prog=$2 want got
	want=$(LD_LIBRARY_PATH=$U/lib "$U/bin/vitrt" run "$tmp/m.vitsa" "$img" -b sim --json |
		jq -r '"top1 \(.top5[0].class) \(.top5[0].label)",
		       "logits \(.logits | map(tostring) | join(" "))"' | six) || return 1
	got=$(LD_LIBRARY_PATH=$U/lib "$prog" "$tmp/m.vitsa" "$img" sim | six) || return 1
	echo "$img: vitrt: ${want%%$'\n'*}; classify: ${got%%$'\n'*}"
	[ "$want" = "$got" ] || { diff <(echo "$want") <(echo "$got"); return 1; }
}

all_agree() {
	local prog=$1 img ok=0
	for img in "$tmp"/img/*; do
		agrees "$img" "$prog" || ok=1
	done
	return $ok
}

# The example linked with libvitrt.a and vitrt.pc's private libraries needs no libvitrt.so
# and gives the same answers.
static_agrees() {
	build classify-static --static || return 1
	if readelf -d "$tmp/classify-static" | grep -F libvitrt; then
		return 1
	fi
	all_agree "$tmp/classify-static"
}

# A model that is not one: the library's error, naming the file, through the example.
bad_model() {
	local err
	echo "not a model" >"$tmp/bad.vitsa"
	err=$(LD_LIBRARY_PATH=$U/lib "$tmp/classify" "$tmp/bad.vitsa" "${IMAGES[0]}" 2>&1 >/dev/null)
	[ $? -eq 1 ] && grep -F "$tmp/bad.vitsa" <<<"$err"
}

nothing_left() {
	local left
	left=$(find "$D" ! -type d)
	[ -z "$left" ] || { echo "left: $left"; return 1; }
}

# The model and the images: three Fashion-MNIST test images as PNG and a JPEG photo, which
# the model's preparation resizes and turns gray.
mkdir -p "$tmp/img"
"$IDX_PNG" "$FMNIST/t10k-images-idx3-ubyte.gz" - "$tmp/img" 0 3 >&3 2>&1
cp tests/golden/resize/in/hubble_deep_field.jpg "$tmp/img/"
IMAGES=("$tmp"/img/*)

echo "TAP version 13"
t install make --no-print-directory -s install DESTDIR="$D" PREFIX=/usr
t files_as_expected files_as_expected
t soname soname
t exports_are_the_api exports_are_the_api
t headers_standalone headers_standalone
t versions_agree versions_agree
"$U/bin/vitrt" quantize models/vit-fmnist.safetensors --calib "$FMNIST" -n 32 \
	-o "$tmp/m.vitsa" >&3 2>&1
t example_builds build classify
t example_links_the_so links_so "$tmp/classify"
t example_agrees_with_vitrt_run all_agree "$tmp/classify"
t example_static_agrees static_agrees
t example_reports_a_bad_model bad_model
make --no-print-directory -s uninstall DESTDIR="$D" PREFIX=/usr >&3 2>&1
t uninstall_leaves_nothing nothing_left
echo "1..$n"	# the plan last: counted, never kept by hand
exit $failed
