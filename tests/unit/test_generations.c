/* Profiles and generations on a fake tree: the detection logic runs against a directory made
 * here, as it runs against a mounted disk in the image. */
#include <stdlib.h>
#include <sys/time.h>

#include "discover/nixos.h"
#include "report/record.h"
#include "lib/inroot.h"
#include "tests/unit/check.h"
#include "tests/unit/tree.h"

#define HASH "0123456789abcdfghijklmnpqrsvwxyz"

static void set_mtime(const char *rel, long t)
{
	struct timeval tv[2] = {{t, 0}, {t, 0}};
	lutimes(tree_path(rel), tv);
}

/* A toplevel store path; parts selects what it has. */
enum { NO_VERSION = 1, BOOTSPEC = 2, BAD_BOOTSPEC = 4, SPECIAL = 8, NO_KERNEL_FILE = 16 };

static void toplevel(const char *name, int n, int parts)
{
	char p[512], t[512];
#define AT(fmt, ...) (snprintf(p, sizeof(p), "nix/store/" HASH "-%s/" fmt, name, ##__VA_ARGS__), p)
	snprintf(t, sizeof(t), "nix/store/" HASH "-linux-%d/bzImage", n);
	if (!(parts & NO_KERNEL_FILE))
		tree_file(t, "kernel");
	snprintf(t, sizeof(t), "/nix/store/" HASH "-linux-%d/bzImage", n);
	tree_link(t, AT("kernel"));
	snprintf(t, sizeof(t), "nix/store/" HASH "-initrd-%d/initrd", n);
	tree_file(t, "initrd");
	snprintf(t, sizeof(t), "/nix/store/" HASH "-initrd-%d/initrd", n);
	tree_link(t, AT("initrd"));
	tree_file(AT("init"), "#!/bin/sh\n");
	char v[64];
	snprintf(v, sizeof(v), "24.05.%d\n", n);
	if (!(parts & NO_VERSION))
		tree_file(AT("nixos-version"), v);
	tree_file(AT("kernel-params"), "loglevel=4 quiet");
	/* etc is a link into another store path, as on NixOS. */
	snprintf(t, sizeof(t), "nix/store/" HASH "-etc-%d/etc/hostname", n);
	tree_file(t, "host\n");
	snprintf(t, sizeof(t), "nix/store/" HASH "-etc-%d/etc/fstab", n);
	tree_file(t, "LABEL=nixos / ext4 defaults\n");
	snprintf(t, sizeof(t), "/nix/store/" HASH "-etc-%d/etc", n);
	tree_link(t, AT("etc"));
	if (parts & BOOTSPEC) {
		char js[1024];
		snprintf(js, sizeof(js),
			 "{\"org.nixos.bootspec.v1\": {\"system\": \"x86_64-linux\", \"init\": "
			 "\"/nix/store/" HASH "-%s/init\", \"initrd\": \"/nix/store/" HASH "-initrd-%d/initrd\", "
			 "\"kernel\": \"/nix/store/" HASH "-linux-%d/bzImage\", \"kernelParams\": "
			 "[\"loglevel=4\", \"bootspec\"], \"label\": \"NixOS %d\", \"toplevel\": "
			 "\"/nix/store/" HASH "-%s\"}}",
			 name, n, n, n, name);
		tree_file(AT("boot.json"), js);
	}
	if (parts & BAD_BOOTSPEC)
		tree_file(AT("boot.json"), "{\"org.nixos.bootspec.v1\": {\"kernel\": }");
	if (parts & SPECIAL) {
		char sname[128];
		snprintf(sname, sizeof(sname), "%s-safe", name);
		toplevel(sname, n, 0);
		snprintf(t, sizeof(t), "/nix/store/" HASH "-%s", sname);
		tree_link(t, AT("specialisation/safe"));
	}
#undef AT
}

