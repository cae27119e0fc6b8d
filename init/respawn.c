#include "init/respawn.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

enum respawn_action respawn_decide(struct respawn *r, int status, long long lived_ms, int *delay_ms)
{
	*delay_ms = 0;
	/* 126/127: the menu could not be executed at all; trying again cannot help. */
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 126 || WEXITSTATUS(status) == 127)) {
		r->streak = r->kills = 0;
		return RESPAWN_EMERGENCY;
	}
	if (lived_ms >= RESPAWN_FAST_MS) {
		r->streak = r->kills = 0;
		return RESPAWN_NOW;
	}
	/* SIGKILL never comes from a bug in the menu itself: someone (a user, the OOM killer) sent
	 * it. It ends a run of crashes and never leads to the emergency shell, but a flood of them
	 * is paced so a kill loop cannot keep PID 1 busy. */
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		r->streak = 0;
		r->kills++;
		if (r->kills > RESPAWN_CRASH_LOOP) {
			*delay_ms = 250;
			return RESPAWN_LATER;
		}
		return RESPAWN_NOW;
	}
	/* A crash or an exit soon after starting, however it ended: count it. */
	r->kills = 0;
	r->streak++;
	if (r->streak >= RESPAWN_CRASH_LOOP) {
		r->streak = 0;
		return RESPAWN_EMERGENCY;
	}
	if (r->streak == 1)
		return RESPAWN_NOW;
	*delay_ms = 250 * (r->streak - 1);
	return RESPAWN_LATER;
}

long long respawn_oom_kills(const char *vmstat)
{
	static const char key[] = "oom_kill ";
	for (const char *p = vmstat; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, sizeof(key) - 1)) {
			char *end;
			long long n = strtoll(p + sizeof(key) - 1, &end, 10);
			return end > p + sizeof(key) - 1 && n >= 0 ? n : -1;
		}
	return -1;
}

int respawn_oom_victim(const char *record, long pid)
{
	static const char key[] = "Killed process ";
	const char *text = record ? strchr(record, ';') : NULL;
	if (!text || pid <= 0)
		return 0;
	/* The message ends at the first newline: what follows are the record's KEY=value lines. */
	const char *end = strchr(text, '\n');
	for (const char *p = strstr(text, key); p && (!end || p < end); p = strstr(p + 1, key)) {
		char *after;
		long n = strtol(p + sizeof(key) - 1, &after, 10);
		if (after > p + sizeof(key) - 1 && n == pid && !strncmp(after, " (", 2))
			return 1;
	}
	return 0;
}
