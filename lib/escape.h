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
 * 0x80 and up) becomes \xNN; the result is cut to at most width columns (with "..." when cut).
 * Writes into buf (size > 4) and returns it. */
char *term_escape(const char *s, char *buf, size_t size, int width);

#endif
