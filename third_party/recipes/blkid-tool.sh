# Recipe for util-linux's own blkid program, static (sourced by tools/thirdparty.sh in the
# unpacked source). Not in the image: `make bench` appends it to the initrd of the 64-partition
# scan runs, as the baseline issue 17 names ("util-linux's blkid alone"), the same libblkid
# lifeboat's scan uses. Installs bin/blkid.
pkg=util-linux
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-all-programs --enable-libblkid --enable-blkid --disable-shared --enable-static \
		--enable-static-programs=blkid \
		--disable-nls --disable-asciidoc --disable-bash-completion --without-udev \
		--without-systemd --without-python --without-readline --without-ncurses \
		--without-ncursesw --without-tinfo --without-selinux --without-audit \
		--without-cryptsetup --without-btrfs --without-libz --without-libmagic
	run make -j"$jobs" blkid.static
	mkdir -p "$dest/bin"
	cp blkid.static "$dest/bin/blkid"
	strip "$dest/bin/blkid"
}
