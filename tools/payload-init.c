/* A stand-in for a real system's init, used by test fixtures (a generation's initrd) and by the
 * demo installer: it says it was reached, prints the kernel command line it got, and powers off.
 * A kexec into it therefore proves that the right kernel, initrd and command line were loaded.
 * Its name comes from /payload-name in its initrd. */
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

static void slurp(const char *path, char *buf, size_t size)
{
	buf[0] = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

int main(void)
{
	char name[128], cmdline[4096], line[4400];
	/* Kernel messages printed while ours is written would cut our lines on the serial
	 * console, which tests read; only emergencies may reach the console from here on. */
	klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 1);
	mount("proc", "/proc", "proc", 0, NULL);
	slurp("/payload-name", name, sizeof(name));
	slurp("/proc/cmdline", cmdline, sizeof(cmdline));
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (fd < 0)
		fd = 1;
	int n = snprintf(line, sizeof(line), "\r\nlifeboat-payload: %s reached\r\nlifeboat-payload cmdline: %s\r\n",
			 name[0] ? name : "payload", cmdline);
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		return 1;
	sync();
	sleep(1);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}
