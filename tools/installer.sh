#!/bin/bash
# Prepare the bundled installer in OUTDIR: kernel, initrd, cmdline, name, and INFO (for BUILDINFO).
#   tools/installer.sh OUTDIR PAYLOAD_INIT DEMO_KERNEL RUNPARSER
# The choice comes from the environment, as given to make:
#   INSTALLER=DIR         a kernel named bzImage or vmlinuz, an initrd, optional cmdline and name
#   INSTALLER=FILE.tar.*  the NixOS kexec installer tarball (kexec/bzImage, kexec/initrd, and the
#                         kernel parameters its kexec/run script passes), or such a tree unpacked
#   INSTALLER_KERNEL=, INSTALLER_INITRD=, INSTALLER_CMDLINE=   the parts named one by one
# Without any, a demo installer: DEMO_KERNEL with a payload initrd that says it was reached.
set -eu
out=$1 payload_init=$2 demo_kernel=$3 runparser=$4
top=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$out" && mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

die() { echo "installer: $*" >&2; exit 1; }

from_nixos_tree() { # $1: folder holding kexec/
	local d=$1/kexec
	[ -f "$d/bzImage" ] && [ -f "$d/initrd" ] || die "$1: no kexec/bzImage and kexec/initrd"
	[ -f "$d/run" ] || die "$1: no kexec/run to take the kernel parameters from"
	cp "$d/bzImage" "$out/kernel"
	cp "$d/initrd" "$out/initrd"
	"$runparser" < "$d/run" > "$out/cmdline" || die "$d/run: cannot find the kernel parameters"
	echo "NixOS kexec installer" > "$out/name"
}

if [ -n "${INSTALLER_KERNEL:-}" ]; then
	[ -f "$INSTALLER_KERNEL" ] || die "INSTALLER_KERNEL=$INSTALLER_KERNEL: no such file"
	cp "$INSTALLER_KERNEL" "$out/kernel"
	if [ -n "${INSTALLER_INITRD:-}" ]; then
		[ -f "$INSTALLER_INITRD" ] || die "INSTALLER_INITRD=$INSTALLER_INITRD: no such file"
		cp "$INSTALLER_INITRD" "$out/initrd"
	fi
	printf '%s\n' "${INSTALLER_CMDLINE:-}" > "$out/cmdline"
	echo "installer ($(basename "$INSTALLER_KERNEL"))" > "$out/name"
	source="INSTALLER_KERNEL=$INSTALLER_KERNEL INSTALLER_INITRD=${INSTALLER_INITRD:-}"
elif [ -n "${INSTALLER:-}" ] && [ -d "$INSTALLER" ]; then
	if [ -d "$INSTALLER/kexec" ]; then
		from_nixos_tree "$INSTALLER"
	else
		k=
		for f in bzImage vmlinuz; do [ -f "$INSTALLER/$f" ] && { k=$INSTALLER/$f; break; }; done
		[ -n "$k" ] || die "$INSTALLER: no bzImage or vmlinuz"
		cp "$k" "$out/kernel"
		for f in initrd initrd.img; do
			[ -f "$INSTALLER/$f" ] && { cp "$INSTALLER/$f" "$out/initrd"; break; }
		done
		if [ -f "$INSTALLER/cmdline" ]; then cp "$INSTALLER/cmdline" "$out/cmdline"; else : > "$out/cmdline"; fi
		if [ -f "$INSTALLER/name" ]; then cp "$INSTALLER/name" "$out/name"; else echo "installer ($(basename "$INSTALLER"))" > "$out/name"; fi
	fi
	source="INSTALLER=$INSTALLER"
elif [ -n "${INSTALLER:-}" ]; then
	[ -f "$INSTALLER" ] || die "INSTALLER=$INSTALLER: no such file or folder"
	tar -xf "$INSTALLER" -C "$tmp" kexec/bzImage kexec/initrd kexec/run ||
		die "$INSTALLER: not a NixOS kexec installer tarball (kexec/bzImage, kexec/initrd, kexec/run)"
	from_nixos_tree "$tmp"
	source="INSTALLER=$INSTALLER sha256 $(sha256sum "$INSTALLER" | cut -d' ' -f1)"
else
	cp "$demo_kernel" "$out/kernel"
	"$top/tools/mkpayload.sh" "$payload_init" "lifeboat demo installer" "$out/initrd"
	echo "lifeboat.demo-installer" > "$out/cmdline"
	echo "lifeboat demo installer" > "$out/name"
	ksrc=$(cat "$(dirname "$demo_kernel")/SOURCE" 2>/dev/null || echo "kernel $demo_kernel")
	source="demo (a payload initrd that says it was reached; $ksrc)"
fi

{
	echo "source $source"
	echo "name $(cat "$out/name")"
	for f in kernel initrd; do
		[ -f "$out/$f" ] && echo "$f $(sha256sum "$out/$f" | cut -d' ' -f1) $(stat -c %s "$out/$f") bytes"
	done
	echo "cmdline $(cat "$out/cmdline")"
} > "$tmp/INFO"
mv "$tmp/INFO" "$out/INFO"
