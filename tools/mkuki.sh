#!/bin/bash
# Build a unified kernel image: systemd's EFI stub with the kernel, initrd, command line and an
# os-release appended as PE sections, one EFI program that firmware or a boot manager starts.
#   tools/mkuki.sh STUB KERNEL INITRD CMDLINE OSREL OUT
# Each section goes after the previous one, at an address aligned to 4 KiB (a multiple of the
# stub's SectionAlignment): the fixed offsets of older recipes (.osrel at 0x20000, ...) overlap
# as soon as the stub or the command line grows, and the stub finds sections by name anyway.
set -eu
stub=$1 kernel=$2 initrd=$3 cmdline=$4 osrel=$5 out=$6

align() { echo $(( ($1 + 4095) / 4096 * 4096 )); }
base=$((0x$(objdump -p "$stub" | awk '/^ImageBase/{print $2}')))
# End of the stub's image: the highest VMA + size over its sections.
end=0
while read -r size vma; do
	e=$((0x$vma + 0x$size))
	[ "$e" -gt "$end" ] && end=$e
done < <(objdump -h "$stub" | awk '$1 ~ /^[0-9]+$/ { print $3, $4 }')
args=()
at=$(align "$end")
for s in ".osrel:$osrel" ".cmdline:$cmdline" ".linux:$kernel" ".initrd:$initrd"; do
	name=${s%%:*} file=${s#*:}
	args+=(--add-section "$name=$file" --change-section-vma "$name=$(printf 0x%x $((base + at)))")
	at=$(align $((at + $(stat -c %s "$file"))))
done
objcopy "${args[@]}" "$stub" "$out.tmp"
# objcopy stamps the PE header with the current time (and a checksum over it): put the
# commit's time there instead and clear the checksum (UEFI does not check it), so the same
# inputs give the same UKI.
pe=$(od -An -tu4 -j60 -N4 "$out.tmp" | tr -d ' ')
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
le32 "${SOURCE_DATE_EPOCH:-0}" | dd of="$out.tmp" bs=1 seek=$((pe + 8)) conv=notrunc status=none
le32 0 | dd of="$out.tmp" bs=1 seek=$((pe + 24 + 64)) conv=notrunc status=none
mv "$out.tmp" "$out"
