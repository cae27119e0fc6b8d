# Recipe for liblzma (Debian's xz-utils source), a static decoder-only library for lifeboat
# itself: the image carries its kernel modules xz-compressed (a quarter of their size unpacked,
# and smaller in the image than compressing them plainly with the rest), and Debian's 6.1 kernel
# cannot decompress modules itself, so the device worker decodes each one it loads into memory
# for init_module. Sourced by tools/thirdparty.sh in the unpacked source. Installs
# lib/liblzma.a and include/lzma*.
pkg=xz-utils
build() {
	# No encoders, no threads (lifeboat is single-threaded), the small variant of the code:
	# decoding a module of a few MB is not where time goes.
	run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-shared --enable-static --disable-encoders --disable-threads --enable-small \
		--disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo --disable-lzma-links \
		--disable-scripts --disable-doc --disable-nls --disable-rpath
	run make -j"$jobs" -C src/liblzma
	mkdir -p "$dest/lib" "$dest/include"
	cp src/liblzma/.libs/liblzma.a "$dest/lib/"
	cp -r src/liblzma/api/lzma.h src/liblzma/api/lzma "$dest/include/"
}
