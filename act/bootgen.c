#include "lib/layout.h"
#include "act/bootgen.h"
#include "report/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "act/kexec.h"
#include "lib/fstype.h"
#include "lib/inroot.h"
#include "lib/proc.h"
#include "lib/util.h"


static int fail(char *why, size_t size, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t size, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -err;
}

static int str_is(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int system_matches(const struct record *r, const char *want)
{
	if (str_is(record_get(r, "id"), want) || str_is(record_get(r, "host"), want))
		return 1;
	if (startswith(want, "UUID="))
		return str_is(record_get(r, "rootuuid"), want + 5);
	if (startswith(want, "LABEL="))
		return str_is(record_get(r, "rootlabel"), want + 6);
	return want[0] == '/' && (str_is(record_get(r, "root"), want) || str_is(record_get(r, "nix"), want));
}

int gen_find(const struct report *rep, const struct gen_select *sel, int *sys, int *gen,
	     char *why, size_t whysize)
{
	int found = -1, count = 0;
	char names[256] = "";
	for (int i = report_next(rep, "system", -1); i >= 0; i = report_next(rep, "system", i)) {
		const struct record *r = &rep->r[i];
		size_t l = strlen(names);
		snprintf(names + l, sizeof(names) - l, "%s%s (%s)", l ? ", " : "", record_get(r, "id") ?: "?",
			 record_get(r, "host") ?: "?");
		if (system_matches(r, sel->system)) {
			if (found < 0)
				found = i;
			count++;
		}
	}
	if (found < 0)
		return fail(why, whysize, ENOENT, "no NixOS system matches '%s'; found: %s.", sel->system,
			    names[0] ? names : "none");
	if (count > 1)
		return fail(why, whysize, EINVAL, "'%s' names %d systems (%s); give the id instead.",
			    sel->system, count, names);
	const char *id = record_get(&rep->r[found], "id");
	const char *profile = sel->profile ? sel->profile : "system";
	const char *spec = sel->specialisation ? sel->specialisation : "";
	long long number = -1;
	if (sel->generation) {
		char *end;
		number = strtoll(sel->generation, &end, 10);
		if (*end || number < 0)
			return fail(why, whysize, EINVAL, "'%s' is not a generation number.", sel->generation);
	}
	/* Without a number, the profile's current generation. */
	int best = -1, any_number = 0, any_spec = 0;
	for (int i = report_next(rep, "generation", -1); i >= 0; i = report_next(rep, "generation", i)) {
		const struct record *r = &rep->r[i];
		const char *rp = record_get(r, "profile");
		if (!str_is(record_get(r, "system"), id) || !str_is(rp && *rp ? rp : "system", profile))
			continue;
		long long n = record_int(r, "number", -2);
		if (number >= 0 ? n != number : record_int(r, "current", 0) != 1)
			continue;
		any_number = 1;
		const char *rs = record_get(r, "specialisation");
		if (!str_is(rs ? rs : "", spec)) {
			any_spec = 1;
			continue;
		}
		best = i;
		break;
	}
	if (best < 0) {
		if (!any_number && number >= 0)
			return fail(why, whysize, ENOENT, "system %s has no generation %lld in profile %s.",
				    id, number, profile);
		if (!any_number)
			return fail(why, whysize, ENOENT, "system %s has no current generation in profile %s.",
				    id, profile);
		return fail(why, whysize, ENOENT, "that generation of system %s has no specialisation '%s'%s.",
			    id, spec, any_spec ? "" : " (it has none)");
	}
	const char *status = record_get(&rep->r[best], "status");
	if (status && *status && strcmp(status, "ok")) {
		const char *reason = record_get(&rep->r[best], "reason");
		return fail(why, whysize, EINVAL, "generation %lld of system %s cannot be booted: it is %s (%s).",
			    record_int(&rep->r[best], "number", -1), id, status, reason && *reason ? reason : "no reason given");
	}
	*sys = found;
	*gen = best;
	return 0;
}

int boot_entry_parse(const char *text, struct boot_entry *e)
{
	memset(e, 0, sizeof(*e));
	char *copy = xstrdup(text);
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		char *val = line + strcspn(line, " \t");
		if (*val)
			*val++ = 0;
		while (*val == ' ' || *val == '\t')
			val++;
		rstrip(val);
		if (!strcmp(line, "linux") && !e->linux)
			e->linux = xstrdup(val);
		else if (!strcmp(line, "initrd") && e->n_initrd < (int)ARRAY_SIZE(e->initrd))
			e->initrd[e->n_initrd++] = xstrdup(val);
		else if (!strcmp(line, "options")) {
			/* systemd-boot joins repeated options lines with a space. */
			char *o = e->options ? xasprintf("%s %s", e->options, val) : xstrdup(val);
			free(e->options);
			e->options = o;
		}
	}
	free(copy);
	return e->linux ? 0 : -ENOENT;
}

