# Recipe for libzstd, a static library only, for btrfs-progs (restore and receive of zstd
# compressed data, the compression NixOS users choose most for btrfs). Sourced by
# tools/thirdparty.sh in the unpacked source. Installs lib/libzstd.a and include/zstd*.h.
pkg=libzstd
build() {
	# The static library is single-threaded; no legacy formats: what reading btrfs extents needs.
	run make -j"$jobs" -C lib CC=musl-gcc CFLAGS="$cflags" ZSTD_LEGACY_SUPPORT=0 \
		libzstd.a
	mkdir -p "$dest/lib" "$dest/include"
	cp lib/libzstd.a "$dest/lib/"
	cp lib/zstd.h lib/zstd_errors.h lib/zdict.h "$dest/include/"
}
