"""Entering a found NixOS from the menu, on the fixtures (attached with snapshot=True: entering
activates the system, which writes). Inside: the right host, activation's environment, the
PID namespace, the mount plan; Ctrl-C stops a command but not the shell; exit returns to the
menu with nothing left mounted, and entering twice works."""
import os
import re
import time

import pytest

from extra_initrd import initrd_with
from vm import BUILD, VM, Disk, Timeout

FIX = os.path.join(BUILD, "fixtures")


def fixture(name):
    path = os.path.join(FIX, name + ".img")
    if not os.path.exists(path):
        pytest.skip(f"{path} missing: run `make fixtures`")
    return Disk(path, snapshot=True)


def out(vm, cmd, timeout=30):
    """Output of cmd run in the shell at its prompt (between the echo of the command and the
    marker)."""
    start = len(vm.text())
    vm.shell(cmd, timeout=timeout)
    return vm.text()[start:]


def check_inside(vm, host, mounts):
    assert re.search(rf"(?m)^{host}$", out(vm, "cat /etc/hostname"))
    cur = out(vm, "readlink /run/current-system")
    assert re.search(rf"/nix/store/[a-z0-9]{{32}}-nixos-system-{host}-", cur)
    env = out(vm, "cat /run/lifeboat-activate.env")
    assert "IN_NIXOS_ENTER=1" in env
    assert re.search(r"LOCALE_ARCHIVE=/nix/store/\S+/sw/lib/locale/locale-archive", env)
    assert "LIFEBOAT" not in env and "HISTFILE" not in env and "PS1=" not in env
    # PID 1 here is the session's init, not the rescue system's.
    assert re.search(r"(?m)^lifeboat-enter$", out(vm, "cat /proc/1/comm"))
    m = out(vm, "mount")
    for dev, target, fstype in mounts:
        assert re.search(rf"(?m)^{re.escape(dev)} on {re.escape(target)} type {fstype} ", m), (dev, target, m)
    for target, fstype in (("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs"), ("/run", "tmpfs")):
        assert re.search(rf"(?m) on {target} type {fstype} ", m), target
    # A dynamically linked store binary (the store's bash) runs.
    assert "dyn-ok" in out(vm, "$(readlink -f /run/current-system/sw/bin/bash) -c 'echo dyn''-ok'")
    # Ctrl-C interrupts a command, not the shell.
    vm.sendline("bash -c 'read -t 60 x; echo not-interrupted'")
    vm.expect("not-interrupted'")
    time.sleep(1)
    vm.send("\x03")
    time.sleep(1)
    assert re.search(r"(?m)^alive 130$", out(vm, "echo alive $?", timeout=15))
    assert "not-interrupted\n" not in vm.text()


