# Recipe for the static dosfstools of the repair toolbox (sourced by tools/thirdparty.sh in the
# unpacked source): fsck.fat, mkfs.fat, fatlabel, for the ESP.
pkg=dosfstools
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" LDFLAGS=-static --host=x86_64-linux-musl \
		--prefix=/ --disable-dependency-tracking
	run make -j"$jobs" -C src fsck.fat mkfs.fat fatlabel
	mkdir -p "$dest/sbin"
	for t in fsck.fat mkfs.fat fatlabel; do
		cp "src/$t" "$dest/sbin/"
		strip "$dest/sbin/$t"
	done
}
