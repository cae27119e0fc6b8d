#include "init/children.h"

#include "init/respawn.h"

int children_find(const struct child *t, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (pid > 0 && t[i].pid == pid)
			return i;
	return -1;
}

long long children_next_due(const struct child *t, int n, enum pid1_state s)
{
	long long next = -1;
	for (int i = 0; i < n; i++)
		if (!t[i].pid && t[i].due >= 0 && state_wants(s, (enum child_id)i) &&
		    (next < 0 || t[i].due < next))
			next = t[i].due;
	return next;
}

int children_paced_delay(long long lived_ms)
{
	/* A worker that keeps dying is restarted at most once a second. */
	return lived_ms < RESPAWN_FAST_MS ? 1000 : 0;
}