static void genlink(const char *profile_dir, const char *prof, int n, const char *name, long date)
{
	char rel[512], t[512];
	snprintf(rel, sizeof(rel), "%s/%s-%d-link", profile_dir, prof, n);
	snprintf(t, sizeof(t), "/nix/store/" HASH "-%s", name);
	tree_link(t, rel);
	set_mtime(rel, date);
}

static char *scan(int root, struct nixos_found *f, int *rc)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	*rc = nixos_scan(m, root, "1", "/dev/vda2", f);
	fclose(m);
	return out;
}

static const struct record *gen(const struct report *rep, const char *prof, const char *num,
				const char *spec)
{
	for (int i = report_next(rep, "generation", -1); i >= 0; i = report_next(rep, "generation", i)) {
		const struct record *r = &rep->r[i];
		if (!strcmp(record_get(r, "profile"), prof) && !strcmp(record_get(r, "number"), num) &&
		    !strcmp(record_get(r, "specialisation"), spec))
			return r;
	}
	return NULL;
}

static void test_profiles(void)
{
	tree_new();
	const char *P = "nix/var/nix/profiles";
	toplevel("nixos-system-host-24.05.1", 1, 0);
	toplevel("nixos-system-host-24.05.2", 2, NO_VERSION);
	toplevel("nixos-system-host-24.05.4", 4, BOOTSPEC | SPECIAL);
	toplevel("nixos-system-host-24.05.5", 5, BAD_BOOTSPEC | NO_KERNEL_FILE);
	genlink(P, "system", 1, "nixos-system-host-24.05.1", 1000);
	genlink(P, "system", 2, "nixos-system-host-24.05.2", 2000);
	genlink(P, "system", 3, "nixos-system-host-24.05.3", 3000); /* garbage-collected */
	genlink(P, "system", 4, "nixos-system-host-24.05.4", 4000);
	genlink(P, "system", 5, "nixos-system-host-24.05.5", 5000);
	tree_link("system-4-link", "nix/var/nix/profiles/system");
	tree_link("/etc/passwd", "nix/var/nix/profiles/system-6-link");
	tree_file("nix/var/nix/profiles/system-x-link", "not a generation");
	genlink("nix/var/nix/profiles/system-profiles", "rescue", 1, "nixos-system-host-24.05.1", 1500);
	tree_link("rescue-1-link", "nix/var/nix/profiles/system-profiles/rescue");

	int root = tree_open();
	CHECK_INT(nixos_present(root), 1);
	CHECK_INT(nixos_nixfs_present(root), 0);
	struct nixos_found f;
	int rc;
	char *out = scan(root, &f, &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(f.host, "host");
	CHECK_STR(f.version, "24.05.4");
	CHECK_INT(f.current, 4);
	CHECK_INT(f.generations, 6);
	CHECK_INT(f.plan_number, 4);
	CHECK_INT(f.have_fstab, 1);
	CHECK_INT(f.fstab.n, 1);
	nixos_found_free(&f);

	struct report rep;
	report_parse(&rep, out);
	const struct record *r;
	CHECK((r = gen(&rep, "system", "1", "")) != NULL);
	if (r) {
		CHECK_STR(record_get(r, "status"), "ok");
		CHECK_STR(record_get(r, "date"), "1000");
		CHECK_STR(record_get(r, "kernel"), "/nix/store/" HASH "-linux-1/bzImage");
		CHECK_STR(record_get(r, "init"), "/nix/store/" HASH "-nixos-system-host-24.05.1/init");
		CHECK_STR(record_get(r, "params"), "loglevel=4 quiet");
		CHECK_STR(record_get(r, "bootspec"), "0");
		CHECK_STR(record_get(r, "current"), "0");
	}
	CHECK((r = gen(&rep, "system", "2", "")) && !strcmp(record_get(r, "status"), "corrupt") &&
	      !strcmp(record_get(r, "reason"), "no nixos-version"));
	CHECK((r = gen(&rep, "system", "3", "")) && !strcmp(record_get(r, "status"), "dangling"));
	CHECK((r = gen(&rep, "system", "4", "")) && !strcmp(record_get(r, "status"), "ok") &&
	      !strcmp(record_get(r, "bootspec"), "1") && !strcmp(record_get(r, "current"), "1") &&
	      !strcmp(record_get(r, "params"), "loglevel=4 bootspec") &&
	      !strcmp(record_get(r, "label"), "NixOS 4"));
	CHECK((r = gen(&rep, "system", "4", "safe")) && !strcmp(record_get(r, "status"), "ok") &&
	      strstr(record_get(r, "toplevel"), "-safe"));
	/* A broken boot.json: reported, and the toplevel's files are used instead. */
	CHECK((r = gen(&rep, "system", "5", "")) && !strcmp(record_get(r, "bootspec"), "0") &&
	      !strcmp(record_get(r, "status"), "corrupt") && !strcmp(record_get(r, "reason"), "no kernel"));
	/* A generation link to /etc/passwd: looked up in the tree, where it does not exist. */
	CHECK((r = gen(&rep, "system", "6", "")) && !strcmp(record_get(r, "status"), "dangling") &&
	      startswith(record_get(r, "reason"), "points outside /nix/store"));
	CHECK((r = gen(&rep, "rescue", "1", "")) && !strcmp(record_get(r, "current"), "1") &&
	      !strcmp(record_get(r, "status"), "ok"));
	int problems = 0;
	for (int i = report_next(&rep, "problem", -1); i >= 0; i = report_next(&rep, "problem", i))
		problems++;
	CHECK_INT(problems, 2); /* the broken boot.json, the link to /etc/passwd */
	/* Newest first. */
	CHECK_STR(record_get(&rep.r[report_next(&rep, "generation", -1)], "number"), "6");
	report_free(&rep);

	/* The walk gives the very same report. */
	inroot_force_walk = 1;
	char *out2 = scan(root, &f, &rc);
	nixos_found_free(&f);
	inroot_force_walk = 0;
	CHECK_STR(out2, out);
	free(out2);
	free(out);

	/* A broken current generation is reported, with the reason. */
	tree_link("system-2-link", "nix/var/nix/profiles/system");
	out = scan(root, &f, &rc);
	CHECK(strstr(out, "problem path=/dev/vda2 what=generation msg=the%20current%20generation%202"));
	CHECK_STR(f.host, "host");
	nixos_found_free(&f);
	free(out);
	close(root);
	tree_free();
}

static void test_nixfs_view(void)
{
	/* A separate /nix filesystem: store/ and var/ at its top; read through a view whose nix/
	 * is that filesystem, absolute links land on it. */
	tree_new();
	toplevel("nixos-system-host-1", 1, 0);
	genlink("nix/var/nix/profiles", "system", 1, "nixos-system-host-1", 100);
	tree_link("system-1-link", "nix/var/nix/profiles/system");
	int root = tree_open();
	int nixfs = inroot_open(root, "/nix", O_RDONLY | O_DIRECTORY);
	CHECK_INT(nixos_present(nixfs), 0);
	CHECK_INT(nixos_nixfs_present(nixfs), 1);
	close(nixfs);
	close(root);
	tree_free();
}

static void bench_10000(void)
{
	tree_new();
	for (int i = 0; i < 10; i++) {
		char name[64];
		snprintf(name, sizeof(name), "nixos-system-big-%d", i);
		toplevel(name, i, 0);
	}
	for (int n = 1; n <= 10000; n++) {
		char name[64];
		snprintf(name, sizeof(name), "nixos-system-big-%d", n % 10);
		genlink("nix/var/nix/profiles", "system", n, name, n);
	}
	tree_link("system-10000-link", "nix/var/nix/profiles/system");
	int root = tree_open();
	long long t0 = now_ms();
	struct nixos_found f;
	int rc;
	char *out = scan(root, &f, &rc);
	long long ms = now_ms() - t0;
	CHECK_INT(f.generations, 10000);
	CHECK_INT(f.current, 10000);
	int unchecked = 0;
	for (char *p = out; (p = strstr(p, "status=unchecked")); p++)
		unchecked++;
	CHECK_INT(unchecked, 10000 - GEN_DETAIL_MAX);
	/* A figure, not an assertion: timing depends on the machine. */
	fprintf(stderr, "  bench: 10000 generation links listed in %lld ms (%d inspected in full)\n", ms,
		GEN_DETAIL_MAX);
	nixos_found_free(&f);
	free(out);
	close(root);
	tree_free();
}

static void tree_bytes(const char *rel, const char *data, size_t n)
{
	tree_parent(rel);
	FILE *f = fopen(tree_path(rel), "w");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
		perror(rel);
		exit(2);
	}
}