def test_enter_inroot_from_the_menu_twice():
    # The rescue system gets a resolv.conf of its own, which the entered system must see.
    resolv = "nameserver 198.51.100.7\n"
    with VM(disks=[fixture("inroot")], initrd=initrd_with({"/etc/resolv.conf": resolv})) as vm:
        vm.expect("Choose", timeout=120)
        vm.sendline("1")
        vm.expect(r"alpha - NixOS")
        vm.expect("Choose")
        vm.sendline("e")
        vm.expect(r"\[root@alpha:~\]# ", timeout=90)
        check_inside(vm, "alpha", [("/dev/vda2", "/", "ext4"), ("/dev/vda1", "/boot", "vfat")])
        with pytest.raises(Timeout):  # the twin: a wrong host never shows
            vm.expect(r"(?m)^beta$", timeout=2)
        assert "nameserver 198.51.100.7" in out(vm, "cat /etc/resolv.conf")
        vm.shell("echo written-inside > /root/lifeboat-enter-test")
        vm.sendline("exit")
        vm.expect("left the system; its filesystems are unmounted", timeout=60)
        vm.expect("Choose", timeout=30)
        # Again: a second entry works the same.
        vm.sendline("e")
        vm.expect(r"\[root@alpha:~\]# ", timeout=90)
        assert re.search(r"(?m)^alpha$", out(vm, "cat /proc/sys/kernel/hostname"))  # the UTS namespace
        vm.sendline("exit")
        vm.expect("Choose", timeout=60)
        # Repair boot loader: switch-to-configuration boot runs inside, its output shown; the
        # fixture's stand-in says what it got: the argument, NIXOS_INSTALL_BOOTLOADER=1 (without
        # it the real one does not install the loader) and a /boot it can write to.
        vm.sendline("f")
        vm.expect(r"switch-to-configuration boot for /nix/store/[a-z0-9]{32}-nixos-system-alpha-", timeout=90)
        vm.expect(r"switch-to-configuration got: boot; NIXOS_INSTALL_BOOTLOADER=1; /boot writable\n", timeout=30)
        vm.expect("The boot loader was installed.", timeout=30)
        vm.expect("Choose", timeout=30)
        vm.sendline("m")  # back from the system's page
        vm.expect("Choose")
        # Outside: nothing of the system is still mounted, and what was written is on disk.
        vm.sendline("s")
        vm.expect("lifeboat:/# ")
        assert not re.search(r"(?m)^/dev/vda", out(vm, "cat /proc/mounts"))
        o = out(vm, "mount -o ro /dev/vda2 /mnt && cat /mnt/root/lifeboat-enter-test; "
                    "cat /mnt/nix/store/*-etc/etc/resolv.conf </dev/null; umount /mnt")
        assert "written-inside" in o
        # Our name server was bound over the system's file, never written into it.
        assert "198.51.100.7" not in o.split("written-inside", 1)[1]
        # The twin of the repair: told to fail (a file in the system's /root), the stand-in's
        # failure is reported as such, and the menu does not say the loader was installed.
        out(vm, "lifeboat enter --silent -c 'touch /root/.lifeboat-switch-fail'", timeout=90)
        vm.sendline("exit")
        vm.expect("Choose")
        vm.sendline("1")
        vm.expect("Choose")
        vm.sendline("f")
        vm.expect("switch-to-configuration: failing, as /root/.lifeboat-switch-fail asks", timeout=90)
        vm.expect_not("The boot loader was installed", instead=r"repair exited with status 1; back to the menu",
                      within=30)
        vm.expect("Choose", timeout=30)
        vm.sendline("m")
        vm.expect("Choose")
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0


def test_enter_split_by_default_action():
    with VM(disks=[fixture("split")],
            append="lifeboat.default=enter lifeboat.system=gamma lifeboat.timeout=0") as vm:
        vm.expect("lifeboat.default: enter gamma, generation 7 now.", timeout=120)
        vm.expect(r"\[root@gamma:~\]# ", timeout=90)
        check_inside(vm, "gamma", [("/dev/vda2", "/", "ext4"), ("/dev/vda4", "/nix", "ext4"),
                                   ("/dev/vda3", "/home", "ext4"), ("/dev/vda1", "/boot", "vfat")])
        assert re.search(r"(?m) on /srv/shared type ext4 ", out(vm, "mount"))
        vm.sendline("exit")
        vm.expect("Choose", timeout=60)
        # From the rescue shell: `lifeboat enter -c` runs one command inside and comes back.
        vm.sendline("s")
        vm.expect("lifeboat:/# ")
        o = out(vm, "lifeboat enter --silent -c 'echo inside-$(cat /etc/hostname)'", timeout=90)
        assert re.search(r"(?m)^inside-gamma$", o)
        assert re.search(r"(?m)^LBDONE\d+ 0$", o)
        # A command's own exit status 125 is its status, not a failure to enter (enter used to
        # report failures as 125); a command that cannot be run is a failure, with its step.
        o = out(vm, "lifeboat enter --silent -- bash -c 'exit 125'", timeout=90)
        assert "could not enter" not in o, o
        assert "left the system" in o, o
        assert re.search(r"(?m)^LBDONE\d+ 125$", o), o
        o = out(vm, "lifeboat enter --silent -- bash -c 'exit 9'", timeout=90)
        assert re.search(r"(?m)^LBDONE\d+ 9$", o), o
        o = out(vm, "lifeboat enter --silent -- /nonexistent/cmd", timeout=90)
        assert re.search(r"could not enter gamma: run /nonexistent/cmd: No such file or directory", o), o
        assert re.search(r"(?m)^LBDONE\d+ 1$", o), o
        assert not re.search(r"(?m)^/dev/vda", out(vm, "cat /proc/mounts"))
        vm.sendline("exit")
        vm.expect("Choose")
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0


