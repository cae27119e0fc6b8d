#include "discover/cryptnames.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fstype.h"
#include "lib/inroot.h"
#include "lib/job.h"
#include "lib/layout.h"
#include "lib/log.h"
#include "lib/util.h"
#include "report/record.h"

/* What one initrd may cost: a real NixOS initrd unpacks to 20-150 MiB; an initrd bomb stops
 * here. The two files extracted land in a tmpfs of TMPFS_SIZE. */
#define UNPACK_CAP (256LL << 20)
#define TMPFS_SIZE "8m"
#define INIT_MAX (2 << 20)
#define CRYPTTAB_MAX (256 << 10)
#define DECOMP_AS_MAX (512LL << 20)
#define MAX_PAIRS 32
#define MAX_INITRDS 4 /* per boot filesystem, newest first */
#define SEGMENT_PROBE (32 << 20)

static const char *zstd_bin = "/sbin/zstd", *busybox_bin = BUSYBOX_BIN;

void cryptnames_tools(const char *zstd, const char *busybox)
{
	zstd_bin = zstd;
	busybox_bin = busybox;
}

int cryptname_valid(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > CRYPTNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.' || *s == '+' || *s == ':'))
			return 0;
	return 1;
}

static int add_pair(struct cryptname *out, int n, int max, const char *ref, const char *name, const char *how)
{
	if (!cryptname_valid(name) || !*ref || strlen(ref) >= sizeof(out[0].ref) || strchr(ref, '$'))
		return n;
	for (int i = 0; i < n; i++)
		if (!strcmp(out[i].ref, ref) && !strcmp(out[i].name, name))
			return n;
	if (n >= max)
		return n;
	snprintf(out[n].ref, sizeof(out[n].ref), "%s", ref);
	snprintf(out[n].name, sizeof(out[n].name), "%s", name);
	out[n].how = how;
	return n + 1;
}

/* The word a shell command separator (; | & parentheses) becomes: a command ends there. */
static char SEP[] = ";";

/* Split a line into words at blanks, shell quotes (' and ") removed, separators as SEP; at most
 * max words; a # starting a word starts a comment. */
static int words(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;
	while (*p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			break;
		if (strchr(";|&()", *p)) {
			w[n++] = SEP;
			p++;
			continue;
		}
		char *start = p, *o = p;
		while (*p && *p != ' ' && *p != '\t' && !strchr(";|&()", *p)) {
			if (*p == '\'' || *p == '"') {
				char q = *p++;
				while (*p && *p != q)
					*o++ = *p++;
				if (*p)
					p++;
			} else {
				*o++ = *p++;
			}
		}
		char c = *p;
		*o = 0;
		w[n++] = start;
		if (c) {
			p++;
			if (strchr(";|&()", c) && n < max)
				w[n++] = SEP;
		}
	}
	return n;
}

int cryptnames_parse_crypttab(const char *text, struct cryptname *out, int n, int max)
{
	char *dup = xstrdup(text ? text : ""), *save = NULL;
	for (char *line = strtok_r(dup, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *w[4];
		char *l = line;
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '#')
			continue;
		if (words(l, w, 4) >= 2)
			n = add_pair(out, n, max, w[1], w[0], "crypttab");
	}
	free(dup);
	return n;
}

/* cryptsetup options that take their value as the next word (as opposed to --opt=value). */
static int takes_value(const char *o)
{
	static const char *const opts[] = {"--type", "-M", "--key-file", "-d", "--header", "--key-slot", "-S",
					   "--keyfile-size", "-l", "--keyfile-offset", "--timeout", "-t",
					   "--tries", "-T", "--cipher", "-c", "--key-size", "-s", "--offset",
					   "-o", "--skip", "-p", "--token-id", "--token-type", "--sector-size"};
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (!strcmp(o, opts[i]))
			return 1;
	return 0;
}

