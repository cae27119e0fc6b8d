/* kexec decisions: errno classification, lockdown, memory math, command lines, the NixOS
 * installer's run script, bzImage truncation, systemd-boot entries, generation choice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act/kexec_generation.h"
#include "act/kexec.h"
#include "check.h"

static void test_classify(void)
{
	CHECK_INT(kexec_classify(-ENOSYS, LOCKDOWN_NONE), KEXEC_FALLBACK);
	CHECK_INT(kexec_classify(-ENOEXEC, LOCKDOWN_NONE), KEXEC_FALLBACK);
	CHECK_INT(kexec_classify(-EINVAL, LOCKDOWN_UNKNOWN), KEXEC_FALLBACK);
	CHECK_INT(kexec_classify(-EKEYREJECTED, LOCKDOWN_NONE), KEXEC_REFUSED_SIGNATURE);
	CHECK_INT(kexec_classify(-ENOKEY, LOCKDOWN_INTEGRITY), KEXEC_REFUSED_SIGNATURE);
	CHECK_INT(kexec_classify(-EBADMSG, LOCKDOWN_NONE), KEXEC_REFUSED_SIGNATURE);
	CHECK_INT(kexec_classify(-EPERM, LOCKDOWN_INTEGRITY), KEXEC_REFUSED_LOCKDOWN);
	CHECK_INT(kexec_classify(-EPERM, LOCKDOWN_CONFIDENTIALITY), KEXEC_REFUSED_LOCKDOWN);
	/* EPERM without lockdown: kexec is disabled for both syscalls; no fallback either. */
	CHECK_INT(kexec_classify(-EPERM, LOCKDOWN_NONE), KEXEC_REFUSED);
	CHECK_INT(kexec_classify(-EPERM, LOCKDOWN_UNKNOWN), KEXEC_REFUSED);
	CHECK_INT(kexec_classify(-ENOMEM, LOCKDOWN_NONE), KEXEC_FAILED);
	CHECK_INT(kexec_classify(-EBUSY, LOCKDOWN_NONE), KEXEC_FAILED);
}

static void test_lockdown(void)
{
	CHECK_INT(lockdown_parse("[none] integrity confidentiality\n"), LOCKDOWN_NONE);
	CHECK_INT(lockdown_parse("none [integrity] confidentiality\n"), LOCKDOWN_INTEGRITY);
	CHECK_INT(lockdown_parse("none integrity [confidentiality]\n"), LOCKDOWN_CONFIDENTIALITY);
	CHECK_INT(lockdown_parse("none integrity confidentiality\n"), LOCKDOWN_UNKNOWN);
	CHECK_INT(lockdown_parse("[bogus] none"), LOCKDOWN_UNKNOWN);
	CHECK_INT(lockdown_parse("[none"), LOCKDOWN_UNKNOWN);
}

static void test_memory(void)
{
	CHECK_INT(meminfo_available("MemTotal:  1000 kB\nMemFree:  10 kB\nMemAvailable:   524288 kB\n"),
		  524288LL * 1024);
	CHECK_INT(meminfo_available("MemTotal:  1000 kB\n"), -ENOENT);
	CHECK_INT(meminfo_available("MemAvailable: x kB\n"), -ENOENT);
	CHECK_INT(meminfo_available(""), -ENOENT);
	/* 10 MiB kernel + 90 MiB initrd: held twice, plus the margin. */
	unsigned long long need = kexec_mem_need(10ULL << 20, 90ULL << 20);
	CHECK_INT(need, (200ULL << 20) + KEXEC_MEM_MARGIN);
	CHECK_INT(kexec_mem_missing(1ULL << 30, need), 0);
	CHECK_INT(kexec_mem_missing(need, need), 0);
	CHECK_INT(kexec_mem_missing(100ULL << 20, need), need - (100ULL << 20));
}

