/* Every lifeboat command: `lifeboat NAME args`, or the binary called as NAME. */
#ifndef LB_APPLETS_H
#define LB_APPLETS_H

int init_main(int argc, char **argv);
int devices_main(int argc, char **argv);
int menu_main(int argc, char **argv);
int modprobe_main(int argc, char **argv);
int scan_main(int argc, char **argv);

/* Where the lifeboat binary lives in the image, for re-executing applets. */
#define LIFEBOAT_BIN "/init"
#define BUSYBOX_BIN "/bin/busybox"
/* The kernel's module helper: a link to LIFEBOAT_BIN that PID 1 makes at boot (so it runs as
 * the modprobe applet) and writes to /proc/sys/kernel/modprobe. */
#define MODPROBE_LINK "/run/lifeboat/bin/modprobe"

/* Signals PID 1 understands beyond the busybox ones (SIGTERM reboot, SIGUSR1 halt, SIGUSR2 and
 * SIGPWR power-off, SIGINT Ctrl-Alt-Del reboot), numbered as systemd numbers them: SIGRTMIN+3..6
 * with glibc's SIGRTMIN of 34. Written as numbers because musl's SIGRTMIN is 35, and `kill -37 1`
 * must mean halt whoever sends it. */
#define SIG_LB_HALT 37
#define SIG_LB_POWEROFF 38
#define SIG_LB_REBOOT 39
#define SIG_LB_KEXEC 40

#endif
