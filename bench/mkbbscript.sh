#!/bin/bash
# Build baseline (c) of `make bench`: a busybox initrd whose /init is bench/bbscript-init, with
# the same busybox and the same kernel modules as lifeboat's image, compressed the same way.
#   bench/mkbbscript.sh BUILD KERNEL_ROOT OUT.img
# KERNEL_ROOT (the unpacked kernel package) provides crc32c_generic, which lifeboat's module list
# lacks: without it ext4 (metadata_csum) cannot be mounted on a CPU without SSE4.2, such as QEMU's
# default TCG CPU, where crc32c-intel refuses to load.
set -eu
build=$1 kroot=$2 out=$3
top=$(cd "$(dirname "$0")/.." && pwd)
bb=$(cat "$build/tp/busybox.dir")/bin/busybox
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ver=$(cat "$build/kernel/version")
cp -r "$build/kernel/modules/lib/modules" "$tmp/modules"
m=kernel/crypto/crc32c_generic.ko
if [ ! -e "$tmp/modules/$ver/$m" ] && [ ! -e "$tmp/modules/$ver/$m.xz" ]; then
	for c in "$kroot/lib/modules/$ver/$m"*; do
		case $c in
		*.xz) xz -dc "$c" ;; *.zst) zstd -qdc "$c" ;; *) cat "$c" ;;
		esac > "$tmp/modules/$ver/$m"
		echo "$m:" >> "$tmp/modules/$ver/modules.dep"
	done
fi
cat > "$tmp/spec" <<SPEC
dir   /dev 0755
nod   /dev/console 0600 c 5 1
nod   /dev/null 0666 c 1 3
dir   /proc 0555
dir   /sys 0555
dir   /mnt 0755
dir   /tmp 01777
file  /init 0755 $top/bench/bbscript-init
file  /bin/busybox 0755 $bb
slink /bin/sh busybox
tree  /lib/modules $tmp/modules
SPEC
python3 "$top/tools/mkinitramfs.py" "$tmp/spec" "$build/busybox.spec" -o "$tmp/cpio"
zstd -q -19 -T1 -f "$tmp/cpio" -o "$out"
