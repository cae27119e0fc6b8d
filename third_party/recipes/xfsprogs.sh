# Recipe for static xfsprogs (sourced by tools/thirdparty.sh in the unpacked source): xfs_repair
# (-n is lifeboat check's xfs checker), xfs_db (inspection at the rescue shell) and Debian's
# fsck.xfs script. Only the libraries those two tools link and their own folders are built:
# never mkfs, scrub, io or the rest. Libraries: liburcu, libuuid and libblkid, parts of their own.
pkg=xfsprogs
extra_inputs="$top/third_party/recipes/liburcu.sh $top/third_party/recipes/libuuid.sh $top/third_party/recipes/blkid.sh"
build() {
	local urcu uuid bl inc lib
	urcu=$("$top/tools/thirdparty.sh" liburcu "$cache")
	uuid=$("$top/tools/thirdparty.sh" libuuid "$cache")
	bl=$("$top/tools/thirdparty.sh" blkid "$cache")
	inc="-I$urcu/include -I$uuid/include -I$bl/include"
	lib="-L$urcu/lib -L$uuid/lib -L$bl/lib"
	# configure insists on libinih, which only mkfs.xfs uses (its config files), and whose Debian
	# source the mirror does not serve (404). Its two checks are answered yes; the library check
	# also puts -linih into LIBS for every later link test, so an empty libinih.a lets those
	# tests link (no inih code: xfsprogs' Makefiles never use LIBS, and mkfs is not built).
	mkdir -p "$work/noinih"
	ar rc "$work/noinih/libinih.a"
	# DEBUG/OPTIMIZER are what Debian's rules set for its udeb (no assertions, -Os).
	run env DEBUG=-DNDEBUG OPTIMIZER=-Os ./configure CC=musl-gcc CFLAGS="$cflags $inc" CPPFLAGS="$inc" \
		LDFLAGS="$lib -L$work/noinih" ac_cv_header_ini_h=yes ac_cv_lib_inih_ini_parse=yes \
		--host=x86_64-linux-musl --prefix=/ --disable-shared --enable-gettext=no \
		--enable-editline=no --enable-blkid=yes --enable-lto=no --enable-scrub=no \
		--enable-libicu=no
	run make headers
	# LLDFLAGS is the tools' own link flags: libtool links them static with -all-static.
	run make -j"$jobs" libfrog libxfs libxlog libxcmd repair db LLDFLAGS=-all-static
	mkdir -p "$dest/sbin"
	cp repair/xfs_repair db/xfs_db "$dest/sbin/"
	strip "$dest/sbin/xfs_repair" "$dest/sbin/xfs_db"
	# Debian's fsck.xfs: says to use xfs_repair, or runs it when fsck -f asks at boot.
	install -m 0755 fsck/xfs_fsck.sh "$dest/sbin/fsck.xfs"
	cp "$urcu/SOURCE" "$dest/liburcu.SOURCE"
	cp "$uuid/SOURCE" "$dest/libuuid.SOURCE"
}
