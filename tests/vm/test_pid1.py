"""PID 1 in a booted VM: bring-up, drivers for every disk bus, a menu that survives 100 kills,
Ctrl-Alt-Del from the QEMU monitor, and every way of ending (menu, busybox, signals) leaving a
written ext4 file system clean."""
import os
import re
import subprocess

import pytest

from vm import VM, Disk, Timeout

PROMPT = r"lifeboat:[^#\n]*# "

KILL_LOOP = r"""cat > /tmp/kill.sh <<'EOF'
# Kill the menu 100 times (SIGSEGV and SIGKILL in turn), each time waiting for PID 1 to start a
# new one; a menu that does not come back within 10 s ends the loop.
menu() { pgrep -f 'init menu' | head -n1; }
i=0 last=
while [ $i -le 100 ]; do
  n=0 p=
  while [ $n -lt 200 ]; do p=$(menu); [ -n "$p" ] && [ "$p" != "$last" ] && break; p=; usleep 50000; n=$((n+1)); done
  [ -z "$p" ] && break
  [ $i = 100 ] && break
  if [ $((i % 2)) = 0 ]; then kill -SEGV $p; else kill -KILL $p; fi
  last=$p i=$((i+1))
done
zombies() { cat /proc/[0-9]*/stat 2>/dev/null | grep -c '^[0-9]* ([^)]*) Z'; }
# The twin: an orphan whose parent never reaps leaves a zombie the count must see, and that PID 1
# must reap once the orphan is gone.
( sh -c 'true & exec sleep 2' & )
usleep 500000; t=$(zombies); usleep 2500000
echo "KILLS $i BACK ${p:-none} TWIN $t ZOMBIES $(zombies) DEATHS $(grep -c 'the menu killed by signal' /run/lifeboat/log) EMERGENCY $(grep -c emergency /run/lifeboat/log)"
EOF"""


def ext4(path, size_mb=32):
    subprocess.run(["truncate", "-s", f"{size_mb}M", path], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "lbtest", path], check=True)
    return path


def fs_state(path):
    """'clean' when ext4 was unmounted properly: the superblock says clean and the journal needs no
    recovery (a journaled ext4 marks a live mount with the needs_recovery feature, not the state)."""
    out = subprocess.run(["dumpe2fs", "-h", path], capture_output=True, text=True).stdout
    m = re.search(r"^Filesystem state:\s*(.+)$", out, re.M)
    f = re.search(r"^Filesystem features:\s*(.+)$", out, re.M)
    if not m or not f:
        return None
    return "not clean" if "needs_recovery" in f.group(1).split() else m.group(1).strip()


def fsck_clean(path):
    return subprocess.run(["e2fsck", "-n", "-f", path], capture_output=True).returncode == 0


def to_shell(vm):
    vm.expect(r"Choose \(key then Enter", timeout=120)
    vm.sendline("s")
    vm.expect(PROMPT)


def out(vm, cmd, timeout=60):
    """Run cmd in the shell; return what it printed (one line per line, no CR)."""
    tag = "LBOUT%d" % (abs(hash(cmd)) % 100000)
    vm.sendline(f"echo {tag[:3]}''{tag[3:]}-begin; {cmd}; echo {tag[:3]}''{tag[3:]}-end")
    m = vm.expect("(?s)" + re.escape(tag) + r"-begin\n(.*?)" + re.escape(tag) + "-end", timeout=timeout)
    return m.group(1)


def write_and_check_dirty(vm, img, fstype=None):
    """Mount the ext4 disk read-write from the shell and write to it; while mounted the image is
    'not clean' - the twin that proves fs_state() can tell. Without fstype, a plain `mount` works
    only because the device worker loaded ext4 for the disk it found; with -t ext4 the kernel asks
    lifeboat's module helper for "fs-ext4" (either may log lines in between)."""
    t = f"-t {fstype} " if fstype else ""
    got = out(vm, f"mount {t}/dev/vda /mnt && echo data > /mnt/file && sync && echo MOUNTED")
    assert re.search(r"^MOUNTED$", got, re.M), got
    assert fs_state(img) == "not clean"


