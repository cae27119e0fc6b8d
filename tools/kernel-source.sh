#!/bin/bash
# Build lifeboat's own kernel from Debian's linux-source package and the fragments in
# kernel-config/: everything built in, no modules.
#   tools/kernel-source.sh CACHE DEST [FRAGMENT_DIR]
# FRAGMENT_DIR (default kernel-config) holds the *.config fragments laid over tinyconfig;
# kernel-config/demo is the demo installer's kernel.
# Writes DEST/bzImage, DEST/version, DEST/SOURCE, DEST/config and an empty DEST/modules/lib/modules.
# The built kernel is cached in CACHE/kernel-source/<hash>/, the hash taken over the source
# package version, the base config and every fragment, so a second build is a copy.
set -eu
cache=$1 dest=$2 fragdir=${3:-kernel-config}
. "$(dirname "$0")/cache-lock.sh"
frags=$(ls "$PWD/$fragdir"/*.config | sort)
base=tinyconfig
log() { echo "kernel-source: $*" >&2; }

pkg=linux-source-6.1
ver=$(apt-cache show --no-all-versions "$pkg" | awk '/^Version:/{print $2; exit}')
[ -n "$ver" ] || { log "apt knows no $pkg (run make deps)"; exit 1; }
root=$cache/kernel-source
src=$root/src-$ver
key=$({ echo "$pkg $ver $base"; for f in $frags; do echo "== ${f##*/}"; cat "$f"; done; } |
	sha256sum | cut -c1-16)
built=$root/built-$key

if [ ! -e "$src/.done" ]; then
	log "fetching $pkg $ver"
	rm -rf "$src" && mkdir -p "$src/deb"
	(cd "$src/deb" && apt-get download "$pkg=$ver" >/dev/null 2>&1) ||
		(cd "$src/deb" && apt-get download "$pkg=$ver")
	dpkg-deb --fsys-tarfile "$src"/deb/*.deb | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
		tar -xJ -C "$src"
	mv "$src"/linux-source-* "$src/tree"
	# The unpacked tree is what later builds use; the 140 MB package is not needed again.
	rm -rf "$src/deb"
	touch "$src/.done"
fi

if [ ! -e "$built/.done" ]; then
	obj=$root/obj-$key
	rm -rf "$obj" && mkdir -p "$obj"
	k() { make -C "$src/tree" O="$obj" ARCH=x86_64 "$@"; }
	k -s $base >/dev/null
	# merge_config.sh -m merges the fragments over the base without resolving; olddefconfig
	# then resolves dependencies, and the check below tells whether each wish survived.
	(cd "$obj" && "$src/tree/scripts/kconfig/merge_config.sh" -m -O "$obj" .config $frags >/dev/null)
	k -s olddefconfig
	missing=0
	while read -r line; do
		case $line in
		CONFIG_*=*) want=$line; sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}; want= ;;
		*) continue ;;
		esac
		got=$(grep -E "^$sym=" "$obj/.config" || true)
		if [ -n "$want" ] && [ "$got" != "$want" ]; then
			log "fragment wants $want, config has ${got:-nothing}"; missing=1
		elif [ -z "$want" ] && [ -n "$got" ]; then
			log "fragment wants $sym off, config has $got"; missing=1
		fi
	done < <(cat $frags)
	[ "$missing" = 0 ] || { log "fragment symbols missing from the resolved config (see above)"; exit 1; }
	log "building $pkg $ver ($key) with $(nproc) jobs"
	start=$(date +%s)
	k -s -j"$(nproc)" KBUILD_BUILD_TIMESTAMP="@${SOURCE_DATE_EPOCH:-0}" \
		KBUILD_BUILD_USER=lifeboat KBUILD_BUILD_HOST=lifeboat bzImage
	secs=$(( $(date +%s) - start ))
	log "built in ${secs}s"
	rm -rf "$built.tmp" && mkdir -p "$built.tmp"
	cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$built.tmp/"
	k -s kernelrelease > "$built.tmp/release"
	echo "$secs" > "$built.tmp/build-seconds"
	rm -rf "$built" && mv "$built.tmp" "$built" && touch "$built/.done"
	rm -rf "$obj"
fi

rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/modules/lib/modules"
cp "$built/bzImage" "$dest.tmp/bzImage"
cp "$built/.config" "$dest.tmp/config"
cp "$built/release" "$dest.tmp/version"
echo "kernel $pkg $ver config:$key sha256:$(sha256sum "$built/bzImage" | cut -d' ' -f1)" > "$dest.tmp/SOURCE"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
