#!/bin/bash
# Print one boot entry for lifeboat's kernel and initrd.
#   tools/mkbootentries.sh bls|grub|ipxe|pxelinux DIR VERSION CMDLINE
# DIR is where the kernel and initrd lie relative to the boot partition's root (bls, grub);
# the PXE scripts name them relative to the script, so one served folder (out/) is enough.
set -eu
kind=$1 dir=$2 version=$3 cmdline=$4
case $kind in
bls)
	# Boot Loader Specification type 1, read by systemd-boot from $ESP/loader/entries/.
	cat <<-E
	title      lifeboat (rescue)
	version    $version
	sort-key   lifeboat
	linux      /$dir/bzImage
	initrd     /$dir/initrd.img
	options    $cmdline
	E
	;;
grub)
	# An /etc/grub.d script in the style of 40_custom: grub-mkconfig runs it and copies what
	# follows the first two lines. The entry finds its partition by the kernel file, so it works
	# whether the files are on the ESP or on /boot.
	cat <<-E
	#!/bin/sh
	exec tail -n +3 \$0
	menuentry 'lifeboat (rescue)' --id lifeboat {
	    search --no-floppy --file --set=root /$dir/bzImage
	    linux /$dir/bzImage $cmdline
	    initrd /$dir/initrd.img
	}
	E
	;;
ipxe)
	# Relative names resolve against the script's own URL (tftp:// or http://). initrd= on the
	# command line lets the kernel's EFI stub find the initrd when iPXE runs under UEFI.
	cat <<-E
	#!ipxe
	echo lifeboat $version: loading kernel and initrd
	kernel bzImage initrd=initrd.img $cmdline
	initrd initrd.img
	boot
	E
	;;
pxelinux)
	# pxelinux looks for pxelinux.cfg/default next to pxelinux.0; paths are relative to the
	# TFTP root. SERIAL makes pxelinux's own prompt appear on the serial port too.
	cat <<-E
	SERIAL 0 115200
	DEFAULT lifeboat
	PROMPT 0
	TIMEOUT 0
	LABEL lifeboat
	    MENU LABEL lifeboat $version (rescue)
	    KERNEL bzImage
	    INITRD initrd.img
	    APPEND $cmdline
	E
	;;
*)
	echo "mkbootentries: unknown kind $kind" >&2; exit 1 ;;
esac
