/* How PID 1 answers the menu's death: start it again at once, after a pause, or give up on it
 * for now and let an emergency shell stand in. A pure function of the exit, for unit tests. */
#ifndef LB_RESPAWN_H
#define LB_RESPAWN_H

/* A menu that ends sooner than this after it started did not really run. */
#define RESPAWN_FAST_MS 2000
/* This many quick failures in a row are a crash loop. */
#define RESPAWN_CRASH_LOOP 5

struct respawn {
	int streak; /* quick failures of the menu itself, in a row */
	int kills;  /* quick SIGKILLs from outside, in a row */
};

enum respawn_action { RESPAWN_NOW, RESPAWN_LATER, RESPAWN_EMERGENCY };

/* Decide after the menu ended with wait status `status` having lived `lived_ms`. For
 * RESPAWN_LATER, *delay_ms says how long to wait (a poll deadline in PID 1, never a sleep). */
enum respawn_action respawn_decide(struct respawn *r, int status, long long lived_ms, int *delay_ms);

/* The kernel's count of processes its out-of-memory killer ended (the "oom_kill N" line of
 * /proc/vmstat text), or -1 when the text has none. PID 1 compares it across the menu's life to
 * say that a SIGKILL came while memory ran out. */
long long respawn_oom_kills(const char *vmstat);

/* Whether one /dev/kmsg record ("PRIO,SEQ,USEC,FLAGS;TEXT") is the OOM killer's line for pid
 * ("Out of memory: Killed process PID (NAME) ..."). The count above is the whole system's: the
 * killer may end another process after the menu has been started again (the hog itself), and
 * that must not be blamed for the menu's next SIGKILL. */
int respawn_oom_victim(const char *record, long pid);

#endif
