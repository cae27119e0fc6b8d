/* The one atomic save of a scan report (report_save): a unique temporary file in the folder,
 * fsync, rename. A reader sees the old report or the new one, never a part, even with two
 * writers at once; a failed save leaves nothing behind. And the deadline seam of the menu's scan. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "report/store.h"
#include "tests/unit/check.h"

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	char *text = NULL;
	if (read_file_at(AT_FDCWD, path, 1 << 24, &text) < 0)
		return NULL;
	return text;
}

static void test_save(const char *dir)
{
	char *sub = xasprintf("%s/run", dir), *path = xasprintf("%s/run/scan", dir);
	CHECK_INT(report_save(path, "device path=/dev/a\n", 19), 0); /* the folder is made */
	char *t = slurp(path);
	CHECK(t && !strcmp(t, "device path=/dev/a\n"));
	free(t);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK_INT(report_save(path, "done devices=0\n", 15), 0);
	t = slurp(path);
	CHECK(t && !strcmp(t, "done devices=0\n"));
	free(t);
	CHECK_INT(entries(sub), 1); /* no temporary file left */

	/* A rename that fails (a folder in the way) leaves no temporary file either. */
	char *blocked = xasprintf("%s/run/blocked", dir);
	CHECK(mkdir(blocked, 0755) == 0);
	CHECK(report_save(blocked, "x\n", 2) < 0);
	CHECK_INT(entries(sub), 2);
	rmdir(blocked);
	/* A folder that cannot be made: the error, nothing written. */
	char *under = xasprintf("%s/run/scan/below", dir);
	CHECK_INT(report_save(under, "x\n", 2), -ENOTDIR);
	t = slurp(path);
	CHECK(t && !strcmp(t, "done devices=0\n"));
	free(t);
	free(under);
	free(blocked);
	free(path);
	free(sub);
}

/* Two writers saving different reports as fast as they can while a reader reads: every read is
 * one whole report. With one shared temporary name, a writer truncating it under the other's
 * rename shows the reader an empty or mixed file. */
static void test_concurrent(const char *dir)
{
	char *path = xasprintf("%s/scan", dir);
	size_t len = 65536;
	char *a = xmalloc(len + 1), *b = xmalloc(len + 1);
	memset(a, 'a', len);
	memset(b, 'b', len);
	a[len - 1] = b[len - 1] = '\n';
	a[len] = b[len] = 0;
	CHECK_INT(report_save(path, a, len), 0);
	pid_t w[2];
	int status[2] = {-1, -1};
	for (int i = 0; i < 2; i++) {
		w[i] = fork();
		if (w[i] == 0) {
			for (int k = 0; k < 200; k++)
				if (report_save(path, i ? b : a, len) < 0)
					_exit(1);
			_exit(0);
		}
	}
	int bad = 0, reads = 0;
	for (;;) {
		char *t = slurp(path);
		reads++;
		if (!t || strlen(t) != len || (strspn(t, "a") != len - 1 && strspn(t, "b") != len - 1))
			bad++;
		free(t);
		int done = 0;
		for (int i = 0; i < 2; i++)
			done += w[i] <= 0 || waitpid(w[i], &status[i], WNOHANG) == w[i] ? (w[i] = 0, 1) : 0;
		if (done == 2)
			break;
	}
	CHECK_INT(bad, 0);
	/* Every save of both writers succeeded: with a shared name, one writer's rename takes the
	 * other's file away and the other's rename then fails. */
	CHECK(WIFEXITED(status[0]) && WEXITSTATUS(status[0]) == 0);
	CHECK(WIFEXITED(status[1]) && WEXITSTATUS(status[1]) == 0);
	CHECK(reads > 1);
	CHECK_INT(entries(dir), 1);
	free(a);
	free(b);
	free(path);
}

static void test_deadline(void)
{
	unsetenv("LIFEBOAT_SCAN_MS");
	CHECK_INT(report_scan_ms(), REPORT_SCAN_MS);
	setenv("LIFEBOAT_SCAN_MS", "1500", 1);
	CHECK_INT(report_scan_ms(), 1500);
	setenv("LIFEBOAT_SCAN_MS", "soon", 1);
	CHECK_INT(report_scan_ms(), REPORT_SCAN_MS);
	unsetenv("LIFEBOAT_SCAN_MS");
	/* A long disk deadline lengthens the menu's: a slow probe, an inspection, the rest. */
	setenv("LIFEBOAT_CMDLINE", "lifeboat.disktimeout=100", 1);
	CHECK_INT(report_scan_ms(), 300000);
	setenv("LIFEBOAT_CMDLINE", "lifeboat.disktimeout=5", 1);
	CHECK_INT(report_scan_ms(), REPORT_SCAN_MS);
	unsetenv("LIFEBOAT_CMDLINE");
}

static void rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
}

int main(void)
{
	char dir[] = "/tmp/lb-store-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	test_save(dir);
	rm_rf(dir);
	/* In memory where there is a tmpfs: fsync costs nothing there, so the writers race hard. */
	char shm[] = "/dev/shm/lb-store-XXXXXX", tmp[] = "/tmp/lb-store-XXXXXX";
	char *race = access("/dev/shm", W_OK) == 0 && mkdtemp(shm) ? shm : mkdtemp(tmp);
	CHECK(race != NULL);
	if (race) {
		test_concurrent(race);
		rm_rf(race);
	}
	test_deadline();
	return check_done("test_store");
}
