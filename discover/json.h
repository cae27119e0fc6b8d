/* A small strict JSON reader (RFC 8259) for bootspec files found on disks: UTF-8 checked,
 * control characters in strings refused, depth and size bounded, duplicate keys refused,
 * nothing after the value. Numbers are kept as their text. */
#ifndef LB_JSON_H
#define LB_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_SIZE (1 << 20)

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	int boolean;
	char *str;          /* string value, or number text */
	int n;              /* array or object members */
	char **keys;        /* object keys */
	struct json **vals; /* members */
};

/* Parse text of len bytes. Returns the value, or NULL with *err set to a static message and
 * *where to the byte offset of the problem. */
struct json *json_parse(const char *text, size_t len, const char **err, size_t *where);
void json_free(struct json *j);
/* Member of an object, or NULL (also when j is not an object). */
const struct json *json_get(const struct json *j, const char *key);

#endif
