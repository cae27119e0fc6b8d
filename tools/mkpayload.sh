#!/bin/bash
# Make a payload initrd: tools/payload-init as /init and NAME in /payload-name.
#   tools/mkpayload.sh PAYLOAD_INIT NAME OUT.img
set -eu
init=$1 name=$2 out=$3
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$name" > "$tmp/name"
cat > "$tmp/spec" <<SPEC
dir /dev 0755
nod /dev/console 0600 c 5 1
dir /proc 0555
file /init 0755 $init
file /payload-name 0644 $tmp/name
SPEC
python3 "$top/tools/mkinitramfs.py" "$tmp/spec" -o "$tmp/cpio"
gzip -n -9 -c "$tmp/cpio" > "$out"