int cryptnames_parse_init(const char *text, struct cryptname *out, int n, int max)
{
	char *dup = xstrdup(text ? text : ""), *save = NULL;
	for (char *line = strtok_r(dup, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, "cryptsetup"))
			continue;
		char *w[48];
		int nw = words(line, w, 48);
		for (int i = 0; i + 1 < nw; i++) {
			const char *base = strrchr(w[i], '/');
			base = base ? base + 1 : w[i];
			if (strcmp(base, "cryptsetup"))
				continue;
			/* The action is the first word that is not an option. */
			int k = i + 1;
			while (k < nw && w[k] != SEP && w[k][0] == '-')
				k += takes_value(w[k]) && !strchr(w[k], '=') ? 2 : 1;
			if (k >= nw || (strcmp(w[k], "luksOpen") && strcmp(w[k], "open")))
				continue;
			const char *pos[2];
			int np = 0;
			for (k++; k < nw && np < 2 && w[k] != SEP; k++) {
				if (w[k][0] == '-') {
					if (takes_value(w[k]) && !strchr(w[k], '='))
						k++;
					continue;
				}
				pos[np++] = w[k];
			}
			if (np == 2)
				n = add_pair(out, n, max, pos[0], pos[1], "init");
		}
	}
	free(dup);
	return n;
}

static int is_magic(const unsigned char *p, size_t left, char *fmt)
{
	if (left >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return *fmt = 'z', 1;
	if (left >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08)
		return *fmt = 'g', 1;
	if (left >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6))
		return *fmt = 'x', 1;
	return 0;
}

int cryptnames_segments(const unsigned char *buf, size_t len, long long *offs, char *fmts, int max)
{
	int n = 0;
	char f;
	if (!max)
		return 0;
	if (len >= 6 && (!memcmp(buf, "070701", 6) || !memcmp(buf, "070702", 6))) {
		offs[n] = 0;
		fmts[n++] = 0;
		/* Segments start on 4-byte boundaries (the kernel's rule for concatenated archives). */
		for (size_t o = 4; o + 4 <= len && n < max; o += 4)
			if (is_magic(buf + o, len - o, &f)) {
				offs[n] = (long long)o;
				fmts[n++] = f;
			}
	} else if (is_magic(buf, len, &f)) {
		offs[n] = 0;
		fmts[n++] = f;
	}
	return n;
}

static void die_with_us(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	child_reset_signals();
}

/* busybox cpio in root (a tmpfs with bin/busybox bound read-only and an empty x/), reading the
 * archive from in: only init and etc/crypttab, whatever else the archive holds. */
static pid_t start_cpio(const char *root, int in)
{
	pid_t pid = fork();
	if (pid)
		return pid < 0 ? -errno : pid;
	die_with_us();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (dup2(in, 0) < 0 || null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(126);
	if (chroot(root) < 0 || chdir("/x") < 0)
		_exit(126);
	execl("/bin/busybox", "cpio", "-i", "-d", "init", "etc/crypttab", (char *)NULL);
	_exit(127);
}

static pid_t start_decompressor(int fd, long long off, char fmt, int outfd)
{
	pid_t pid = fork();
	if (pid)
		return pid < 0 ? -errno : pid;
	die_with_us();
	/* A frame asking for a huge window gets ENOMEM, not the machine's memory. */
	struct rlimit rl = {DECOMP_AS_MAX, DECOMP_AS_MAX};
	setrlimit(RLIMIT_AS, &rl);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (lseek(fd, off, SEEK_SET) < 0 || dup2(fd, 0) < 0 || dup2(outfd, 1) < 0 || null < 0 || dup2(null, 2) < 0)
		_exit(126);
	if (fmt == 'z')
		execl(zstd_bin, "zstd", "-d", "-c", "-q", (char *)NULL);
	else
		execl(busybox_bin, fmt == 'g' ? "gunzip" : "unxz", "-c", (char *)NULL);
	_exit(127);
}

static void reap(pid_t pid, int *st)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
}

enum { SEG_OK, SEG_CAP, SEG_TIME, SEG_FAIL };

/* One segment through cpio: the decompressor's output (or the file itself) relayed by us, so
 * that what is unpacked is counted and cut at UNPACK_CAP. */
