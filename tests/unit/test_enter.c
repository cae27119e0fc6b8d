/* Entering's pieces that need no mounts: fstab options, directories and resolv.conf's symlink
 * chain resolved inside a fake root whose links try to reach out of it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "act/mountplan.h"
#include "act/resolvconf.h"
#include "lib/job.h"
#include "lib/util.h"
#include "tests/unit/check.h"

static void test_options(void)
{
	char data[256];
	unsigned long f;
	CHECK_INT(mountopts_parse("defaults,noatime,x-systemd.automount,umask=0077,ro,nofail,subvol=@", &f,
				  data, sizeof(data)), 0);
	CHECK_INT(f, MS_NOATIME | MS_RDONLY);
	CHECK_STR(data, "umask=0077,subvol=@");
	CHECK_INT(mountopts_parse("ro,rw,comment=x,compress=zstd", &f, data, sizeof(data)), 0);
	CHECK_INT(f, 0);
	CHECK_STR(data, "compress=zstd");
	CHECK_INT(mountopts_parse(NULL, &f, data, sizeof(data)), 0);
	CHECK_INT(f, 0);
	CHECK_STR(data, "");
}

static char top[PATH_MAX];

static void put_link(const char *target, const char *at)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/root%s", top, at);
	CHECK(symlink(target, p) == 0);
}

static int exists_in(const char *path)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/root%s", top, path);
	return access(p, F_OK) == 0;
}

static void test_tree(void)
{
	snprintf(top, sizeof(top), "/tmp/lifeboat-test-enter-XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	char root[PATH_MAX + 8], outside[PATH_MAX + 16];
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	CHECK(mkdir(root, 0755) == 0 && mkdir(outside, 0755) == 0);
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/etc", root);
	CHECK(mkdir(p, 0755) == 0);
	int rootfd = open(root, O_PATH | O_DIRECTORY);
	CHECK(rootfd >= 0);

	/* A mount point under a link that points outside is never made outside: the link is
	 * resolved inside (where its target is missing), so making it fails. */
	put_link(outside, "/evil");
	CHECK_INT(inroot_mkdirs(rootfd, "/evil/boot"), -ENOENT);
	snprintf(p, sizeof(p), "%s/boot", outside);
	CHECK(access(p, F_OK) != 0);
	/* A link inside the root is followed inside it. */
	put_link("/etc", "/etc2");
	int fd = inroot_mkdirs(rootfd, "/etc2/x/y");
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(exists_in("/etc/x/y"));

	/* resolv.conf -> a relative climb out of the root ends inside it. */
	char got[PATH_MAX];
	put_link("../../../../../../../tmp/resolv-out", "/etc/resolv.conf");
	CHECK_INT(resolvconf_resolve(rootfd, got, sizeof(got)), 0);
	CHECK_STR(got, "/etc/../../../../../../../tmp/resolv-out");
	char ours[PATH_MAX + 16];
	snprintf(ours, sizeof(ours), "%s/ours", top);
	int w = open(ours, O_WRONLY | O_CREAT, 0644);
	CHECK(w >= 0 && write_all(w, "nameserver 10.0.2.3\n", 20) == 0);
	close(w);
	CHECK_INT(resolvconf_install(rootfd, ours), 2);
	CHECK(exists_in("/tmp/resolv-out"));
	CHECK(access("/tmp/resolv-out", F_OK) != 0);
	char *text = NULL;
	snprintf(p, sizeof(p), "%s/tmp/resolv-out", root);
	CHECK(read_file_at(AT_FDCWD, p, 100, &text) == 20);
	free(text);

	/* An absolute chain, as with systemd-resolved: directories are made inside. */
	snprintf(p, sizeof(p), "%s/etc/resolv.conf", root);
	unlink(p);
	put_link("/etc/static/resolv.conf", "/etc/resolv.conf");
	snprintf(p, sizeof(p), "%s/etc/static", root);
	CHECK(mkdir(p, 0755) == 0);
	put_link("/run/systemd/resolve/stub-resolv.conf", "/etc/static/resolv.conf");
	CHECK_INT(resolvconf_resolve(rootfd, got, sizeof(got)), 0);
	CHECK_STR(got, "/run/systemd/resolve/stub-resolv.conf");
	CHECK_INT(resolvconf_install(rootfd, ours), 2);
	CHECK(exists_in("/run/systemd/resolve/stub-resolv.conf"));

	/* A loop ends with ELOOP, and no resolv.conf of ours means nothing is touched. */
	snprintf(p, sizeof(p), "%s/etc/resolv.conf", root);
	unlink(p);
	put_link("/etc/resolv.conf", "/etc/resolv.conf");
	CHECK_INT(resolvconf_resolve(rootfd, got, sizeof(got)), -ELOOP);
	CHECK_INT(resolvconf_install(rootfd, "/nonexistent/resolv.conf"), 0);
	close(rootfd);

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	CHECK(system(cmd) == 0);
}

/* Enter's "could not enter" travels on a close-on-exec pipe, not in an exit status: a command
 * that exits 125 (the code enter used to mean "could not enter") is the command's status, a
 * failed step is a report with its -errno, and an exec that fails is reported too. */
static int pipe_child(int how)
{
	int p[2];
	CHECK_INT(exec_pipe_open(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (how == 1) {
			exec_pipe_fail(p[1], "pivot_root into the system", -EPERM);
			_exit(1);
		}
		/* Like enter: an intermediate process forks the one that execs, then lets go. */
		pid_t c = fork();
		if (c == 0) {
			char *argv[] = {"/bin/sh", "-c", "exit 125", NULL};
			char *bad[] = {"/nonexistent/lifeboat-shell", NULL};
			execv(how == 2 ? bad[0] : argv[0], how == 2 ? bad : argv);
			exec_pipe_fail(p[1], "run the shell", -errno);
			_exit(127);
		}
		close(p[1]);
		int st;
		waitpid(c, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	}
	close(p[1]);
	char step[64] = "";
	int r = exec_pipe_read(p[0], step, sizeof(step));
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	if (how == 0) {
		CHECK_INT(r, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 125);
	} else if (how == 1) {
		CHECK_INT(r, -EPERM);
		CHECK_STR(step, "pivot_root into the system");
	} else {
		CHECK_INT(r, -ENOENT);
		CHECK_STR(step, "run the shell");
	}
	return r;
}

static void test_exec_pipe(void)
{
	pipe_child(0);
	pipe_child(1);
	pipe_child(2);
}

int main(void)
{
	test_options();
	test_tree();
	test_exec_pipe();
	return check_done("test_enter");
}