void boot_entry_free(struct boot_entry *e)
{
	free(e->linux);
	for (int i = 0; i < e->n_initrd; i++)
		free(e->initrd[i]);
	free(e->options);
	memset(e, 0, sizeof(*e));
}

char *boot_entry_name(const char *profile, long long number, const char *specialisation)
{
	int named = profile && *profile && strcmp(profile, "system");
	int spec = specialisation && *specialisation;
	return xasprintf("loader/entries/nixos%s%s-generation-%lld%s%s.conf", named ? "-" : "",
			 named ? profile : "", number, spec ? "-specialisation-" : "", spec ? specialisation : "");
}

static int open_regular_in_root(int rootfd, const char *path, off_t *size)
{
	int fd = inroot_open(rootfd, path, O_RDONLY | O_NOCTTY);
	if (fd < 0)
		return fd;
	struct stat st;
	int e = fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? 0 : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (e) {
		close(fd);
		return -e;
	}
	*size = st.st_size;
	return fd;
}

static char *make_dir(const char *what)
{
	mkdir_p(RUN_DIR, 0755);
	char *d = xasprintf(RUN_DIR "/boot-%s.XXXXXX", what);
	if (!mkdtemp(d)) {
		free(d);
		return NULL;
	}
	return d;
}

int scan_report_saved(void)
{
	return getenv("LIFEBOAT_SCAN_REPORT") || access(REPORT_SAVED, R_OK) == 0;
}

static int load_report(struct boot_plan *p, struct report *rep, char *why, size_t whysize)
{
	char *text = NULL;
	int r = getreport_saved(&text);
	if (r < 0 && r != -ETIMEDOUT) {
		free(text);
		return fail(why, whysize, -r, "cannot get the scan report (%s).", strerror(-r));
	}
	report_parse(rep, text);
	free(text);
	if (report_next(rep, "done", -1) < 0)
		plan_note(p, "the scan report was cut short (a device timed out?); this generation was found all the same");
	return 0;
}

static const char *device_type(const struct report *rep, const char *dev)
{
	for (int i = report_next(rep, "device", -1); i >= 0; i = report_next(rep, "device", i))
		if (str_is(record_get(&rep->r[i], "path"), dev)) {
			const char *t = record_get(&rep->r[i], "type");
			return t && *t ? t : NULL;
		}
	return NULL;
}

/* Concatenate several initrds into one memfd: kexec_file_load takes a single initrd, and the
 * kernel unpacks concatenated archives in order, as a boot loader's list would be. */