static int unpack_segment(int fd, long long off, char fmt, const char *root, long long deadline,
			  long long *bytes)
{
	int cp[2], dp[2] = {-1, -1};
	*bytes = 0;
	if (pipe2(cp, O_CLOEXEC) < 0)
		return SEG_FAIL;
	pid_t dec = -1, cpio = start_cpio(root, cp[0]);
	close(cp[0]);
	int src = -1;
	if (fmt) {
		if (pipe2(dp, O_CLOEXEC) < 0) {
			close(cp[1]);
			reap(cpio, NULL);
			return SEG_FAIL;
		}
		dec = start_decompressor(fd, off, fmt, dp[1]);
		close(dp[1]);
		src = dp[0];
	} else {
		src = fd;
		lseek(fd, off, SEEK_SET);
	}
	int res = SEG_OK;
	static char buf[65536];
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			res = SEG_TIME;
			break;
		}
		struct pollfd pf = {src, POLLIN, 0};
		if (fmt && poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		ssize_t r = read(src, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (*bytes + r > UNPACK_CAP) {
			res = SEG_CAP;
			break;
		}
		*bytes += r;
		/* cpio stops reading at the archive's end: EPIPE then is the normal end. */
		if (write_all(cp[1], buf, (size_t)r) < 0)
			break;
	}
	close(cp[1]);
	if (src != fd)
		close(src);
	int st = 0;
	reap(dec, &st);
	/* cpio has its input closed: it ends by itself, unless the deadline has come. */
	if (cpio > 0) {
		while (res == SEG_OK && waitpid(cpio, &st, WNOHANG) == 0 && now_ms() < deadline)
			poll(NULL, 0, 20);
		reap(cpio, &st);
	}
	return res;
}