def test_drivers_kills_and_ctrl_alt_del(tmp_path):
    data = ext4(str(tmp_path / "data.img"))
    blank = str(tmp_path / "blank.img")
    subprocess.run(["truncate", "-s", "16M", blank], check=True)
    disks = [Disk(data, "virtio"), Disk(blank, "ahci", snapshot=True),
             Disk(blank, "nvme", snapshot=True), Disk(blank, "scsi", snapshot=True),
             Disk(blank, "usb", snapshot=True)]
    # A ring large enough for the whole boot: with five buses the kernel prints enough to wrap
    # the default one, and the check below is about lifeboat lines reaching kmsg, not its size.
    with VM(disks=disks, monitor=True, append="log_buf_len=4M") as vm:
        to_shell(vm)
        # Every bus has its disk, through modules lifeboat loaded (initstate exists only for
        # loadable modules), named in its log.
        blk = out(vm, "for b in /sys/block/*; do echo $(basename $b) $(cat $b/device/vendor 2>/dev/null); done")
        assert re.search(r"^vda\b", blk, re.M), blk
        assert re.search(r"^nvme0n1\s*$", blk, re.M), blk
        assert re.search(r"^sd[a-z] ATA\s*$", blk, re.M), blk
        assert re.search(r"^sd[a-z] QEMU\s*$", blk, re.M), blk
        # The USB disk is there before devices count as settled (usb-storage scans only after
        # a silent second), so the first menu already knows it.
        usb = out(vm, "for b in /sys/block/sd*; do case $(readlink -f $b) in *usb*) basename $b;; esac; done").split()
        assert len(usb) == 1, usb
        order = out(vm, f"dmesg | grep -e '\\[{usb[0]}\\] Attached SCSI' -e 'lifeboat\\[1\\]: devices settled'")
        assert re.search(rf"\[{usb[0]}\] Attached SCSI.*\n.*lifeboat\[1\]: devices settled", order), order
        mods = out(vm, "for m in virtio_blk ahci nvme virtio_scsi sd_mod mptsas; do "
                       "echo $m $(cat /sys/module/$m/initstate 2>/dev/null || echo absent) "
                       "$(grep -c \"loaded module $m\\$\" /run/lifeboat/log); done")
        for m in ("virtio_blk", "ahci", "nvme", "virtio_scsi", "sd_mod"):
            assert re.search(rf"^{m} live 1\s*$", mods, re.M), mods
        # The twin: a driver in the image for hardware this machine lacks stays unloaded.
        assert re.search(r"^mptsas absent 0\s*$", mods, re.M), mods

        # Bring-up: the mounts, the /dev links, a real tty with sane modes, a timestamped log
        # that dmesg shows in full (the /dev/kmsg rate limit would drop most of it).
        mounts = out(vm, "cut -d' ' -f2,3 /proc/mounts")
        for m in ("/proc proc", "/sys sysfs", "/dev devtmpfs", "/dev/pts devpts", "/dev/shm tmpfs",
                  "/run tmpfs", "/tmp tmpfs"):
            assert re.search(rf"^{m}$", mounts, re.M), mounts
        assert "efivarfs" not in mounts  # booted by BIOS: the twin of the UEFI test
        assert out(vm, "for l in fd stdin stdout stderr; do readlink /dev/$l; done").split() == [
            "/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2"]
        assert out(vm, "tty; echo $TERM").split() == ["/dev/ttyS0", "vt102"]
        modes = out(vm, "stty -a").split()
        assert "icrnl" in modes and "onlcr" in modes and "-icrnl" not in modes
        assert re.search(r"^\[\s*\d+\.\d{3}\] mounted proc on /proc$",
                         out(vm, "head -n1 /run/lifeboat/log"), re.M)
        # The log only grows: count its lines first, then dmesg's, so lines logged in between
        # (the menu's) cannot make the comparison fail.
        logged = int(out(vm, "wc -l < /run/lifeboat/log").strip())
        n = int(out(vm, "dmesg | grep -c 'lifeboat\\[[0-9]*\\]: '").strip())
        assert n >= logged, (n, logged, out(vm, "dmesg | sed -n 's/.*lifeboat\\[[0-9]*\\]: //p' > /tmp/k; "
                                            "sed 's/^\\[[ 0-9.]*\\] //' /run/lifeboat/log | diff - /tmp/k"))

        # ext4's driver preloaded beside coldplug (lib/fsmodules.h), loaded once, live.
        log = out(vm, "cat /run/lifeboat/log; cat /sys/module/ext4/initstate")
        assert re.search(r"preloaded the drivers of the likely file systems: [1-9]\d* modules", log), log
        assert len(re.findall(r"loaded module ext4$", log, re.M)) == 1 and log.rstrip().endswith("live"), log
        write_and_check_dirty(vm, data)

        # The shell killed: the menu comes back (the menu's own, or a new one when the hangup of
        # the shell's tty ended the old menu too).
        vm.sendline("kill -SEGV $$")
        to_shell(vm)

        # The menu killed 100 times in one boot: back every time, no zombies, PID 1 alive (a
        # dying PID 1 panics and ends the VM, and every expect then fails).
        vm.sendline(KILL_LOOP)
        vm.expect(PROMPT)
        vm.sendline("sh /tmp/kill.sh")
        m = vm.expect(r"KILLS (\d+) BACK (\S+) TWIN (\d+) ZOMBIES (\d+) DEATHS (\d+) EMERGENCY (\d+)\r?\n", timeout=240)
        kills, back, twin, zombies, deaths, emergency = m.groups()
        assert kills == "100" and back != "none" and int(twin) >= 1, m.group(0)
        assert zombies == "0" and int(deaths) >= 50 and emergency == "0", m.group(0)

        # Ctrl-Alt-Del on the keyboard, from the QEMU monitor: a clean reboot, which -no-reboot
        # turns into QEMU exiting.
        vm.hmp("sendkey ctrl-alt-delete")
        vm.expect(r"signal 2 from pid 0: reboot", timeout=30)
        vm.expect(r"unmounted /mnt", timeout=30)
        vm.expect(r"reboot now", timeout=30)
        assert vm.wait_exit(60) == 0
    assert fs_state(data) == "clean"
    assert fsck_clean(data)


