#!/bin/bash
# musl-gcc searches only musl's own headers; the Linux UAPI headers (linux/, asm/, asm-generic/)
# that busybox, util-linux and lifeboat need are copied from linux-libc-dev into a cached folder.
#   tools/musl-kheaders.sh CACHE  -> prints the include folder
set -eu
cache=$1
. "$(dirname "$0")/cache-lock.sh"
ver=$(dpkg-query -W -f '${Version}' linux-libc-dev)
dir="$cache/kheaders/$ver"
if [ ! -e "$dir/.done" ]; then
	rm -rf "$dir" && mkdir -p "$dir"
	cp -r /usr/include/linux /usr/include/asm-generic /usr/include/mtd "$dir/"
	cp -r "/usr/include/$(gcc -dumpmachine)/asm" "$dir/asm"
	echo "linux-libc-dev $ver" > "$dir/SOURCE"
	touch "$dir/.done"
fi
echo "$dir"
