#include <stdlib.h>

#include "discover/blockdev.h"
#include "discover/fstab.h"
#include "discover/plan.h"
#include "report/record.h"
#include "tests/unit/check.h"

static const char *text =
	"# /etc/fstab: static file system information.\n"
	"\n"
	"   # indented comment\n"
	"/dev/disk/by-label/nixos / ext4 defaults 0 1\n"
	"LABEL=nix\t/nix\text4\tdefaults,noatime,x-systemd.device-timeout=5s 0 2\n"
	"UUID=ABCD-1234 /boot vfat umask=0077,x-gvfs-show\n"
	"/dev/disk/by-label/data\\040disk /mnt/data\\040disk ext4 nofail,x-systemd.automount 0 2\n"
	"/home/shared /srv/shared none bind\n"
	"none / tmpfs defaults,size=2G,mode=755 0 0\n"
	"UUID=b91a /home btrfs subvol=/@home,compress=zstd 0 0\n"
	"/dev/mapper/cryptroot /crypt ext4 defaults\n"
	"/swapfile none swap\n"
	"PARTLABEL=x-only /only x-systemd.foo\n"
	"broken-line-with-two fields\n"
	"/dev/vdz9 /gone ext4\n"
	"proc /proc proc defaults\n"
	"/dev/disk/by-partuuid/AAAA-01 /efi vfat defaults\n";

static void test_parse(void)
{
	struct fstab t;
	CHECK_INT(fstab_parse(&t, text), 13);
	CHECK_INT(t.skipped, 1);
	CHECK_STR(t.e[0].spec, "/dev/disk/by-label/nixos");
	CHECK_STR(t.e[1].options, "defaults,noatime");
	CHECK_STR(t.e[2].options, "umask=0077");
	CHECK_STR(t.e[3].spec, "/dev/disk/by-label/data disk");
	CHECK_STR(t.e[3].target, "/mnt/data disk");
	CHECK_STR(t.e[3].options, "nofail");
	CHECK(t.e[3].nofail && !t.e[0].nofail);
	CHECK(t.e[4].bind);
	CHECK_STR(t.e[5].type, "tmpfs");
	CHECK_STR(t.e[6].subvol, "@home");
	CHECK(t.e[8].swap);
	CHECK_STR(t.e[9].options, "defaults");
	/* The later / (tmpfs) wins, as with mount -a. */
	CHECK_STR(fstab_find(&t, "/")->type, "tmpfs");
	CHECK_STR(fstab_find(&t, "/nix/")->spec, "LABEL=nix");
	CHECK(fstab_find(&t, "none") == NULL);
	fstab_free(&t);
	char esc[] = "a\\134b\\011c\\000d\\9";
	CHECK_STR(fstab_unescape(esc), "a\\b\tc\\000d\\9");
}

static struct blockdev dev(const char *name, const char *disk, const char *type, const char *uuid,
			   const char *label, const char *partuuid)
{
	struct blockdev b = {0};
	snprintf(b.name, sizeof(b.name), "%s", name);
	snprintf(b.path, sizeof(b.path), "/dev/%s", name);
	snprintf(b.disk, sizeof(b.disk), "/dev/%s", disk);
	snprintf(b.type, sizeof(b.type), "%s", type);
	snprintf(b.uuid, sizeof(b.uuid), "%s", uuid);
	snprintf(b.label, sizeof(b.label), "%s", label);
	snprintf(b.partuuid, sizeof(b.partuuid), "%s", partuuid);
	return b;
}