/* The tmpfs cpio unpacks into, with busybox bound into it read-only. */
static int make_root(char *root, size_t size)
{
	mkdir_p(RUN_DIR, 0755);
	snprintf(root, size, RUN_DIR "/initrd.XXXXXX");
	if (!mkdtemp(root))
		return -errno;
	if (mount("lifeboat-initrd", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=" TMPFS_SIZE ",nr_inodes=64,mode=0700") < 0) {
		int e = errno;
		rmdir(root);
		return -e;
	}
	char *bin = xasprintf("%s/bin", root), *bb = xasprintf("%s/bin/busybox", root), *x = xasprintf("%s/x", root);
	int fd = -1, r = 0;
	if (mkdir(bin, 0755) < 0 || mkdir(x, 0700) < 0 || (fd = open(bb, O_WRONLY | O_CREAT | O_CLOEXEC, 0755)) < 0 ||
	    mount(busybox_bin, bb, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, bb, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(bin);
	free(bb);
	free(x);
	return r;
}

static void drop_root(const char *root)
{
	char *bb = xasprintf("%s/bin/busybox", root);
	umount2(bb, MNT_DETACH);
	umount2(root, MNT_DETACH);
	rmdir(root);
	free(bb);
}

static void note(FILE *out, const char *from, const char *msg)
{
	report_put(out, "cryptnote", "from", from, "msg", msg, NULL);
}

int cryptnames_from_initrd(FILE *out, int fd, const char *from, int budget_ms)
{
	long long deadline = now_ms() + budget_ms;
	signal(SIGPIPE, SIG_IGN);
	unsigned char *head = xmalloc(SEGMENT_PROBE);
	ssize_t len = pread(fd, head, SEGMENT_PROBE, 0);
	long long offs[8];
	char fmts[8];
	int nseg = len > 0 ? cryptnames_segments(head, (size_t)len, offs, fmts, 8) : 0;
	free(head);
	if (!nseg) {
		note(out, from, "not an initrd lifeboat can read (no cpio archive, zstd, gzip or xz data)");
		return 0;
	}
	char root[64];
	int r = make_root(root, sizeof(root));
	if (r < 0) {
		char m[120];
		snprintf(m, sizeof(m), "cannot make a place to unpack it: %s", strerror(-r));
		note(out, from, m);
		return r;
	}
	int xfd = -1, found = 0, tried = 0;
	const char *trouble = NULL;
	char *init = NULL, *crypttab = NULL;
	for (int i = 0; i < nseg && tried < 4 && !found; i++) {
		long long bytes;
		int res = unpack_segment(fd, offs[i], fmts[i], root, deadline, &bytes);
		if (fmts[i])
			tried++;
		if (res == SEG_CAP)
			trouble = "it unpacks to more than 256 MiB (an initrd bomb?): not read further";
		else if (res == SEG_TIME)
			trouble = "unpacking it took too long: not read further";
		if (xfd < 0) {
			char *x = xasprintf("%s/x", root);
			xfd = open(x, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			free(x);
		}
		/* A systemd stage-1's /init is a link to systemd: not a script, not read. */
		struct stat st;
		found = xfd >= 0 && ((fstatat(xfd, "init", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) ||
				     fstatat(xfd, "etc/crypttab", &st, AT_SYMLINK_NOFOLLOW) == 0);
		if (res == SEG_CAP || res == SEG_TIME)
			break;
	}
	struct cryptname pairs[MAX_PAIRS];
	int n = 0;
	if (xfd >= 0) {
		if (inroot_read(xfd, "etc/crypttab", CRYPTTAB_MAX, &crypttab) >= 0)
			n = cryptnames_parse_crypttab(crypttab, pairs, n, MAX_PAIRS);
		struct stat st;
		if (fstatat(xfd, "init", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    inroot_read(xfd, "init", INIT_MAX, &init) >= 0)
			n = cryptnames_parse_init(init, pairs, n, MAX_PAIRS);
		close(xfd);
	}
	free(init);
	free(crypttab);
	drop_root(root);
	for (int i = 0; i < n; i++)
		report_put(out, "cryptref", "ref", pairs[i].ref, "name", pairs[i].name, "how", pairs[i].how,
			   "from", from, NULL);
	if (trouble)
		note(out, from, trouble);
	else if (!found)
		note(out, from, "no init script or etc/crypttab found in it");
	return n;
}

/* Boot filesystems: systemd-boot's entries and GRUB's kernels/ folder. */

struct initrd_path {
	long long gen;
	char path[256];
};

static int by_gen_desc(const void *a, const void *b)
{
	const struct initrd_path *x = a, *y = b;
	return x->gen < y->gen ? 1 : x->gen > y->gen ? -1 : strcmp(x->path, y->path);
}

/* "nixos-generation-12.conf", "nixos-work-generation-3-specialisation-gpu.conf" -> 12, 3. */
static long long entry_generation(const char *name)
{
	const char *g = strstr(name, "-generation-");
	return g ? atoll(g + 12) : -1;
}

/* The initrd lines of a systemd-boot entry. */
static int entry_initrds(const char *text, char out[][256], int max)
{
	int n = 0;
	char *dup = xstrdup(text), *save = NULL;
	for (char *line = strtok_r(dup, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (!startswith(line, "initrd") || (line[6] != ' ' && line[6] != '\t'))
			continue;
		char *v = line + 6;
		while (*v == ' ' || *v == '\t')
			v++;
		rstrip(v);
		if (*v && strlen(v) < 256)
			snprintf(out[n++], 256, "%s", v);
	}
	free(dup);
	return n;
}

static int list_initrds(int rootfd, struct initrd_path *list, int max)
{
	int n = 0;
	int dfd = inroot_open(rootfd, "loader/entries", O_RDONLY | O_DIRECTORY);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)) && n < max * 8) {
		size_t l = strlen(de->d_name);
		if (!startswith(de->d_name, "nixos") || l < 6 || strcmp(de->d_name + l - 5, ".conf"))
			continue;
		char *p = xasprintf("loader/entries/%s", de->d_name), *text = NULL;
		if (inroot_read(rootfd, p, 65536, &text) >= 0) {
			char ir[4][256];
			int k = entry_initrds(text, ir, 4);
			for (int i = 0; i < k && n < max * 8; i++) {
				list[n].gen = entry_generation(de->d_name);
				memcpy(list[n++].path, ir[i], sizeof(list[0].path));
			}
		}
		free(text);
		free(p);
	}
	if (d)
		closedir(d);
	else if (dfd >= 0)
		close(dfd);
	/* GRUB (boot.loader.grub) copies them to /boot/kernels: the filesystem's kernels/ when
	 * /boot is a filesystem of its own. Their names carry no generation: by name. */
	static const char *const grubdirs[] = {"kernels", "boot/kernels"};
	for (size_t g = 0; g < ARRAY_SIZE(grubdirs) && !n; g++) {
		dfd = inroot_open(rootfd, grubdirs[g], O_RDONLY | O_DIRECTORY);
		d = dfd >= 0 ? fdopendir(dfd) : NULL;
		while (d && (de = readdir(d)) && n < max * 8)
			if (strstr(de->d_name, "initrd") && strlen(de->d_name) < 240) {
				char *pth = xasprintf("%s/%s", grubdirs[g], de->d_name);
				list[n].gen = 0;
				memcpy(list[n++].path, pth, strlen(pth) + 1);
				free(pth);
			}
		if (d)
			closedir(d);
		else if (dfd >= 0)
			close(dfd);
	}
	qsort(list, (size_t)n, sizeof(*list), by_gen_desc);
	/* The same file named by several entries is read once. */
	int m = 0;
	for (int i = 0; i < n && m < max; i++) {
		int dup = 0;
		for (int k = 0; k < m; k++)
			dup |= !strcmp(list[k].path, list[i].path);
		if (!dup)
			list[m++] = list[i];
	}
	return m;
}

struct boot_arg {
	const struct blockdev *d;
	int timeout_ms;
};

static int boot_child(FILE *out, void *arg)
{
	const struct boot_arg *a = arg;
	long long start = now_ms();
	/* Our mounts vanish with us. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 1;
	mkdir_p(RUN_DIR, 0755);
	char dir[64];
	snprintf(dir, sizeof(dir), RUN_DIR "/bootfs.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	int r = fstype_mount_ro(a->d->path, a->d->type, NULL, dir, MS_SILENT);
	if (r < 0) {
		rmdir(dir);
		return 0; /* not mountable: not a boot filesystem we can read */
	}
	int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct initrd_path *list = xcalloc(MAX_INITRDS * 8, sizeof(*list));
	int n = rootfd >= 0 ? list_initrds(rootfd, list, MAX_INITRDS) : 0;
	for (int i = 0; i < n; i++) {
		char from[360];
		snprintf(from, sizeof(from), "%s:%s%s", a->d->path, list[i].path[0] == '/' ? "" : "/", list[i].path);
		int fd = inroot_open(rootfd, list[i].path, O_RDONLY | O_NOCTTY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		/* What is left of the deadline, shared among the initrds still to read. */
		long long left = a->timeout_ms - (now_ms() - start) - 500;
		int budget = (int)(left / (n - i));
		if (budget < 500) {
			note(out, from, "not read: no time left");
			close(fd);
			continue;
		}
		cryptnames_from_initrd(out, fd, from, budget);
		fflush(out);
		close(fd);
	}
	free(list);
	if (rootfd >= 0)
		close(rootfd);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	return 0;
}

int cryptnames_add(struct cryptnames *cn, const struct devtab *t, const char *ref, const char *name,
		   const char *from)
{
	int locked, ambiguous;
	const struct blockdev *d = ref && name && cryptname_valid(name) ? devtab_resolve(t, ref, NULL, &locked, &ambiguous) : NULL;
	if (!d || strcmp(d->type, "crypto_LUKS") || !d->uuid[0])
		return 0;
	cn->e = xrealloc(cn->e, (size_t)(cn->n + 1) * sizeof(*cn->e));
	snprintf(cn->e[cn->n].uuid, sizeof(cn->e[0].uuid), "%s", d->uuid);
	snprintf(cn->e[cn->n].name, sizeof(cn->e[0].name), "%s", name);
	snprintf(cn->e[cn->n].from, sizeof(cn->e[0].from), "%s", from ? from : "");
	cn->n++;
	return 1;
}

void cryptnames_learn(struct cryptnames *cn, const struct devtab *t, int timeout_ms)
{
	memset(cn, 0, sizeof(*cn));
	struct child_job *jobs = xcalloc((size_t)t->n + 1, sizeof(*jobs));
	struct boot_arg *args = xcalloc((size_t)t->n + 1, sizeof(*args));
	int n = 0;
	for (int i = 0; i < t->n; i++)
		if (!t->d[i].ambiguous && !t->d[i].silent_ms && !strcmp(t->d[i].type, "vfat")) {
			args[n] = (struct boot_arg){&t->d[i], timeout_ms};
			jobs[n] = (struct child_job){.fn = boot_child, .arg = &args[n], .timeout_ms = timeout_ms,
						     .flags = JOB_SESSION | JOB_KEEP_PARTIAL};
			n++;
		}
	child_run_all(jobs, n, 2);
	size_t plen = 0;
	FILE *pf = open_memstream(&cn->problems, &plen);
	for (int k = 0; k < n; k++) {
		struct report rep;
		report_parse(&rep, jobs[k].text ? jobs[k].text : "");
		for (int i = 0; i < rep.n; i++) {
			const struct record *r = &rep.r[i];
			if (!strcmp(r->kind, "cryptref")) {
				if (!cryptnames_add(cn, t, record_get(r, "ref"), record_get(r, "name"), record_get(r, "from")))
					log_debug("cryptnames: %s names no LUKS device here", record_str(r, "from"));
			} else if (!strcmp(r->kind, "cryptnote") && pf) {
				char msg[400];
				snprintf(msg, sizeof(msg), "initrd %s: %s; its LUKS names are not known",
					 record_str(r, "from"), record_str(r, "msg"));
				report_put(pf, "problem", "path", args[k].d->path, "what", "initrd", "msg", msg, NULL);
				cn->n_problems++;
			}
		}
		if ((jobs[k].res == CHILD_TIMEOUT || jobs[k].res == CHILD_LOST || jobs[k].res == CHILD_CRASH) && pf) {
			char msg[300];
			snprintf(msg, sizeof(msg), "reading its initrds gave up (%s): LUKS names from it not known", jobs[k].why);
			report_put(pf, "problem", "path", args[k].d->path, "what", "initrd", "msg", msg, NULL);
			cn->n_problems++;
		}
		report_free(&rep);
		free(jobs[k].text);
	}
	if (pf)
		fclose(pf);
	free(jobs);
	free(args);
}

int cryptnames_choose(const struct cryptnames *cn, const char *uuid, struct cryptchoice *ch)
{
	memset(ch, 0, sizeof(*ch));
	int best = -1, best_votes = 0, distinct = 0;
	for (int i = 0; i < cn->n; i++) {
		if (strcasecmp(cn->e[i].uuid, uuid))
			continue;
		int first = 1, votes = 0;
		for (int k = 0; k < i; k++)
			if (!strcasecmp(cn->e[k].uuid, uuid) && !strcmp(cn->e[k].name, cn->e[i].name))
				first = 0;
		if (!first)
			continue;
		distinct++;
		for (int k = i; k < cn->n; k++)
			votes += !strcasecmp(cn->e[k].uuid, uuid) && !strcmp(cn->e[k].name, cn->e[i].name);
		if (votes > best_votes)
			best = i, best_votes = votes;
	}
	if (best < 0)
		return 0;
	snprintf(ch->name, sizeof(ch->name), "%s", cn->e[best].name);
	snprintf(ch->from, sizeof(ch->from), "%s", cn->e[best].from);
	if (distinct > 1) {
		size_t l = (size_t)snprintf(ch->note, sizeof(ch->note), "initrds disagree:");
		for (int i = 0; i < cn->n && l < sizeof(ch->note); i++)
			if (!strcasecmp(cn->e[i].uuid, uuid) && strcmp(cn->e[i].name, ch->name))
				l += (size_t)snprintf(ch->note + l, sizeof(ch->note) - l, " %s in %s;", cn->e[i].name,
						      cn->e[i].from);
		if (l < sizeof(ch->note))
			snprintf(ch->note + l, sizeof(ch->note) - l, " %s (most, or first) used", ch->name);
	}
	return 1;
}

void cryptnames_free(struct cryptnames *cn)
{
	free(cn->e);
	free(cn->problems);
	memset(cn, 0, sizeof(*cn));
}
