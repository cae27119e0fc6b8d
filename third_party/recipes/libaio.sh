# Recipe for libaio, a static library only: lvm2 2.03 does its metadata I/O through it (sourced
# by tools/thirdparty.sh in the unpacked source). Installs lib/libaio.a and include/libaio.h.
pkg=libaio
build() {
	# Its Makefile builds without libc (-nostdlib: raw syscalls), so musl is only the compiler.
	run make -C src CC=musl-gcc ENABLE_SHARED=0 libaio.a \
		CFLAGS="$cflags -fPIC -nostdlib -nostartfiles -Wall -I. -fomit-frame-pointer"
	mkdir -p "$dest/lib" "$dest/include"
	cp src/libaio.a "$dest/lib/"
	cp src/libaio.h "$dest/include/"
}
