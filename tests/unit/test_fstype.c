/* The filesystem table (lib/fstype): every row complete, lookups, the read-only option strings
 * and their refusals, and the modules a type loads (through a recording hook, against the
 * image's real module tree in tests/unit/data/modtree). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fsmodules.h"
#include "lib/fstype.h"
#include "lib/modules.h"
#include "lib/util.h"
#include "tests/unit/check.h"

/* Types with a journal or log that a mount replays unless told not to. A row for one of them
 * without its no-replay option fails here even if its flags claim otherwise. */
static const char *const journaled[] = {"ext3", "ext4", "btrfs", "xfs", "f2fs", "jfs",
					"reiserfs", "nilfs2", "ocfs2", "gfs2", "bcachefs"};

static int has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ',') && (p[wl] == ',' || !p[wl]))
			return 1;
	return 0;
}

static int count(const char *const *v, int max)
{
	int n = 0;
	while (n < max && v[n])
		n++;
	return n;
}

/* Module names of initramfs/modules.list: a row naming a module the image lacks fails. */
static char *image_modules;

static int in_image(const char *name)
{
	char w[80];
	snprintf(w, sizeof(w), " %s ", name);
	return image_modules && strstr(image_modules, w) != NULL;
}

static void load_image_modules(void)
{
	char *text = NULL;
	CHECK(read_file_at(AT_FDCWD, "../../initramfs/modules.list", 1 << 20, &text) > 0);
	if (!text)
		return;
	size_t n = strlen(text);
	image_modules = xmalloc(n + 3);
	char *w = image_modules;
	*w++ = ' ';
	int comment = 0;
	for (char *p = text; *p; p++) {
		comment = *p == '#' ? 1 : *p == '\n' ? 0 : comment;
		*w++ = comment || *p == '\n' || *p == '\t' ? ' ' : *p == '-' ? '_' : *p;
	}
	*w++ = ' ';
	*w = 0;
	free(text);
}

static void test_rows_complete(void)
{
	load_image_modules();
	CHECK(n_fstypes > 0);
	for (size_t i = 0; i < n_fstypes; i++) {
		const struct fstype *t = &fstypes[i];
		CHECK(t->name && *t->name);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(fstypes[j].name, t->name) != 0);
		CHECK(fstype_find(t->name) == t);
		int nmod = count(t->modules, FSTYPE_MODULES), ncheck = count(t->check, FSTYPE_CHECK_ARGS);
		CHECK(nmod < FSTYPE_MODULES && ncheck < FSTYPE_CHECK_ARGS); /* room for the NULL */
		for (int m = 0; m < nmod; m++)
			if (!in_image(t->modules[m])) {
				fprintf(stderr, "%s: module %s is not in initramfs/modules.list\n", t->name,
					t->modules[m]);
				CHECK(in_image(t->modules[m]));
			}
		CHECK(!t->noreplay_old || t->noreplay);
		CHECK(!(t->flags & FSTYPE_SUBVOLS) || t->top);
		CHECK(!t->problem_what == !t->problem_msg);
		if (t->flags & FSTYPE_NOMOUNT) {
			/* Listed, never mounted: nothing a mount would need. */
			CHECK(!(t->flags & (FSTYPE_NIXOS | FSTYPE_SUBVOLS)));
			CHECK(!t->noreplay && !t->top && !nmod && !ncheck);
			CHECK(fstype_mount_ro("/dev/null", t->name, NULL, "/nonexistent", 0) == -EMEDIUMTYPE);
			continue;
		}
		/* A mountable type says how it avoids a replay, or that it has nothing to replay. */
		if (!t->noreplay == !(t->flags & FSTYPE_NO_JOURNAL))
			fprintf(stderr, "%s: needs exactly one of a noreplay option and FSTYPE_NO_JOURNAL\n",
				t->name);
		CHECK(!t->noreplay != !(t->flags & FSTYPE_NO_JOURNAL));
		CHECK(nmod > 0);
		for (size_t j = 0; j < ARRAY_SIZE(journaled); j++)
			if (!strcmp(t->name, journaled[j])) {
				CHECK(t->noreplay != NULL);
				CHECK(!(t->flags & FSTYPE_NO_JOURNAL));
			}
		/* The options a mount gets hold the no-replay word, with a subvolume or without. */
		char buf[256];
		CHECK_INT(fstype_ro_options(t, 0, NULL, buf, sizeof(buf)), 0);
		CHECK(!t->noreplay || has_word(buf, t->noreplay));
		if (t->flags & FSTYPE_SUBVOLS) {
			CHECK_INT(fstype_ro_options(t, 0, "sv", buf, sizeof(buf)), 0);
			CHECK(has_word(buf, t->noreplay ? t->noreplay : "subvol=sv"));
			CHECK(has_word(buf, "subvol=sv"));
		}
		if (t->noreplay_old) {
			CHECK_INT(fstype_ro_options(t, 1, NULL, buf, sizeof(buf)), 0);
			CHECK(has_word(buf, t->noreplay_old));
		}
		if (t->flags & FSTYPE_NIXOS) {
			/* Something to check it with, in a mode that changes nothing. */
			CHECK(ncheck > 0);
			int ro = 0;
			for (int a = 1; a < ncheck; a++)
				ro |= !strcmp(t->check[a], "-n") || !strcmp(t->check[a], "--readonly") ||
				      !strcmp(t->check[a], "--dry-run");
			CHECK(ro);
		}
	}
	/* The types lifeboat handles today. */
	static const char *const want[] = {"ext2", "ext3", "ext4", "btrfs", "xfs", "f2fs",
					   "vfat", "swap", "crypto_LUKS"};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		CHECK(fstype_find(want[i]) != NULL);
	free(image_modules);
}