static int concat_initrds(int rootfd, char *const *paths, int n, off_t *size)
{
	int mfd = (int)syscall(SYS_memfd_create, "initrd", MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	*size = 0;
	for (int i = 0; i < n; i++) {
		off_t sz;
		int fd = open_regular_in_root(rootfd, paths[i], &sz);
		if (fd < 0) {
			close(mfd);
			return fd;
		}
		char buf[65536];
		ssize_t r;
		int e = 0;
		while (!e && ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))) {
			int w = r > 0 ? write_all(mfd, buf, (size_t)r) : 0;
			e = w < 0 ? -w : 0;
		}
		if (!e && r < 0)
			e = errno;
		close(fd);
		if (e) {
			close(mfd);
			return -e;
		}
		*size += sz;
		/* Archives start on 4-byte boundaries. */
		static const char zero[4];
		if (*size % 4 && i + 1 < n) {
			write_all(mfd, zero, (size_t)(4 - *size % 4));
			*size += 4 - *size % 4;
		}
	}
	lseek(mfd, 0, SEEK_SET);
	return mfd;
}

static int plan_from_esp(struct boot_plan *p, const struct report *rep, const struct record *sys,
			 const struct record *gen, const char *profile, char *why, size_t whysize)
{
	const char *esp = record_get(sys, "esp");
	long long number = record_int(gen, "number", -1);
	if (!esp || !*esp)
		return fail(why, whysize, ENOENT,
			    "generation %lld uses initrd secrets, which its store initrd lacks, and no ESP "
			    "was found for this system to take the boot loader's copy from. Boot it with "
			    "--kernel/--initrd naming an initrd that holds the secrets.", number);
	char *dir = make_dir("esp");
	if (!dir)
		return fail(why, whysize, errno, "cannot make a mount point: %s.", strerror(errno));
	plan_mounted(p, dir);
	/* Read-only, and without replaying a journal: booting must not write to the disk. */
	int r = fstype_mount_ro(esp, device_type(rep, esp) ?: "vfat", NULL, dir, 0);
	if (r < 0)
		return fail(why, whysize, -r, "cannot mount the ESP %s read-only: %s.", esp, strerror(-r));
	int efd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (efd < 0)
		return fail(why, whysize, errno, "cannot open the ESP: %s.", strerror(errno));
	char *name = boot_entry_name(profile, number, record_get(gen, "specialisation"));
	char *text = NULL;
	struct boot_entry e = {0};
	int fd = inroot_open(efd, name, O_RDONLY | O_NOCTTY);
	r = fd < 0 ? fd : (int)read_fd(fd, 65536, &text);
	if (fd >= 0)
		close(fd);
	if (r >= 0)
		r = boot_entry_parse(text, &e);
	free(text);
	if (r < 0) {
		close(efd);
		fail(why, whysize, -r,
		     "generation %lld uses initrd secrets, which its store initrd lacks, and the ESP %s "
		     "has no usable systemd-boot entry %s (%s). Boot it with --kernel/--initrd naming "
		     "an initrd that holds the secrets.", number, esp, name, strerror(-r));
		free(name);
		boot_entry_free(&e);
		return r;
	}
	r = open_regular_in_root(efd, e.linux, &p->kernel_size);
	if (r >= 0) {
		p->kernel_fd = r;
		r = e.n_initrd == 1 ? open_regular_in_root(efd, e.initrd[0], &p->initrd_size)
		    : e.n_initrd > 1 ? concat_initrds(efd, e.initrd, e.n_initrd, &p->initrd_size) : -ENOENT;
		if (r >= 0)
			p->initrd_fd = r;
	}
	close(efd);
	if (r < 0) {
		fail(why, whysize, -r, "cannot open the files named by %s on the ESP %s: %s.", name, esp,
		     strerror(-r));
	} else {
		p->kernel_path = xasprintf("%s:%s", esp, e.linux);
		p->initrd_path = e.n_initrd > 1 ? xasprintf("%s:%s (+%d more)", esp, e.initrd[0], e.n_initrd - 1)
					       : xasprintf("%s:%s", esp, e.initrd[0]);
		p->cmdline = xstrdup(e.options ? e.options : "");
		plan_note(p, "this generation uses initrd secrets: kernel, initrd and options come from the "
			     "boot loader's copy on the ESP (%s:/%s)", esp, name);
		r = 0;
	}
	free(name);
	boot_entry_free(&e);
	return r;
}

