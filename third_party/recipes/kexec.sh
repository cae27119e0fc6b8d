# Recipe for the static kexec (sourced by tools/thirdparty.sh in the unpacked source).
pkg=kexec-tools
# No per-function sections: kexec loads its purgatory (a relocatable object linked with -r) with
# its own ELF loader, which then no longer finds the purgatory's symbols (stack_end, the
# installer test's kexec_load fallback).
gc_sections=0
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" LDFLAGS=-static --host=x86_64-linux-musl \
		--prefix=/ --without-xen --without-lzma --without-zlib --without-booke
	run make -j"$jobs"
	mkdir -p "$dest/sbin"
	cp build/sbin/kexec "$dest/sbin/kexec"
	strip "$dest/sbin/kexec"
}
