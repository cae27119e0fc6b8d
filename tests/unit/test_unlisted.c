/* report/unlisted.c: which of the kernel's block devices a scan report has not listed, the
 * menu's reason to scan again on its own (a LUN scan still adding disks after the devices
 * settled, a disk plugged in at the menu). A fake sysfs tree, as in test_devices.c. */
#include <errno.h>

#include "check.h"
#include "tree.h"
#include "report/found.h"
#include "report/unlisted.h"
#include "lib/sysblock.h"

/* dir is where the device lives under devices/ ("pci/sda", "virtual/block/dm-0"). */
static void dev(const char *dir, const char *name, int partition)
{
	char p[300], target[300], link[300];
	snprintf(p, sizeof(p), "devices/%s/size", dir);
	tree_file(p, "2048\n");
	if (partition) {
		snprintf(p, sizeof(p), "devices/%s/partition", dir);
		tree_file(p, "1\n");
	}
	snprintf(target, sizeof(target), "../../devices/%s", dir);
	snprintf(link, sizeof(link), "class/block/%s", name);
	tree_link(target, link);
}

static void test_unlisted(void)
{
	tree_new();
	dev("pci/sda", "sda", 0);
	dev("pci/sda/sda1", "sda1", 1);
	dev("virtual/block/dm-0", "dm-0", 0);
	dev("virtual/block/md127", "md127", 0);
	struct found f;
	CHECK_INT(found_load(&f, "device path=/dev/sda type=- uuid=- label=- partuuid=- partlabel=- size=1\n"
				 "device path=/dev/sda1 type=ext4 uuid=u label=- partuuid=- partlabel=- size=1\n"
				 "done devices=2 systems=0 problems=0\n"),
		  0);
	struct behind b;
	/* Everything real is listed; the mappings an unlock or an assembly made are not counted. */
	CHECK_INT(found_behind(&f, tree_root, &b), 0);
	CHECK_INT(b.unlisted, 0);
	CHECK_STR(b.unlisted_names, "");
	CHECK_INT(sysblock_virtual(tree_root, "dm-0"), 1);
	CHECK_INT(sysblock_virtual(tree_root, "sda1"), 0);
	CHECK_INT(sysblock_virtual(tree_root, "nosuch"), 0);

	/* Two LUNs added after the scan began (one with a partition): named, in the scan's order;
	 * nothing the list shows is gone. */
	dev("pci/host0/sdb", "sdb", 0);
	dev("pci/host0/sdb/sdb1", "sdb1", 1);
	dev("pci/host0/sdc", "sdc", 0);
	CHECK_INT(found_behind(&f, tree_root, &b), 0);
	CHECK_INT(b.unlisted, 3);
	CHECK_STR(b.unlisted_names, "sdb sdb1 sdc");
	CHECK_INT(b.gone, 0);
	CHECK_STR(b.gone_names, "");
	/* No report (the scan failed): every real device is unlisted, none gone. */
	CHECK_INT(found_behind(NULL, tree_root, &b), 0);
	CHECK_INT(b.unlisted, 5);
	CHECK_INT(b.gone, 0);
	/* Names that do not fit are counted, never cut in half, and marked as left out. */
	char dir[64], name[32];
	for (int i = 0; i < 30; i++) {
		snprintf(dir, sizeof(dir), "pci/host1/nvme%dn1", i);
		snprintf(name, sizeof(name), "nvme%dn1", i);
		dev(dir, name, 0);
	}
	CHECK_INT(found_behind(&f, tree_root, &b), 0);
	CHECK_INT(b.unlisted, 33);
	size_t l = strlen(b.unlisted_names);
	CHECK(l < sizeof(b.unlisted_names) && l > 4 && !strcmp(b.unlisted_names + l - 4, " ..."));
	CHECK(b.unlisted_names[l - 5] == '1'); /* a whole name before the mark */
	found_free(&f);

	/* A disk unplugged at the menu: its records (the disk and its partition) are gone, and so is
	 * a mapping that went with it; what is still there is not named. */
	CHECK_INT(found_load(&f, "device path=/dev/sda type=- uuid=- label=- partuuid=- partlabel=- size=1\n"
				 "device path=/dev/sdd type=- uuid=- label=- partuuid=- partlabel=- size=1\n"
				 "device path=/dev/sdd1 type=ext4 uuid=v label=- partuuid=- partlabel=- size=1\n"
				 "device path=/dev/dm-1 type=ext4 uuid=w label=- partuuid=- partlabel=- size=1\n"
				 "done devices=4 systems=0 problems=0\n"),
		  0);
	CHECK_INT(found_behind(&f, tree_root, &b), 0);
	CHECK_INT(b.gone, 3);
	CHECK_STR(b.gone_names, "sdd sdd1 dm-1");
	found_free(&f);
	/* The gone list is cut as the unlisted one is: every one counted, whole names, marked. */
	char rep[4096];
	size_t rl = 0;
	for (int i = 0; i < 30; i++)
		rl += (size_t)snprintf(rep + rl, sizeof(rep) - rl,
				       "device path=/dev/sdz%d type=- uuid=- label=- partuuid=- partlabel=- size=1\n", i);
	snprintf(rep + rl, sizeof(rep) - rl, "done devices=30 systems=0 problems=0\n");
	CHECK_INT(found_load(&f, rep), 0);
	CHECK_INT(found_behind(&f, tree_root, &b), 0);
	CHECK_INT(b.gone, 30);
	l = strlen(b.gone_names);
	CHECK(l < sizeof(b.gone_names) && l > 4 && !strcmp(b.gone_names + l - 4, " ..."));
	CHECK(!strncmp(b.gone_names, "sdz0 sdz1 ", 10));
	CHECK(b.gone_names[l - 5] >= '0' && b.gone_names[l - 5] <= '9'); /* a whole name before it */
	found_free(&f);
	/* The rule for a removed device, which has no sysfs link left: its uevent's DEVPATH. */
	CHECK_INT(sysblock_path_virtual("/devices/virtual/block/dm-0"), 1);
	CHECK_INT(sysblock_path_virtual("../../devices/virtual/block/loop0"), 1);
	CHECK_INT(sysblock_path_virtual("/devices/pci0000:00/0000:00:04.0/virtio1/block/vda"), 0);
	/* No sysfs to list: an error, never "nothing new" or "nothing gone". */
	b.unlisted = 7;
	CHECK_INT(found_behind(NULL, "/nonexistent", &b), -ENOENT);
	CHECK_INT(b.unlisted + b.gone, 0);
	tree_free();
}

int main(void)
{
	test_unlisted();
	return check_done("test_unlisted");
}
