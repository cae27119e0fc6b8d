#include "discover/json.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

struct parser {
	const char *s;
	size_t len, pos;
	const char *err;
};

static struct json *value(struct parser *p, int depth);

static void ws(struct parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

static int parse_error(struct parser *p, const char *msg)
{
	if (!p->err)
		p->err = msg;
	return -1;
}

static int hex4(struct parser *p, unsigned *out)
{
	if (p->len - p->pos < 4)
		return parse_error(p, "short \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return parse_error(p, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		w[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		w[0] = (char)(0xc0 | (cp >> 6));
		w[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		w[0] = (char)(0xe0 | (cp >> 12));
		w[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		w[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	w[0] = (char)(0xf0 | (cp >> 18));
	w[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	w[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	w[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t l;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		l = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		l = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		l = 4, min = 0x10000;
	else
		return 0;
	if (l > n)
		return 0;
	unsigned cp = c & (0x3f >> (l - 1));
	for (size_t i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return l;
}

static char *string(struct parser *p)
{
	p->pos++; /* opening quote */
	/* Decoded text is never longer than the source. */
	size_t start = p->pos;
	size_t end = start;
	while (end < p->len && p->s[end] != '"') {
		if (p->s[end] == '\\')
			end++;
		end++;
	}
	char *out = xmalloc(end - start + 1), *w = out;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			*w = 0;
			return out;
		}
		if (c < 0x20) {
			parse_error(p, "control character in string");
			break;
		}
		if (c == '\\') {
			p->pos++;
			if (p->pos >= p->len) {
				parse_error(p, "unterminated string");
				break;
			}
			char e = p->s[p->pos++];
			const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
			const char *k = e ? strchr(from, e) : NULL;
			if (k) {
				*w++ = to[k - from];
				continue;
			}
			if (e != 'u') {
				parse_error(p, "bad escape");
				break;
			}
			unsigned cp;
			if (hex4(p, &cp) < 0)
				break;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				parse_error(p, "lone low surrogate");
				break;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
					parse_error(p, "lone high surrogate");
					break;
				}
				p->pos += 2;
				if (hex4(p, &lo) < 0)
					break;
				if (lo < 0xdc00 || lo > 0xdfff) {
					parse_error(p, "bad surrogate pair");
					break;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0) {
				parse_error(p, "NUL in string");
				break;
			}
			/* An escape is 6 or 12 source bytes and at most 4 output bytes. */
			w += put_utf8(w, cp);
			continue;
		}
		size_t l = utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
		if (!l) {
			parse_error(p, "invalid UTF-8");
			break;
		}
		memcpy(w, p->s + p->pos, l);
		w += l;
		p->pos += l;
	}
	parse_error(p, "unterminated string");
	free(out);
	return NULL;
}

static int number(struct parser *p, struct json *j)
{
	size_t start = p->pos;
	const char *s = p->s;
	size_t n = p->len;
	if (p->pos < n && s[p->pos] == '-')
		p->pos++;
	if (p->pos < n && s[p->pos] == '0')
		p->pos++;
	else if (p->pos < n && s[p->pos] >= '1' && s[p->pos] <= '9')
		while (p->pos < n && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	else
		return parse_error(p, "bad number");
	if (p->pos < n && s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= n || s[p->pos] < '0' || s[p->pos] > '9')
			return parse_error(p, "bad number");
		while (p->pos < n && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < n && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < n && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= n || s[p->pos] < '0' || s[p->pos] > '9')
			return parse_error(p, "bad number");
		while (p->pos < n && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	}
	j->type = JSON_NUMBER;
	j->str = strndup(s + start, p->pos - start);
	if (!j->str)
		return parse_error(p, "out of memory");
	return 0;
}

static int literal(struct parser *p, const char *word)
{
	size_t l = strlen(word);
	if (p->len - p->pos < l || memcmp(p->s + p->pos, word, l))
		return parse_error(p, "unexpected character");
	p->pos += l;
	return 0;
}

static void add(struct json *j, char *key, struct json *v)
{
	j->vals = xrealloc(j->vals, sizeof(*j->vals) * (size_t)(j->n + 1));
	if (j->type == JSON_OBJECT) {
		j->keys = xrealloc(j->keys, sizeof(*j->keys) * (size_t)(j->n + 1));
		j->keys[j->n] = key;
	}
	j->vals[j->n++] = v;
}

static int members(struct parser *p, struct json *j, int depth)
{
	int obj = j->type == JSON_OBJECT;
	char close = obj ? '}' : ']';
	p->pos++;
	ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return parse_error(p, "expected a key");
			key = string(p);
			if (!key)
				return -1;
			for (int i = 0; i < j->n; i++)
				if (!strcmp(j->keys[i], key)) {
					free(key);
					return parse_error(p, "duplicate key");
				}
			ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(key);
				return parse_error(p, "expected ':'");
			}
			p->pos++;
		}
		struct json *v = value(p, depth + 1);
		if (!v) {
			free(key);
			return -1;
		}
		add(j, key, v);
		ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return parse_error(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static struct json *value(struct parser *p, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		parse_error(p, "nested too deep");
		return NULL;
	}
	ws(p);
	if (p->pos >= p->len) {
		parse_error(p, "unexpected end");
		return NULL;
	}
	struct json *j = xcalloc(1, sizeof(*j));
	int r = 0;
	char c = p->s[p->pos];
	if (c == '{' || c == '[') {
		j->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
		r = members(p, j, depth);
	} else if (c == '"') {
		j->type = JSON_STRING;
		j->str = string(p);
		r = j->str ? 0 : -1;
	} else if (c == 't' || c == 'f') {
		j->type = JSON_BOOL;
		j->boolean = c == 't';
		r = literal(p, c == 't' ? "true" : "false");
	} else if (c == 'n') {
		r = literal(p, "null");
	} else {
		r = number(p, j);
	}
	if (r < 0) {
		json_free(j);
		return NULL;
	}
	return j;
}

struct json *json_parse(const char *text, size_t len, const char **err, size_t *where)
{
	struct parser p = {text, len, 0, NULL};
	struct json *j = NULL;
	if (len > JSON_MAX_SIZE)
		p.err = "too large";
	else
		j = value(&p, 0);
	if (j) {
		ws(&p);
		if (p.pos != p.len) {
			p.err = "text after the value";
			json_free(j);
			j = NULL;
		}
	}
	if (!j) {
		if (err)
			*err = p.err ? p.err : "invalid";
		if (where)
			*where = p.pos;
	}
	return j;
}

void json_free(struct json *j)
{
	if (!j)
		return;
	for (int i = 0; i < j->n; i++) {
		if (j->keys)
			free(j->keys[i]);
		json_free(j->vals[i]);
	}
	free(j->keys);
	free(j->vals);
	free(j->str);
	free(j);
}

const struct json *json_get(const struct json *j, const char *key)
{
	if (!j || j->type != JSON_OBJECT)
		return NULL;
	for (int i = 0; i < j->n; i++)
		if (!strcmp(j->keys[i], key))
			return j->vals[i];
	return NULL;
}

