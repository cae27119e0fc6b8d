#include "net/sshkeys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static int type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '@';
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '/' || c == '=';
}

int sshkeys_from_cmdline(const char *val, char **out)
{
	if (!val || !*val)
		return -EINVAL;
	char *add = xstrdup("");
	int n = 0;
	const char *p = val;
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *colon = memchr(p, ':', len);
		if (!colon || colon == p || colon + 1 == p + len)
			goto bad;
		size_t tl = (size_t)(colon - p), bl = len - tl - 1;
		for (size_t i = 0; i < tl; i++)
			if (!type_char(p[i]))
				goto bad;
		/* A key blob is at least a type string and some key bytes: 16 base64 characters. */
		if (bl < 16)
			goto bad;
		for (size_t i = 0; i < bl; i++)
			if (!b64_char(colon[1 + i]))
				goto bad;
		char *next = xasprintf("%s%.*s %.*s lifeboat.authorized_key\n", add, (int)tl, p, (int)bl, colon + 1);
		free(add);
		add = next;
		n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	char *all = xasprintf("%s%s", *out ? *out : "", add);
	free(add);
	free(*out);
	*out = all;
	return n;
bad:
	free(add);
	return -EINVAL;
}

int sshkeys_count(const char *text)
{
	int n = 0;
	while (text && *text) {
		size_t l = strcspn(text, "\n");
		size_t i = 0;
		while (i < l && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r'))
			i++;
		if (i < l && text[i] != '#')
			n++;
		text += l + (text[l] ? 1 : 0);
	}
	return n;
}