static void test_cmdline(void)
{
	char *s = kexec_cmdline_nixos("/nix/store/abc-nixos-system-h-24.05/init", "loglevel=4 quiet\n");
	CHECK_STR(s, "init=/nix/store/abc-nixos-system-h-24.05/init loglevel=4 quiet");
	free(s);
	s = kexec_cmdline_nixos("/x/init", "");
	CHECK_STR(s, "init=/x/init");
	free(s);
	s = kexec_cmdline_nixos("/x/init", NULL);
	CHECK_STR(s, "init=/x/init");
	free(s);

	int added;
	s = kexec_cmdline_consoles("init=/x/init quiet", "BOOT_IMAGE=x console=tty0 console=ttyS0,115200 panic=1", &added);
	CHECK_STR(s, "init=/x/init quiet console=tty0 console=ttyS0,115200");
	CHECK_INT(added, 1);
	free(s);
	/* The target has its own console: left alone. */
	s = kexec_cmdline_consoles("init=/x/init console=ttyS1", "console=ttyS0", &added);
	CHECK_STR(s, "init=/x/init console=ttyS1");
	CHECK_INT(added, 0);
	free(s);
	s = kexec_cmdline_consoles("", "console=ttyS0", &added);
	CHECK_STR(s, "console=ttyS0");
	free(s);
	s = kexec_cmdline_consoles("quiet", "panic=1", &added);
	CHECK_STR(s, "quiet");
	CHECK_INT(added, 0);
	free(s);
	/* Before a "--" (init's arguments follow), after closing a quote left open (found by
	 * fuzz_cmdline: the console went into the open value). */
	s = kexec_cmdline_consoles("init=/x/init quiet  -- single", "console=ttyS0", &added);
	CHECK_STR(s, "init=/x/init quiet console=ttyS0 -- single");
	free(s);
	s = kexec_cmdline_consoles("init=/x/init a=\"open", "console=ttyS0", &added);
	CHECK_STR(s, "init=/x/init a=\"open\" console=ttyS0");
	free(s);
	s = kexec_cmdline_consoles("\"--\" x", "console=ttyS0", &added);
	CHECK_STR(s, "console=ttyS0 \"--\" x");
	free(s);
	/* The space inside an open quote is its value's: trimming it made `"-- ` a "--", and the
	 * console went to init (fuzz_cmdline). */
	s = kexec_cmdline_consoles("x \"-- ", "console=ttyS0", &added);
	CHECK_STR(s, "x \"-- \" console=ttyS0");
	free(s);
}

static void test_run_script(void)
{
	char *s = NULL;
	/* nixos-images today: variables filled in by nix, used in an sh -c string. */
	const char *now =
		"#!/bin/sh\nset -eux\n# provided by nix\ninit=\"/nix/store/aaa-nixos-system-nixos-kexec/init\"\n"
		"kernelParams=\"console=tty0 loglevel=4 panic=30\"\n"
		"if ! sh -c \"'$SCRIPT_DIR/kexec' --load '$SCRIPT_DIR/bzImage' \\\n"
		"  $kexecSyscallFlags \\\n  --initrd='$SCRIPT_DIR/initrd' --no-checks \\\n"
		"  --command-line 'init=$init $kernelParams'\"\nthen\n";
	CHECK_INT(kexec_run_script_cmdline(now, &s), 0);
	CHECK_STR(s, "init=/nix/store/aaa-nixos-system-nixos-kexec/init console=tty0 loglevel=4 panic=30");
	free(s);
	/* Older scripts: the command line written out in full. */
	const char *old = "./kexec --load ./bzImage \\\n  --initrd=./initrd \\\n"
			  "  --command-line \"init=/nix/store/bbb/init loglevel=4\"\n./kexec -e\n";
	CHECK_INT(kexec_run_script_cmdline(old, &s), 0);
	CHECK_STR(s, "init=/nix/store/bbb/init loglevel=4");
	free(s);
	const char *eq = "kexec -l bzImage --command-line=init=/nix/store/ccc/init\n";
	CHECK_INT(kexec_run_script_cmdline(eq, &s), 0);
	CHECK_STR(s, "init=/nix/store/ccc/init");
	free(s);
	/* Only the variables: built the way the script would. */
	CHECK_INT(kexec_run_script_cmdline("init='/nix/store/ddd/init'\nkernelParams='a=1'\n", &s), 0);
	CHECK_STR(s, "init=/nix/store/ddd/init a=1");
	free(s);
	/* An unfilled template and an unknown expansion are refused, not passed on. */
	CHECK_INT(kexec_run_script_cmdline("init=\"@init@\"\nkernelParams=\"@kernelParams@\"\n", &s), -EINVAL);
	CHECK_INT(kexec_run_script_cmdline("--command-line \"init=$other\"\n", &s), -EINVAL);
	CHECK_INT(kexec_run_script_cmdline("#!/bin/sh\necho hello\n", &s), -ENOENT);
}

