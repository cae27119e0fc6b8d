/* Getting a scan report: `lifeboat scan` run as a child with a time limit (its stdout is the
 * report), or a file named by $LIFEBOAT_SCAN_REPORT (the test seam, also handy for trying the
 * menu against a hand-written report). The last report is kept in /run/lifeboat/scan so that
 * `lifeboat enter` and `lifeboat boot` see what the menu showed. */
#ifndef LB_GETREPORT_H
#define LB_GETREPORT_H

#include "lib/layout.h"

#define REPORT_SCAN_MS 120000

/* Scan now (or read the seam file). On success *text is the malloc'd report, possibly cut short
 * (found_load tells: no done record). Returns 0 or -errno (-ETIMEDOUT: the scan was killed; *text
 * still holds what it printed). */
int getreport_scan(char **text, int timeout_ms);
/* The seam file, else the saved report, else a new scan. */
int getreport_saved(char **text);

#endif
