# Recipe for static btrfs-progs (sourced by tools/thirdparty.sh in the unpacked source): `btrfs`
# (check --readonly for lifeboat check, rescue, restore, device scan, filesystem show ...) and
# btrfstune (a new fsid for a cloned disk), as its busybox-style btrfs.box: one binary that acts
# by the name it is called by, so the library is in the image once, not twice (the image links
# btrfstune to it). The libraries it needs are parts of their own (zlib,
# zstd, lzo) or built here (libuuid, from the util-linux source blkid is built from), all
# static; pkg-config sees only .pc files written here for them, never the host's.
pkg=btrfs-progs
extra_inputs="$top/third_party/recipes/zlib.sh $top/third_party/recipes/zstd.sh $top/third_party/recipes/lzo.sh $top/third_party/recipes/blkid.sh"
build() {
	local z zs lzo bl ul pc="$work/pkgconfig" libs="$work/libs"
	z=$("$top/tools/thirdparty.sh" zlib "$cache")
	zs=$("$top/tools/thirdparty.sh" zstd "$cache")
	lzo=$("$top/tools/thirdparty.sh" lzo "$cache")
	bl=$("$top/tools/thirdparty.sh" blkid "$cache")
	ul=$("$top/tools/fetch-source.sh" util-linux "$cache")
	# libuuid, static, from the same util-linux source as libblkid.
	mkdir -p "$work/ul" "$libs/lib" "$libs/include/uuid"
	cp -a "$ul/tree/." "$work/ul/"
	(cd "$work/ul" && find . -exec touch -h -d @0 {} + &&
	 run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-all-programs --enable-libuuid --disable-shared --enable-static \
		--disable-nls --disable-asciidoc --disable-bash-completion --without-udev \
		--without-systemd --without-python --without-readline --without-ncurses \
		--without-ncursesw --without-tinfo --without-selinux --without-audit &&
	 run make -j"$jobs" libuuid.la &&
	 cp .libs/libuuid.a "$libs/lib/" && cp libuuid/src/uuid.h "$libs/include/uuid/")
	mkdir -p "$pc"
	pcfile() { # NAME PREFIX LIBS
		printf 'Name: %s\nDescription: static %s for btrfs-progs\nVersion: 99\nLibs: -L%s/lib %s\nCflags: -I%s/include\n' \
			"$1" "$1" "$2" "$3" "$2" > "$pc/$1.pc"
	}
	pcfile blkid "$bl" -lblkid
	pcfile uuid "$libs" -luuid
	pcfile zlib "$z" -lz
	pcfile libzstd "$zs" -lzstd
	# Its Makefile adds no pkg-config Cflags: the headers' folders go into CFLAGS.
	# Debian's tarball carries the header template at the top, where configure no longer looks.
	[ -e include/config.h.in ] || cp config.h.in include/config.h.in
	run env PKG_CONFIG_LIBDIR="$pc" PKG_CONFIG_PATH= \
		./configure CC=musl-gcc LDFLAGS="-L$lzo/lib" \
		CFLAGS="$cflags -I$libs/include -I$bl/include -I$z/include -I$zs/include -I$lzo/include" \
		--host=x86_64-linux-musl --prefix=/ --disable-documentation --disable-shared \
		--disable-convert --disable-zoned --disable-libudev --disable-python \
		--disable-backtrace --with-crypto=builtin
	# The box carries btrfs-convert's front end too; with convert disabled its sources need the
	# two switches set to 0, not empty.
	run make -j"$jobs" btrfs.box.static \
		btrfs_convert_cflags="-DBTRFSCONVERT_EXT2=0 -DBTRFSCONVERT_REISERFS=0"
	mkdir -p "$dest/sbin"
	cp btrfs.box.static "$dest/sbin/btrfs"
	strip "$dest/sbin/btrfs"
	cp fsck.btrfs "$dest/sbin/fsck.btrfs"
	for l in zlib:"$z" libzstd:"$zs" lzo2:"$lzo"; do cp "${l#*:}/SOURCE" "$dest/${l%%:*}.SOURCE"; done
	cp "$ul/SOURCE" "$dest/libuuid.SOURCE"
}
