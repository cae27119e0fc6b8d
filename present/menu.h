/* The console menu: what lifeboat shows on every console and what it does with a choice. */
#ifndef LB_MENU_H
#define LB_MENU_H

enum item_kind {
	ITEM_SYSTEM,
	ITEM_INSTALLER,
	ITEM_SHELL,
	ITEM_LOG,
	ITEM_REBOOT,
	ITEM_POWEROFF,
};

struct menu_item {
	char key[4];           /* what the user types; every line starts with "key)" */
	char text[160];        /* already escaped and cut to fit 80 columns */
	enum item_kind kind;
	int index;             /* system number for ITEM_SYSTEM */
};

#define MENU_MAX_ITEMS 64

struct menu {
	char title[80];
	char status[160];
	struct menu_item items[MENU_MAX_ITEMS];
	int n;
	int sel;               /* the line arrows move; Enter on an empty input picks it */
};

void menu_add(struct menu *m, const char *key, enum item_kind kind, int index, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Find the item whose key is typed (case-insensitive); -1 when none. */
int menu_find(const struct menu *m, const char *typed);

#endif