static void test_plan(void)
{
	struct blockdev d[] = {
		dev("vda1", "vda", "vfat", "ABCD-1234", "BOOT", "aaaa-01"),
		dev("vda2", "vda", "ext4", "1111", "nixos", ""),
		dev("vda3", "vda", "ext4", "2222", "nix", ""),
		dev("vda4", "vda", "ext4", "3333", "data disk", ""),
		dev("vdb1", "vdb", "btrfs", "B91A", "nixos", ""),
	};
	struct devtab t = {d, 5};
	int locked, amb;
	CHECK(devtab_resolve(&t, "UUID=abcd-1234", NULL, &locked, &amb) == &d[0]);
	CHECK(devtab_resolve(&t, "/dev/disk/by-partuuid/AAAA-01", NULL, &locked, &amb) == &d[0]);
	CHECK(devtab_resolve(&t, "/dev/disk/by-label/data\\x20disk", NULL, &locked, &amb) == &d[3]);
	CHECK(devtab_resolve(&t, "LABEL=\"data disk\"", NULL, &locked, &amb) == &d[3]);
	CHECK(devtab_resolve(&t, "/dev/vda3", NULL, &locked, &amb) == &d[2]);
	/* Two disks call their root "nixos": the system's own disk decides, or nobody. */
	CHECK(devtab_resolve(&t, "LABEL=nixos", NULL, &locked, &amb) == NULL && amb);
	CHECK(devtab_resolve(&t, "LABEL=nixos", "/dev/vdb", &locked, &amb) == &d[4] && !amb);
	CHECK(devtab_resolve(&t, "/dev/mapper/crypt", NULL, &locked, &amb) == NULL && locked);
	/* LVM's names without udev: /dev/mapper/VG-LV and /dev/VG/LV ('-' doubled in the first). */
	struct blockdev lv[] = {dev("dm-0", "dm-0", "ext4", "4444", "", ""),
				dev("dm-1", "dm-1", "swap", "5555", "", "")};
	snprintf(lv[0].dmname, sizeof(lv[0].dmname), "nix--vg-root");
	snprintf(lv[1].dmname, sizeof(lv[1].dmname), "vg0-swap");
	struct devtab lt = {lv, 2};
	CHECK(devtab_resolve(&lt, "/dev/mapper/nix--vg-root", NULL, &locked, &amb) == &lv[0] && !locked);
	CHECK(devtab_resolve(&lt, "/dev/nix-vg/root", NULL, &locked, &amb) == &lv[0]);
	CHECK(devtab_resolve(&lt, "/dev/vg0/swap", NULL, &locked, &amb) == &lv[1]);
	CHECK(devtab_resolve(&lt, "/dev/dm-1", NULL, &locked, &amb) == &lv[1]);
	CHECK(devtab_resolve(&lt, "/dev/vg0/root", NULL, &locked, &amb) == NULL && !locked);
	CHECK(devtab_resolve(&lt, "/dev/mapper/vg0-root", NULL, &locked, &amb) == NULL && locked);
	CHECK(devtab_resolve(&lt, "/dev/vg0/swap/x", NULL, &locked, &amb) == NULL);
	/* A node elsewhere in /dev by its number (/dev/null is 1:3 everywhere); 0:0 never matches. */
	lv[1].major = 1, lv[1].minor = 3;
	CHECK(devtab_resolve(&lt, "/dev/null", NULL, &locked, &amb) == NULL); /* a char device */
	/* The two members of a btrfs raid1 are one filesystem: its first member, never ambiguous. */
	struct blockdev bt[] = {dev("vdd", "vdd", "btrfs", "B7", "nixos", ""),
				dev("vde", "vde", "btrfs", "B7", "nixos", "")};
	struct devtab btt = {bt, 2};
	CHECK(devtab_resolve(&btt, "UUID=b7", "/dev/vde", &locked, &amb) == &bt[0] && !amb);

	struct fstab f;
	fstab_parse(&f, text);
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	struct plan_summary s;
	plan_emit(m, "1", 7, &f, &t, "/dev/vda", &s);
	fclose(m);
	struct report rep;
	CHECK_INT(report_parse(&rep, out), 13);
	const char *want[][3] = {
		{"/", "ok", "/dev/vda2"}, {"/nix", "ok", "/dev/vda3"}, {"/boot", "ok", "/dev/vda1"},
		{"/mnt/data disk", "ok", "/dev/vda4"}, {"/srv/shared", "bind", ""}, {"/", "tmpfs", ""},
		{"/home", "ok", "/dev/vdb1"}, {"/crypt", "locked", ""}, {"none", "swap-ignored", ""},
		{"/only", "missing", ""}, {"/gone", "missing", ""}, {"/proc", "virtual", ""},
		{"/efi", "ok", "/dev/vda1"},
	};
	for (int i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++) {
		CHECK_STR(record_get(&rep.r[i], "target"), want[i][0]);
		CHECK_STR(record_get(&rep.r[i], "status"), want[i][1]);
		CHECK_STR(record_get(&rep.r[i], "source"), want[i][2]);
		CHECK_STR(record_get(&rep.r[i], "number"), "7");
	}
	CHECK(s.root_tmpfs && s.root == NULL && s.nix == &d[2] && s.boot == &d[0]);
	report_free(&rep);
	free(out);
	fstab_free(&f);
}

/* A subvol= holding '"' (an LSM's option parser quotes with it) is not planned; '@home' is. */
static void test_plan_bad_subvol(void)
{
	struct fstab f;
	fstab_parse(&f, "UUID=b91a / btrfs subvol=a\"b,compress=zstd 0 0\n"
			"UUID=b91a /home btrfs subvol=@home 0 0\n");
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	struct plan_summary s;
	plan_emit(m, "1", 1, &f, NULL, NULL, &s);
	fclose(m);
	struct report rep;
	CHECK_INT(report_parse(&rep, out), 3);
	int p = report_next(&rep, "problem", -1), m0 = report_next(&rep, "mount", -1);
	CHECK(p >= 0 && m0 >= 0);
	if (p >= 0 && m0 >= 0) {
		CHECK_STR(record_get(&rep.r[p], "what"), "fstab");
		CHECK_STR(record_get(&rep.r[p], "system"), "1");
		CHECK_STR(record_get(&rep.r[m0], "status"), "bad-subvol");
		CHECK_STR(record_get(&rep.r[report_next(&rep, "mount", m0)], "status"), "missing");
	}
	CHECK(s.root_listed && s.root == NULL && s.rootsubvol == NULL);
	report_free(&rep);
	free(out);
	fstab_free(&f);
}

static void test_udev(void)
{
	char buf[128];
	udev_encode("my disk/x\\y", buf, sizeof(buf));
	CHECK_STR(buf, "my\\x20disk\\x2fx\\x5cy");
	udev_encode("caf\xc3\xa9\x1b[", buf, sizeof(buf));
	CHECK_STR(buf, "caf\xc3\xa9\\x1b\\x5b");
	udev_encode("bad\xff", buf, sizeof(buf));
	CHECK_STR(buf, "bad\\xff");
	char in[] = "my\\x20disk\\x00";
	CHECK_STR(udev_decode(in), "my disk\\x00");
}

int main(void)
{
	test_parse();
	test_plan();
	test_plan_bad_subvol();
	test_udev();
	return check_done("test_fstab");
}
