"""The bench itself: it sees lifeboat's first console line, and it fails when a marker never
appears, when a negative wait cannot prove anything, and when the guest dies although QEMU
exits with status 0 (a harness that cannot fail proves nothing)."""
import time

import pytest

from vm import VM, GuestDied, Timeout, VMExited, death_in

PROMPT = r"lifeboat:[^#\n]*# "
# PID 1's code overwritten with int3 breakpoints through /proc/1/mem, as a debugger plants
# them: the next time PID 1 runs (here: when told to power off, as busybox poweroff does with
# SIGUSR2) it dies of SIGTRAP. This busybox's dd has no conv=notrunc; with seek= it does not
# truncate anyway.
CRASH_PID1 = ("set -- $(grep -m1 ' r-xp .* /init$' /proc/1/maps); a=${1%-*} b=${1#*-}; "
              "head -c $((0x$b - 0x$a)) /dev/zero | tr '\\000' '\\314' | "
              "dd of=/proc/1/mem bs=4096 seek=$((0x$a / 4096)) 2>/dev/null && kill -USR2 1")


def wait_gone(vm, timeout=120):
    """Wait for QEMU to end without looking at the console (as a test that forgot to would)."""
    deadline = time.monotonic() + timeout
    while vm.alive() and time.monotonic() < deadline:
        time.sleep(0.5)


def test_boot_reaches_menu_and_harness_can_fail():
    with VM() as vm:
        vm.expect(r"lifeboat \S+ starting", timeout=120)
        vm.expect(r"Choose \(key then Enter", timeout=120)
        # The twin: a marker that never appears must time out, not pass.
        with pytest.raises(Timeout):
            vm.expect("THIS-MARKER-NEVER-APPEARS", timeout=3)
        # A negative wait passes while the VM lives, and fails when the text does come.
        assert vm.expect_not("THIS-MARKER-NEVER-APPEARS", within=2) is None and vm.alive()
        vm.sendline("zz")
        with pytest.raises(AssertionError, match="appeared but must not"):
            vm.expect_not(r"No choice 'zz' here", within=30)
        vm.expect(r"No choice 'zz' here")
        vm.expect(r"Choose \(key then Enter")
        # With the positive line given: it passes where that line came instead, and fails when
        # the wrong text comes before it.
        vm.sendline("yy")
        assert vm.expect_not(r"No choice 'xx'", instead=r"No choice 'yy' here", within=30)
        with pytest.raises(AssertionError, match="appeared but must not"):
            vm.expect_not(r"No choice 'yy' here", instead=r"Choose \(key then Enter", within=30)
        vm.expect(r"Choose \(key then Enter")
        # Power off from the menu: QEMU ends with status 0 and no death on the console.
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0 and vm.died is None
        # After the exit every wait fails, the negative ones too: an ended VM shows nothing,
        # which proves nothing.
        with pytest.raises(VMExited, match="VM exited"):
            vm.expect("anything after exit", timeout=5)
        with pytest.raises(VMExited, match="proves nothing"):
            vm.expect_not("anything after exit", within=5)
        with pytest.raises(VMExited):
            vm.expect_not("anything", instead="a line that never came", within=5)


def test_pid1_dying_at_power_off_fails_although_qemu_says_0():
    """The twin of every test that ends "power off, exit status 0": PID 1 dies as it is told to
    power off; the kernel panics, panic=1 resets, -no-reboot ends QEMU with status 0, and the
    harness still reports the death."""
    with VM() as vm:
        vm.expect(r"Choose \(key then Enter", timeout=120)
        vm.sendline("s")
        vm.expect(PROMPT, timeout=30)
        vm.sendline(CRASH_PID1)
        with pytest.raises(GuestDied, match="Attempted to kill init"):
            vm.wait_exit(timeout=120)
        # What QEMU alone says a moment later: a clean end.
        wait_gone(vm)
        assert vm.exited == 0


def test_kernel_panic_after_the_last_wait_fails_at_teardown():
    """A death no wait sees (after the test's last expect, no wait_exit) fails the test when its
    VM is closed: here the kernel crashes on purpose (sysrq c) from the early shell; a kernel
    without sysrq (KERNEL=source) has PID 1 crash instead."""
    with pytest.raises(GuestDied, match="sysrq triggered crash|Attempted to kill init"):
        with VM(append="lifeboat.shell") as vm:
            vm.expect(PROMPT, timeout=120)
            vm.sendline(f"if [ -e /proc/sysrq-trigger ]; then echo c > /proc/sysrq-trigger; else {CRASH_PID1}; fi")
            wait_gone(vm)
            assert vm.exited == 0


def test_death_lines_without_vm():
    """What counts as a death: the kernel's panic, oops and BUG lines; not its warnings, nor
    the words on a command line."""
    dead = [
        "[    3.141592] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b",
        "[    2.000000] ---[ end Kernel panic - not syncing: Fatal exception ]---",
        "[    1.5] Oops: 0002 [#1] PREEMPT SMP NOPTI",
        "[    1.5] Oops: general protection fault, probably for non-canonical address: 0000 [#1] SMP",
        "[    1.5] BUG: kernel NULL pointer dereference, address: 0000000000000000",
        "[    1.5] kernel BUG at fs/ext4/inode.c:1234!",
        "Kernel panic - not syncing: sysrq triggered crash",
    ]
    for line in dead:
        assert death_in("booting\n" + line + "\nmore\n"), line
    alive = [
        "[    0.000000] Command line: console=ttyS0,115200 panic=1 oops=panic",
        "[   30.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [lifeboat:1]",
        "[    5.0] WARNING: CPU: 0 PID: 1 at kernel/foo.c:1 foo+0x1/0x2",
        "lifeboat: the menu killed by signal 11; starting it again",
        "Oops: that key does nothing",
    ]
    for line in alive:
        assert death_in(line + "\n") is None, line
    # A death line is taken once it is whole, also when it arrives in pieces after a prompt.
    vm = VM(boot=False)
    for piece in ("lifeboat:/# [    7.2] Kernel pa", "nic - not syncing: Attempted to kill", " init! exitcode=0x05",
                  "\n[    7.3] CPU: 0 PID: 1\n"):
        vm._got(piece)
        assert vm.died in (None, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x05")
    assert vm.died == "Kernel panic - not syncing: Attempted to kill init! exitcode=0x05"
