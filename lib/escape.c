#include "lib/escape.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"

static int plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._/:@+,=~^-", c) != NULL;
}

char *escape_value(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *w = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (plain(*p)) {
			*w++ = (char)*p;
		} else {
			snprintf(w, 4, "%%%02X", *p);
			w += 3;
		}
	}
	*w = 0;
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *unescape_value(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		int hi, lo;
		if (*p == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 && (hi || lo)) {
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	return s;
}

char *term_escape(const char *s, char *buf, size_t size, int width)
{
	size_t w = 0;
	int cols = 0, cut = 0;
	if (width <= 0 || (size_t)width >= size)
		width = (int)size - 1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[5];
		int len;
		if (*p >= 32 && *p < 127) {
			tmp[0] = (char)*p;
			len = 1;
		} else {
			len = snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		}
		if (cols + len > width) {
			cut = 1;
			break;
		}
		memcpy(buf + w, tmp, (size_t)len);
		w += (size_t)len;
		cols += len;
	}
	if (cut && width >= 3) {
		while (cols > width - 3) {
			w--;
			cols--;
		}
		memcpy(buf + w, "...", 3);
		w += 3;
	}
	buf[w] = 0;
	return buf;
}
