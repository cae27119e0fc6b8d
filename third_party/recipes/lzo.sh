# Recipe for liblzo2, a static library only, for btrfs-progs (restore and receive of lzo
# compressed data). Sourced by tools/thirdparty.sh in the unpacked source. Installs
# lib/liblzo2.a and include/lzo/.
pkg=lzo2
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-shared --enable-static
	run make -j"$jobs" src/liblzo2.la
	mkdir -p "$dest/lib" "$dest/include"
	cp src/.libs/liblzo2.a "$dest/lib/"
	cp -r include/lzo "$dest/include/"
}
