/* Where things are in the running image, and the signals PID 1 understands: every stage refers to
 * these names, so that moving a path or renumbering a signal is one edit. */
#ifndef LB_LAYOUT_H
#define LB_LAYOUT_H

/* The image's version (git describe), compiled into lib/version.c alone, so that a new commit
 * recompiles that one object and relinks. */
extern const char lb_version[];
#define LB_VERSION lb_version

/* The lifeboat binary (PID 1 and every applet) and the tools it runs. */
#define LIFEBOAT_BIN "/init"
#define BUSYBOX_BIN "/bin/busybox"
#define KEXEC_TOOLS_BIN "/sbin/kexec"
/* The image's release file: its presence tells an applet it runs inside lifeboat. */
#define RELEASE_FILE "/etc/lifeboat-release"
/* The bundled installer's segment of the image. */
#define INSTALLER_DIR "/installer"

/* Runtime state, all under one tmpfs directory. */
#define RUN_DIR "/run/lifeboat"
#define LOG_PATH RUN_DIR "/log"
#define REPORT_SAVED RUN_DIR "/scan"
#define INSPECT_DIR RUN_DIR "/inspect"
#define RO_MARK_DIR RUN_DIR "/readonly"
#define ENTER_ROOTS RUN_DIR "/enter"
#define DEFAULT_DONE RUN_DIR "/default-done"
#define RUN_BIN_DIR RUN_DIR "/bin"
/* The kernel's module helper: a link to LIFEBOAT_BIN that PID 1 makes at boot (so it runs as
 * the modprobe applet) and writes to /proc/sys/kernel/modprobe. */
#define MODPROBE_LINK RUN_BIN_DIR "/modprobe"

/* Signals PID 1 understands beyond the busybox ones (SIGTERM reboot, SIGUSR1 halt, SIGUSR2 and
 * SIGPWR power-off, SIGINT Ctrl-Alt-Del reboot), numbered as systemd numbers them: SIGRTMIN+3..6
 * with glibc's SIGRTMIN of 34. Written as numbers because musl's SIGRTMIN is 35, and `kill -37 1`
 * must mean halt whoever sends it. */
#define SIG_LB_HALT 37
#define SIG_LB_POWEROFF 38
#define SIG_LB_REBOOT 39
#define SIG_LB_KEXEC 40

#endif
