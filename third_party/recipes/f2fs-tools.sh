# Recipe for static f2fs-tools (sourced by tools/thirdparty.sh in the unpacked source): fsck.f2fs
# (-f --dry-run is lifeboat check's f2fs checker) and dump.f2fs (inspection at the rescue shell:
# one binary, which acts by its name, so dump.f2fs is a link to it in the image). Only libf2fs
# and fsck/ are built: never mkfs.f2fs, f2fs_io or sg_write_buffer.
# fsck.f2fs links no libuuid or libblkid (only mkfs.f2fs calls them), nor lzo/lz4 (sload's
# compression) or selinux: configure is told they are absent, so nothing is taken from the host.
pkg=f2fs-tools
build() {
	# Debian's source is upstream's git snapshot: no configure, and Debian's rules run
	# dh_autoreconf. Do the same, with the host's autotools (the output depends only on them).
	# GIT_DIR points nowhere so configure.ac's `git log` date cannot come from a repository
	# around the work folder; the date is then the VERSION file's (the release's).
	run env GIT_DIR=/nonexistent autoreconf -fi
	# fsck.f2fs asks "Do you want to restore lost files into ./lost_found/? [Y/N]" on stdin
	# whenever it finds unreachable inodes, even with --dry-run, and kills itself (ASSERT, exit
	# 255) when stdin gives no answer, which is what a check run by lifeboat has (/dev/null).
	# A dry run must not write lost files anywhere: with --dry-run the question is not asked
	# and the check goes on to its verdict (exit 1, errors found).
	sed -i 's/if (nr_unref_nid && !c.ro) {/if (nr_unref_nid \&\& !c.ro \&\& !c.dry_run) {/' fsck/fsck.c
	grep -q 'if (nr_unref_nid && !c.ro && !c.dry_run) {' fsck/fsck.c ||
		{ echo "f2fs-tools: the lost_found question's patch no longer applies (fsck/fsck.c)" >&2; exit 1; }
	run ./configure CC=musl-gcc CFLAGS="$cflags" --host=x86_64-linux-musl --prefix=/ \
		--disable-shared --enable-static --without-selinux --without-blkid \
		ac_cv_lib_blkid_blkid_probe_all=no ac_cv_lib_uuid_uuid_clear=no \
		ac_cv_lib_lzo2_main=no ac_cv_lib_lz4_main=no ac_cv_lib_selinux_getcon=no \
		ac_cv_header_uuid_uuid_h=no ac_cv_header_blkid_blkid_h=no \
		ac_cv_header_selinux_selinux_h=no ac_cv_header_sparse_sparse_h=no
	run make -C lib -j"$jobs" libf2fs.la
	# LDFLAGS reaches libtool's link line: -all-static links the tool static.
	run make -C fsck -j"$jobs" fsck.f2fs LDFLAGS=-all-static
	mkdir -p "$dest/sbin"
	cp fsck/fsck.f2fs "$dest/sbin/fsck.f2fs"
	strip "$dest/sbin/fsck.f2fs"
}
