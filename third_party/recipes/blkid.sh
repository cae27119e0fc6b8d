# Recipe for the static blkid (sourced by tools/thirdparty.sh in the unpacked source).
pkg=util-linux
build() {
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
}