static void test_bzimage(void)
{
	unsigned char hdr[1024] = {0};
	unsigned long long need = 0;
	CHECK_INT(kexec_check_bzimage(hdr, sizeof(hdr), 1 << 20, &need), 1);
	memcpy(hdr + 0x202, "HdrS", 4);
	hdr[0x1f1] = 27;                   /* setup sectors */
	hdr[0x1f4] = 0x00, hdr[0x1f5] = 0x10; /* 0x1000 paragraphs = 64 KiB */
	CHECK_INT(kexec_check_bzimage(hdr, sizeof(hdr), 28 * 512 + 65536, &need), 0);
	CHECK_INT(need, 28 * 512 + 65536);
	CHECK_INT(kexec_check_bzimage(hdr, sizeof(hdr), 28 * 512 + 65536 + 1500, &need), 0); /* signed */
	CHECK_INT(kexec_check_bzimage(hdr, sizeof(hdr), 65536, &need), -EINVAL);
	hdr[0x1f1] = 0; /* 0 means 4 */
	CHECK_INT(kexec_check_bzimage(hdr, sizeof(hdr), 5 * 512 + 65536, &need), 0);
	CHECK_INT(need, 5 * 512 + 65536);
	CHECK_INT(kexec_check_bzimage(hdr, 0x100, 1 << 20, &need), 1);
}

static void test_boot_entry(void)
{
	struct boot_entry e;
	const char *text = "title NixOS\nversion Generation 7 NixOS 24.05\n"
			   "linux /EFI/nixos/aaa-linux-6.6-bzImage.efi\n"
			   "initrd /EFI/nixos/bbb-initrd-linux-6.6-initrd.efi\n"
			   "initrd /EFI/nixos/ccc-secrets.efi\n"
			   "options init=/nix/store/ddd/init loglevel=4\n"
			   "machine-id 1234\n";
	CHECK_INT(boot_entry_parse(text, &e), 0);
	CHECK_STR(e.linux, "/EFI/nixos/aaa-linux-6.6-bzImage.efi");
	CHECK_INT(e.n_initrd, 2);
	CHECK_STR(e.initrd[1], "/EFI/nixos/ccc-secrets.efi");
	CHECK_STR(e.options, "init=/nix/store/ddd/init loglevel=4");
	boot_entry_free(&e);
	CHECK_INT(boot_entry_parse("title x\n", &e), -ENOENT);
	boot_entry_free(&e);

	char *n = boot_entry_name("system", 7, "");
	CHECK_STR(n, "loader/entries/nixos-generation-7.conf");
	free(n);
	n = boot_entry_name("work", 3, "gpu");
	CHECK_STR(n, "loader/entries/nixos-work-generation-3-specialisation-gpu.conf");
	free(n);
	n = boot_entry_name(NULL, 12, NULL);
	CHECK_STR(n, "loader/entries/nixos-generation-12.conf");
	free(n);
}

static const char REPORT[] =
	"device path=/dev/vda1 disk=/dev/vda type=ext4 uuid=u1 label=nixos partuuid=- partlabel=- size=1\n"
	"system id=1 host=alpha version=24.05 layout=inroot root=/dev/vda1 rootuuid=u1 rootlabel=nixos "
	"roottype=ext4 nix=/dev/vda1 nixprefix=/nix current=2 generations=2\n"
	"generation system=1 profile=system number=1 current=0 toplevel=/nix/store/t1 init=/nix/store/t1/init "
	"params=quiet specialisation=- status=ok\n"
	"generation system=1 profile=system number=2 current=1 toplevel=/nix/store/t2 init=/nix/store/t2/init "
	"params=- specialisation=- status=ok\n"
	"generation system=1 profile=system number=2 current=1 toplevel=/nix/store/t2s init=/nix/store/t2s/init "
	"params=- specialisation=gpu status=ok\n"
	"system id=2 host=beta version=23.11 layout=split root=/dev/vdb1 rootuuid=u2 rootlabel=- nix=/dev/vdb2 "
	"nixprefix=/ current=5 generations=1\n"
	"generation system=2 profile=system number=5 current=1 toplevel=/nix/store/t5 specialisation=- "
	"status=corrupt reason=no%20kernel\n"
	"done devices=1 systems=2 problems=0 ms=5\n";

