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
mv "$out.tmp" "$out"
