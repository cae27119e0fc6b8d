/* In-root resolution against a hostile tree (the cases of the kernel's openat2 resolve
 * selftest: .. escapes, absolute links, magic links, loops), through openat2 and through the
 * userspace walk. A result must always be inside the tree. */
#include <errno.h>
#include <stdlib.h>

#include "lib/inroot.h"
#include "tests/unit/check.h"
#include "tests/unit/tree.h"

static char *read_at(int root, const char *path)
{
	char *buf = NULL;
	ssize_t r = inroot_read(root, path, 4096, &buf);
	if (r < 0)
		return NULL;
	return buf;
}

static void cases(int root, const char *mode)
{
	fprintf(stderr, "  %s\n", mode);
	char *s;
#define READS(path, want)                                                                       \
	do {                                                                                    \
		s = read_at(root, path);                                                        \
		CHECK_STR(s, want);                                                             \
		free(s);                                                                        \
	} while (0)
#define FAILS(path, err) CHECK_INT(inroot_open(root, path, O_RDONLY), -(err))
	READS("/etc/passwd", "inside\n");
	READS("etc/passwd", "inside\n");
	READS("../../../../etc/passwd", "inside\n");
	READS("/a/../../../etc/passwd", "inside\n");
	READS("/links/abs-passwd", "inside\n");
	READS("/links/dotdot-passwd", "inside\n");
	READS("/links/deep/up/etc/passwd", "inside\n");
	READS("/links/rel-chain", "inside\n");
	READS("/links/root/etc/passwd", "inside\n");
	READS("/links/dotdot-dir/etc/passwd", "inside\n");
	/* The store's absolute links land in the tree's own /nix. */
	READS("/nix/var/nix/profiles/system/nixos-version", "24.05\n");
	/* Magic links: /proc/self/root does not exist in the tree, so it is not followed anywhere. */
	FAILS("/links/magic/etc/passwd", ENOENT);
	FAILS("/links/fd", ENOENT);
	FAILS("/links/loop-a", ELOOP);
	FAILS("/links/self", ELOOP);
	FAILS("/nothing/here", ENOENT);
	FAILS("/etc/passwd/x", ENOTDIR);
	/* Files the rescue system has and the tree has not stay out of reach. */
	FAILS("/links/abs-hostname", ENOENT);
	FAILS("../../../../../../etc/hostname", ENOENT);
	CHECK_INT(inroot_open(root, "/links/abs-passwd", O_RDONLY | O_NOFOLLOW), -ELOOP);
	int fd = inroot_open(root, "/", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	struct stat a, b;
	fstat(fd, &a);
	fstat(root, &b);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
	fd = inroot_open(root, "/links/dotdot-dir", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	fstat(fd, &a);
	CHECK(a.st_ino == b.st_ino);
	close(fd);
	char buf[256];
	CHECK_INT(inroot_readlink(root, "/links/../links/abs-passwd", buf, sizeof(buf)), 11);
	CHECK_STR(buf, "/etc/passwd");
	CHECK_INT(inroot_readlink(root, "/etc/passwd", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(inroot_exists(root, "/links/rel-chain"), 0);
	CHECK_INT(inroot_exists(root, "/links/loop-a"), -ELOOP);
}

int main(void)
{
	tree_new();
	tree_file("etc/passwd", "inside\n");
	tree_dir("a/b/c");
	tree_link("/etc/passwd", "links/abs-passwd");
	tree_link("/etc/hostname", "links/abs-hostname");
	tree_link("../../../../../../etc/passwd", "links/dotdot-passwd");
	tree_link("../..", "links/deep/up");
	tree_link("/", "links/root");
	tree_link("../../../..", "links/dotdot-dir");
	tree_link("abs-passwd", "links/rel-chain");
	tree_link("/proc/self/root", "links/magic");
	tree_link("/proc/self/fd/0", "links/fd");
	tree_link("loop-b", "links/loop-a");
	tree_link("/links/loop-a", "links/loop-b");
	tree_link("self", "links/self");
	tree_file("nix/store/abc-nixos-system-x/nixos-version", "24.05\n");
	tree_link("/nix/store/abc-nixos-system-x", "nix/var/nix/profiles/system-1-link");
	tree_link("system-1-link", "nix/var/nix/profiles/system");
	int root = tree_open();
	cases(root, "openat2 (or the walk where the kernel lacks it)");
	inroot_force_walk = 1;
	cases(root, "userspace walk");
	inroot_force_walk = 0;
	close(root);
	tree_free();
	return check_done("test_inroot");
}
