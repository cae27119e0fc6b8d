#!/bin/bash
# Install what lifeboat's build and tests need from Debian, and make Debian's source packages
# reachable (a deb-src entry is added when none exists). Idempotent; safe to run again.
set -eu
[ "$(id -u)" = 0 ] || { echo "deps: run as root (or: sudo make deps)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

PKGS="build-essential musl-tools musl-dev linux-libc-dev dpkg-dev kmod
 qemu-system-x86 qemu-utils ovmf ipxe-qemu
 cpio zstd xz-utils file binutils
 e2fsprogs btrfs-progs xfsprogs dosfstools mtools f2fs-tools squashfs-tools fdisk util-linux
 patchelf python3 python3-pytest python3-pytest-xdist
 libblkid-dev liblzma-dev pkg-config
 clang libclang-rt-14-dev
 systemd-boot-efi grub-efi-amd64-bin pxelinux syslinux-common
 bc bison flex libelf-dev libssl-dev
 autoconf automake libtool autopoint cmake"

have_src() {
	grep -rqs '^[[:space:]]*deb-src\|^Types:.*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/
}
added=0
if ! have_src; then
	# Mirror the deb entries of the Debian archive as deb-src entries.
	f=/etc/apt/sources.list.d/lifeboat-deb-src.sources
	{
		for s in /etc/apt/sources.list.d/*.sources; do
			[ -f "$s" ] || continue
			awk 'BEGIN{RS=""; ORS="\n\n"} /URIs:[^\n]*debian\.org/ { sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$s"
		done
		if [ -f /etc/apt/sources.list ]; then
			grep -E '^deb[[:space:]].*debian\.org' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
				awk '{print "# from sources.list\n"}' >/dev/null
		fi
	} > "$f.tmp"
	if ! grep -q 'deb-src' "$f.tmp"; then
		# A one-line-style sources.list: add deb-src lines next to it.
		rm -f "$f.tmp"
		grep -E '^deb[[:space:]]' /etc/apt/sources.list | grep debian | sed 's/^deb /deb-src /' \
			> /etc/apt/sources.list.d/lifeboat-deb-src.list
	else
		mv "$f.tmp" "$f"
	fi
	added=1
fi

missing=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' $PKGS 2>/dev/null | awk '$1 != "ii" {print $2}')
for p in $PKGS; do dpkg-query -W "$p" >/dev/null 2>&1 || missing="$missing $p"; done
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
if [ "$added" = 1 ] || [ -n "${missing// /}" ] || [ ! -d /var/lib/apt/lists ] ||
   [ -z "$(ls /var/lib/apt/lists/*Sources* 2>/dev/null)" ]; then
	apt-get update -q
fi
if [ -n "${missing// /}" ]; then
	echo "deps: installing $missing" >&2
	apt-get install -y -q --no-install-recommends $missing
fi
echo "deps: ok" >&2
