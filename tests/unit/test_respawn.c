/* PID 1's answer to the menu's death. */
#include <signal.h>
#include <sys/wait.h>

#include "init/respawn.h"
#include "tests/unit/check.h"

/* Wait statuses as the kernel encodes them. */
#define EXITED(c) (((c) & 0xff) << 8)
#define KILLED(s) ((s) & 0x7f)

int main(void)
{
	struct respawn r = {0};
	int d;
	CHECK(WIFSIGNALED(KILLED(SIGSEGV)) && WTERMSIG(KILLED(SIGSEGV)) == SIGSEGV);
	CHECK(WIFEXITED(EXITED(127)) && WEXITSTATUS(EXITED(127)) == 127);

	/* A menu that ran a while and ended, however, comes back at once. */
	for (int i = 0; i < 20; i++)
		CHECK_INT(respawn_decide(&r, KILLED(SIGSEGV), 5000, &d), RESPAWN_NOW);
	CHECK_INT(respawn_decide(&r, EXITED(0), 60000, &d), RESPAWN_NOW);
	CHECK_INT(d, 0);

	/* Quick crashes: at once, then paced, then the emergency shell; then a fresh start. */
	CHECK_INT(respawn_decide(&r, KILLED(SIGSEGV), 10, &d), RESPAWN_NOW);
	CHECK_INT(respawn_decide(&r, KILLED(SIGABRT), 10, &d), RESPAWN_LATER);
	CHECK_INT(d, 250);
	CHECK_INT(respawn_decide(&r, EXITED(1), 10, &d), RESPAWN_LATER);
	CHECK_INT(d, 500);
	CHECK_INT(respawn_decide(&r, EXITED(0), 10, &d), RESPAWN_LATER);
	CHECK_INT(respawn_decide(&r, KILLED(SIGSEGV), 10, &d), RESPAWN_EMERGENCY);
	CHECK_INT(respawn_decide(&r, KILLED(SIGSEGV), 10, &d), RESPAWN_NOW);

	/* A run that lived long enough in between resets the count. */
	r = (struct respawn){0};
	for (int i = 0; i < 50; i++) {
		CHECK(respawn_decide(&r, KILLED(SIGSEGV), 10, &d) != RESPAWN_EMERGENCY);
		CHECK(respawn_decide(&r, KILLED(SIGSEGV), 3000, &d) == RESPAWN_NOW);
	}

	/* Cannot be executed: the emergency shell at once. */
	r = (struct respawn){0};
	CHECK_INT(respawn_decide(&r, EXITED(127), 5, &d), RESPAWN_EMERGENCY);
	CHECK_INT(respawn_decide(&r, EXITED(126), 5000, &d), RESPAWN_EMERGENCY);

	/* SIGKILL from outside: never the emergency shell, paced after a flood; it also ends a run
	 * of crashes (the alternating SIGSEGV/SIGKILL VM test relies on both). */
	r = (struct respawn){0};
	for (int i = 0; i < 100; i++) {
		enum respawn_action a = respawn_decide(&r, KILLED(SIGKILL), 10, &d);
		CHECK(a != RESPAWN_EMERGENCY);
		CHECK(i < RESPAWN_CRASH_LOOP ? a == RESPAWN_NOW : (a == RESPAWN_LATER && d == 250));
	}
	r = (struct respawn){0};
	for (int i = 0; i < 100; i++) {
		CHECK_INT(respawn_decide(&r, KILLED(i % 2 ? SIGKILL : SIGSEGV), 10, &d), RESPAWN_NOW);
	}

	/* The OOM killer's count, from /proc/vmstat's text (its line is not the first). */
	CHECK(respawn_oom_kills("nr_free_pages 1000\noom_kill 7\nnr_zspages 0\n") == 7);
	CHECK(respawn_oom_kills("oom_kill 0\n") == 0);
	CHECK(respawn_oom_kills("nr_free_pages 1000\nxoom_kill 3\n") == -1);
	CHECK(respawn_oom_kills("oom_kill x\n") == -1);
	CHECK(respawn_oom_kills("") == -1);
	CHECK(respawn_oom_kills(NULL) == -1);
	/* The OOM killer's line names its victim: the menu's pid, or another process's. */
	const char *rec = "3,812,5123456,-;Out of memory: Killed process 123 (lifeboat) total-vm:1000kB, "
			  "anon-rss:10kB\n SUBSYSTEM=x\n";
	CHECK(respawn_oom_victim(rec, 123) == 1);
	CHECK(respawn_oom_victim(rec, 12) == 0);
	CHECK(respawn_oom_victim(rec, 1234) == 0);
	CHECK(respawn_oom_victim("3,813,5123999,-;Memory cgroup out of memory: Killed process 77 (dd) x", 77) == 1);
	CHECK(respawn_oom_victim("3,815,1,-;Out of memory: Killed process 123(x)", 123) == 0);
	CHECK(respawn_oom_victim("3,816,1,-;something\n Killed process 123 (x)", 123) == 0);
	CHECK(respawn_oom_victim("no separator Killed process 123 (x)", 123) == 0);
	CHECK(respawn_oom_victim(NULL, 123) == 0);
	CHECK(respawn_oom_victim(rec, 0) == 0);
	return check_done("test_respawn");
}
