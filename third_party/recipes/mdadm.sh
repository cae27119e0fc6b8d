# Recipe for a static mdadm (sourced by tools/thirdparty.sh in the unpacked source): assembles
# md arrays read-only during the scan (discover/assemble.c). No libudev: lifeboat has no udev.
pkg=mdadm
build() {
	# COROSYNC and DLM are decided by looking at the host's /usr/include: say "none" here, so
	# that no host header can reach a musl build. CWFLAGS: its own list has -Werror-like
	# fortify flags meant for glibc.
	run make -j"$jobs" CC=musl-gcc CXFLAGS="$cflags -DNO_LIBUDEV" CWFLAGS=-Wall \
		COROSYNC=-DNO_COROSYNC DLM=-DNO_DLM mdadm.static
	mkdir -p "$dest/sbin"
	cp mdadm.static "$dest/sbin/mdadm"
	strip "$dest/sbin/mdadm"
}