def test_cmdline_boot_shell_debug_and_busybox_poweroff(tmp_path):
    data = ext4(str(tmp_path / "data.img"))
    ns = ext4(str(tmp_path / "ns.img"))
    append = 'lifeboat.shell lifeboat.debug lifeboat.bogus=1 "lifeboat.settle=4"'
    with VM(disks=[Disk(data, "virtio"), Disk(ns, "virtio")], append=append) as vm:
        vm.expect(r"unknown option lifeboat\.bogus ignored", timeout=120)
        vm.expect(r"lifeboat\.shell was given")
        vm.expect(PROMPT)
        # Before anything else: no drivers loaded, no menu.
        assert out(vm, "[ -e /sys/block/vda ] && echo vda || echo none; "
                       "pgrep -f 'init (menu|devices)' || echo nothing").split() == ["none", "nothing"]
        assert "Choose" not in vm.text()
        # A driver by hand: the disk appears, but a plain mount cannot know ext4 yet (the twin of
        # the device worker loading file system drivers, below).
        out(vm, "lifeboat modprobe virtio_pci virtio_blk")
        assert re.search(r"^yes$", out(vm, "usleep 500000; [ -e /dev/vda ] && echo yes"), re.M)
        assert not re.search(r"^MOUNTED$", out(vm, "mount /dev/vda /mnt && echo MOUNTED"), re.M)
        vm.sendline("exit")
        # Debug lines reach the console; the drivers load; the menu follows.
        vm.expect(r"lifeboat: (debug: )?uevent add", timeout=60)
        to_shell(vm)
        assert out(vm, "cat /sys/module/virtio_blk/initstate").strip() == "live"
        write_and_check_dirty(vm, data)
        # A file system mounted in a private mount namespace (as a chroot into a found system may
        # be) by a process that ignores SIGTERM: PID 1 cannot see that mount; killing the last
        # process of the namespace is what unmounts it, cleanly.
        vm.sendline("unshare -m sh -c 'mkdir -p /tmp/ns && mount /dev/vdb /tmp/ns && echo x > /tmp/ns/f && "
                    "sync && trap \"\" TERM HUP && echo NS''READY && exec sleep 1000' &")
        vm.expect("NSREADY")
        assert fs_state(ns) == "not clean"
        vm.sendline("poweroff")
        vm.expect(r"signal 12 from pid \d+: power-off", timeout=30)
        vm.expect(r"still running after 3000 ms: killing them", timeout=30)
        vm.expect(r"unmounted /mnt", timeout=30)
        assert vm.wait_exit(60) == 0
    assert fs_state(data) == "clean" and fsck_clean(data)
    assert fs_state(ns) == "clean" and fsck_clean(ns)


