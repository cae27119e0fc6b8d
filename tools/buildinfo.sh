#!/bin/bash
# Print BUILDINFO: every input of the image with its version and checksum, and what each
# component weighs in the image (unpacked bytes).
set -eu
build=$1 out=$2 version=$3
echo "lifeboat $version"
echo "built-from-commit $(git rev-parse HEAD 2>/dev/null || echo unknown)"
echo "source-date-epoch ${SOURCE_DATE_EPOCH:-0}"
echo
echo "# inputs"
# The image's parts, and the repair toolbox's (mk/repair.mk) when built.
for n in busybox blkid liblzma kexec e2fsprogs dosfstools btrfs-progs xfsprogs f2fs-tools dropbear sftp-server lvm2 mdadm cryptsetup zstd-decompress; do
	[ -f "$build/tp/$n.dir" ] || continue
	d=$(cat "$build/tp/$n.dir")
	echo "$n: $(cat "$d/SOURCE")"
	# A library built inside another part's recipe (libaio in lvm2) names its source there.
	for l in "$d"/*.SOURCE; do if [ -f "$l" ]; then echo "$(basename "$l" .SOURCE): $(cat "$l") (in $n)"; fi; done
done
cat "$build/kernel/SOURCE"
echo "kernel-release $(cat "$build/kernel/version")"
echo "musl $(dpkg-query -W -f '${Version}' musl-dev 2>/dev/null || echo unknown)"
echo "gcc $(gcc -dumpfullversion)"
echo "zstd $(zstd -V | head -n1)"
echo "xz $(xz -V | head -n1) (the modules: xz -9e, 1 MiB dictionary, CRC32)"
echo
echo "# outputs (sha256)"
for f in bzImage initrd.img; do
	echo "$f $(sha256sum "$out/$f" | cut -d' ' -f1) $(stat -c %s "$out/$f") bytes"
done
echo
echo "# image components (unpacked bytes)"
sizes=$build/initrd.sizes
awk -F'\t' '
	$2 ~ /^\/lib\/modules/ { mods += $1; next }
	{ printf "%-10s %s\n", $1, $2 }
	END { printf "%-10s %s\n", mods, "/lib/modules (" 0 ")" }' "$sizes" |
	sed "s|(0)|($(find "$build/kernel/modules" -name '*.ko*' | wc -l) modules, $(find "$build/kernel/modules" -name '*.ko' | wc -l) of them plain, the rest xz)|"
echo "$(stat -c %s "$build/initrd.cpio") total unpacked, $(stat -c %s "$out/initrd.img") compressed (zstd -19, 1 MiB window)"

# What each part of the repair toolbox (mk/repair.mk) adds to the image.
first=1
for n in e2fsprogs dosfstools btrfs-progs xfsprogs f2fs-tools; do
	[ -f "$build/tp/$n.dir" ] || continue
	[ -z "$first" ] || { echo; echo "# repair toolbox (image growth per part: unpacked, and alone with zstd -19)"; first=; }
	d=$(cat "$build/tp/$n.dir")
	echo "$n $(cat "$d"/sbin/* | wc -c) unpacked, $(cat "$d"/sbin/* | zstd -q -19 -T1 --zstd=wlog=20 -c | wc -c) compressed: $(ls "$d/sbin" | tr '\n' ' ')"
done

# Remote rescue (mk/remote.mk, docs/remote.md): the SSH server, and the network drivers
# (drivers/net and USB ethernet, with what they pull in from there).
if [ -f "$build/tp/dropbear.dir" ]; then
	echo
	echo "# remote rescue (image growth: unpacked, and alone with zstd -19)"
	d=$(cat "$build/tp/dropbear.dir")
	echo "dropbear $(wc -c < "$d/sbin/dropbearmulti") unpacked, $(zstd -q -19 -T1 --zstd=wlog=20 -c "$d/sbin/dropbearmulti" | wc -c) compressed: dropbearmulti (dropbear dropbearkey dropbearconvert scp)"
	if [ -f "$build/tp/sftp-server.dir" ]; then
		d=$(cat "$build/tp/sftp-server.dir")
		echo "sftp-server $(wc -c < "$d/libexec/sftp-server") unpacked, $(zstd -q -19 -T1 --zstd=wlog=20 -c "$d/libexec/sftp-server" | wc -c) compressed: OpenSSH's, for the sftp subsystem"
	fi
	nics=$(find "$build/kernel/modules" -path '*/kernel/drivers/net/*' -name '*.ko*' | LC_ALL=C sort)
	if [ -n "$nics" ]; then
		# shellcheck disable=SC2086 # one path a word
		# The modules are xz files already (tools/kernel.sh): their size is their growth.
		echo "network drivers $(cat $nics | wc -c) in the image (xz): $(echo "$nics" | wc -l) modules ($(echo "$nics" | sed 's|.*/||; s|\.ko.*||' | tr '\n' ' '))"
	fi
fi

# What each assembly tool (mk/assemble.mk) adds to the image.
first=1
for n in lvm2 mdadm cryptsetup zstd-decompress; do
	[ -f "$build/tp/$n.dir" ] || continue
	[ -z "$first" ] || { echo; echo "# assembly and unlock tools (image growth per part: unpacked, and alone with zstd -19)"; first=; }
	d=$(cat "$build/tp/$n.dir")
	echo "$n $(cat "$d"/sbin/* | wc -c) unpacked, $(cat "$d"/sbin/* | zstd -q -19 -T1 --zstd=wlog=20 -c | wc -c) compressed: $(ls "$d/sbin" | tr '\n' ' ')"
done

if [ -f "$build/installer/INFO" ]; then
	echo
	echo "# installer (its own cpio segment after the main archive of initrd.img)"
	cat "$build/installer/INFO"
	seg=$(stat -c %s "$build/installer.cpio.zst")
	echo "segment $seg bytes (zstd -3); initrd.img without it: $(( $(stat -c %s "$out/initrd.img") - seg )) bytes"
fi
