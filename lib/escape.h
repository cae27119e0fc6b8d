/* Strings that come from disks (labels, host names, file contents) are hostile until escaped:
 * they must not carry terminal escape sequences to a console, nor break the scan report's lines. */
#ifndef LB_ESCAPE_H
#define LB_ESCAPE_H

#include <stddef.h>

/* For the scan report: bytes outside [A-Za-z0-9._/:@+,=~^-] become %XX. Returns a malloc'd
 * string; an empty input gives "%" "00"-free "" (empty values are written as "-"). */
char *escape_value(const char *s);
/* Undo escape_value in place; returns s. A malformed %X is kept as is. */
char *unescape_value(char *s);
/* For a terminal: printable ASCII is kept, everything else (control characters, ESC, bytes of
 * 0x80 and up, and the backslash itself, so that the form is unambiguous) becomes \xNN; the result is cut to at most width columns (with "..." when cut).
 * Writes into buf (size > 4) and returns it. */
char *term_escape(const char *s, char *buf, size_t size, int width);
/* Length of the well-formed UTF-8 sequence at s: > 0 when valid; else minus the length of its
 * "maximal subpart" (the bytes one U+FFFD stands for, Unicode's best practice: 1 to 3). */
int utf8_seq(const char *s);
/* For `lifeboat scan --json` (docs/scan-report.md): s as a JSON string, quotes included, in
 * printable ASCII only (every other code point as \uXXXX, surrogate pairs above U+FFFF), so
 * the document is safe on any terminal. A byte sequence that is not UTF-8 becomes U+FFFD
 * (one per maximal subpart); *exact is then set to 0 (else 1): the caller gives the bytes in
 * hex beside it (hex_bytes). Returns a malloc'd string. */
char *json_quote(const char *s, int *exact);
/* s as lower-case hex, two digits per byte. Returns a malloc'd string. */
char *hex_bytes(const char *s);

#endif
