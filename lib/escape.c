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
		/* A backslash is escaped too, so that "\\x1b" on a disk never reads as ESC here. */
		if (*p >= 32 && *p < 127 && *p != '\\') {
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

int utf8_seq(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0];
	int need;
	unsigned lo = 0x80, hi = 0xbf; /* the range of the byte after the lead */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return -1;
	for (int i = 1; i <= need; i++) {
		unsigned b = s[i];
		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
			return -i;
	}
	return need + 1;
}

static size_t put_u(char *w, unsigned cp)
{
	if (cp < 0x10000)
		return (size_t)sprintf(w, "\\u%04x", cp);
	cp -= 0x10000;
	return (size_t)sprintf(w, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
}

char *json_quote(const char *str, int *exact)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	/* Worst cases: one byte as \u00XX (6), one invalid byte as \ufffd (6), four bytes as a
	 * surrogate pair (12). */
	char *out = xmalloc(n * 6 + 3), *w = out;
	*exact = 1;
	*w++ = '"';
	for (size_t i = 0; i < n;) {
		int l = utf8_seq((const char *)s + i);
		if (l < 0) {
			*exact = 0;
			w += put_u(w, 0xfffd);
			i += (size_t)-l;
			continue;
		}
		unsigned c = s[i], cp = c;
		if (l == 2)
			cp = (c & 0x1f) << 6 | (s[i + 1] & 0x3f);
		else if (l == 3)
			cp = (c & 0x0f) << 12 | (s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
		else if (l == 4)
			cp = (c & 0x07) << 18 | (s[i + 1] & 0x3f) << 12 | (s[i + 2] & 0x3f) << 6 | (s[i + 3] & 0x3f);
		if (cp == '"' || cp == '\\') {
			*w++ = '\\';
			*w++ = (char)cp;
		} else if (cp >= 0x20 && cp < 0x7f) {
			*w++ = (char)cp;
		} else {
			w += put_u(w, cp);
		}
		i += (size_t)l;
	}
	*w++ = '"';
	*w = 0;
	return out;
}

char *hex_bytes(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", (unsigned char)s[i]);
	out[2 * n] = 0;
	return out;
}
