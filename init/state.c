#include "init/state.h"

const char *state_name(enum pid1_state s)
{
	switch (s) {
	case STATE_BOOT_SHELL: return "boot shell";
	case STATE_SETTLING: return "settling";
	case STATE_MENU: return "menu";
	case STATE_EMERGENCY: return "emergency";
	case STATE_SHUTTING_DOWN: return "shutting down";
	}
	return "?";
}

int state_wants(enum pid1_state s, enum child_id c)
{
	switch (c) {
	case CHILD_DEVICES:
		/* Drivers keep loading for devices plugged in later, under the menu or a shell. */
		return s == STATE_SETTLING || s == STATE_MENU || s == STATE_EMERGENCY;
	case CHILD_REMOTE:
		/* The network and SSH (applets/remote.c) come up with the drivers, for good. */
		return s == STATE_SETTLING || s == STATE_MENU || s == STATE_EMERGENCY;
	case CHILD_MENU:
		return s == STATE_MENU;
	case CHILD_SHELL:
		return s == STATE_BOOT_SHELL || s == STATE_EMERGENCY;
	default:
		return 0;
	}
}
