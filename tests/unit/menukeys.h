/* Typing into the menu in unit tests: each key echoes, Enter ends with the event expected. */
#ifndef LIFEBOAT_TESTS_MENUKEYS_H
#define LIFEBOAT_TESTS_MENUKEYS_H

#include "present/menu.h"
#include "tests/unit/check.h"

static inline void type(struct menu *m, const char *keys, struct menu_choice *c, enum menu_ev last)
{
	for (const char *p = keys; *p; p++)
		CHECK_INT(menu_input(m, *p, c), EV_ECHO);
	CHECK_INT(menu_input(m, KEY_ENTER, c), last);
}

#endif