def test_enter_tmpfs_and_btrfs_one_after_the_other():
    """Two systems on two disks: the tmpfs-root one (etc/NIXOS created, a bind from /persist)
    and the btrfs-subvolume one, entered in turn from one boot."""
    with VM(disks=[fixture("tmpfs"), fixture("btrfs")]) as vm:
        vm.expect("Choose", timeout=120)
        vm.sendline("1")
        vm.expect(r"epsilon - NixOS")
        vm.expect("Choose")
        vm.sendline("e")
        vm.expect(r"\[root@epsilon:~\]# ", timeout=90)
        m = out(vm, "mount; ls /etc/NIXOS; cat /etc/hostname")
        assert re.search(r"(?m)^tmpfs on / type tmpfs ", m)
        assert re.search(r"(?m)^/dev/vda2 on /nix type ext4 ", m)
        assert re.search(r"(?m)^/dev/vda3 on /etc/nixos type ext4 ", m)  # the fstab's bind
        assert re.search(r"(?m)^/etc/NIXOS$", m) and re.search(r"(?m)^epsilon$", m)
        vm.sendline("exit")
        vm.expect("Choose", timeout=60)
        vm.sendline("m")
        vm.expect("Choose")
        vm.sendline("2")
        vm.expect(r"delta - NixOS")
        vm.expect("Choose")
        vm.sendline("e")
        vm.expect(r"\[root@delta:~\]# ", timeout=90)
        m = out(vm, "mount; cat /etc/hostname")
        assert re.search(r"(?m)^/dev/vdb1 on / type btrfs .*subvol=/@\)", m)
        assert re.search(r"(?m)^/dev/vdb1 on /nix type btrfs .*subvol=/@nix\)", m)
        assert re.search(r"(?m)^delta$", m)
        with pytest.raises(Timeout):  # the twin: the other system's name is not here
            vm.expect(r"(?m)^epsilon$", timeout=2)
        vm.sendline("exit")
        vm.expect("Choose", timeout=60)
        vm.sendline("m")
        vm.expect("Choose")
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0


def test_enter_f2fs_root():
    """A NixOS whose root (with /nix) is an f2fs: the mount plan mounts it read-write as its
    fstab says (the driver loaded by the scan, not by hand), activation runs, and what is written
    inside is on the disk after the exit (read back with a read-only mount from the shell)."""
    with VM(disks=[fixture("f2fs")]) as vm:
        vm.expect("Choose", timeout=120)
        vm.sendline("1")
        vm.expect(r"kappa - NixOS")
        vm.expect("Choose")
        vm.sendline("e")
        vm.expect(r"\[root@kappa:~\]# ", timeout=90)
        check_inside(vm, "kappa", [("/dev/vda2", "/", "f2fs"), ("/dev/vda1", "/boot", "vfat")])
        assert re.search(r"(?m)^/dev/vda2 on / type f2fs \(rw[,)]", out(vm, "mount"))
        vm.shell("echo written-on-f2fs > /root/lifeboat-enter-test")
        vm.sendline("exit")
        vm.expect("left the system; its filesystems are unmounted", timeout=60)
        vm.expect("Choose", timeout=30)
        vm.sendline("m")
        vm.expect("Choose")
        vm.sendline("s")
        vm.expect("lifeboat:/# ")
        assert not re.search(r"(?m)^/dev/vda", out(vm, "cat /proc/mounts"))
        o = out(vm, "mount -t f2fs -o ro /dev/vda2 /mnt && cat /mnt/root/lifeboat-enter-test; umount /mnt")
        assert "written-on-f2fs" in o, o
        vm.sendline("exit")
        vm.expect("Choose")
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0
