/* One scan at a time (report/scanlock.c): a second taker waits and times out while the first
 * holds the lock, gets it once the holder is gone, and reuses a last report only when that scan
 * began after it asked. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report/scanlock.h"
#include "lib/util.h"
#include "tests/unit/check.h"

int main(void)
{
	char dir[] = "/tmp/lb-scanlock-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *lock = xasprintf("%s/scan.lock", dir), *last = xasprintf("%s/scan.last", dir);

	/* Free: taken at once, no wait. */
	int waited = -1;
	int fd = scanlock_take(lock, 1000, &waited);
	CHECK(fd >= 0);
	CHECK_INT(waited, 0);
	close(fd);

	/* Held by another process (the scan of another console): the wait ends at its limit. */
	int go[2], ready[2];
	CHECK(pipe(go) == 0 && pipe(ready) == 0);
	pid_t holder = fork();
	if (holder == 0) {
		int w, h = scanlock_take(lock, 1000, &w);
		if (write(ready[1], h >= 0 ? "y" : "n", 1) != 1)
			_exit(2);
		char c;
		(void)!read(go[0], &c, 1);
		/* A child of the holder keeps the file open but not the lock: the lock is the
		 * holder's own, so a stuck child of a killed scan cannot keep it. */
		_exit(h >= 0 ? 0 : 1);
	}
	char c = 0;
	CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
	long long t0 = now_ms();
	fd = scanlock_take(lock, 300, &waited);
	CHECK_INT(fd, -ETIMEDOUT);
	CHECK_INT(waited, 1);
	CHECK(now_ms() - t0 >= 300);
	/* The holder ends (killed by its deadline, say): the next taker gets it. */
	kill(holder, SIGKILL);
	int st;
	waitpid(holder, &st, 0);
	fd = scanlock_take(lock, 2000, &waited);
	CHECK(fd >= 0);
	close(fd);

	/* The last report: none yet, then one that began at 100. */
	char *text = (char *)"x";
	CHECK_INT(scanlock_reuse(last, 0, 0, &text), -ENOENT);
	CHECK(text == NULL);
	const char *rep = "device path=/dev/vda\ndone devices=1\n";
	CHECK_INT(scanlock_record(last, 100, 200, rep, strlen(rep)), 0);
	/* Asked before it began (we waited for it): its report is ours. */
	CHECK_INT(scanlock_reuse(last, 99, 0, &text), 0);
	CHECK_STR(text, rep);
	free(text);
	CHECK_INT(scanlock_reuse(last, 100, 0, &text), 0);
	free(text);
	/* Asked after it began: it may have missed what changed since; scan again. */
	CHECK_INT(scanlock_reuse(last, 101, 0, &text), -ESTALE);
	CHECK(text == NULL);
	/* Sharing (a menu coming up): a scan still running when asked will do, an ended one not. */
	CHECK_INT(scanlock_reuse(last, 150, 1, &text), 0);
	CHECK_STR(text, rep);
	free(text);
	CHECK_INT(scanlock_reuse(last, 201, 1, &text), -ESTALE);
	/* Not our format (a half-written or foreign file): never read as a report. */
	FILE *f = fopen(last, "w");
	fputs("began=12 ended=1x\ndevice path=/dev/evil\n", f);
	fclose(f);
	CHECK_INT(scanlock_reuse(last, 0, 1, &text), -EINVAL);
	f = fopen(last, "w");
	fputs("device path=/dev/vda\n", f);
	fclose(f);
	CHECK_INT(scanlock_reuse(last, 0, 1, &text), -EINVAL);

	unlink(lock);
	unlink(last);
	rmdir(dir);
	free(lock);
	free(last);
	return check_done("test_scanlock");
}
