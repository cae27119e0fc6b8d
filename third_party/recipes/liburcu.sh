# Recipe for liburcu (userspace RCU), a static library only: xfsprogs takes its atomics and the
# RCU read locks of libxfs's kernel-shared code from it (sourced by tools/thirdparty.sh in the
# unpacked source). Installs lib/liburcu.a (the default flavour, -lurcu, all xfsprogs links)
# and include/.
pkg=liburcu
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-shared --enable-static
	run make -j"$jobs" -C src liburcu.la
	run make -C include install DESTDIR="$dest"
	mkdir -p "$dest/lib"
	cp src/.libs/liburcu.a "$dest/lib/"
}
