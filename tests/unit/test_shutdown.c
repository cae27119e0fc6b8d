/* Which mounts the shutdown path unmounts, from real mountinfo lines. */
#include <stdlib.h>

#include "init/shutdown.h"
#include "tests/unit/check.h"

int main(void)
{
	char text[] =
		"1 1 0:2 / / rw - rootfs rootfs rw\n"
		"20 1 0:20 / /proc rw,nosuid - proc proc rw\n"
		"21 1 0:21 / /sys rw - sysfs sysfs rw\n"
		"22 1 0:5 / /dev rw - devtmpfs devtmpfs rw\n"
		"23 22 0:22 / /dev/pts rw - devpts devpts rw\n"
		"26 1 0:25 / /run rw - tmpfs tmpfs rw\n"
		"30 1 254:0 / /mnt/my\\040disk rw,relatime shared:1 master:2 - ext4 /dev/vda rw\n"
		"31 30 0:20 / /mnt/my\\040disk/proc rw - proc proc rw\n"
		"32 1 0:40 /@home /mnt/home rw - btrfs /dev/sdb2 rw\n"
		"33 26 259:1 / /run/usb rw - vfat /dev/nvme0n1p1 rw\n"
		"34 1 0:45 / /mnt/tmp rw - tmpfs tmpfs rw\n"
		"35 1 0:46 / /mnt/odd - rw - tmpfs none rw\n"
		"bad line\n";
	struct mnt *m;
	int n = mountinfo_parse(text, &m);
	CHECK_INT(n, 12);
	struct { const char *target; int block, own; } want[] = {
		{"/", 0, 1}, {"/proc", 0, 1}, {"/sys", 0, 1}, {"/dev", 0, 1}, {"/dev/pts", 0, 1},
		{"/run", 0, 1}, {"/mnt/my disk", 1, 0}, {"/mnt/my disk/proc", 0, 0}, {"/mnt/home", 1, 0},
		{"/run/usb", 1, 0}, {"/mnt/tmp", 0, 0}, {"/mnt/odd", 0, 0},
	};
	for (int i = 0; i < n && i < 12; i++) {
		CHECK_STR(m[i].target, want[i].target);
		CHECK_INT(m[i].block, want[i].block);
		CHECK_INT(m[i].own, want[i].own);
		free(m[i].target);
	}
	free(m);
	return check_done("test_shutdown");
}
