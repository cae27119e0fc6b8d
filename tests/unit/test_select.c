/* The one system selector (enter --id/--host, boot --system, lifeboat.system=) and the one
 * generation selector (boot --generation/--specialisation, lifeboat.generation=): every form
 * against tests/menu/two-systems.report and small reports written here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/util.h"
#include "report/found.h"
#include "report/select.h"
#include "tests/unit/check.h"

static char why[1024];

static int sel(const struct found *f, const char *which)
{
	return select_system(f, which, why, sizeof(why));
}

static void test_forms(const struct found *f)
{
	CHECK_INT(sel(f, "1"), 0); /* ids */
	CHECK_INT(sel(f, "2"), 1);
	CHECK_INT(sel(f, "laptop"), 0);
	/* UUIDs without regard to case: blkid prints them in lower case, people copy upper case. */
	CHECK_INT(sel(f, "UUID=0b6f3c2e-1111-4c55-9a7e-0123456789ab"), 0);
	CHECK_INT(sel(f, "UUID=0B6F3C2E-1111-4C55-9A7E-0123456789AB"), 0);
	CHECK_INT(sel(f, "UUID=7D1E-NIX"), 1); /* the /nix device names a split system */
	CHECK_INT(sel(f, "LABEL=nixos"), 0);
	CHECK_INT(sel(f, "LABEL=NIXOS"), -ENOENT); /* labels are case-sensitive */
	CHECK_INT(sel(f, "LABEL=srvroot"), 1);
	CHECK_INT(sel(f, "LABEL=srvnix"), 1);
	CHECK_INT(sel(f, "/dev/vda2"), 0);
	CHECK_INT(sel(f, "/dev/vdb1"), 1); /* root */
	CHECK_INT(sel(f, "/dev/vdb2"), 1); /* /nix */
	CHECK_INT(sel(f, "/dev/disk/by-label/nixos"), 0);
	CHECK_INT(sel(f, "/dev/disk/by-uuid/7d1e-root"), 1);
	CHECK_INT(sel(f, "/dev/disk/by-uuid/7D1E-ROOT"), 1);
	CHECK_INT(sel(f, "/dev/vda1"), -ENOENT); /* the ESP alone names nothing */
	CHECK_INT(sel(f, "/dev/vda"), -ENOENT);
	CHECK_INT(sel(f, "3"), -ENOENT);
	CHECK_INT(sel(f, ""), -ENOENT);
	CHECK_INT(sel(f, NULL), -ENOENT);
	CHECK_INT(sel(f, "UUID="), -ENOENT);
	CHECK_INT(sel(f, "LABEL="), -ENOENT);
	/* Not found: the sentence names every candidate, the hostile host name escaped. */
	CHECK_INT(sel(f, "server"), -ENOENT);
	CHECK(strstr(why, "matches no system found") != NULL);
	CHECK(strstr(why, "found: 1 (laptop) on /dev/vda2, 2 (\\x1b[2Jevil\\x07host) on /dev/vdb1") != NULL);
	CHECK(!strchr(why, '\x1b'));
}

