/* The one way lifeboat ends: reboot, halt, power-off and kexec all stop every process, sync,
 * unmount block-backed file systems in reverse order (remounting read-only what will not
 * unmount), and then call reboot(2) from a child. */
#ifndef LB_SHUTDOWN_H
#define LB_SHUTDOWN_H

enum shutdown_kind { SHUTDOWN_NONE, SHUTDOWN_REBOOT, SHUTDOWN_HALT, SHUTDOWN_POWEROFF, SHUTDOWN_KEXEC };

const char *shutdown_name(enum shutdown_kind k);
/* Sync and unmount every block-backed file system in reverse mount order, remounting read-only
 * those that stay busy. Returns how many could be neither. Used by PID 1 and by tests. */
int unmount_block_filesystems(void);
/* From a child: reboot(2) with the command for k. Only returns on failure (-errno). */
int shutdown_reboot_syscall(enum shutdown_kind k);

#endif
