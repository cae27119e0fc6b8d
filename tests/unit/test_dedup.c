/* The rule that makes one btrfs NixOS one system (discover/dedup.c), on the candidates an
 * inspection of each layout in docs/discover.md produces. */
#include "discover/dedup.h"
#include "tests/unit/check.h"

#define DEV "/dev/vda1"

static struct dedup_cand top(const char *subvol, const char *profiles, const char *rootsv)
{
	return (struct dedup_cand){DEDUP_TOP, DEV, subvol, profiles, DEV, rootsv, NULL, NULL, 0};
}

static struct dedup_cand nixfs(const char *subvol, const char *profiles, const char *rootsv,
			       const char *nixsv)
{
	return (struct dedup_cand){DEDUP_NIXFS, DEV, subvol, profiles, DEV, rootsv, DEV, nixsv, 0};
}

/* The wiki's root/nix/home: the top-level subvolume sees nix/ through the nix subvolume. The
 * separate /nix is kept: its fstab mounts it at /nix, and / (subvol=root) is not the top. */
static void test_wiki(void)
{
	struct dedup_cand c[] = {top(NULL, "41:300", "root"), nixfs("nix", "41:300", "root", "nix")};
	dedup_systems(c, 2);
	CHECK_INT(c[0].same_as, 1);
	CHECK_INT(c[1].same_as, -1);
	CHECK(!dedup_at_home(&c[0]));
	CHECK(dedup_at_home(&c[1]));
	CHECK(!dedup_is_copy(&c[1]));
	/* Order does not matter. */
	struct dedup_cand d[] = {c[1], c[0]};
	dedup_systems(d, 2);
	CHECK_INT(d[0].same_as, -1);
	CHECK_INT(d[1].same_as, 0);
}

/* @/@nix/@home: the top sees @nix/, not nix/: one candidate, kept. */
static void test_at(void)
{
	struct dedup_cand c[] = {nixfs("@nix", "40:256", "@", "@nix")};
	dedup_systems(c, 1);
	CHECK_INT(c[0].same_as, -1);
}

/* A root subvolume with nested nix and home subvolumes, the fstab naming only /: the root wins
 * (it is where the fstab mounts /; the nested /nix is in no fstab line). With /nix listed too,
 * both are at home and the root still wins, as the view that sees the whole system. */
static void test_nested(void)
{
	struct dedup_cand c[] = {top("nixos", "42:256", "/nixos"), nixfs("nixos/nix", "42:256", "nixos", NULL)};
	c[1].plannix = NULL;
	dedup_systems(c, 2);
	CHECK_INT(c[0].same_as, -1);
	CHECK_INT(c[1].same_as, 0);
	struct dedup_cand d[] = {nixfs("nixos/nix", "42:256", "nixos", "nixos/nix"), top("nixos", "42:256", "nixos")};
	dedup_systems(d, 2);
	CHECK(dedup_at_home(&d[0]));
	CHECK_INT(d[0].same_as, 1);
	CHECK_INT(d[1].same_as, -1);
}

/* A snapshot holding its own copy of /nix (snapper on a root with /nix inside) reads another
 * profile folder: a second system, whatever its fstab says. */
static void test_snapshot_with_profile(void)
{
	struct dedup_cand c[] = {top("@", "40:256", "@"), top("@/.snapshots/1/snapshot", "43:256", "@")};
	dedup_systems(c, 2);
	CHECK_INT(c[0].same_as, -1);
	CHECK_INT(c[1].same_as, -1);
	CHECK(dedup_at_home(&c[0]));
	CHECK(!dedup_at_home(&c[1]));
	CHECK(!dedup_is_copy(&c[0]));
	CHECK(dedup_is_copy(&c[1]));
	/* Not a copy: an fstab whose / is another filesystem, or names none. */
	c[1].planroot = "/dev/vdb1";
	CHECK(!dedup_is_copy(&c[1]));
	c[1].planroot = NULL;
	CHECK(!dedup_is_copy(&c[1]));
}

/* Unknown profile identity is never merged; the same identity on two filesystems is not one
 * system either (st_dev:st_ino only means something within one mount). */
static void test_unknown_and_other_fs(void)
{
	struct dedup_cand c[] = {top(NULL, NULL, NULL), top(NULL, "", NULL), top("a", "40:256", "a"),
				 top("a", "40:256", "a")};
	c[3].dev = "/dev/vdb1";
	dedup_systems(c, 4);
	for (int i = 0; i < 4; i++)
		CHECK_INT(c[i].same_as, -1);
}

/* Three views of one system, none at home (an fstab that names another disk): a root beats a
 * separate /nix, then the first found. */
static void test_ties(void)
{
	struct dedup_cand c[] = {nixfs("n", "9:9", NULL, NULL), top("x", "9:9", NULL), top("y", "9:9", NULL)};
	for (int i = 0; i < 3; i++)
		c[i].planroot = c[i].plannix = "/dev/vdz9";
	dedup_systems(c, 3);
	CHECK_INT(c[0].same_as, 1);
	CHECK_INT(c[1].same_as, -1);
	CHECK_INT(c[2].same_as, 1);
}

/* Subvolume names as fstabs write them. */
static void test_names(void)
{
	struct dedup_cand c = top("root", "1:1", "/root/");
	CHECK(dedup_at_home(&c));
	c.planrootsubvol = "root2";
	CHECK(!dedup_at_home(&c));
	c.planrootsubvol = "roo";
	CHECK(!dedup_at_home(&c));
	c = top(NULL, "1:1", "/");
	CHECK(dedup_at_home(&c));
	c.planroot = "/dev/vda2";
	CHECK(!dedup_at_home(&c));
	c.planroot = NULL;
	CHECK(!dedup_at_home(&c));
}

int main(void)
{
	test_wiki();
	test_at();
	test_nested();
	test_snapshot_with_profile();
	test_unknown_and_other_fs();
	test_ties();
	test_names();
	return check_done("test_dedup");
}
