/* When the device worker tells PID 1 "devices settled": a pure function of the clock and of the
 * evidence the worker gathered, so the rule can be unit-tested like init/respawn.c. */
#ifndef LB_SETTLE_H
#define LB_SETTLE_H

/* No uevent for this long means nothing is being announced: driver probes announce their
 * devices with uevents, so a quiet socket means no probe is running. The fallback rule, used
 * when the evidence below is missing. */
#define SETTLE_QUIET_MS 500
/* The rule on evidence: every module the worker loads has finished its probes when finit_module
 * returns (the kernel waits for the async probes a module's init schedules), and every uevent
 * the kernel has numbered has been read (the socket is caught up with /sys/kernel/uevent_seqnum).
 * Then a short confirming silence is enough; USB is the exception (below). */
#define SETTLE_CONFIRM_MS 100
/* usb-storage waits (usb_storage.delay_use, 1 s by default) in silence before it scans a new
 * interface for disks: a new mass-storage interface keeps the wait open at least this long. */
#define SETTLE_USB_STORAGE_MS 2500
/* While evidence says a disk is still coming, look again this often. */
#define SETTLE_RECHECK_MS 250
/* After settling, disks that appear (a SCSI host still adding LUNs, a disk plugged in at the
 * menu) are told to PID 1 once block events have been quiet this long: a disk and its
 * partitions, or a host's run of LUNs, make one notice and one rescan. */
#define SETTLE_LATE_QUIET_MS 250

struct settle_input {
	long long now;
	long long last_event;   /* the last uevent that was not our own module load */
	long long storage_seen; /* the last usb-storage interface added (or found pending), or -1 */
	int pending;            /* devices that promise a disk but have none yet (a usb-storage
				 * interface without a disk, an NVMe controller not yet live) */
	long long deadline;     /* lifeboat.settle counted from the worker's start */
	int caught_up;          /* the last event read is the last the kernel sent */
	long long usb_seen;     /* the last uevent of the usb subsystem, or -1: hubs enumerate their
				 * ports in a kernel thread, after debounce delays, in silence, so a
				 * recent USB event keeps the full quiet window */
};

enum settle_verdict { SETTLE_WAIT, SETTLE_DONE, SETTLE_GAVE_UP };

/* SETTLE_WAIT: look again in *wait_ms (a poll timeout, at least 1). SETTLE_DONE: the socket was
 * quiet (SETTLE_CONFIRM_MS when caught up and no USB event is recent, else SETTLE_QUIET_MS) and
 * nothing is pending. SETTLE_GAVE_UP: the deadline passed with devices still
 * appearing or pending. */
enum settle_verdict settle_decide(const struct settle_input *in, int *wait_ms);
/* Whether the short window applies to in: "on evidence", else the fallback quiet window; for the
 * log line that says which rule settled the devices. */
int settle_on_evidence(const struct settle_input *in);

#endif
