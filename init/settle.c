#include "init/settle.h"

static long long later(long long a, long long b)
{
	return a > b ? a : b;
}

int settle_on_evidence(const struct settle_input *in)
{
	return in->caught_up && (in->usb_seen < 0 || in->now >= in->usb_seen + SETTLE_QUIET_MS);
}

enum settle_verdict settle_decide(const struct settle_input *in, int *wait_ms)
{
	*wait_ms = 0;
	long long quiet_until = in->last_event + (in->caught_up ? SETTLE_CONFIRM_MS : SETTLE_QUIET_MS);
	if (in->usb_seen >= 0)
		quiet_until = later(quiet_until, in->usb_seen + SETTLE_QUIET_MS);
	if (in->storage_seen >= 0)
		quiet_until = later(quiet_until, in->storage_seen + SETTLE_USB_STORAGE_MS);
	int busy = in->now < quiet_until || in->pending > 0;
	if (!busy)
		return SETTLE_DONE;
	if (in->now >= in->deadline)
		return SETTLE_GAVE_UP;
	/* The fixed window is only the least wait: once it closes, evidence that a disk is still
	 * coming (a slow usb-storage scan under load) extends it, in short steps, up to the
	 * deadline. */
	long long next = in->now < quiet_until ? quiet_until : in->now + SETTLE_RECHECK_MS;
	if (next > in->deadline)
		next = in->deadline;
	long long w = next - in->now;
	*wait_ms = w < 1 ? 1 : w > 60000 ? 60000 : (int)w;
	return SETTLE_WAIT;
}