static void test_tags(void)
{
	/* PARTUUID= and PARTLABEL=, udev's escaped link names, a btrfs root known only by the
	 * system record's rootuuid, and a system on a tmpfs root. */
	struct found f;
	CHECK_INT(found_load(&f,
			     "device path=/dev/sda2 type=ext4 uuid=aaaa label=my%20root partuuid=5E2A-01 partlabel=nixos-root\n"
			     "device path=/dev/sdb1 type=btrfs uuid=bbbb label=pool partuuid=- partlabel=-\n"
			     "device path=/dev/sdc1 type=ext4 uuid=cccc label=store partuuid=- partlabel=-\n"
			     "system id=1 host=one root=/dev/sda2 nix=/dev/sda2\n"
			     "system id=2 host=two layout=btrfs root=- rootuuid=DDDD-EEEE rootlabel=snap nix=/dev/sdb1\n"
			     "system id=3 host=three layout=tmpfs root=- nix=/dev/sdc1\n"),
		  3);
	CHECK_INT(sel(&f, "PARTUUID=5e2a-01"), 0);
	CHECK_INT(sel(&f, "PARTUUID=5E2A-01"), 0);
	CHECK_INT(sel(&f, "PARTLABEL=nixos-root"), 0);
	CHECK_INT(sel(&f, "PARTLABEL=NIXOS-ROOT"), -ENOENT);
	CHECK_INT(sel(&f, "/dev/disk/by-partuuid/5e2a-01"), 0);
	CHECK_INT(sel(&f, "/dev/disk/by-partlabel/nixos-root"), 0);
	CHECK_INT(sel(&f, "LABEL=my root"), 0);
	CHECK_INT(sel(&f, "/dev/disk/by-label/my\\x20root"), 0);
	CHECK_INT(sel(&f, "UUID=dddd-eeee"), 1);
	CHECK_INT(sel(&f, "LABEL=snap"), 1);
	CHECK_INT(sel(&f, "UUID=bbbb"), 1);
	CHECK_INT(sel(&f, "LABEL=store"), 2);
	CHECK_INT(sel(&f, "/dev/sdc1"), 2);
	CHECK_INT(sel(&f, "three"), 2);
	found_free(&f);
}

