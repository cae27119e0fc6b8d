/* Getting a scan report: `lifeboat scan` run as a child with a time limit (its stdout is the
 * report, streamed device by device), or a file named by $LIFEBOAT_SCAN_REPORT (the test seam,
 * also handy for trying the menu against a hand-written report). The last report is kept in
 * /run/lifeboat/scan so that `lifeboat enter` and `lifeboat boot` see what the menu showed. */
#ifndef LB_STORE_H
#define LB_STORE_H

#include <stddef.h>

#include "lib/layout.h"

#define REPORT_SCAN_MS 120000

/* How long the menu's scan may take: REPORT_SCAN_MS or three times lifeboat.disktimeout,
 * whichever is longer, or $LIFEBOAT_SCAN_MS (milliseconds; the test seam for a scan killed by
 * its deadline, given on the kernel command line). */
int report_scan_ms(void);
/* Scan now (or read the seam file); share: a scan already running when asked will do
 * (`lifeboat scan --share`, report/scanlock.h). On success *text is the malloc'd report, possibly cut short
 * (found_load tells: no done record). Returns 0 or -errno (-ETIMEDOUT: the scan was killed; *text
 * still holds the records it wrote before, whole lines only). */
int report_scan(char **text, int timeout_ms, int share);
/* How the last report_scan() in this process saved its report: 0, or -errno (/run full:
 * -ENOSPC). A failed save removes the old saved report, so no reader takes an outdated one. */
int report_last_save(void);
/* The seam file, else the saved report, else a new scan. */
int report_saved(char **text);
/* Is there a report to read without scanning (which takes a while)? */
int report_have_saved(void);
/* Write text to path so that a reader sees the old file or the new one, never a part: a unique
 * temporary file in the same folder (made if missing), fsync, rename. Returns 0 or -errno. */
int report_save(const char *path, const char *text, size_t len);

#endif
