# Recipe for the static cryptsetup (sourced by tools/thirdparty.sh in the unpacked source): LUKS
# devices are inspected and unlocked with it (discover/luks.c, act/unlock.c). The kernel's crypto
# API through AF_ALG is the crypto backend (no OpenSSL/gcrypt in the image), argon2 is the bundled
# copy, no udev, no keyring-less fallbacks, no token plugins (ssh, external: no dlopen in a static
# binary), no veritysetup/integritysetup, no blkid (it is only used to warn before a format).
pkg=cryptsetup
extra_inputs="$top/third_party/recipes/json-c.sh $top/third_party/recipes/popt.sh $top/third_party/recipes/libuuid.sh $top/third_party/recipes/lvm2.sh $top/third_party/recipes/libaio.sh"
build() {
	local jc popt uuid dm
	jc=$("$top/tools/thirdparty.sh" json-c "$cache")
	popt=$("$top/tools/thirdparty.sh" popt "$cache")
	uuid=$("$top/tools/thirdparty.sh" libuuid "$cache")
	dm=$("$top/tools/thirdparty.sh" lvm2 "$cache")
	# Debian's source has no generated configure: make it with the host's autotools (make deps).
	run autoreconf -fi
	# pkg-config looks only into an empty folder (no host library can be picked up); the two
	# libraries configure asks pkg-config for are given here instead.
	mkdir -p "$work/no-pkgconfig"
	run env PKG_CONFIG_LIBDIR="$work/no-pkgconfig" PKG_CONFIG_PATH= \
		./configure CC=musl-gcc CFLAGS="$cflags" \
		CPPFLAGS="-I$jc/include -I$uuid/include -I$popt/include -I$dm/include" \
		LDFLAGS="-L$jc/lib -L$uuid/lib -L$popt/lib -L$dm/lib" \
		JSON_C_CFLAGS="-I$jc/include -I$jc/include/json-c" JSON_C_LIBS="-L$jc/lib -ljson-c" \
		DEVMAPPER_CFLAGS="-I$dm/include" DEVMAPPER_LIBS="-L$dm/lib -ldevmapper" \
		--host=x86_64-linux-musl --prefix=/ --disable-shared --enable-static \
		--enable-static-cryptsetup --disable-cryptsetup-reencrypt \
		--with-crypto_backend=kernel --enable-internal-argon2 --enable-internal-sse-argon2 \
		--disable-udev --disable-ssh-token --disable-external-tokens --disable-blkid \
		--disable-selinux --disable-pwquality --disable-passwdqc --disable-nls \
		--disable-asciidoc --disable-veritysetup --disable-integritysetup --disable-fips \
		--with-tmpfilesdir=no --with-luks2-lock-path=/run/cryptsetup
	run make -j"$jobs" cryptsetup.static
	mkdir -p "$dest/sbin"
	cp cryptsetup.static "$dest/sbin/cryptsetup"
	strip "$dest/sbin/cryptsetup"
	for p in "$jc" "$popt" "$uuid"; do cp "$p/SOURCE" "$dest/$(basename "$p" | sed 's/-[0-9].*//').SOURCE"; done
}
