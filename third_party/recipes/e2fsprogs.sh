# Recipe for the static e2fsprogs tools of the repair toolbox (sourced by tools/thirdparty.sh in
# the unpacked source): e2fsck, tune2fs, dumpe2fs, debugfs, resize2fs, and e2fsprogs' own fsck
# wrapper (busybox has none here), which runs fsck.TYPE from PATH for `fsck -t TYPE`.
pkg=e2fsprogs
build() {
	# The bundled libuuid and libblkid, so that nothing of the host is looked for.
	run ./configure CC=musl-gcc CFLAGS="$cflags" LDFLAGS=-static --host=x86_64-linux-musl \
		--prefix=/ --disable-nls --disable-shared --disable-elf-shlibs --disable-uuidd \
		--disable-fuse2fs --disable-e2initrd-helper --disable-tdb --disable-bmap-stats \
		--disable-debugfs-readline --enable-fsck --enable-libuuid --enable-libblkid \
		--without-libarchive --without-pthread
	run make -j"$jobs" libs
	run make -j"$jobs" -C e2fsck e2fsck
	run make -j"$jobs" -C misc tune2fs dumpe2fs fsck
	run make -j"$jobs" -C debugfs debugfs
	run make -j"$jobs" -C resize resize2fs
	mkdir -p "$dest/sbin"
	for t in e2fsck/e2fsck misc/tune2fs misc/dumpe2fs misc/fsck debugfs/debugfs resize/resize2fs; do
		cp "$t" "$dest/sbin/"
		strip "$dest/sbin/${t##*/}"
	done
}