static void test_links(void)
{
	/* A device path that is a link (/dev/disk/by-id/..., /dev/mapper/...) names the device it
	 * leads to. Here the "device" is a file in a temporary folder. */
	char dir[] = "/tmp/lb-select-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *dev = xasprintf("%s/vdb2", dir), *link = xasprintf("%s/by-id-virtio-disk2", dir);
	char *text = xasprintf("system id=1 host=a root=/dev/vda1 nix=/dev/vda1\n"
			       "system id=2 host=b root=/dev/vdb1 nix=%s\n", dev);
	int fd = open(dev, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(symlink("vdb2", link) == 0);
	struct found f;
	CHECK_INT(found_load(&f, text), 2);
	CHECK_INT(sel(&f, link), 1);
	CHECK_INT(sel(&f, dev), 1);
	unlink(link);
	CHECK_INT(sel(&f, link), -ENOENT); /* the twin: without the link, nothing */
	found_free(&f);
	unlink(dev);
	rmdir(dir);
	free(dev);
	free(link);
	free(text);
}

static void test_ambiguous(void)
{
	struct found f;
	CHECK_INT(found_load(&f, "device path=/dev/x uuid=1111 label=nixos\ndevice path=/dev/y uuid=2222 label=nixos\n"
				 "system id=1 host=a root=/dev/x nix=/dev/x\nsystem id=2 host=a root=/dev/y nix=/dev/y\n"
				 "system id=3 host=2 root=/dev/z nix=/dev/z\n"),
		  3);
	CHECK_INT(sel(&f, "a"), -EEXIST);
	CHECK(strstr(why, "matches 2 systems: 1 (a) on /dev/x, 2 (a) on /dev/y; name one by its id") != NULL);
	CHECK_INT(sel(&f, "LABEL=nixos"), -EEXIST);
	CHECK_INT(sel(&f, "UUID=2222"), 1);
	CHECK_INT(sel(&f, "/dev/y"), 1);
	/* An id before a host name made of digits: the menu passes ids. */
	CHECK_INT(sel(&f, "2"), 1);
	CHECK_INT(sel(&f, "1"), 0);
	found_free(&f);
}

/* A snapshot with its own profile (snapshot=1) shares its host name and device with the live
 * system: the name means the live one. Two live ones stay ambiguous, and so do two snapshots. */
static void test_snapshot(void)
{
	struct found f;
	CHECK_INT(found_load(&f, "device path=/dev/x uuid=1111\n"
				 "system id=1 host=a root=/dev/x nix=/dev/x rootsubvol=@/.snapshots/1/snapshot snapshot=1\n"
				 "system id=2 host=a root=/dev/x nix=/dev/x rootsubvol=@\n"
				 "system id=3 host=b root=/dev/x nix=/dev/x snapshot=1\n"
				 "system id=4 host=b root=/dev/x nix=/dev/x snapshot=1\n"
				 "system id=5 host=c root=/dev/x nix=/dev/x snapshot=-\n"
				 "system id=6 host=c root=/dev/x nix=/dev/x\n"),
		  6);
	CHECK_INT(sel(&f, "a"), 1);
	CHECK_INT(sel(&f, "1"), 0); /* the snapshot by its id */
	CHECK_INT(sel(&f, "b"), -EEXIST);
	CHECK_INT(sel(&f, "c"), -EEXIST);
	CHECK_INT(sel(&f, "UUID=1111"), -EEXIST); /* a, c and c are live */
	found_free(&f);
}

static const struct found_gen *gen(const struct found_sys *s, const char *profile, const char *g, const char *spec)
{
	return select_generation(s, profile, g, spec, why, sizeof(why));
}

static void test_generations(const struct found *f)
{
	const struct found_sys *s = &f->sys[0];
	const struct found_gen *g = gen(s, NULL, NULL, NULL);
	CHECK(g && g->number == 3 && !*g->spec); /* the current one */
	g = gen(s, "system", "1", NULL);
	CHECK(g && g->number == 1);
	g = gen(s, NULL, "2", "");
	CHECK(g && g->number == 2 && !strcmp(g->status, "corrupt")); /* found; bootable is boot's matter */
	g = gen(s, NULL, "gaming", NULL); /* lifeboat.generation=NAME: of the current generation */
	CHECK(g && g->number == 3 && !strcmp(g->spec, "gaming"));
	g = gen(s, NULL, NULL, "gaming");
	CHECK(g && g == &s->specs[0]);
	g = gen(s, NULL, "3", "gaming");
	CHECK(g && g == &s->specs[0]);
	CHECK(gen(s, NULL, "9", NULL) == NULL);
	CHECK_STR(why, "system 1 (laptop) has no generation 9");
	CHECK(gen(s, NULL, "2", "gaming") == NULL);
	CHECK_STR(why, "generation 2 of system 1 (laptop) has no specialisation 'gaming' (it has none)");
	CHECK(gen(s, NULL, "3", "nope") == NULL);
	CHECK_STR(why, "generation 3 of system 1 (laptop) has no specialisation 'nope' (it has: gaming)");
	CHECK(gen(s, NULL, "x", "gaming") == NULL);
	CHECK_STR(why, "'x' is not a generation number");
	CHECK(gen(s, NULL, "nope", NULL) == NULL);
	CHECK(strstr(why, "'nope' is neither a generation number nor a specialisation of generation 3") != NULL);
	CHECK(gen(s, "work", NULL, NULL) == NULL);
	CHECK_STR(why, "system 1 (laptop) has no current generation in profile work");

	/* Named profiles, and a system without generations. */
	struct found n;
	CHECK_INT(found_load(&n, "system id=1 host=h current=2\n"
				 "generation system=1 profile=system number=2 current=1 specialisation=-\n"
				 "generation system=1 profile=work number=4 current=1 specialisation=- toplevel=/w4\n"
				 "generation system=1 profile=work number=4 current=1 specialisation=gpu toplevel=/w4g\n"
				 "generation system=1 profile=work number=3 current=0 specialisation=- toplevel=/w3\n"
				 "system id=2 host=empty\n"),
		  2);
	s = &n.sys[0];
	CHECK_INT(s->n_gens, 1);
	CHECK_INT(s->n_named, 3);
	g = gen(s, "work", NULL, NULL);
	CHECK(g && !strcmp(g->toplevel, "/w4"));
	g = gen(s, "work", "3", NULL);
	CHECK(g && !strcmp(g->toplevel, "/w3"));
	g = gen(s, "work", NULL, "gpu");
	CHECK(g && !strcmp(g->toplevel, "/w4g"));
	CHECK(gen(s, "work", "2", NULL) == NULL);
	CHECK_STR(why, "system 1 (h) has no generation 2 in profile work");
	g = gen(s, NULL, NULL, NULL);
	CHECK(g && g->number == 2);
	CHECK(gen(&n.sys[1], NULL, NULL, NULL) == NULL);
	CHECK_STR(why, "system 2 (empty) has no current generation");
	found_free(&n);
}

static void test_device_order(void)
{
	/* A streamed report lists systems as their inspections end; the model lists them in the
	 * order of their devices, whatever the ids. A report without done is kept, incomplete. */
	struct found f;
	CHECK_INT(found_load(&f, "device path=/dev/vda1\ndevice path=/dev/vdb1\ndevice path=/dev/vdc1\n"
				 "system id=1 host=c nix=/dev/vdc1\nsystem id=2 host=a nix=/dev/vda1\n"
				 "system id=3 host=b1 nix=/dev/vdb1\nsystem id=4 host=b2 nix=/dev/vdb1\n"),
		  4);
	CHECK_STR(f.sys[0].host, "a");
	CHECK_STR(f.sys[1].host, "b1");
	CHECK_STR(f.sys[2].host, "b2");
	CHECK_STR(f.sys[3].host, "c");
	CHECK_INT(f.complete, 0);
	CHECK(found_by_id(&f, 1) == &f.sys[3]);
	CHECK_INT(sel(&f, "1"), 3);
	CHECK_INT(sel(&f, "c"), 3);
	found_free(&f);
}

static void test_key(void)
{
	/* The same two systems scanned twice, their inspections ending in the other order: the ids
	 * swap, and the key the menu passed still finds the system it showed. */
	const char *devs = "device path=/dev/vda2\ndevice path=/dev/vdb1 type=btrfs\n";
	struct found a, b;
	char *ta = xasprintf("%ssystem id=1 host=one nix=/dev/vda2\n"
			     "system id=2 host=two nix=/dev/vdb1 nixsubvol=@nix nixprefix=/nix\n", devs);
	char *tb = xasprintf("%ssystem id=2 host=one nix=/dev/vda2\n"
			     "system id=1 host=two nix=/dev/vdb1 nixsubvol=@nix nixprefix=/nix\n", devs);
	CHECK_INT(found_load(&a, ta), 2);
	CHECK_INT(found_load(&b, tb), 2);
	char k1[300], k2[300];
	const struct found_sys *one = found_by_id(&a, 1), *two = found_by_id(&a, 2);
	CHECK(one && two);
	select_key(one, k1, sizeof(k1));
	select_key(two, k2, sizeof(k2));
	CHECK_STR(k1, "/dev/vda2////");
	CHECK_STR(k2, "/dev/vdb1//@nix///nix");
	/* In the report the menu read, id and key agree. */
	CHECK_INT(select_system_as(&a, "1", k1, why, sizeof(why)), (int)(one - a.sys));
	/* After the rescan, id 1 is the other system: the key wins. */
	CHECK_STR(b.sys[select_system_as(&b, "1", k1, why, sizeof(why))].host, "one");
	CHECK_STR(b.sys[select_system_as(&b, "2", k2, why, sizeof(why))].host, "two");
	/* Without a key, the id alone (as a user types it). */
	CHECK_STR(b.sys[select_system_as(&b, "1", NULL, why, sizeof(why))].host, "two");
	CHECK_STR(b.sys[select_system_as(&b, "1", "", why, sizeof(why))].host, "two");
	/* The system is gone (its disk was removed): no other system is taken in its place. */
	CHECK_INT(select_system_as(&b, "1", "/dev/vdc1////", why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "no longer the system chosen (on /dev/vdc1)") != NULL);
	/* A key from a hostile disk is escaped in the sentence. */
	CHECK_INT(select_system_as(&b, "1", "/dev/\033[2Jx//", why, sizeof(why)), -ENOENT);
	CHECK(strchr(why, '\033') == NULL);
	/* An id that names no system, with a key that does: the key's system. */
	CHECK_STR(b.sys[select_system_as(&b, "7", k2, why, sizeof(why))].host, "two");
	free(ta);
	free(tb);
	found_free(&a);
	found_free(&b);
}

int main(void)
{
	char *text = NULL;
	CHECK(read_file_at(AT_FDCWD, "../menu/two-systems.report", 1 << 20, &text) > 0);
	struct found f;
	CHECK_INT(found_load(&f, text ? text : ""), 2);
	free(text);
	test_forms(&f);
	test_tags();
	test_links();
	test_ambiguous();
	test_snapshot();
	test_generations(&f);
	test_device_order();
	test_key();
	found_free(&f);
	return check_done("test_select");
}
