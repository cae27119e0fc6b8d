/* The console menu as data: the pages (main, one system), their lines, and what a key does. No
 * I/O here, so unit tests drive it key by key; applets/menu.c reads keys and runs the actions. */
#ifndef LB_MENU_H
#define LB_MENU_H

#include <stddef.h>

#include "report/found.h"

/* What a chosen line asks for. The first few only move inside the menu. */
enum menu_act {
	ACT_NONE,
	ACT_SYSTEM,     /* open a system's page */
	ACT_GENERATION, /* choose the generation the page's actions apply to */
	ACT_ALLGENS,    /* show every generation, not only the newest */
	ACT_BACK,       /* back to the main page */
	ACT_ENTER,
	ACT_BOOT,
	ACT_REPAIR,
	ACT_INSTALLER,
	ACT_SHELL,
	ACT_LOG,
	ACT_RESCAN,
	ACT_REBOOT,
	ACT_POWEROFF,
	ACT_FSCHECK,    /* check the system's filesystems, read-only */
	ACT_FSREPAIR,   /* check them, then repair after a typed confirmation */
	ACT_DEVREPAIR,  /* the same for one device of a problem (gen: the problem's index) */
	ACT_UNLOCK,     /* unlock a LUKS device (gen: its luks record's index), or all (gen -1) */
};

struct menu_item {
	char key[16];       /* what the user types; every line starts with "key)" */
	char text[96];      /* already escaped and cut so the line fits 80 columns */
	enum menu_act act;
	int sys;            /* index in found->sys, or -1 */
	int gen;            /* generation number, or -1 */
	int spec;           /* index in the system's specs, or -1 for the base generation */
};

/* A decision for applets/menu.c: run act on (sys, gen, spec). */
struct menu_choice {
	enum menu_act act;
	int sys, gen, spec;
};

#define MENU_MAX_ITEMS 256
#define MENU_TEXT_COLS 73 /* 80 columns less "key)", padding and the marker */
#define MENU_SHOWN_GENS 15 /* generations listed before "show all" */

struct menu {
	const struct found *f;
	const char *version;
	int page;           /* -1: the main page; else the index of the system shown */
	int gen, spec;      /* the generation (and specialisation) the system page acts on */
	int all_gens;
	struct menu_item items[MENU_MAX_ITEMS];
	int n;
	int sel;            /* the line arrows move; Enter with nothing typed takes it */
	char typed[8];
	int len;
	char unknown[8];    /* the key typed when EV_UNKNOWN was returned */
};

/* What a key did. */
enum menu_ev {
	EV_NONE,     /* nothing visible changed */
	EV_ECHO,     /* a character was added to the typed key: echo it */
	EV_ERASE,    /* the last typed character was removed: erase it */
	EV_REDRAW,   /* the page changed: draw it again */
	EV_UNKNOWN,  /* Enter on a key no line has: say so, then redraw */
	EV_CHOSEN,   /* *choice holds an action for the caller */
};

void menu_init(struct menu *m, const struct found *f, const char *version);
/* Name the bundled installer in its entry ("NixOS kexec installer"); NULL: a generic name. */
void menu_set_installer(const char *name);
/* Lines about the network and SSH for the main page's header (already printable), or NULL. */
void menu_set_remote(const char *text);
/* Rebuild the lines of the current page (after a page change or a new scan). */
void menu_build(struct menu *m);
/* Write the whole page (header, lines, prompt) as text with "\n" line ends. Returns its length. */
size_t menu_render(const struct menu *m, char *buf, size_t size);
/* Feed one key (a character or a KEY_* of present/term.h). */
enum menu_ev menu_input(struct menu *m, int key, struct menu_choice *choice);
/* Find the line whose key is typed (case-insensitive); -1 when none. */
int menu_find(const struct menu *m, const char *typed);
/* Open the page of system index sys with generation gen (-1: current) chosen. */
void menu_open_system(struct menu *m, int sys, int gen);

#endif
