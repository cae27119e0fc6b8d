# Recipe for the static kexec (sourced by tools/thirdparty.sh in the unpacked source).
pkg=kexec-tools
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" LDFLAGS=-static --host=x86_64-linux-musl \
		--prefix=/ --without-xen --without-lzma --without-zlib --without-booke
	run make -j"$jobs"
	mkdir -p "$dest/sbin"
	cp build/sbin/kexec "$dest/sbin/kexec"
	strip "$dest/sbin/kexec"
}
