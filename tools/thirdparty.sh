#!/bin/bash
# Build one third-party part static against musl, cached by version and recipe.
#   tools/thirdparty.sh busybox|blkid|kexec CACHE  -> prints the install folder
# The folder is CACHE/built/<name>-<debian version>-<hash of this recipe>/ and holds SOURCE (what
# it was built from), plus bin/busybox, sbin/kexec, or lib/libblkid.a with include/blkid/blkid.h.
# Builds are made deterministic: fixed timestamps, no build paths in the binaries.
set -eu
name=$1 cache=$2
top=$(cd "$(dirname "$0")/.." && pwd)
kh=$("$top/tools/musl-kheaders.sh" "$cache")
case $name in
busybox) pkg=busybox ;;
blkid) pkg=util-linux ;;
kexec) pkg=kexec-tools ;;
*) echo "thirdparty: unknown part $name" >&2; exit 1 ;;
esac
src=$("$top/tools/fetch-source.sh" "$pkg" "$cache")
recipe=$(cat "$0" "$top/third_party/busybox.config" "$kh/SOURCE" | sha256sum | cut -c1-12)
[ "$name" = busybox ] || recipe=$(cat "$0" "$kh/SOURCE" | sha256sum | cut -c1-12)
dest="$cache/built/$name-$(basename "$src" | sed "s/^$pkg-//")-$recipe"
if [ -e "$dest/.done" ]; then echo "$dest"; exit 0; fi

work="$cache/work/$name"
rm -rf "$work" "$dest" && mkdir -p "$work"
trap 'rm -rf "$dest"' EXIT
cp -a "$src/tree/." "$work/"
cd "$work"
# Debian's patches leave autotools inputs newer than their outputs; order the timestamps so that
# make never tries to run autoreconf (which the build does not need).
find . -exec touch -h -d @0 {} +
find . -name aclocal.m4 -exec touch -d @1 {} +
find . \( -name configure -o -name config.h.in \) -exec touch -d @2 {} +
find . -name Makefile.in -exec touch -d @3 {} +
export SOURCE_DATE_EPOCH=0 KCONFIG_NOTIMESTAMP=1 LC_ALL=C TZ=UTC
jobs=$(nproc)
cflags="-Os -isystem $kh -ffile-prefix-map=$work=. -fdebug-prefix-map=$work=."
log="$work/build.log"
run() { if ! "$@" >>"$log" 2>&1; then tail -n 40 "$log" >&2; echo "thirdparty: $name failed: $*" >&2; exit 1; fi; }
echo "thirdparty: building $name from $(cat "$src/SOURCE")" >&2

case $name in
busybox)
	# busybox's kconfig ignores KCONFIG_ALLCONFIG: start from allnoconfig, put our lines in
	# place of the defaults, and let oldconfig take defaults for what they newly expose.
	run make allnoconfig
	frag="$top/third_party/busybox.config"
	syms=$(grep -oE '^CONFIG_[A-Z0-9_]+' "$frag" | sed 's/$/[= ]/' | tr '\n' '|' | sed 's/|$//')
	grep -vE "^(# )?($syms)" .config > .config.new || true
	grep -E '^CONFIG_' "$frag" >> .config.new
	mv .config.new .config
	yes "" | run make oldconfig
	# Every symbol the committed config asks for must be in the result: a misspelled or
	# unknown symbol would otherwise vanish silently.
	bad=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$top/third_party/busybox.config" | while read -r l; do
		grep -qxF "$l" .config || echo "$l"; done)
	[ -z "$bad" ] || { echo "thirdparty: busybox config lines not taken: $bad" >&2; exit 1; }
	run make -j"$jobs" CC=musl-gcc HOSTCC=gcc CONFIG_EXTRA_CFLAGS="$cflags" \
		EXTRA_CFLAGS="$cflags" SKIP_STRIP=n busybox
	mkdir -p "$dest/bin"
	cp busybox "$dest/bin/busybox"
	strip "$dest/bin/busybox"
	cp .config "$dest/config"
	;;
blkid)
	run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-all-programs --enable-libblkid --disable-shared --enable-static \
		--disable-nls --disable-asciidoc --disable-bash-completion --without-udev \
		--without-systemd --without-python --without-readline --without-ncurses \
		--without-ncursesw --without-tinfo --without-selinux --without-audit \
		--without-cryptsetup --without-btrfs --without-libz --without-libmagic
	run make -j"$jobs" libblkid.la
	mkdir -p "$dest/lib" "$dest/include/blkid"
	cp .libs/libblkid.a "$dest/lib/"
	cp libblkid/src/blkid.h "$dest/include/blkid/"
	;;
kexec)
	run ./configure CC=musl-gcc CFLAGS="$cflags" LDFLAGS=-static --host=x86_64-linux-musl \
		--prefix=/ --without-xen --without-lzma --without-zlib --without-booke
	run make -j"$jobs"
	mkdir -p "$dest/sbin"
	cp build/sbin/kexec "$dest/sbin/kexec"
	strip "$dest/sbin/kexec"
	;;
esac
cp "$src/SOURCE" "$dest/SOURCE"
rm -rf "$work"
touch "$dest/.done"
trap - EXIT
echo "$dest"
