/* When the device worker tells PID 1 "devices settled": a pure function of the clock and of the
 * evidence the worker gathered, so the rule can be unit-tested like init/respawn.c. */
#ifndef LB_SETTLE_H
#define LB_SETTLE_H

/* No uevent for this long means nothing is being announced: driver probes announce their
 * devices with uevents, so a quiet socket means no probe is running. */
#define SETTLE_QUIET_MS 500
/* usb-storage waits (usb_storage.delay_use, 1 s by default) in silence before it scans a new
 * interface for disks: a new mass-storage interface keeps the wait open at least this long. */
#define SETTLE_USB_STORAGE_MS 2500
/* While evidence says a disk is still coming, look again this often. */
#define SETTLE_RECHECK_MS 250

struct settle_input {
	long long now;
	long long last_event;   /* the last uevent that was not our own module load */
	long long storage_seen; /* the last usb-storage interface added (or found pending), or -1 */
	int pending;            /* devices that promise a disk but have none yet (a usb-storage
				 * interface without a disk, an NVMe controller not yet live) */
	long long deadline;     /* lifeboat.settle counted from the worker's start */
};

enum settle_verdict { SETTLE_WAIT, SETTLE_DONE, SETTLE_GAVE_UP };

/* SETTLE_WAIT: look again in *wait_ms (a poll timeout, at least 1). SETTLE_DONE: the socket was
 * quiet and nothing is pending. SETTLE_GAVE_UP: the deadline passed with devices still
 * appearing or pending. */
enum settle_verdict settle_decide(const struct settle_input *in, int *wait_ms);

#endif
