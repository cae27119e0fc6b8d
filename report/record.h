/* The scan report: what discovery found, as lines of text. `lifeboat scan` writes it; the menu
 * and `lifeboat enter`/`boot` read it. A line is a record: a kind, then key=value fields, values
 * escaped with escape_value() (so a line never holds a space, newline or control byte of a
 * value). The kinds and keys are listed in docs/scan-report.md. */
#ifndef LB_REPORT_H
#define LB_REPORT_H

#include <stdio.h>

#define REPORT_MAX_FIELDS 40

struct record {
	char *kind;
	int n;
	char *key[REPORT_MAX_FIELDS];
	char *val[REPORT_MAX_FIELDS]; /* unescaped */
	char *line;                   /* storage for kind/key/val */
};

struct report {
	struct record *r;
	int n;
};

/* Write one record: report_put(f, "system", "id", "1", "host", name, NULL). A NULL or empty
 * value is written as "-" and read back as "". */
void report_put(FILE *f, const char *kind, ...) __attribute__((sentinel));
/* Parse one line (modified in place and kept). Returns 0, or -EINVAL for a line that is not a
 * record (ignored by report_parse). */
int record_parse(struct record *r, char *line);
/* A field's value, or NULL when absent. */
const char *record_get(const struct record *r, const char *key);
/* The same, "" when absent. */
const char *record_str(const struct record *r, const char *key);
/* A field as an integer, or def when absent or not a number. */
long long record_int(const struct record *r, const char *key, long long def);
/* Parse a whole report (text is copied). Returns the number of records or -errno. */
int report_parse(struct report *rep, const char *text);
void report_free(struct report *rep);
/* The i-th record of kind after index from (-1 to start); -1 when none. */
int report_next(const struct report *rep, const char *kind, int from);

#endif
