/* The names a system's own boot gives its LUKS mappings (docs/unlock.md, "Names"), learned from
 * its initrds: NixOS keeps the list of encrypted devices nowhere else. Scripted stage-1 opens
 * them with `cryptsetup luksOpen DEVICE NAME` lines in its `init` script; systemd stage-1 has
 * them in `/etc/crypttab`. Copies of the initrds sit on the ESP (systemd-boot's entries) and
 * in GRUB's kernels/ folder, readable while the root is still locked.
 *
 * An initrd is hostile data from a disk: it is decompressed by the image's tools (zstd,
 * busybox gunzip/unxz) and unpacked by busybox cpio in a child with a deadline, the bytes
 * unpacked capped, only `init` and `etc/crypttab` extracted, into a small private tmpfs that
 * cpio sees as its whole root. */
#ifndef LB_CRYPTNAMES_H
#define LB_CRYPTNAMES_H

#include <stddef.h>
#include <stdio.h>

#include "discover/blockdev.h"

#define CRYPTNAME_MAX 120 /* longer names are refused (dm allows 127) */

struct cryptname {
	char ref[256];               /* the device as the initrd names it: UUID=..., /dev/disk/by-uuid/... */
	char name[CRYPTNAME_MAX + 1];
	const char *how;             /* "init" or "crypttab" */
};

/* A mapping name lifeboat will use: 1 to CRYPTNAME_MAX bytes of letters, digits and - _ . + :
 * (no '/', nothing a shell or dm would mind, not "." or ".."). */
int cryptname_valid(const char *name);

/* The (device, name) pairs of a crypttab (name device [keyfile [options]]; comments and lines
 * whose name is not valid are skipped) and of a scripted stage-1 init (`cryptsetup luksOpen DEV
 * NAME ...` or `cryptsetup open ... DEV NAME`; references to shell variables skipped). Pairs
 * already in out[0..n) are not added twice. Return the new count (at most max). */
int cryptnames_parse_crypttab(const char *text, struct cryptname *out, int n, int max);
int cryptnames_parse_init(const char *text, struct cryptname *out, int n, int max);

/* Which compressed or cpio segments an initrd's first bytes (buf, len of them) show: offsets
 * into offs (at most max), each with its format (0 cpio, 'z' zstd, 'g' gzip, 'x' xz). A file
 * that starts with a cpio archive (early microcode) is followed by the compressed main one:
 * every later compression signature is a candidate, tried in order. Returns the count. */
int cryptnames_segments(const unsigned char *buf, size_t len, long long *offs, char *fmts, int max);

/* Test seam: the tools used (defaults /sbin/zstd and /bin/busybox). */
void cryptnames_tools(const char *zstd, const char *busybox);

/* In a child already in a private mount namespace: read the initrd open on fd (from names it
 * in the records), write `cryptref ref= name= how= from=` records, or a `cryptnote from= msg=`
 * when it cannot be read. Bounded by budget_ms. Returns the pairs found, or -errno. */
int cryptnames_from_initrd(FILE *out, int fd, const char *from, int budget_ms);

/* What the scan learned for one LUKS device: the name to open it as and where it came from;
 * note says when initrds disagreed. */
struct cryptchoice {
	char name[CRYPTNAME_MAX + 1];
	char from[200];
	char note[300];
};

struct cryptnames {
	int n;
	struct {
		char uuid[64];
		char name[CRYPTNAME_MAX + 1];
		char from[200];
	} *e;
	char *problems; /* problem records, written after the device records */
	int n_problems;
};

/* Read the initrds of every boot filesystem of t (vfat: systemd-boot entries, GRUB's kernels/)
 * in children, each with timeout_ms, and keep the pairs whose device is a LUKS device of t. */
void cryptnames_learn(struct cryptnames *cn, const struct devtab *t, int timeout_ms);
/* Add one pair seen in a report (ref resolved against t); 1 when it named a LUKS device. */
int cryptnames_add(struct cryptnames *cn, const struct devtab *t, const char *ref, const char *name,
		   const char *from);
/* The name for the LUKS device with this UUID (1), or 0 when no initrd named it. Several
 * names: the one most initrds give, ties to the first seen (devices in order, newest entries
 * first); ch->note says so. */
int cryptnames_choose(const struct cryptnames *cn, const char *uuid, struct cryptchoice *ch);
void cryptnames_free(struct cryptnames *cn);

#endif
