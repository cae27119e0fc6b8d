/* discover/cryptnames.c's pure parts: the pairs of a NixOS scripted stage-1 init (its luksOpen
 * lines, piped and with options) and of a systemd stage-1 crypttab, names refused, where an
 * initrd's segments start (microcode cpio + zstd, a signature inside the microcode), and the
 * name chosen for a LUKS device when initrds agree, disagree or name other devices. */
#include <stdlib.h>

#include "check.h"
#include "discover/cryptnames.h"

#define U1 "1feb0a70-0000-4000-8000-000000000001"
#define U2 "1feb0a70-0000-4000-8000-000000000002"

/* Shaped like NixOS's stage-1: a wait, a piped open with --key-file=-, an open with a key file
 * taking its value as the next word, a variable that cannot be resolved, a comment. */
static const char INIT[] =
	"#! /nix/store/aaaa-extra-utils/bin/ash\n"
	"wait_target \"device\" /dev/disk/by-uuid/" U1 " || die \"unavailable\"\n"
	"    echo -n \"$passphrase\" | cryptsetup luksOpen /dev/disk/by-uuid/" U1 " cryptroot --allow-discards --key-file=-\n"
	"    echo -n \"$passphrase\" | cryptsetup luksOpen /dev/disk/by-uuid/" U1 " cryptroot --allow-discards --key-file=-\n"
	"  /nix/store/bbbb-cryptsetup/bin/cryptsetup open --type luks --key-file /crypt.key 'PARTUUID=77-01' crypthome; echo done\n"
	"  cryptsetup luksOpen $dev $name\n"
	"  # cryptsetup luksOpen /dev/sda9 commented\n"
	"  cryptsetup luksDump /dev/sda3\n"
	"  cryptsetup luksOpen /dev/sdb1 ../evil\n";

static const char CRYPTTAB[] =
	"# written by NixOS\n"
	"cryptroot UUID=" U2 " - luks,discard\n"
	"\tcryptswap   /dev/disk/by-partlabel/swap  /etc/keys/swap.key\n"
	"noname\n"
	"bad/name UUID=" U1 " -\n";

static void test_parse(void)
{
	struct cryptname p[8];
	int n = cryptnames_parse_init(INIT, p, 0, 8);
	CHECK_INT(n, 2);
	CHECK_STR(p[0].ref, "/dev/disk/by-uuid/" U1);
	CHECK_STR(p[0].name, "cryptroot");
	CHECK_STR(p[0].how, "init");
	CHECK_STR(p[1].ref, "PARTUUID=77-01");
	CHECK_STR(p[1].name, "crypthome");
	n = cryptnames_parse_crypttab(CRYPTTAB, p, n, 8);
	CHECK_INT(n, 4);
	CHECK_STR(p[2].ref, "UUID=" U2);
	CHECK_STR(p[2].name, "cryptroot");
	CHECK_STR(p[2].how, "crypttab");
	CHECK_STR(p[3].ref, "/dev/disk/by-partlabel/swap");
	CHECK_STR(p[3].name, "cryptswap");
	/* Bounded by max. */
	CHECK_INT(cryptnames_parse_crypttab(CRYPTTAB, p, 0, 1), 1);
	CHECK_INT(cryptnames_parse_init("", p, 0, 8), 0);
	CHECK_INT(cryptnames_parse_init("cryptsetup", p, 0, 8), 0);
	CHECK_INT(cryptnames_parse_init("cryptsetup luksOpen /dev/x", p, 0, 8), 0);
}

static void test_valid(void)
{
	CHECK(cryptname_valid("cryptroot"));
	CHECK(cryptname_valid("luks-" U1));
	CHECK(cryptname_valid("a.b_c+d:e"));
	CHECK(!cryptname_valid(""));
	CHECK(!cryptname_valid("."));
	CHECK(!cryptname_valid(".."));
	CHECK(!cryptname_valid("a/b"));
	CHECK(!cryptname_valid("a b"));
	CHECK(!cryptname_valid("x\033[2J"));
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK(!cryptname_valid(longname));
	longname[CRYPTNAME_MAX] = 0;
	CHECK(cryptname_valid(longname));
}

