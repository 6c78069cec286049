#!/bin/bash
# idx-head.sh FILE.idx[.gz] N: the first N items of an IDX file of u8 images (3 dimensions) or
# u8 labels (1 dimension) as a new IDX file on stdout.
set -eu
src=$1 n=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if [[ $src == *.gz ]]; then zcat "$src" >"$tmp"; else cp "$src" "$tmp"; fi
hdr=$(head -c 16 "$tmp" | od -An -tx1 | tr -d ' \n')
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
	$(($1 >> 8 & 255)) $(($1 & 255)); }
case ${hdr:0:8} in
00000803)
	rows=$((16#${hdr:16:8})) cols=$((16#${hdr:24:8}))
	printf "$(be32 $((16#0803)))$(be32 "$n")$(be32 $rows)$(be32 $cols)"
	tail -c +17 "$tmp" | head -c $((n * rows * cols)) ;;
00000801)
	printf "$(be32 $((16#0801)))$(be32 "$n")"
	tail -c +9 "$tmp" | head -c "$n" ;;
*)
	echo "idx-head.sh: $src is not an IDX file of u8 images or labels" >&2; exit 1 ;;
esac
