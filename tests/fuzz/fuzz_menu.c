/* A scan report as the menu gets it (from the scan, or a saved one): loaded, every page
 * rendered, and keys from the input fed in. What reaches the terminal must be printable ASCII
 * and line breaks only, whatever the disks said (escape sequences, NUL-free garbage, UTF-8). The
 * input is the report, then (after a NUL) the keys. */
#include <stdlib.h>
#include <string.h>

#include "present/menu.h"
#include "present/term.h"
#include "report/found.h"

static char screen[32768];

static void render(const struct menu *m)
{
	size_t n = menu_render(m, screen, sizeof(screen));
	if (n >= sizeof(screen) || strlen(screen) != n)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)screen[i];
		if (c != '\n' && (c < 32 || c > 126))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 2);
	memcpy(text, data, size);
	text[size] = text[size + 1] = 0;
	const char *keys = text + strlen(text) + 1;
	size_t nkeys = keys <= text + size ? (size_t)(text + size - keys) : 0;
	struct found f;
	if (found_load(&f, text) < 0) {
		free(text);
		return 0;
	}
	static struct menu m;
	menu_init(&m, &f, "fuzz");
	render(&m);
	for (int i = 0; i < f.n_sys && i < 8; i++) {
		menu_open_system(&m, i, -1);
		render(&m);
		m.all_gens = 1;
		menu_build(&m);
		render(&m);
	}
	menu_init(&m, &f, "fuzz");
	static const int special[] = {KEY_UP, KEY_DOWN, KEY_ENTER, KEY_BACKSPACE, KEY_CTRL_C};
	for (size_t i = 0; i < nkeys && i < 64; i++) {
		unsigned char k = (unsigned char)keys[i];
		struct menu_choice c;
		enum menu_ev ev = menu_input(&m, k < 5 ? special[k] : k == '\n' ? KEY_ENTER : k, &c);
		if (m.n < 0 || m.n > MENU_MAX_ITEMS || m.sel < 0 || (m.n && m.sel >= m.n))
			abort();
		if (ev == EV_REDRAW || ev == EV_UNKNOWN)
			render(&m);
	}
	found_free(&f);
	free(text);
	return 0;
}
