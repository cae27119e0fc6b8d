/* PID 1's child table and which children each state wants. */
#include "init/children.h"
#include "tests/unit/check.h"

int main(void)
{
	struct child t[N_CHILDREN] = {
		[CHILD_DEVICES] = {"device worker", RESTART_PACED, 0, 0, -1},
		[CHILD_MENU] = {"menu", RESTART_RESPAWN, 0, 0, -1},
		[CHILD_SHELL] = {"shell", RESTART_STATE, 0, 0, -1},
		[CHILD_REMOTE] = {"remote rescue", RESTART_SERVICE, 0, 0, -1},
		[CHILD_DISKS] = {"disk work", RESTART_NEVER, 0, 0, -1},
		[CHILD_REBOOT] = {"reboot", RESTART_NEVER, 0, 0, -1},
	};
	/* The boot shell runs alone: no drivers, no menu, whatever is due. */
	CHECK(state_wants(STATE_BOOT_SHELL, CHILD_SHELL));
	CHECK(!state_wants(STATE_BOOT_SHELL, CHILD_DEVICES) && !state_wants(STATE_BOOT_SHELL, CHILD_MENU));
	/* No menu before devices settled; never a menu and a shell of PID 1's at once. */
	CHECK(state_wants(STATE_SETTLING, CHILD_DEVICES) && !state_wants(STATE_SETTLING, CHILD_MENU));
	CHECK(state_wants(STATE_MENU, CHILD_MENU) && !state_wants(STATE_MENU, CHILD_SHELL));
	CHECK(state_wants(STATE_EMERGENCY, CHILD_SHELL) && !state_wants(STATE_EMERGENCY, CHILD_MENU));
	CHECK(state_wants(STATE_EMERGENCY, CHILD_DEVICES));
	/* The network and SSH: with the drivers, never in the boot shell or while shutting down. */
	CHECK(state_wants(STATE_SETTLING, CHILD_REMOTE) && state_wants(STATE_MENU, CHILD_REMOTE));
	CHECK(state_wants(STATE_EMERGENCY, CHILD_REMOTE));
	CHECK(!state_wants(STATE_BOOT_SHELL, CHILD_REMOTE) && !state_wants(STATE_SHUTTING_DOWN, CHILD_REMOTE));
	/* Shutting down restarts nothing; one-shot work is never wanted. */
	for (int c = 0; c < N_CHILDREN; c++) {
		CHECK(!state_wants(STATE_SHUTTING_DOWN, (enum child_id)c));
		CHECK(!state_wants(STATE_MENU, CHILD_DISKS) && !state_wants(STATE_MENU, CHILD_REBOOT));
	}
	CHECK_STR(state_name(STATE_EMERGENCY), "emergency");

	t[CHILD_MENU].due = 500;
	t[CHILD_DEVICES].due = 900;
	t[CHILD_SHELL].due = 100;
	CHECK_INT(children_next_due(t, N_CHILDREN, STATE_MENU), 500);
	CHECK_INT(children_next_due(t, N_CHILDREN, STATE_EMERGENCY), 100);
	CHECK_INT(children_next_due(t, N_CHILDREN, STATE_SHUTTING_DOWN), -1);
	t[CHILD_MENU].pid = 42; /* running: its due time no longer counts */
	CHECK_INT(children_next_due(t, N_CHILDREN, STATE_MENU), 900);
	CHECK_INT(children_find(t, N_CHILDREN, 42), CHILD_MENU);
	CHECK_INT(children_find(t, N_CHILDREN, 43), -1);
	CHECK_INT(children_find(t, N_CHILDREN, 0), -1);
	CHECK_INT(children_paced_delay(10), 1000);
	CHECK_INT(children_paced_delay(60000), 0);
	return check_done("test_children");
}
