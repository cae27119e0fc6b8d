# Recipe for json-c, a static library only: cryptsetup reads LUKS2 metadata with it (sourced by
# tools/thirdparty.sh in the unpacked source). Installs lib/libjson-c.a and include/json-c/.
pkg=json-c
build() {
	# DISABLE_EXTRA_LIBS: never libbsd from the host (json-c would look for arc4random there).
	run cmake -S . -B build -G "Unix Makefiles" -DCMAKE_C_COMPILER=musl-gcc \
		-DCMAKE_C_FLAGS="$cflags" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
		-DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
		-DBUILD_TESTING=OFF -DBUILD_APPS=OFF -DDISABLE_WERROR=ON -DDISABLE_EXTRA_LIBS=ON -DENABLE_THREADING=OFF \
		-DCMAKE_FIND_ROOT_PATH="$work/no-host" -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
		-DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY
	run make -C build -j"$jobs"
	run make -C build install DESTDIR="$dest"
	mv "$dest/usr/lib" "$dest/usr/include" "$dest/"
	rm -rf "$dest/usr" "$dest/lib/cmake" "$dest/lib/pkgconfig"
}
