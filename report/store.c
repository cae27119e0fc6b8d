#include "report/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cmdline.h"
#include "lib/log.h"
#include "lib/job.h"
#include "lib/util.h"

#define REPORT_MAX (16 << 20)

int report_save(const char *path, const char *text, size_t len)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir_p(dir, 0755);
	}
	free(dir);
	/* Unique, so two writers (the menu's scan, a `lifeboat scan --save` by hand) never share it. */
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;
		free(tmp);
		return e;
	}
	int r = write_all(fd, text, len);
	if (!r && fchmod(fd, 0644) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	free(tmp);
	return r;
}

/* `lifeboat scan` in its own session (its mount helpers die with it at the deadline), dying
 * with the menu that wanted it: a menu killed and restarted a hundred times must not leave a
 * hundred scans mounting disks behind it. Its stderr goes to the shared log. */
static int run_child(char **text, int timeout_ms, int share)
{
	char *argv[] = {LIFEBOAT_BIN, "scan", share ? "--share" : NULL, NULL};
	struct child_job j = {.argv = argv, .flags = JOB_STDIN_NULL | JOB_SESSION | JOB_KEEP_PARTIAL,
			      .err_path = LOG_PATH, .max_output = REPORT_MAX, .timeout_ms = timeout_ms};
	child_run_all(&j, 1, 1);
	*text = j.text ? j.text : xstrdup("");
	if (j.res == CHILD_TIMEOUT || j.res == CHILD_LOST)
		return -ETIMEDOUT;
	if (j.status >= 0 && WIFEXITED(j.status) && WEXITSTATUS(j.status) == 127)
		return -ENOENT;
	return 0;
}

int report_scan_ms(void)
{
	const char *v = getenv("LIFEBOAT_SCAN_MS");
	int ms = v ? atoi(v) : 0;
	if (ms > 0)
		return ms;
	/* Room for a slow disk's probe, then an inspection, then the rest: a long
	 * lifeboat.disktimeout must not leave the scan no time to show what it found. */
	struct lb_options o;
	cmdline_load(&o);
	long long want = 3LL * o.disktimeout_ms;
	cmdline_free(&o);
	return want > REPORT_SCAN_MS ? (int)want : REPORT_SCAN_MS;
}

static int last_save;

int report_scan(char **text, int timeout_ms, int share)
{
	*text = NULL;
	const char *seam = getenv("LIFEBOAT_SCAN_REPORT");
	int r;
	if (seam && *seam) {
		ssize_t n = read_file_at(AT_FDCWD, seam, REPORT_MAX, text);
		r = n < 0 ? (int)n : 0;
	} else {
		r = run_child(text, timeout_ms, share);
	}
	if (*text && (r == 0 || r == -ETIMEDOUT)) {
		last_save = report_save(REPORT_SAVED, *text, strlen(*text));
		/* The old report no longer says what this scan found (system numbers may differ): a
		 * reader (enter, boot) scans again rather than read it. */
		if (last_save < 0) {
			log_warn("cannot save the scan report %s: %s; removed the old one", REPORT_SAVED,
				 strerror(-last_save));
			unlink(REPORT_SAVED);
		}
	}
	return r;
}

int report_last_save(void)
{
	return last_save;
}

int report_have_saved(void)
{
	const char *seam = getenv("LIFEBOAT_SCAN_REPORT");
	return (seam && *seam) || access(REPORT_SAVED, R_OK) == 0;
}

int report_saved(char **text)
{
	*text = NULL;
	const char *seam = getenv("LIFEBOAT_SCAN_REPORT");
	if (!(seam && *seam) && read_file_at(AT_FDCWD, REPORT_SAVED, REPORT_MAX, text) >= 0)
		return 0;
	return report_scan(text, report_scan_ms(), 1);
}
