#!/bin/sh
# Append extra archives (segments) to an initrd: each starts on a 4-byte boundary, where the
# kernel looks for the next archive after the end of a compressed one (it skips zero padding).
#   tools/initrd-append.sh INITRD SEGMENT...
set -eu
img=$1
shift
for seg in "$@"; do
	pad=$(( (4 - $(stat -c %s "$img") % 4) % 4 ))
	[ "$pad" -eq 0 ] || head -c "$pad" /dev/zero >> "$img"
	cat "$seg" >> "$img"
done
