#!/bin/bash
# Boot the lifeboat image in QEMU with a sample NixOS disk attached, console in this terminal.
#   tools/demo.sh OUT BUILD        (make demo)
# The disk is the `split` fixture (root, /home and /nix by label, plus an ESP). QEMU keeps every
# write in a throwaway overlay (snapshot=on), so the demo never changes the fixture. Software
# emulation only: no KVM. DEMO_DISK=other.img picks another disk image.
set -eu
out=${1:-out} build=${2:-build}
disk=${DEMO_DISK:-$build/fixtures/split.img}
for f in "$out/bzImage" "$out/initrd.img" "$disk"; do
	[ -e "$f" ] || { echo "demo: $f is missing (run: make demo)" >&2; exit 1; }
done
cat <<MSG
lifeboat demo: booting $out/bzImage + $out/initrd.img with $disk attached (writes discarded).
  To quit QEMU: press Ctrl-a, then x.
  Software emulation: the first screen takes about 10 seconds.
MSG
sleep 2
exec qemu-system-x86_64 -machine pc -accel tcg -m 1024 -smp 1 \
	-nographic -serial mon:stdio -no-reboot \
	-kernel "$out/bzImage" -initrd "$out/initrd.img" \
	-append "console=ttyS0,115200 panic=10" \
	-drive "file=$disk,format=raw,if=none,id=d0,snapshot=on" -device virtio-blk-pci,drive=d0
