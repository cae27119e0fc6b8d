# Recipe for popt, a static library only: cryptsetup parses its options with it (sourced by
# tools/thirdparty.sh in the unpacked source). Installs lib/libpopt.a and include/popt.h.
pkg=popt
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-shared --enable-static --disable-nls --disable-rpath
	run make -C src -j"$jobs" libpopt.la
	mkdir -p "$dest/lib" "$dest/include"
	cp src/.libs/libpopt.a "$dest/lib/"
	cp src/popt.h "$dest/include/"
}
