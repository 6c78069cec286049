#!/bin/bash
# idx-head.sh IMAGES.idx[.gz] N: the first N images of an IDX image file (u8, 3 dimensions) as
# a new IDX file on stdout.
set -eu
src=$1 n=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if [[ $src == *.gz ]]; then zcat "$src" >"$tmp"; else cp "$src" "$tmp"; fi
hdr=$(head -c 16 "$tmp" | od -An -tx1 | tr -d ' \n')
[ "${hdr:0:8}" = 00000803 ] || { echo "idx-head.sh: $src is not an IDX image file" >&2; exit 1; }
rows=$((16#${hdr:16:8})) cols=$((16#${hdr:24:8}))
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
	$(($1 >> 8 & 255)) $(($1 & 255)); }
printf "$(be32 $((16#0803)))$(be32 "$n")$(be32 $rows)$(be32 $cols)"
tail -c +17 "$tmp" | head -c $((n * rows * cols))