static int report_is_clean(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p >= 0x7f)
			return 0;
	return 1;
}

/* Strings from a hostile disk reach the report with their exact bytes (escaped on its lines),
 * or, where a C string cannot hold them (a NUL), cut with a problem saying where. */
static void test_hostile_strings(void)
{
	tree_new();
	const char *top = "nix/store/" HASH "-nixos-system-evil-1";
	toplevel("nixos-system-evil-1", 1, SPECIAL);
	/* the etc of generation 1: a host name with ESC, a newline inside and a NUL */
	static const char host[] = "ev\x1b[2J\xe9il\nx\0hidden\n";
	tree_bytes("nix/store/" HASH "-etc-1/etc/hostname", host, sizeof(host) - 1);
	char p[512];
	snprintf(p, sizeof(p), "%s/nixos-version", top);
	tree_file(p, "24.05\x1b]0;pwned\x07\xc3\xa9\xe9\n");
	/* a specialisation whose name carries an escape sequence */
	snprintf(p, sizeof(p), "%s/specialisation/\x1b[31mred", top);
	tree_link("/nix/store/" HASH "-nixos-system-evil-1-safe", p);
	genlink("nix/var/nix/profiles", "system", 1, "nixos-system-evil-1", 1000);
	tree_link("system-1-link", "nix/var/nix/profiles/system");
	int root = tree_open(), rc;
	struct nixos_found f;
	char *out = scan(root, &f, &rc);
	CHECK_INT(rc, 0);
	CHECK(report_is_clean(out));
	CHECK_STR(f.host, "ev\x1b[2J\xe9il\nx");
	struct report rep;
	report_parse(&rep, out);
	const struct record *g = gen(&rep, "system", "1", "");
	CHECK(g && !strcmp(record_get(g, "version"), "24.05\x1b]0;pwned\x07\xc3\xa9\xe9"));
	CHECK(gen(&rep, "system", "1", "\x1b[31mred") != NULL);
	int nul = 0;
	for (int i = report_next(&rep, "problem", -1); i >= 0; i = report_next(&rep, "problem", i))
		nul += !strcmp(record_get(&rep.r[i], "what"), "value") &&
		       strstr(record_get(&rep.r[i], "msg"), "etc/hostname holds a NUL byte at byte 11 of 19") != NULL;
	CHECK_INT(nul, 1);
	report_free(&rep);
	free(out);
	nixos_found_free(&f);

	/* A 10 KiB host name: kept cut to 255 bytes, and a problem says how long it was. */
	char *big = xmalloc(10241);
	memset(big, 'h', 10240);
	big[10240] = 0;
	tree_file("nix/store/" HASH "-etc-1/etc/hostname", big);
	out = scan(root, &f, &rc);
	CHECK_INT(strlen(f.host), 255);
	CHECK(strstr(out, "etc/hostname%20is%2010240%20bytes%20long") != NULL);
	CHECK(!strstr(out, "NUL"));
	free(out);
	nixos_found_free(&f);
	free(big);
	close(root);
	tree_free();
}

int main(void)
{
	test_hostile_strings();
	test_profiles();
	test_nixfs_view();
	bench_10000();
	return check_done("test_generations");
}