static void test_gen_find(void)
{
	struct found f;
	CHECK(found_load(&f, REPORT) == 2);
	char why[1024];
	const struct found_sys *s;
	const struct found_gen *g;
	struct gen_select sel = {.system = "alpha"};
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), 0);
	CHECK_STR(g->toplevel, "/nix/store/t2");
	sel.generation = "1";
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), 0);
	CHECK_STR(record_get(g->rec, "params"), "quiet");
	sel.generation = NULL;
	sel.specialisation = "gpu";
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), 0);
	CHECK_STR(g->toplevel, "/nix/store/t2s");
	sel.specialisation = "nope";
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "no specialisation 'nope' (it has: gpu)") != NULL);
	sel = (struct gen_select){.system = "UUID=u1", .generation = "9"};
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "no generation 9") != NULL);
	sel = (struct gen_select){.system = "LABEL=nixos"};
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), 0);
	/* The selector of enter and lifeboat.system=: UUIDs in any case (they were compared
	 * case-sensitively here), the /nix device. */
	sel = (struct gen_select){.system = "UUID=U1"};
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), 0);
	CHECK_INT(s->id, 1);
	sel = (struct gen_select){.system = "/dev/vdb2"};
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "corrupt (no kernel)") != NULL);
	sel = (struct gen_select){.system = "gamma"};
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "--system gamma matches no system found") != NULL);
	CHECK(strstr(why, "found: 1 (alpha) on /dev/vda1, 2 (beta) on /dev/vdb1") != NULL);
	sel = (struct gen_select){.system = "1", .generation = "x"};
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "'x' is neither a generation number nor a specialisation") != NULL);
	sel = (struct gen_select){.system = "1", .generation = "x", .specialisation = "gpu"};
	CHECK_INT(gen_find(&f, &sel, &s, &g, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "'x' is not a generation number") != NULL);
	found_free(&f);
}

/* kexec_load_fds returns -errno, its result holds -errno too, and kexec_explain reads it so:
 * the module mixed positive errnos with the rest of the program's negative ones. The seam
 * stands for a kernel without kexec_file_load; /bin/true and /bin/false for kexec-tools. */
static void test_load_errno(void)
{
	char path[] = "/tmp/lifeboat-test-kexec-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	setenv("LIFEBOAT_KEXEC_FAULT", "enosys", 1);
	struct kexec_load_result res;
	char why[1024];
	CHECK_INT(kexec_load_under(LOCKDOWN_NONE, fd, -1, "quiet", NULL, &res), -ENOSYS);
	CHECK_INT(res.file_err, -ENOSYS);
	CHECK_INT(res.verdict, KEXEC_FALLBACK);
	kexec_explain(&res, -ENOSYS, why, sizeof(why));
	CHECK(strstr(why, "no kexec-tools fallback") != NULL);
	CHECK(strstr(why, strerror(ENOSYS)) != NULL);
	CHECK_INT(kexec_load_under(LOCKDOWN_NONE, fd, -1, "quiet", "/bin/false", &res), -ENOSYS);
	CHECK(res.tools_status != 0 && !res.used_tools);
	kexec_explain(&res, -ENOSYS, why, sizeof(why));
	CHECK(strstr(why, "kexec-tools failed too") != NULL);
	CHECK_INT(kexec_load_under(LOCKDOWN_NONE, fd, fd, "quiet", "/bin/true", &res), 0);
	CHECK_INT(res.used_tools, 1);
	/* Locked down, kexec_load is forbidden: the tools are not tried. */
	CHECK_INT(kexec_load_under(LOCKDOWN_INTEGRITY, fd, -1, "quiet", "/bin/true", &res), -ENOSYS);
	CHECK_INT(res.verdict, KEXEC_REFUSED_LOCKDOWN);
	CHECK_INT(res.used_tools, 0);
	unsetenv("LIFEBOAT_KEXEC_FAULT");
	struct kexec_load_result none = {0};
	kexec_explain(&none, -ENOMEM, why, sizeof(why));
	CHECK(strstr(why, "could not find memory") != NULL);
	kexec_explain(&none, -EBUSY, why, sizeof(why));
	CHECK(strstr(why, "Another kexec load is in progress") != NULL);
	/* A positive errno is not one of ours: not taken for "unsupported, fall back". */
	CHECK_INT(kexec_classify(ENOSYS, LOCKDOWN_NONE), KEXEC_FAILED);
	close(fd);
}

int main(void)
{
	test_classify();
	test_lockdown();
	test_memory();
	test_cmdline();
	test_run_script();
	test_bzimage();
	test_boot_entry();
	test_gen_find();
	test_load_errno();
	return check_done("test_kexec");
}
