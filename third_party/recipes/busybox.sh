# Recipe for the static busybox (sourced by tools/thirdparty.sh in the unpacked source).
pkg=busybox
extra_inputs="$top/third_party/busybox.config"
build() {
	# busybox's kconfig ignores KCONFIG_ALLCONFIG: start from allnoconfig, put our lines in
	# place of the defaults, and let oldconfig take defaults for what they newly expose.
	run make allnoconfig
	frag="$top/third_party/busybox.config"
	syms=$(grep -oE '^CONFIG_[A-Z0-9_]+' "$frag" | sed 's/$/[= ]/' | tr '\n' '|' | sed 's/|$//')
	grep -vE "^(# )?($syms)" .config > .config.new || true
	grep -E '^CONFIG_' "$frag" >> .config.new
	mv .config.new .config
	yes "" | run make oldconfig
	# Every symbol the committed config asks for must be in the result: a misspelled or
	# unknown symbol would otherwise vanish silently.
	bad=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$top/third_party/busybox.config" | while read -r l; do
		grep -qxF "$l" .config || echo "$l"; done)
	[ -z "$bad" ] || { echo "thirdparty: busybox config lines not taken: $bad" >&2; exit 1; }
	run make -j"$jobs" CC=musl-gcc HOSTCC=gcc CONFIG_EXTRA_CFLAGS="$cflags" \
		EXTRA_CFLAGS="$cflags" SKIP_STRIP=n busybox
	mkdir -p "$dest/bin"
	cp busybox "$dest/bin/busybox"
	strip "$dest/bin/busybox"
	cp .config "$dest/config"
}
