#!/bin/sh
# Append extra archives (segments) to an initrd. An uncompressed archive must start on a 4-byte
# boundary (the kernel skips zero padding to find it); a zstd frame follows the previous one
# directly, so that `zstd -dc` still reads the whole file as one stream.
#   tools/initrd-append.sh INITRD SEGMENT...
set -eu
img=$1
shift
for seg in "$@"; do
	if [ "$(od -An -tx1 -N4 "$seg" | tr -d ' ')" != 28b52ffd ]; then
		pad=$(( (4 - $(stat -c %s "$img") % 4) % 4 ))
		[ "$pad" -eq 0 ] || head -c "$pad" /dev/zero >> "$img"
	fi
	cat "$seg" >> "$img"
done
