# Recipe for zlib, a static library only, for btrfs-progs (sourced by tools/thirdparty.sh in the
# unpacked source). Installs lib/libz.a and include/{zlib,zconf}.h.
pkg=zlib
build() {
	run env CC=musl-gcc CFLAGS="$cflags" ./configure --static --prefix=/
	run make -j"$jobs" libz.a
	mkdir -p "$dest/lib" "$dest/include"
	cp libz.a "$dest/lib/"
	cp zlib.h zconf.h "$dest/include/"
}
