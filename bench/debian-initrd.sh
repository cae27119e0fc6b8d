#!/bin/bash
# Build Debian's own initramfs-tools initrd (its default config: MODULES=most, busybox, zstd) for
# the kernel lifeboat boots, without installing that kernel on this machine.
#   bench/debian-initrd.sh KERNEL_ROOT VERSION OUT.img
# KERNEL_ROOT is the unpacked linux-image .deb (tools/kernel.sh's cache): it holds
# lib/modules/VERSION and boot/config-VERSION. mkinitramfs looks for them only at
# /lib/modules/VERSION and /boot/config-VERSION. So, in a private mount namespace that vanishes
# with this script, the unpacked modules are bind-mounted on /lib/modules/VERSION (a symlink would
# not do: mkinitramfs would copy the modules under the link's target path) and the config on
# /boot/config-VERSION. The two mount points are created empty for the run and removed afterwards,
# and only if this script made them.
set -eu
root=$1 ver=$2 out=$3
command -v mkinitramfs >/dev/null || {
	echo "bench: installing initramfs-tools (and busybox, which Debian recommends with it)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends initramfs-tools busybox >&2
}
[ -d "$root/lib/modules/$ver" ] && [ -f "$root/boot/config-$ver" ] ||
	{ echo "bench: no lib/modules/$ver or boot/config-$ver under $root" >&2; exit 1; }
mods=/lib/modules/$ver conf=/boot/config-$ver
made=()
cleanup() {
	for p in "${made[@]}"; do
		if [ -d "$p" ]; then rmdir "$p" 2>/dev/null || true; else rm -f "$p"; fi
	done
}
trap cleanup EXIT
if [ ! -e /lib/modules ]; then mkdir /lib/modules && made=(/lib/modules); fi
if [ ! -e "$mods" ]; then mkdir "$mods" && made=("$mods" "${made[@]}"); fi
if [ ! -e "$conf" ]; then : > "$conf" && made=("$conf" "${made[@]}"); fi
out=$(realpath "$out")
# SOURCE_DATE_EPOCH (exported by make) makes mkinitramfs reproducible and single-threaded; the
# format is what a Debian machine gets from update-initramfs.
unshare --mount --propagation private /bin/bash -euc '
	mount --bind "$1/lib/modules/$2" "/lib/modules/$2"
	mount --bind "$1/boot/config-$2" "/boot/config-$2"
	mkinitramfs -o "$3.tmp" "$2"' bench "$root" "$ver" "$out"
mv "$out.tmp" "$out"
