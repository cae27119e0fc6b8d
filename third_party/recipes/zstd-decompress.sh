# Recipe for a small static zstd program that only decompresses (Debian's libzstd source, the
# one zstd.sh builds the library from): NixOS compresses its initrds with zstd by default, and
# the scan reads the names of LUKS mappings out of them (discover/cryptnames.c). busybox has
# gunzip and unxz for the other two formats. A recipe of its own rather than a second target
# of zstd.sh: btrfs-progs' hash covers zstd.sh, and its build would be redone for nothing.
pkg=libzstd
build() {
	# The CLI's decompress-only target: no compressor, no dictionary builder, no benchmark,
	# no legacy formats, no threads, no zlib/lzma/lz4 (busybox reads those).
	run make -j"$jobs" -C programs CC=musl-gcc CFLAGS="$cflags" LDFLAGS=-static \
		HAVE_ZLIB=0 HAVE_LZMA=0 HAVE_LZ4=0 HAVE_PTHREAD=0 HAVE_THREAD=0 zstd-decompress
	mkdir -p "$dest/sbin"
	cp programs/zstd-decompress "$dest/sbin/zstd"
	strip "$dest/sbin/zstd"
}
