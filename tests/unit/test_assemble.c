/* discover/assemble.c: an md array's state from a fake sysfs (healthy, degraded with the missing
 * slot named, inactive) and the records of `lvm vgs` output (complete, partial, junk lines). */
#include <stdlib.h>

#include "check.h"
#include "tree.h"
#include "discover/assemble.h"
#include "lib/job.h"
#include "present/menu.h"
#include "report/found.h"

static char *records(int (*fn)(FILE *, void *), void *arg, int *problems)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	*problems = fn(f, arg);
	fclose(f);
	return buf;
}

static const char *md_name;
static int md_put(FILE *f, void *arg)
{
	return md_array_put(f, tree_path("sys"), tree_path("dev/md"), md_name);
}
static int vgs_put(FILE *f, void *arg) { return lvm_vgs_put(f, arg, NULL, NULL); }
static const char *lvs_text, *pvs_text;
static int vgs_lvs_put(FILE *f, void *arg) { return lvm_vgs_put(f, arg, lvs_text, pvs_text); }

static void md_array(const char *name, const char *state, const char *degraded, int with_rd1)
{
	char p[128];
	snprintf(p, sizeof(p), "sys/class/block/%s/md/level", name);
	tree_file(p, "raid1\n");
	snprintf(p, sizeof(p), "sys/class/block/%s/md/raid_disks", name);
	tree_file(p, "2\n");
	snprintf(p, sizeof(p), "sys/class/block/%s/md/degraded", name);
	tree_file(p, degraded);
	snprintf(p, sizeof(p), "sys/class/block/%s/md/array_state", name);
	tree_file(p, state);
	snprintf(p, sizeof(p), "sys/class/block/%s/md/rd0", name);
	tree_link("dev-vda", p);
	if (with_rd1) {
		snprintf(p, sizeof(p), "sys/class/block/%s/md/rd1", name);
		tree_link("dev-vdb", p);
	}
}