def test_menu_reboot_after_writing(tmp_path):
    data = ext4(str(tmp_path / "data.img"))
    with VM(disks=[Disk(data, "virtio")]) as vm:
        to_shell(vm)
        write_and_check_dirty(vm, data, fstype="ext4")
        # A second, nested mount and a shell sitting inside the disk: still unmounted, inner first.
        out(vm, "mkdir -p /mnt/sub && mount -t tmpfs none /mnt/sub && cd /mnt/sub")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter")
        vm.sendline("r")
        vm.expect(r"unmounted /mnt/sub\n(.*\n)*.*unmounted /mnt\n", timeout=30)
        vm.expect(r"file systems done; reboot now", timeout=30)
        assert vm.wait_exit(60) == 0
        # The twin of the hung-disk test below: a healthy disk never trips the deadline.
        assert "did not finish" not in vm.text()
    assert fs_state(data) == "clean" and fsck_clean(data)


def test_shutdown_gives_up_on_a_hung_disk(tmp_path):
    """A FAT disk (a USB stick) mounted from the rescue shell, written to, whose writes then never
    complete (QEMU throttles them to 1 byte/s: the mount's own first write passes, the rest
    wait): the shutdown's sync hangs in its child, PID 1 says what hung after 20 s without
    progress and powers the machine off anyway."""
    hung = str(tmp_path / "hung.img")
    subprocess.run(["truncate", "-s", "16M", hung], check=True)
    subprocess.run(["mkfs.vfat", hung], check=True, capture_output=True)
    extra = ["-drive", f"file={hung},format=raw,if=none,id=hung,throttling.bps-write=1",
             "-device", "virtio-blk-pci,drive=hung"]
    with VM(extra=extra) as vm:
        to_shell(vm)
        # Buffered writes: they sit in the page cache until a sync.
        got = out(vm, "mount /dev/vda /mnt && dd if=/dev/urandom of=/mnt/f bs=64k count=16 2>/dev/null && "
                      "echo WROTE; grep -e ^Dirty: -e ^Writeback: /proc/meminfo")
        assert re.search(r"^WROTE$", got, re.M), got
        # -n: busybox's poweroff would sync (and hang) itself before it signals PID 1.
        vm.sendline("poweroff -n")
        vm.expect(r"signal 12 from pid \d+: power-off", timeout=30)
        vm.expect(r"the disks did not finish: sync all disks hangs \(no progress for 2\d s\); "
                  r"power-off anyway", timeout=120)
        vm.expect(r"reboot: Power down", timeout=60)
        assert vm.wait_exit(60) == 0
        assert "file systems done" not in vm.text()


CRASH_LOOP = r"""cat > /tmp/crash.sh <<'EOF'
# A menu that crashes as soon as it starts, again and again: a crash loop. Counts the crashes
# until PID 1 stops starting menus (none within ~3 s).
i=0 last=
while [ $i -lt 10 ]; do
  n=0 p=
  while [ $n -lt 30 ]; do p=$(pgrep -f 'init menu' | head -n1); [ -n "$p" ] && [ "$p" != "$last" ] && break; p=; usleep 100000; n=$((n+1)); done
  [ -z "$p" ] && break
  kill -SEGV $p; last=$p i=$((i+1))
done
echo "CRASHED $i"
EOF"""


