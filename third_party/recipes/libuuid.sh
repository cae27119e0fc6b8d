# Recipe for libuuid from util-linux (the source blkid is built from), a static library only:
# cryptsetup needs it (sourced by tools/thirdparty.sh in the unpacked source).
pkg=util-linux
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-all-programs --enable-libuuid --disable-shared --enable-static \
		--disable-nls --disable-asciidoc --disable-bash-completion --without-udev \
		--without-systemd --without-python --without-readline --without-ncurses \
		--without-ncursesw --without-tinfo --without-selinux --without-audit \
		--without-cryptsetup --without-btrfs --without-libz --without-libmagic
	run make -j"$jobs" libuuid.la
	mkdir -p "$dest/lib" "$dest/include/uuid"
	cp .libs/libuuid.a "$dest/lib/"
	cp libuuid/src/uuid.h "$dest/include/uuid/"
}
