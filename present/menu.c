#include "present/menu.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void menu_add(struct menu *m, const char *key, enum item_kind kind, int index, const char *fmt, ...)
{
	if (m->n >= MENU_MAX_ITEMS)
		return;
	struct menu_item *it = &m->items[m->n++];
	snprintf(it->key, sizeof(it->key), "%s", key);
	it->kind = kind;
	it->index = index;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->text, sizeof(it->text), fmt, ap);
	va_end(ap);
}

int menu_find(const struct menu *m, const char *typed)
{
	for (int i = 0; i < m->n; i++)
		if (!strcasecmp(m->items[i].key, typed))
			return i;
	return -1;
}