def test_crash_loop_emergency_shell_and_busybox_halt(tmp_path):
    with VM() as vm:
        to_shell(vm)
        # Five quick crashes: PID 1 paces the restarts, then an emergency shell stands in.
        vm.sendline(CRASH_LOOP)
        vm.expect(PROMPT)
        # Run it detached and leave this shell, so the emergency shell is alone on the console.
        vm.sendline("setsid sh /tmp/crash.sh > /tmp/crash.log 2>&1 < /dev/null & exit")
        vm.expect(r"starting it again in 250 ms", timeout=30)
        vm.expect(r"this is an emergency shell", timeout=30)
        vm.expect(PROMPT)
        # At most five quick deaths (the hangup that ended our shell may end a menu too).
        got = out(vm, "timeout 20 sh -c 'until grep -q CRASHED /tmp/crash.log; do usleep 100000; done'; "
                      "cat /tmp/crash.log", timeout=40).strip()
        assert re.fullmatch(r"CRASHED [345]", got), got
        # Leaving the emergency shell gives the menu another chance.
        vm.sendline("exit")
        to_shell(vm)
        # A kexec with no kernel loaded is refused before anything is stopped: this shell lives on.
        vm.sendline("kill -40 1")
        vm.expect(r"signal 40 from pid \d+: kexec", timeout=30)
        vm.expect(r"no kernel is loaded \(kexec -l first\); nothing stopped", timeout=30)
        assert out(vm, "echo still here").strip().endswith("still here")
        vm.sendline("halt")
        vm.expect(r"signal 10 from pid \d+: halt", timeout=30)
        vm.expect(r"System halted", timeout=30)
        # Halted, not gone: PID 1 did not die (that would panic and end QEMU at once).
        with pytest.raises(Timeout):
            vm.wait_exit(3)


OVMF = "/usr/share/OVMF/OVMF_CODE_4M.fd"


@pytest.mark.skipif(not os.path.exists(OVMF), reason="no OVMF firmware (Debian package ovmf)")
def test_uefi_efivarfs_screen_console_and_sigpwr(tmp_path):
    vars_ = tmp_path / "vars.fd"
    subprocess.run(["cp", "/usr/share/OVMF/OVMF_VARS_4M.fd", str(vars_)], check=True)
    extra = ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF}",
             "-drive", f"if=pflash,format=raw,unit=1,file={vars_}"]
    # console=tty0 too: the menu must also run on the foreground virtual terminal (tty1).
    with VM(extra=extra, append="console=tty0") as vm:
        to_shell(vm)
        assert re.search(r"^/sys/firmware/efi/efivars efivarfs$",
                         out(vm, "cut -d' ' -f2,3 /proc/mounts"), re.M)
        assert re.search(r"/dev/ttyS0:s", out(vm, "echo $LIFEBOAT_CONSOLES"))
        assert re.search(r"/dev/tty1:v", out(vm, "echo $LIFEBOAT_CONSOLES"))
        assert re.search(r"console /dev/tty1 \(screen, TERM=linux\)", out(vm, "cat /run/lifeboat/log"))
        vm.sendline("kill -PWR 1")
        vm.expect(r"signal 30 from pid \d+: power-off", timeout=30)
        assert vm.wait_exit(60) == 0