static void test_segments(void)
{
	unsigned char buf[4096] = {0};
	long long offs[8];
	char fmts[8];
	memcpy(buf, "070701", 6);
	/* A zstd signature inside the microcode (tried first, fails), the real one later. */
	memcpy(buf + 200, "\x28\xb5\x2f\xfd", 4);
	memcpy(buf + 301, "\x28\xb5\x2f\xfd", 4); /* unaligned: not a segment start */
	memcpy(buf + 1024, "\x28\xb5\x2f\xfd", 4);
	memcpy(buf + 2048, "\x1f\x8b\x08", 3);
	memcpy(buf + 3000, "\xfd" "7zXZ\0", 6);
	int n = cryptnames_segments(buf, sizeof(buf), offs, fmts, 8);
	CHECK_INT(n, 5);
	CHECK_INT(offs[0], 0);
	CHECK_INT(fmts[0], 0);
	CHECK_INT(offs[1], 200);
	CHECK_INT(fmts[1], 'z');
	CHECK_INT(offs[2], 1024);
	CHECK_INT(offs[3], 2048);
	CHECK_INT(fmts[3], 'g');
	CHECK_INT(offs[4], 3000);
	CHECK_INT(fmts[4], 'x');
	CHECK_INT(cryptnames_segments(buf, sizeof(buf), offs, fmts, 2), 2);
	/* Compressed from the start: one segment. */
	CHECK_INT(cryptnames_segments((const unsigned char *)"\x28\xb5\x2f\xfd\x00", 5, offs, fmts, 8), 1);
	CHECK_INT(fmts[0], 'z');
	/* Garbage: none. */
	CHECK_INT(cryptnames_segments((const unsigned char *)"garbage garbage", 15, offs, fmts, 8), 0);
	CHECK_INT(cryptnames_segments(buf, 0, offs, fmts, 8), 0);
}

static void test_choose(void)
{
	struct blockdev d[3];
	memset(d, 0, sizeof(d));
	snprintf(d[0].path, sizeof(d[0].path), "/dev/vda2");
	snprintf(d[0].type, sizeof(d[0].type), "crypto_LUKS");
	snprintf(d[0].uuid, sizeof(d[0].uuid), U1);
	snprintf(d[0].partuuid, sizeof(d[0].partuuid), "77-01");
	snprintf(d[1].path, sizeof(d[1].path), "/dev/vdb1");
	snprintf(d[1].type, sizeof(d[1].type), "crypto_LUKS");
	snprintf(d[1].uuid, sizeof(d[1].uuid), U2);
	snprintf(d[2].path, sizeof(d[2].path), "/dev/vdc1");
	snprintf(d[2].type, sizeof(d[2].type), "ext4");
	snprintf(d[2].uuid, sizeof(d[2].uuid), "1feb0a70-0000-4000-8000-0000000000ee");
	struct devtab t = {d, 3};
	struct cryptnames cn = {0};
	/* Refs to a filesystem that is no LUKS, to nothing, or with a bad name: not kept. */
	CHECK_INT(cryptnames_add(&cn, &t, "UUID=1feb0a70-0000-4000-8000-0000000000ee", "x", "a"), 0);
	CHECK_INT(cryptnames_add(&cn, &t, "/dev/disk/by-uuid/00000000-0000", "x", "a"), 0);
	CHECK_INT(cryptnames_add(&cn, &t, "UUID=" U1, "a/b", "a"), 0);
	CHECK_INT(cn.n, 0);
	struct cryptchoice ch;
	CHECK_INT(cryptnames_choose(&cn, U1, &ch), 0);
	/* vda2: two initrds agree on one name, a third disagrees: the majority wins, said. */
	CHECK_INT(cryptnames_add(&cn, &t, "/dev/disk/by-uuid/" U1, "cryptroot", "/dev/vdd:/EFI/nixos/a.efi"), 1);
	CHECK_INT(cryptnames_add(&cn, &t, "PARTUUID=77-01", "root", "/dev/vde:/EFI/nixos/b.efi"), 1);
	CHECK_INT(cryptnames_add(&cn, &t, "UUID=" U1, "cryptroot", "/dev/vde:/EFI/nixos/c.efi"), 1);
	/* vdb1: a tie: the first seen wins. */
	CHECK_INT(cryptnames_add(&cn, &t, "/dev/vdb1", "crypthome", "/dev/vdd:/EFI/nixos/a.efi"), 1);
	CHECK_INT(cryptnames_add(&cn, &t, "UUID=" U2, "home", "/dev/vde:/EFI/nixos/b.efi"), 1);
	CHECK_INT(cryptnames_choose(&cn, U1, &ch), 1);
	CHECK_STR(ch.name, "cryptroot");
	CHECK_STR(ch.from, "/dev/vdd:/EFI/nixos/a.efi");
	CHECK(strstr(ch.note, "disagree") && strstr(ch.note, "root in /dev/vde:/EFI/nixos/b.efi"));
	CHECK_INT(cryptnames_choose(&cn, U2, &ch), 1);
	CHECK_STR(ch.name, "crypthome");
	CHECK(strstr(ch.note, "home in /dev/vde"));
	/* Upper-case UUIDs in a report still match. */
	CHECK_INT(cryptnames_choose(&cn, "1FEB0A70-0000-4000-8000-000000000002", &ch), 1);
	/* Agreement: no note. */
	struct cryptnames one = {0};
	cryptnames_add(&one, &t, "UUID=" U2, "crypthome", "x");
	cryptnames_add(&one, &t, "/dev/disk/by-uuid/" U2, "crypthome", "y");
	CHECK_INT(cryptnames_choose(&one, U2, &ch), 1);
	CHECK_STR(ch.note, "");
	cryptnames_free(&one);
	cryptnames_free(&cn);
}

int main(void)
{
	test_parse();
	test_valid();
	test_segments();
	test_choose();
	return check_done("test_cryptnames");
}