int main(void)
{
	tree_new();
	md_array("md127", "readonly\n", "0\n", 1);
	md_array("md126", "readonly\n", "1\n", 0);
	md_array("md125", "inactive\n", "0\n", 0);
	tree_link("../md127", "dev/md/root");
	tree_link("../md126", "dev/md/data");
	int np;

	md_name = "md127";
	char *r = records(md_put, NULL, &np);
	CHECK_INT(np, 0);
	CHECK(strstr(r, "array path=/dev/md127 name=root link=") != NULL);
	CHECK(strstr(r, "state=clean members=/dev/vda,/dev/vdb missing=-") != NULL);
	CHECK(strstr(r, "level=raid1 disks=2") != NULL);
	CHECK(!strstr(r, "problem"));
	free(r);

	md_name = "md126";
	r = records(md_put, NULL, &np);
	CHECK_INT(np, 1);
	CHECK(strstr(r, "state=degraded members=/dev/vda missing=2") != NULL);
	CHECK(strstr(r, "problem path=/dev/md126 what=degraded") != NULL);
	/* The message names the array by its /dev/md link and the missing slot. */
	CHECK(strstr(r, "md%20array%20") && strstr(r, "/dev/md/data%20%28raid1%29%20runs%20degraded"));
	CHECK(strstr(r, "member%202%20of%202%20missing%3B%20present:%20/dev/vda") != NULL);
	free(r);

	md_name = "md125";
	r = records(md_put, NULL, &np);
	CHECK_INT(np, 1);
	CHECK(strstr(r, "name=- link=-") != NULL);
	CHECK(strstr(r, "state=inactive") != NULL);
	CHECK(strstr(r, "could%20not%20be%20started") != NULL);
	free(r);

	r = records(vgs_put, "  vg0|wz--n-|2|1|0\n  vg1|wz-pn-|1|2|1\nnot a vgs line\n\n", &np);
	CHECK_INT(np, 1);
	CHECK(strstr(r, "vg name=vg0 state=complete lvs=2 pvs=1 missingpvs=0\n") != NULL);
	CHECK(strstr(r, "vg name=vg1 state=partial lvs=1 pvs=2 missingpvs=1\n") != NULL);
	CHECK(strstr(r, "problem path=- what=degraded msg=LVM%20volume%20group%20vg1%20has%201%20of%202") != NULL);
	CHECK(!strstr(r, "vgs%20line") && !strstr(r, "vgs line"));
	free(r);
	/* A VG over two PVs, the second missing: root is whole, home (on it) and data (half on it,
	 * two segments) are not; the missing PV named by its UUID. */
	lvs_text = "  duo|root|-wi-a-----|/dev/vda1(0)\n  duo|home|-wi-----p-|[unknown](0)\n"
		   "  duo|da-ta|-wi-----p-|/dev/vda1(31)\n  duo|da-ta|-wi-----p-|[unknown](8)\n"
		   "  WARNING: Couldn't find device with uuid abc.\n  other|x|-wi-a-----|/dev/vdc(0)\n";
	pvs_text = "  /dev/vda1|AAAA-1|duo|a--\n  [unknown]|BBBB-2|duo|a-m\n  /dev/vdc|CCCC-3|other|a--\n";
	r = records(vgs_lvs_put, "  duo|wz-pn-|3|2|1\n", &np);
	CHECK_INT(np, 1);
	CHECK(strstr(r, "lv path=/dev/mapper/duo-root link=/dev/duo/root vg=duo name=root state=complete active=1 devices=/dev/vda1\n") != NULL);
	CHECK(strstr(r, "lv path=/dev/mapper/duo-home link=/dev/duo/home vg=duo name=home state=missing active=0 devices=-\n") != NULL);
	CHECK(strstr(r, "lv path=/dev/mapper/duo-da--ta link=/dev/duo/da-ta vg=duo name=da-ta state=partial active=0 devices=/dev/vda1\n") != NULL);
	CHECK(!strstr(r, "name=x"));
	CHECK(strstr(r, "%28PV%20UUID%20BBBB-2%29") != NULL && !strstr(r, "AAAA") && !strstr(r, "CCCC"));
	CHECK(strstr(r, "on%20it:%20home,%20da-ta%3B%20activated:%20root") != NULL);
	free(r);
	r = records(vgs_put, NULL, &np);
	CHECK_INT(np, 0);
	CHECK_STR(r, "");
	free(r);

	/* What "degraded" means for menu and enter (report/found.c): a btrfs member, an array, an
	 * LV followed to its PV on a degraded array, a LUKS mapping to what it is on. */
	struct found f;
	CHECK_INT(found_load(&f,
		"system id=1 host=b layout=btrfs root=/dev/vdc nix=/dev/vdc current=2\n"
		"system id=2 host=m layout=inroot root=/dev/mapper/vg-root nix=/dev/mapper/vg-root current=1\n"
		"system id=3 host=ok layout=inroot root=/dev/vde nix=/dev/vde current=1\n"
		"system id=4 host=c layout=inroot root=/dev/mapper/c nix=/dev/mapper/c current=1\n"
		"btrfs uuid=u1 members=/dev/vdb,/dev/vdc state=degraded\n"
		"array path=/dev/md127 link=/dev/md/pv state=degraded missing=2\n"
		"array path=/dev/md126 link=/dev/md/ok state=clean missing=-\n"
		"vg name=vg state=complete\n"
		"lv path=/dev/mapper/vg-root vg=vg state=complete devices=/dev/md127\n"
		"luks path=/dev/md126 mapper=/dev/mapper/c state=open\n"), 4);
	char why[200];
	CHECK_INT(found_degraded(&f, "/dev/vdc", why, sizeof(why)), FOUND_DEG_BTRFS);
	CHECK(strstr(why, "btrfs u1 is missing a member") != NULL);
	CHECK_INT(found_degraded(&f, "/dev/vdbx", why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_INT(found_degraded(&f, "/dev/mapper/vg-root", why, sizeof(why)), FOUND_DEG_MD);
	CHECK(strstr(why, "md array /dev/md127 runs without member(s) 2") != NULL);
	CHECK_INT(found_degraded(&f, "/dev/md/pv", NULL, 0), FOUND_DEG_MD);
	CHECK_INT(found_degraded(&f, "/dev/mapper/c", NULL, 0), 0);
	CHECK_INT(found_sys_degraded(&f, &f.sys[0]), FOUND_DEG_BTRFS);
	CHECK_INT(found_sys_degraded(&f, &f.sys[2]), 0);
	struct menu m;
	menu_init(&m, &f, "test");
	char buf[8192];
	menu_render(&m, buf, sizeof(buf));
	CHECK(strstr(buf, "/dev/vdc degraded") != NULL);
	CHECK(strstr(buf, "vg-root degraded") != NULL);
	CHECK(strstr(buf, "/dev/vde\n") != NULL && !strstr(buf, "/dev/vde degraded"));
	found_free(&f);

	/* A tool missing from a custom image is named as such, not as its exit status 127. */
	{
		char *const argv[] = {"/nonexistent/sbin/mdadm", "--assemble", NULL};
		char *text = NULL, msg[200];
		CHECK_INT(job_tool(argv, 1000, &text, msg, sizeof(msg)), -1);
		CHECK_STR(msg, "/nonexistent/sbin/mdadm is not in this image: cannot run mdadm --assemble");
		CHECK(text == NULL);
		char *const ok[] = {"/bin/true", "x", NULL};
		CHECK_INT(job_tool(ok, 5000, &text, msg, sizeof(msg)), 0);
		free(text);
	}

	tree_free();
	return check_done("test_assemble");
}