def test_disk_added_while_the_device_worker_is_down(tmp_path):
    """A disk plugged in while the device worker is down: stopped, then killed, so the uevent of
    the new disk dies queued in its socket. The worker PID 1 starts next walks sysfs and probes
    every disk afresh, so the new disk's file system gets its driver all the same (issue 18:
    events are not lost while the worker is down)."""
    data = ext4(str(tmp_path / "data.img"))
    # f2fs: the drivers of vfat and ext4 are preloaded at every boot (lib/fsmodules.h).
    fat = str(tmp_path / "f2fs.img")
    subprocess.run(["truncate", "-s", "64M", fat], check=True)
    subprocess.run(["mkfs.f2fs", "-q", "-l", "LBHOT", fat], check=True, capture_output=True)
    with VM(disks=[Disk(data, "scsi", snapshot=True)], monitor=True) as vm:
        to_shell(vm)
        out(vm, "dmesg -n 1")
        worker = "pgrep -P 1 -f 'init devices'"
        old = out(vm, worker).split()
        assert len(old) == 1, old
        loaded = "test -e /sys/module/f2fs && echo VFAT''LOADED || echo VFAT''ABSENT"
        assert "VFATABSENT" in out(vm, loaded)
        out(vm, f"kill -STOP {old[0]}")
        vm.hot_add(fat, "hot0")
        got = out(vm, "n=0; while [ $n -lt 300 ] && [ ! -e /sys/block/sdb ]; do usleep 100000; "
                      f"n=$((n+1)); done; ls -1 /sys/block; {loaded}", timeout=60)
        # The twin: the disk is there and, with the worker stopped, nobody loaded its driver.
        assert re.search(r"^sdb$", got, re.M) and "VFATABSENT" in got, got
        # Waits for the worker's line, not for /sys/module/f2fs: that appears while the module is
        # still loading, before the worker has written that it loaded it.
        said = "'/dev/sdb holds f2fs: loaded its driver' /run/lifeboat/log"
        got = out(vm, f"kill -KILL {old[0]}; n=0; while [ $n -lt 300 ] && ! grep -q {said}; do "
                      f"usleep 100000; n=$((n+1)); done; {loaded}; {worker}; grep -c {said}", timeout=60)
        assert "VFATLOADED" in got, got
        lines = got.split()
        assert lines[-1] == "1" and lines[-2] != old[0], got  # a new worker, which said so once
        vm.sendline("poweroff")
        vm.expect(r"power-off: stopping processes", timeout=30)
        assert vm.wait_exit(60) == 0


@pytest.mark.parametrize("chosen", [False, True], ids=["menu-quiet", "loglevel-chosen"])
def test_late_kernel_lines_stay_out_of_the_menu(tmp_path, chosen):
    """A disk plugged in while the menu is up: its driver is loaded (by the device worker, or
    by the menu's own rescan of the new disk) and that is said, but the line must not land
    inside the menu on the console (issue 18: 'loaded module nls_cp437' cut a menu line), while
    the log still has it, once. The twin: a user who chose a loglevel on the kernel command
    line still gets every line on the console."""
    data = ext4(str(tmp_path / "data.img"))
    fat = str(tmp_path / "f2fs.img")
    subprocess.run(["truncate", "-s", "64M", fat], check=True)
    subprocess.run(["mkfs.f2fs", "-q", "-l", "LBLATE", fat], check=True, capture_output=True)
    # Whoever loads f2fs says so: the device worker, or the menu's own rescan of the new disk
    # (it may get there first).
    line = r"lifeboat\[\d+\]: loaded module f2fs"
    with VM(disks=[Disk(data, "scsi", snapshot=True)], monitor=True,
            append="loglevel=7" if chosen else "") as vm:
        vm.expect(r"Choose \(key then Enter", timeout=120)
        vm.hot_add(fat, "hot0")
        if chosen:
            vm.expect(line, timeout=60)
        else:
            vm.expect_not(line, within=20)
        vm.sendline("s")
        vm.expect(PROMPT)
        got = out(vm, "n=0; while [ $n -lt 300 ] && ! grep -q 'loaded module f2fs' "
                      "/run/lifeboat/log; do usleep 100000; n=$((n+1)); done; "
                      "grep -c 'loaded module f2fs' /run/lifeboat/log; "
                      "cut -f1 /proc/sys/kernel/printk", timeout=60)
        assert got.split() == ["1", "7" if chosen else "5"], got
        vm.sendline("poweroff")
        vm.expect(r"power-off: stopping processes", timeout=30)
        assert vm.wait_exit(60) == 0
