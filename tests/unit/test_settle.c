/* The device worker's settle rule. */
#include "init/settle.h"
#include "tests/unit/check.h"

static enum settle_verdict at(long long now, long long last, long long storage, int pending,
			      long long deadline, int *w)
{
	struct settle_input in = {now, last, storage, pending, deadline, 0, -1};
	return settle_decide(&in, w);
}

/* The same, with the evidence: caught up with the kernel's uevent counter, the last USB event. */
static enum settle_verdict ev_at(long long now, long long last, long long usb, int pending, int *w)
{
	struct settle_input in = {now, last, -1, pending, 10000, 1, usb};
	return settle_decide(&in, w);
}

int main(void)
{
	int w;
	/* Quiet for 500 ms after the last event, nothing pending: settled; before that, wait the rest. */
	CHECK_INT(at(1000, 800, -1, 0, 10000, &w), SETTLE_WAIT);
	CHECK_INT(w, 300);
	CHECK_INT(at(1300, 800, -1, 0, 10000, &w), SETTLE_DONE);
	CHECK_INT(w, 0);
	/* A new usb-storage interface holds the window open 2.5 s, events or not. */
	CHECK_INT(at(1300, 800, 1000, 0, 10000, &w), SETTLE_WAIT);
	CHECK_INT(w, 2200);
	CHECK_INT(at(3500, 800, 1000, 0, 10000, &w), SETTLE_DONE);

	/* The flake under load: the 2.5 s window has closed but the interface still has no disk.
	 * Not settled: look again shortly, for as long as it stays pending... */
	CHECK_INT(at(3500, 800, 1000, 1, 10000, &w), SETTLE_WAIT);
	CHECK_INT(w, SETTLE_RECHECK_MS);
	CHECK_INT(at(7000, 800, 1000, 1, 10000, &w), SETTLE_WAIT);
	/* ...never past the deadline... */
	CHECK_INT(at(9900, 800, 1000, 1, 10000, &w), SETTLE_WAIT);
	CHECK_INT(w, 100);
	/* ...where the worker gives up and says so. */
	CHECK_INT(at(10000, 800, 1000, 1, 10000, &w), SETTLE_GAVE_UP);
	/* The disk appeared (its block uevent counts as an event): quiet 500 ms, then settled. */
	CHECK_INT(at(7100, 7000, 1000, 0, 10000, &w), SETTLE_WAIT);
	CHECK_INT(w, 400);
	CHECK_INT(at(7500, 7000, 1000, 0, 10000, &w), SETTLE_DONE);

	/* Evidence without any USB event (an NVMe controller still starting): waits too. */
	CHECK_INT(at(2000, 0, -1, 1, 10000, &w), SETTLE_WAIT);
	CHECK_INT(w, SETTLE_RECHECK_MS);

	/* Events that never stop: given up at the deadline, and the wait is cut to it. */
	CHECK_INT(at(9800, 9700, -1, 0, 10000, &w), SETTLE_WAIT);
	CHECK_INT(w, 200);
	CHECK_INT(at(10000, 9900, -1, 0, 10000, &w), SETTLE_GAVE_UP);
	/* Quiet at the deadline: settled, not given up. */
	CHECK_INT(at(12000, 9000, -1, 0, 10000, &w), SETTLE_DONE);

	/* On evidence (every numbered uevent read): 100 ms of silence is enough... */
	CHECK_INT(ev_at(1050, 1000, -1, 0, &w), SETTLE_WAIT);
	CHECK_INT(w, 50);
	CHECK_INT(ev_at(1100, 1000, -1, 0, &w), SETTLE_DONE);
	{
		struct settle_input in = {1100, 1000, -1, 0, 10000, 1, -1};
		CHECK_INT(settle_on_evidence(&in), 1);
		in.caught_up = 0; /* behind the counter: the fallback rule, the full window */
		CHECK_INT(settle_on_evidence(&in), 0);
		CHECK_INT(settle_decide(&in, &w), SETTLE_WAIT);
		CHECK_INT(w, 400);
	}
	/* ...but not while a USB hub may still be enumerating its ports in silence: a USB event
	 * keeps the full 500 ms window from it, even when caught up... */
	CHECK_INT(ev_at(1100, 1000, 900, 0, &w), SETTLE_WAIT);
	CHECK_INT(w, 300);
	CHECK_INT(ev_at(1400, 1000, 900, 0, &w), SETTLE_DONE);
	{
		struct settle_input in = {1300, 1000, -1, 0, 10000, 1, 900};
		CHECK_INT(settle_on_evidence(&in), 0);
		in.now = 1400;
		CHECK_INT(settle_on_evidence(&in), 1);
	}
	/* ...and evidence of a disk still coming (NVMe starting, usb-storage waiting) still holds,
	 * caught up or not. */
	CHECK_INT(ev_at(5000, 1000, -1, 1, &w), SETTLE_WAIT);
	CHECK_INT(w, SETTLE_RECHECK_MS);

	/* lifeboat.settle=0: nothing is waited for. */
	CHECK_INT(at(0, 0, -1, 0, 0, &w), SETTLE_GAVE_UP);
	return check_done("test_settle");
}