static void test_lookups(void)
{
	CHECK_STR(fstype_find("ext4")->noreplay, "noload");
	CHECK_STR(fstype_find("ext3")->noreplay, "noload");
	CHECK_STR(fstype_find("xfs")->noreplay, "norecovery");
	CHECK_STR(fstype_find("f2fs")->noreplay, "norecovery");
	CHECK_STR(fstype_find("btrfs")->noreplay, "rescue=nologreplay");
	CHECK_STR(fstype_find("btrfs")->noreplay_old, "nologreplay");
	CHECK_STR(fstype_find("ext2")->modules[count(fstype_find("ext2")->modules, FSTYPE_MODULES) - 1],
		  "ext4");
	CHECK_STR(fstype_find("ext3")->modules[count(fstype_find("ext3")->modules, FSTYPE_MODULES) - 1],
		  "ext4");
	CHECK_STR(fstype_find("btrfs")->check[0], "btrfs");
	CHECK_STR(fstype_find("vfat")->check[0], "fsck.fat");
	CHECK_STR(fstype_find("crypto_LUKS")->problem_what, "locked");
	CHECK(fstype_find(NULL) == NULL);
	CHECK(fstype_find("") == NULL);
	CHECK(fstype_find("EXT4") == NULL); /* libblkid's names are lower case: no guessing */
	CHECK(fstype_find("ntfs") == NULL);
	CHECK(fstype_inspectable("ext2") && fstype_inspectable("btrfs") && fstype_inspectable("f2fs"));
	CHECK(!fstype_inspectable("vfat") && !fstype_inspectable("swap"));
	CHECK(!fstype_inspectable("crypto_LUKS") && !fstype_inspectable(NULL) && !fstype_inspectable("zfs"));
}

