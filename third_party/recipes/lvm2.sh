# Recipe for static lvm and dmsetup (sourced by tools/thirdparty.sh in the unpacked source):
# LVM volume groups are activated during the scan (discover/assemble.c) with the image's
# /etc/lvm/lvm.conf (initramfs/lvm.conf). No udev synchronisation, no systemd, no daemons
# (lvmetad, lvmpolld, lvmlockd, dmeventd), no thin/cache/vdo/writecache/integrity targets (their
# userspace checkers are not in the image). lvm2 2.03 needs libaio: built first, its own part.
pkg=lvm2
extra_inputs="$top/third_party/recipes/libaio.sh"
build() {
	local aio
	aio=$("$top/tools/thirdparty.sh" libaio "$cache")
	# musl: stdin/stdout/stderr are not assignable (freopen does the same job), and mallinfo()
	# does not exist (the glibc-only pre-reservation of memory for suspended devices is left out).
	sed -i -E 's/\((std(in|out|err)) = fopen\(_PATH_DEVNULL, ("[rw]")\)\)/freopen(_PATH_DEVNULL, \3, \1)/' \
		tools/lvmcmdline.c
	sed -i '/^static void _allocate_memory(void)$/,/^#ifndef VALGRIND_POOL$/ s/^#ifndef VALGRIND_POOL$/#if !defined(VALGRIND_POOL) \&\& defined(__GLIBC__)/' \
		lib/mm/memlock.c
	grep -q 'freopen(_PATH_DEVNULL, "r", stdin)' tools/lvmcmdline.c && grep -q '__GLIBC__' lib/mm/memlock.c ||
		{ echo "thirdparty: lvm2: a musl fix no longer applies" >&2; exit 1; }
	# pkg-config looks only into an empty folder: no host library (udev, blkid, selinux,
	# systemd) can be found and linked.
	mkdir -p "$work/no-pkgconfig"
	# The kernel headers go into CC itself: libdm's symbol list is made with $(CC) -E without CFLAGS.
	run env PKG_CONFIG_LIBDIR="$work/no-pkgconfig" PKG_CONFIG_PATH= \
		./configure CC="musl-gcc -isystem $kh" CFLAGS="$cflags" CPPFLAGS="-I$aio/include" \
		LDFLAGS="-static -L$aio/lib" --host=x86_64-linux-musl --prefix=/ --enable-static_link \
		--disable-readline --disable-udev_sync --disable-udev_rules --disable-systemd-journal \
		--disable-app-machineid --disable-selinux --disable-blkid_wiping --disable-nls \
		--disable-dmeventd --disable-lvmpolld --disable-use-lvmpolld --disable-use-lvmlockd \
		--disable-notify-dbus --disable-fsadm --disable-lvmimportvdo --disable-blkdeactivate \
		--disable-cmdlib --with-thin=none --with-cache=none --with-vdo=none \
		--with-writecache=none --with-integrity=none --with-confdir=/etc \
		--with-default-system-dir=/etc/lvm --with-default-run-dir=/run/lvm \
		--with-default-locking-dir=/run/lock/lvm --with-default-pid-dir=/run
	local cc="musl-gcc -isystem $kh"
	# Only the static targets: the default one builds libdevmapper.so, whose symbol-version
	# check fails under musl and which nothing here needs.
	run make -C libdm CC="$cc" ioctl/libdevmapper.a
	run make -C libdm/dm-tools CC="$cc" dmsetup.static
	run make -j"$jobs" CC="$cc" device_mapper/libdevice-mapper.a base/libbase.a
	run make -C libdaemon/client CC="$cc"
	run make -C lib CC="$cc"
	run make -C tools CC="$cc" lvm.static
	mkdir -p "$dest/sbin"
	cp tools/lvm.static "$dest/sbin/lvm"
	cp libdm/dm-tools/dmsetup.static "$dest/sbin/dmsetup"
	strip "$dest/sbin/lvm" "$dest/sbin/dmsetup"
	cp "$aio/SOURCE" "$dest/libaio.SOURCE"
	# libdevmapper for cryptsetup (third_party/recipes/cryptsetup.sh), the same library dmsetup has.
	mkdir -p "$dest/lib" "$dest/include"
	cp libdm/ioctl/libdevmapper.a "$dest/lib/"
	cp libdm/libdevmapper.h "$dest/include/"
}