int plan_generation(struct boot_plan *p, const struct gen_select *sel, char *why, size_t whysize)
{
	struct report rep = {0};
	int r = load_report(p, &rep, why, whysize);
	if (r < 0)
		return r;
	int si, gi;
	r = gen_find(&rep, sel, &si, &gi, why, whysize);
	if (r < 0)
		goto out;
	const struct record *sys = &rep.r[si], *gen = &rep.r[gi];
	const char *host = record_get(sys, "host"), *ver = record_get(gen, "version");
	const char *spec = record_get(gen, "specialisation"), *label = record_get(gen, "label");
	const char *profile = sel->profile ? sel->profile : "system";
	long long number = record_int(gen, "number", -1);
	int named = strcmp(profile, "system") != 0;
	p->name = xasprintf("NixOS %s, generation %lld%s%s%s%s of %s (system %s)",
			    ver && *ver ? ver : label && *label ? label : "(unknown version)", number,
			    spec && *spec ? ", specialisation " : "", spec && *spec ? spec : "",
			    named ? ", profile " : "", named ? profile : "", host && *host ? host : "?",
			    record_get(sys, "id"));

	/* Our mounts must vanish with us and never show up in the rescue system's tree. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		r = fail(why, whysize, errno, "cannot make a private mount namespace: %s.", strerror(errno));
		goto out;
	}
	if (record_int(gen, "secrets", 0) == 1) {
		r = plan_from_esp(p, &rep, sys, gen, profile, why, whysize);
		goto out;
	}
	const char *dev = record_get(sys, "nix"), *prefix = record_get(sys, "nixprefix");
	if (!dev || !*dev) {
		r = fail(why, whysize, ENOENT, "the scan report does not say which device holds /nix of system %s.",
			 record_get(sys, "id"));
		goto out;
	}
	char *root = make_dir("nix");
	if (!root) {
		r = fail(why, whysize, errno, "cannot make a mount point: %s.", strerror(errno));
		goto out;
	}
	plan_mounted(p, root);
	char *at = root;
	/* A file system that is /nix itself goes under a tmpfs, so /nix/store paths resolve. */
	if (str_is(prefix, "/")) {
		if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0) {
			r = fail(why, whysize, errno, "cannot mount a tmpfs: %s.", strerror(errno));
			goto out;
		}
		at = xasprintf("%s/nix", root);
		mkdir(at, 0755);
		plan_mounted(p, at);
	}
	r = fstype_mount_ro(dev, device_type(&rep, dev), record_get(sys, "nixsubvol"), at, 0);
	if (r < 0) {
		r = fail(why, whysize, -r, "cannot mount %s (holding /nix) read-only: %s.", dev, strerror(-r));
		goto out;
	}
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		r = fail(why, whysize, errno, "cannot open %s: %s.", root, strerror(errno));
		goto out;
	}
	const char *top = record_get(gen, "toplevel"), *k = record_get(gen, "kernel");
	const char *i = record_get(gen, "initrd"), *init = record_get(gen, "init");
	p->kernel_path = k && *k ? xstrdup(k) : xasprintf("%s/kernel", top);
	p->initrd_path = i && *i ? xstrdup(i) : xasprintf("%s/initrd", top);
	r = open_regular_in_root(rootfd, p->kernel_path, &p->kernel_size);
	if (r >= 0) {
		p->kernel_fd = r;
		r = open_regular_in_root(rootfd, p->initrd_path, &p->initrd_size);
		if (r >= 0)
			p->initrd_fd = r;
	}
	close(rootfd);
	if (r < 0) {
		r = fail(why, whysize, -r, "cannot open %s of generation %lld on %s: %s.",
			 p->kernel_fd < 0 ? p->kernel_path : p->initrd_path, number, dev, strerror(-r));
		goto out;
	}
	char *ti = init && *init ? NULL : xasprintf("%s/init", top);
	p->cmdline = kexec_cmdline_nixos(ti ? ti : init, record_get(gen, "params"));
	free(ti);
	r = 0;
out:
	report_free(&rep);
	return r;
}
