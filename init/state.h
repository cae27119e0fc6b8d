/* What PID 1 is doing, as one explicit state, and which children each state wants running. */
#ifndef LB_STATE_H
#define LB_STATE_H

enum pid1_state {
	STATE_BOOT_SHELL,    /* lifeboat.shell: a shell runs before anything else, even drivers */
	STATE_SETTLING,      /* the device worker loads drivers; PID 1 waits for "settled" */
	STATE_MENU,          /* the menu runs (and is restarted by init/respawn.c) */
	STATE_EMERGENCY,     /* the menu cannot run: an emergency shell stands in */
	STATE_SHUTTING_DOWN, /* stopping everything; disk work in a child with a deadline */
};

/* PID 1's children, one row each in its table (init/children.h). */
enum child_id { CHILD_DEVICES, CHILD_MENU, CHILD_SHELL, CHILD_REMOTE, CHILD_DISKS, CHILD_REBOOT, N_CHILDREN };

const char *state_name(enum pid1_state s);
/* Should child c be running in state s? PID 1 starts a wanted child once it is due and never
 * starts an unwanted one; CHILD_DISKS and CHILD_REBOOT are started by the shutdown path only. */
int state_wants(enum pid1_state s, enum child_id c);

#endif
