#include "lib/layout.h"
#include "act/kexec_generation.h"
#include "report/select.h"
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
#include "lib/escape.h"
#include "lib/fstype.h"
#include "lib/inroot.h"
#include "lib/job.h"
#include "lib/util.h"


static int explain(char *why, size_t size, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int explain(char *why, size_t size, int err, const char *fmt, ...)
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

int gen_find(const struct found *f, const struct gen_select *sel, const struct found_sys **sys,
	     const struct found_gen **gen, char *why, size_t whysize)
{
	char w[700], es[64], er[200];
	int i = select_system_as(f, sel->system, sel->expect, w, sizeof(w));
	if (i < 0)
		return explain(why, whysize, -i, "--system %s %s.", term_escape(sel->system, es, sizeof(es), 60), w);
	const struct found_sys *s = &f->sys[i];
	const struct found_gen *g = select_generation(s, sel->profile, sel->generation, sel->specialisation,
						      w, sizeof(w));
	if (!g)
		return explain(why, whysize, ENOENT, "%s.", w);
	if (*g->status && strcmp(g->status, "ok"))
		return explain(why, whysize, EINVAL, "generation %d of system %d cannot be booted: it is %s (%s).",
			    g->number, s->id, term_escape(g->status, es, sizeof(es), 20),
			    *g->reason ? term_escape(g->reason, er, sizeof(er), 160) : "no reason given");
	*sys = s;
	*gen = g;
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

static int load_report(struct boot_plan *p, struct found *f, char *why, size_t whysize)
{
	char *text = NULL;
	int r = report_saved(&text);
	if (r < 0 && r != -ETIMEDOUT) {
		free(text);
		return explain(why, whysize, -r, "cannot get the scan report (%s).", strerror(-r));
	}
	found_load(f, text ? text : "");
	free(text);
	if (!f->complete)
		bootplan_note(p, "the scan report was cut short (a device timed out?); this generation was found all the same");
	return 0;
}

static const char *device_type(const struct found *f, const char *dev)
{
	const struct record *d = found_device(f, dev);
	const char *t = d ? record_get(d, "type") : NULL;
	return t && *t ? t : NULL;
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

static int bootplan_from_esp(struct boot_plan *p, const struct found *f, const struct record *sys,
			 const struct record *gen, const char *profile, char *why, size_t whysize)
{
	const char *esp = record_get(sys, "esp");
	long long number = record_int(gen, "number", -1);
	if (!esp || !*esp)
		return explain(why, whysize, ENOENT,
			    "generation %lld uses initrd secrets, which its store initrd lacks, and no ESP "
			    "was found for this system to take the boot loader's copy from. Boot it with "
			    "--kernel/--initrd naming an initrd that holds the secrets.", number);
	char *dir = make_dir("esp");
	if (!dir)
		return explain(why, whysize, errno, "cannot make a mount point: %s.", strerror(errno));
	bootplan_mounted(p, dir);
	/* Read-only, and without replaying a journal: booting must not write to the disk. */
	int r = fstype_mount_ro(esp, device_type(f, esp) ?: "vfat", NULL, dir, 0);
	if (r < 0)
		return explain(why, whysize, -r, "cannot mount the ESP %s read-only: %s.", esp, strerror(-r));
	int efd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (efd < 0)
		return explain(why, whysize, errno, "cannot open the ESP: %s.", strerror(errno));
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
		explain(why, whysize, -r,
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
		explain(why, whysize, -r, "cannot open the files named by %s on the ESP %s: %s.", name, esp,
		     strerror(-r));
	} else {
		p->kernel_path = xasprintf("%s:%s", esp, e.linux);
		p->initrd_path = e.n_initrd > 1 ? xasprintf("%s:%s (+%d more)", esp, e.initrd[0], e.n_initrd - 1)
					       : xasprintf("%s:%s", esp, e.initrd[0]);
		p->cmdline = xstrdup(e.options ? e.options : "");
		bootplan_note(p, "this generation uses initrd secrets: kernel, initrd and options come from the "
			     "boot loader's copy on the ESP (%s:/%s)", esp, name);
		r = 0;
	}
	free(name);
	boot_entry_free(&e);
	return r;
}

int bootplan_generation(struct boot_plan *p, const struct gen_select *sel, char *why, size_t whysize)
{
	struct found f;
	int r = load_report(p, &f, why, whysize);
	if (r < 0)
		return r;
	const struct found_sys *fs;
	const struct found_gen *fg;
	r = gen_find(&f, sel, &fs, &fg, why, whysize);
	if (r < 0)
		goto out;
	const struct record *sys = fs->rec, *gen = fg->rec;
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
		r = explain(why, whysize, errno, "cannot make a private mount namespace: %s.", strerror(errno));
		goto out;
	}
	if (record_int(gen, "secrets", 0) == 1) {
		r = bootplan_from_esp(p, &f, sys, gen, profile, why, whysize);
		goto out;
	}
	const char *dev = record_get(sys, "nix"), *prefix = record_get(sys, "nixprefix");
	if (!dev || !*dev) {
		r = explain(why, whysize, ENOENT, "the scan report does not say which device holds /nix of system %s.",
			 record_get(sys, "id"));
		goto out;
	}
	char *root = make_dir("nix");
	if (!root) {
		r = explain(why, whysize, errno, "cannot make a mount point: %s.", strerror(errno));
		goto out;
	}
	bootplan_mounted(p, root);
	char *at = root;
	/* A file system that is /nix itself goes under a tmpfs, so /nix/store paths resolve. */
	if (str_is(prefix, "/")) {
		if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0) {
			r = explain(why, whysize, errno, "cannot mount a tmpfs: %s.", strerror(errno));
			goto out;
		}
		at = xasprintf("%s/nix", root);
		mkdir(at, 0755);
		bootplan_mounted(p, at);
	}
	r = fstype_mount_ro(dev, device_type(&f, dev), record_get(sys, "nixsubvol"), at, 0);
	if (r < 0) {
		r = explain(why, whysize, -r, "cannot mount %s (holding /nix) read-only: %s.", dev, strerror(-r));
		goto out;
	}
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		r = explain(why, whysize, errno, "cannot open %s: %s.", root, strerror(errno));
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
		r = explain(why, whysize, -r, "cannot open %s of generation %lld on %s: %s.",
			 p->kernel_fd < 0 ? p->kernel_path : p->initrd_path, number, dev, strerror(-r));
		goto out;
	}
	char *ti = init && *init ? NULL : xasprintf("%s/init", top);
	p->cmdline = kexec_cmdline_nixos(ti ? ti : init, record_get(gen, "params"));
	free(ti);
	r = 0;
out:
	found_free(&f);
	return r;
}