static void test_options(void)
{
	const struct fstype *btrfs = fstype_find("btrfs"), *ext4 = fstype_find("ext4");
	char buf[128];
	CHECK_INT(fstype_ro_options(btrfs, 0, NULL, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "rescue=nologreplay,subvolid=5");
	CHECK_INT(fstype_ro_options(btrfs, 1, "", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "nologreplay,subvolid=5");
	CHECK_INT(fstype_ro_options(btrfs, 0, "@nix", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "rescue=nologreplay,subvol=@nix");
	CHECK_INT(fstype_ro_options(btrfs, 1, "nested/snap shot", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "nologreplay,subvol=nested/snap shot");
	CHECK_INT(fstype_ro_options(ext4, 0, NULL, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "noload");
	CHECK_INT(fstype_ro_options(fstype_find("ext2"), 0, NULL, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");

	/* A ',' would add options (subvol=x,rw...); '"' is quoting to an LSM's option parser. */
	CHECK_INT(fstype_ro_options(btrfs, 0, "x,subvolid=5", buf, sizeof(buf)), -EINVAL);
	CHECK_STR(buf, "");
	CHECK_INT(fstype_ro_options(btrfs, 0, "a\"b", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(fstype_ro_options(ext4, 0, "@", buf, sizeof(buf)), -EINVAL); /* no subvolumes */
	CHECK_INT(fstype_ro_options(ext4, 1, NULL, buf, sizeof(buf)), -EINVAL); /* no old spelling */
	CHECK(!fstype_subvol_ok(NULL) && !fstype_subvol_ok("") && !fstype_subvol_ok(","));
	CHECK(fstype_subvol_ok("@") && fstype_subvol_ok("root") && fstype_subvol_ok("a/b/c"));

	/* Truncation is refused, never a shorter name: "subvol=@home" cut is "subvol=@". */
	const char *want = "rescue=nologreplay,subvol=@home";
	size_t need = strlen(want) + 1;
	CHECK_INT(fstype_ro_options(btrfs, 0, "@home", buf, need), 0);
	CHECK_STR(buf, want);
	for (size_t size = need - 1; size > 0; size--) {
		int r = fstype_ro_options(btrfs, 0, "@home", buf, size);
		CHECK_INT(r, -EINVAL);
		CHECK_STR(buf, "");
	}
	CHECK_INT(fstype_ro_options(btrfs, 0, NULL, buf, 0), -EINVAL);

	char list[16] = "a";
	CHECK_INT(fstype_opts_add(list, sizeof(list), "bcdef"), 0);
	CHECK_STR(list, "a,bcdef");
	CHECK_INT(fstype_opts_add(list, sizeof(list), "ghijklmn"), -EINVAL); /* 16 with the NUL */
	CHECK_STR(list, "a,bcdef");
	CHECK_INT(fstype_opts_add(list, sizeof(list), "ghijklm"), 0);
	CHECK_STR(list, "a,bcdef,ghijklm");
	char sv[32] = "";
	CHECK_INT(fstype_opts_add_subvol(sv, sizeof(sv), "home"), 0);
	CHECK_STR(sv, "subvol=home");
	CHECK_INT(fstype_opts_add_subvol(sv, sizeof(sv), "a,b"), -EINVAL);
	CHECK_INT(fstype_opts_add_subvol(sv, sizeof(sv), "0123456789abcdef"), -EINVAL);
	CHECK_STR(sv, "subvol=home");

	/* Refused before any mount(2): these need no root. */
	CHECK_INT(fstype_mount_ro("/dev/null", "btrfs", "x,rw", "/nonexistent", 0), -EINVAL);
	CHECK_INT(fstype_mount_ro("/dev/null", "ext4", "@", "/nonexistent", 0), -EINVAL);
	CHECK_INT(fstype_mount_ro("/dev/null", "ntfs", NULL, "/nonexistent", 0), -EMEDIUMTYPE);
	CHECK_INT(fstype_mount_ro("/dev/null", NULL, NULL, "/nonexistent", 0), -EMEDIUMTYPE);
	char longname[600];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK_INT(fstype_mount_ro("/dev/null", "btrfs", longname, "/nonexistent", 0), -EINVAL);
}

static char loads[32][64];
static int n_loads;

static int fake_load(const char *path, const char *params)
{
	const char *b = strrchr(path, '/');
	if (n_loads < 32) {
		snprintf(loads[n_loads], 64, "%s", b ? b + 1 : path);
		*strstr(loads[n_loads], ".ko") = 0;
		modname_normalize(loads[n_loads]);
		n_loads++;
	}
	return 1;
}

static int idx(const char *name)
{
	for (int i = 0; i < n_loads; i++)
		if (!strcmp(loads[i], name))
			return i;
	return -1;
}

static void test_modules(void)
{
	modules_load_file = fake_load;
	struct modtree t;
	CHECK_INT(modtree_open(&t, "data/modtree"), 0);
	/* xfs needs libcrc32c, whose init asks for crc32c: the helper loads first. */
	CHECK(fsmodules_load_type(&t, "xfs") > 0);
	CHECK(idx("crc32c_intel") >= 0 && idx("crc32c_intel") < idx("libcrc32c"));
	CHECK(idx("libcrc32c") < idx("xfs"));
	n_loads = 0;
	CHECK(fsmodules_load_type(&t, "ext2") > 0);
	CHECK(idx("ext4") >= 0 && idx("jbd2") >= 0);
	n_loads = 0;
	CHECK_INT(fsmodules_load_type(&t, "ext3"), 0); /* ext4 is there already */
	CHECK_INT(fsmodules_load_type(&t, "crypto_LUKS"), 0);
	CHECK_INT(fsmodules_load_type(&t, "ntfs"), 0);
	CHECK_INT(fsmodules_load_type(&t, NULL), 0);
	CHECK_INT(n_loads, 0);
	CHECK(fsmodules_load_type(&t, "vfat") > 0);
	CHECK(idx("nls_cp437") >= 0 && idx("vfat") >= 0 && idx("fat") >= 0);
	modtree_free(&t);
}

/* The scan skips the module tree when the kernel already lists every type it found. */
static void test_registered(void)
{
	const char *fs = "nodev\tsysfs\nnodev\ttmpfs\n\text3\n\text2\n\text4\n\tvfat\nnodev\tbtrfsx\n";
	CHECK_INT(fsmodules_registered(fs, "ext4"), 1);
	CHECK_INT(fsmodules_registered(fs, "ext3"), 1);
	CHECK_INT(fsmodules_registered(fs, "vfat"), 1);
	CHECK_INT(fsmodules_registered(fs, "tmpfs"), 1);
	CHECK_INT(fsmodules_registered(fs, "btrfs"), 0); /* whole names only */
	CHECK_INT(fsmodules_registered(fs, "ext"), 0);
	CHECK_INT(fsmodules_registered(fs, "xfs"), 0);
	CHECK_INT(fsmodules_registered("\tf2fs", "f2fs"), 1); /* no final newline */
	CHECK_INT(fsmodules_registered("", "ext4"), 0);
	CHECK_INT(fsmodules_registered(NULL, "ext4"), 0);
}

int main(void)
{
	test_registered();
	test_rows_complete();
	test_lookups();
	test_options();
	test_modules();
	return check_done("test_fstype");
}
