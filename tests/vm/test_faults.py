"""Bad disks in a booted VM: one disk that crawls or fails its reads costs only itself. Beside a
healthy NixOS disk (inroot: alpha on vda2, attached writable and hashed around the boot), the bad
disk holds a NixOS too (twosys: beta on vdb1), so the twin of each test is that beta, which the
bad disk would show if it answered, is not listed, while alpha is. The waits have generous
deadlines; what is asserted is the menu's content, never the time."""
import os
import re
import shutil
import subprocess

import pytest

from scanreport import kind, parse
from vm import BUILD, VM, Disk, blkdebug_config, sha256

FIXDIR = os.path.join(BUILD, "fixtures")
LISTED = r"(?m)^\d\)   . {name} .*/dev/{dev}$"
MENU = r"Choose \(key then Enter"


@pytest.fixture
def images(tmp_path):
    for n in ("inroot", "twosys"):
        if not os.path.exists(os.path.join(FIXDIR, n + ".img")):
            pytest.skip("fixtures missing: run make fixtures")
    healthy = str(tmp_path / "inroot.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(FIXDIR, "inroot.img"), healthy], check=True)
    return healthy, os.path.join(FIXDIR, "twosys.img")


def menu_after(vm, timeout):
    """Wait for the next menu; return its text (from the scan's start)."""
    vm.expect("Scanning disks...", timeout=timeout)
    with vm.lock:
        start = len(vm.buf)
    vm.expect(MENU, timeout=timeout)
    with vm.lock:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", vm.buf[start:])


def power_off(vm):
    vm.sendline("p")
    assert vm.wait_exit(timeout=120) == 0


def test_crawling_disk_costs_only_itself(images):
    """The disk whose reads crawl (4 KiB/s, a dying disk retrying every sector; the issue saw the
    menu after 210 s with no system at all): its probe gives up at lifeboat.disktimeout=8, the
    menu lists alpha and names /dev/vdb as not answering after 8 s, a rescan tries it again and
    names it again, PID 1 lives (a death fails every wait), and the healthy disk is unchanged."""
    healthy, slow = images
    before = sha256(healthy)
    disks = [Disk(healthy), Disk(slow, snapshot=True, opts="throttling.bps-read=4096")]
    with VM(disks=disks, append="lifeboat.disktimeout=8") as vm:
        menu = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        assert "beta" not in menu, menu  # the twin: the slow disk's system was not read
        assert re.search(r"(?m)^  ! /dev/vdb: not answering after 8 s", menu), menu
        # A rescan probes the disk again (and gives up again): the problem comes back.
        vm.sendline("d")
        again = menu_after(vm, timeout=300)
        # The twin: with every device listed, further notices (the disk's partitions) scan no more.
        vm.expect_not("More devices appeared", within=5)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), again), again
        assert re.search(r"(?m)^  ! /dev/vdb: not answering after 8 s", again), again
        power_off(vm)
    assert sha256(healthy) == before


def test_disk_failing_every_read(images, tmp_path):
    """Every read of the second disk fails (EIO, QEMU's blkdebug): alpha is listed, the bad disk
    is named on the problem list, beta is not there."""
    healthy, bad = images
    before = sha256(healthy)
    conf = blkdebug_config(str(tmp_path / "every-read.conf"))
    disks = [Disk(healthy), Disk(bad, snapshot=True, blkdebug=conf)]
    with VM(disks=disks) as vm:
        menu = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        assert "beta" not in menu, menu
        assert re.search(r"(?m)^  ! /dev/vdb1?: ", menu), menu
        power_off(vm)
    assert sha256(healthy) == before


def test_read_errors_on_the_superblock(images, tmp_path):
    """Reads touching beta's ext4 superblock fail (sectors 2-3 of vdb1, which starts at 1 MiB):
    the rest of the disk reads. beta cannot be probed or inspected, so it is not listed and vdb1
    is named; alpha is listed."""
    healthy, bad = images
    first = 1048576 // 512
    conf = blkdebug_config(str(tmp_path / "superblock.conf"), sectors=[first + 2, first + 3])
    disks = [Disk(healthy), Disk(bad, snapshot=True, blkdebug=conf)]
    with VM(disks=disks) as vm:
        menu = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        assert "beta" not in menu, menu
        assert re.search(r"(?m)^  ! /dev/vdb1: ", menu), menu
        power_off(vm)


def run(vm, cmd, timeout=60):
    """Run cmd in the rescue shell; return what it printed between two markers."""
    tag = "LBF%d" % (abs(hash(cmd)) % 100000)
    vm.sendline(f"echo {tag[:3]}''{tag[3:]}-begin; {cmd}; echo {tag[:3]}''{tag[3:]}-end")
    m = vm.expect("(?s)" + re.escape(tag) + r"-begin\n(.*?)" + re.escape(tag) + "-end", timeout=timeout)
    return m.group(1)


def test_cloned_disks_zero_byte_disk_and_worker_kills(images, tmp_path):
    """Two clones of one disk (same UUIDs and labels on both, as after a dd) with a 0-byte disk
    between them: two systems, each one's mount plan on its own disk only (the twin: the other
    disk's devices are there and carry the same names); the 0-byte disk is no device and costs
    nothing. Then the device worker killed by SIGKILL and by SIGSEGV: PID 1 starts a new one each
    time, and a scan still works."""
    healthy, _ = images
    clone = str(tmp_path / "clone.img")
    shutil.copyfile(healthy, clone)
    zero = str(tmp_path / "zero.img")
    open(zero, "wb").close()
    disks = [Disk(healthy, snapshot=True), Disk(zero), Disk(clone, snapshot=True)]
    with VM(disks=disks) as vm:
        menu = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        assert re.search(LISTED.format(name="alpha", dev="vdc2"), menu), menu
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        rep = parse(run(vm, "lifeboat scan 2>/dev/null", timeout=120))
        assert [d["path"] for d in kind(rep, "device") if d["path"].startswith("/dev/vdb")] == [], rep
        vda2, vdc2 = kind(rep, "device", path="/dev/vda2"), kind(rep, "device", path="/dev/vdc2")
        assert vda2 and vdc2 and vda2[0]["uuid"] == vdc2[0]["uuid"], rep  # the clones' names
        systems = kind(rep, "system")
        assert sorted(s["nix"] for s in systems) == ["/dev/vda2", "/dev/vdc2"], systems
        for s in systems:
            disk = s["nix"][:-1]
            assert s["root"] == disk + "2" and s["esp"] == disk + "1", s
            sources = [m["source"] for m in kind(rep, "mount", system=s["id"]) if m.get("source")]
            assert sources and all(src.startswith(disk) for src in sources), (s, sources)
        assert kind(rep, "done"), rep

        # The worker is PID 1's child (its file system probes run in children of its own).
        worker = "pgrep -P 1 -f 'init devices'"
        for sig in ("KILL", "SEGV"):
            old = run(vm, worker).split()
            assert len(old) == 1, old
            got = run(vm, f"kill -{sig} {old[0]}; n=0; while [ $n -lt 300 ]; do p=$({worker}); "
                          f"[ -n \"$p\" ] && [ \"$p\" != {old[0]} ] && break; usleep 100000; n=$((n+1)); done; "
                          f"echo NEW $p")
            new = re.findall(r"NEW (.*)", got)[-1].split()
            assert len(new) == 1 and new != old, (sig, old, new)
        again = parse(run(vm, "lifeboat scan 2>/dev/null", timeout=120))
        assert len(kind(again, "system")) == 2, again
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        power_off(vm)


def test_read_errors_in_the_middle_of_the_store(images, tmp_path):
    """Reads of beta's /nix/store directory block fail (found with debugfs: the filesystem mounts
    and its profiles read, the store does not): alpha is listed as bootable; beta is listed with
    every generation dangling for an I/O error, which the problem list names."""
    healthy, bad = images
    out = subprocess.run(["debugfs", "-R", "blocks /nix/store", bad + "?offset=1048576"],
                         capture_output=True, text=True, check=True).stdout.split()
    block = int(out[0])
    first = (1048576 + block * 4096) // 512
    conf = blkdebug_config(str(tmp_path / "store.conf"), sectors=list(range(first, first + 8)))
    disks = [Disk(healthy, snapshot=True), Disk(bad, snapshot=True, blkdebug=conf)]
    with VM(disks=disks) as vm:
        menu = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        text = run(vm, "cat /run/lifeboat/scan", timeout=60)
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        power_off(vm)
    assert re.search(r"(?m)^  ! /dev/vdb1: the current generation 4 is not bootable", menu), menu
    rep = parse(text)
    beta = kind(rep, "system", host="beta")
    alpha = kind(rep, "system", host="alpha")
    assert len(beta) == 1 and len(alpha) == 1, rep
    gens = kind(rep, "generation", system=beta[0]["id"])
    assert gens and all(g["status"] == "dangling" and "I/O error" in g["reason"] for g in gens), gens
    # The twin: alpha's current generation, on the healthy disk, is fine.
    assert kind(rep, "generation", system=alpha[0]["id"], current="1", status="ok"), rep


def filler_disks(tmp_path, n):
    """n small sparse disks (8 MiB) that hold no NixOS, of three kinds in turn: every eighth an
    ext4 (inspected: it is mounted and read), every eighth but four a GPT with two empty
    partitions (three devices), the rest blank. Returns [(path, devices it makes)]."""
    made = []
    for i in range(n):
        p = str(tmp_path / f"filler{i:03d}.img")
        subprocess.run(["truncate", "-s", "8M", p], check=True)
        if i % 8 == 0:
            subprocess.run(["mkfs.ext4", "-q", "-F", "-L", f"fill{i}", p], check=True)
            made.append((p, 1))
        elif i % 8 == 4:
            subprocess.run(["sfdisk", "-q", p], input="label: gpt\n,3M\n,3M\n", text=True, check=True)
            made.append((p, 3))
        else:
            made.append((p, 1))
    return made


@pytest.mark.parametrize("count", [64, 128])
def test_many_disks(images, tmp_path, count):
    """64 and 128 disks: 24 on virtio-blk (PCI slots run out near 30), the rest as LUNs of one
    virtio-scsi controller; alpha's disk first on virtio, beta's last on SCSI, every other disk
    a small filler (blank, ext4 or GPT). The menu comes with every device counted and the scan
    complete, both systems listed (alpha on vda2, beta on an sd disk's first partition), PID 1
    lives (every wait checks) and no disk was written (every image hashed around the boot, all
    attached writable). The device count is exact and the header says no "(scan incomplete)": a
    scan that lost or skipped disks, or ran out of time, fails it."""
    healthy, _ = images
    beta = str(tmp_path / "twosys.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(FIXDIR, "twosys.img"), beta], check=True)
    fillers = filler_disks(tmp_path, count - 2)
    paths = [healthy] + [p for p, _ in fillers] + [beta]
    devices = 3 + sum(k for _, k in fillers) + 2
    before = {p: sha256(p) for p in paths}
    disks = [Disk(p, "virtio" if i < 24 else "scsi") for i, p in enumerate(paths)]
    with VM(disks=disks, append=os.environ.get("LB_TEST_MANY_APPEND", "")) as vm:
        menu = menu_after(vm, timeout=600)
        # On a loaded host the first menu may come before every LUN is there (lifeboat.settle
        # passed, or the settle ended in a pause of the SCSI host's scan: both found in this
        # test). The worker says when disks appear after settling, and the menu, seeing devices
        # its list lacks, scans again by itself, as often as that takes.
        for _ in range(8):
            shown = re.search(r"Disks: (\d+)   NixOS systems", menu)
            if not shown or int(shown.group(1)) >= devices:
                break
            vm.expect(r"More devices appeared after this scan began \(\d+: ", timeout=600)
            menu = menu_after(vm, timeout=600)
        assert re.search(rf"Disks: {devices}   NixOS systems: 2   Problems: \d+\n", menu), menu
        # A kernel log line (a module the device worker loads late) can land inside a menu line
        # on the console (a CI failure): the lines are read without such fragments.
        shown = re.sub(r"\[\s*\d+\.\d+\] lifeboat\[\d+\]: [^\n]*", "", menu)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), shown), menu
        assert re.search(LISTED.format(name="beta", dev="sd[a-z]+1"), shown), menu
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        seen = run(vm, "ls /sys/block | grep -c -e '^vd' -e '^sd'")
        assert seen.split() == [str(count)], seen
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        power_off(vm)
    changed = [p for p in paths if sha256(p) != before[p]]
    assert not changed, changed


PROMPT = r"lifeboat:\S*# "


def shell_from_menu(vm):
    vm.sendline("s")
    vm.expect(PROMPT, timeout=30)


def test_menu_oom_killed_and_run_full(images):
    """The menu killed by the kernel's OOM killer for real (a dd whose buffer takes nine tenths
    of RAM, the menu made the first victim with oom_score_adj=1000): PID 1 lives, says the menu
    was killed while memory ran out, and the menu comes back with alpha (the twin: a SIGKILL
    from a shell later is not said to be the OOM killer's). Then /run filled from
    the shell: a rescan still lists alpha and says the report cannot be saved and why; the old
    saved report is gone rather than outdated, no temporary file is left, and no part of a report
    is ever there to read. With the space freed, the next rescan saves a whole report and says
    nothing (the twin)."""
    healthy, _ = images
    with VM(disks=[Disk(healthy, snapshot=True)], mem=512) as vm:
        vm.expect(MENU, timeout=300)
        shell_from_menu(vm)
        run(vm, "dmesg -n 1")
        # From outside the shell's session: the menu starts it, and the hog must outlive it.
        lines = ["sleep 2", "m=$(pgrep -f 'init menu' | head -n1)", "echo 1000 > /proc/$m/oom_score_adj",
                 "kb=$(($(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2) * 9 / 10))",
                 "dd if=/dev/zero of=/dev/null bs=${kb}k count=1"]
        run(vm, "printf '%s\\n' " + " ".join('"%s"' % l.replace("$", "\\$") for l in lines) + " > /tmp/oom.sh; cat /tmp/oom.sh")
        vm.sendline("setsid sh /tmp/oom.sh </dev/null >/dev/null 2>&1 & exit")
        vm.expect(r"the menu killed by signal 9 \(Killed\) while memory ran out \(the kernel's OOM "
                  r"killer\); starting it again", timeout=300)
        menu = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        shell_from_menu(vm)
        got = run(vm, "grep -c oom_kill /proc/vmstat; awk '/^oom_kill / {print \"KILLS\", $2}' /proc/vmstat; "
                      "pgrep -f 'dd if=/dev/zero' || echo NOHOG")
        assert re.search(r"KILLS [1-9]", got) and "NOHOG" in got, got
        # The twin: a SIGKILL with memory to spare says no such thing.
        vm.sendline("setsid sh -c \"sleep 2; kill -KILL \\$(pgrep -f 'init menu' | head -n1)\" "
                    "</dev/null >/dev/null 2>&1 & exit")
        vm.expect_not(r"while memory ran out", within=120,
                      instead=r"the menu killed by signal 9 \(Killed\); starting it again")
        vm.expect(MENU, timeout=300)
        shell_from_menu(vm)

        # /run full: the rescan's save fails with ENOSPC.
        run(vm, "dd if=/dev/zero of=/run/fill bs=1M 2>/dev/null; df /run | tail -n1")
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        vm.sendline("d")
        menu = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        assert re.search(r"Cannot save the scan report in /run/lifeboat/scan: No space left on device "
                         r"\(/run is full", menu), menu
        shell_from_menu(vm)
        left = run(vm, "ls /run/lifeboat/ | grep '^scan' ; echo END")
        assert left.split() == ["scan.last", "scan.lock", "END"], left
        run(vm, "rm /run/fill")
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        vm.sendline("d")
        vm.expect("Scanning disks...", timeout=60)
        vm.expect_not(r"Cannot save the scan report", within=300, instead=MENU)
        vm.expect(MENU, timeout=60)
        shell_from_menu(vm)
        saved = parse(run(vm, "cat /run/lifeboat/scan; ls /run/lifeboat | grep -c '^scan\\.[A-Za-z0-9]\\{6\\}$'"))
        assert kind(saved, "done") and kind(saved, "system", host="alpha"), saved
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        power_off(vm)


def test_disk_removed_while_scanned_and_one_added_after_the_menu(images, tmp_path):
    """A SCSI disk whose reads crawl (beta's, so the first scan is busy on it) is unplugged from
    the QEMU monitor while that scan runs: the menu still comes (no hang), alpha is listed, beta
    is not, and the removed disk is gone or named as a problem. Then a disk holding beta is
    plugged in after the menu: with no key pressed, the menu names the new devices and scans
    again, listing beta and alpha still; unplugged once more, the menu names it as gone and scans
    again, listing alpha only. PID 1 lives throughout (every wait checks), and the healthy disk is
    unchanged."""
    healthy, twosys = images
    before = sha256(healthy)
    disks = [Disk(healthy), Disk(twosys, "scsi", snapshot=True, opts="throttling.bps-read=4096")]
    with VM(disks=disks, monitor=True, append="lifeboat.disktimeout=60") as vm:
        vm.expect("Scanning disks...", timeout=300)
        with vm.lock:
            start = len(vm.buf)
        vm.hot_remove("dev1")
        vm.expect(MENU, timeout=300)
        with vm.lock:
            menu = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", vm.buf[start:])
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        assert "beta" not in menu, menu
        shell_from_menu(vm)
        run(vm, "dmesg -n 1")
        gone = run(vm, "ls /sys/block | grep -c '^sd'; ls /dev | grep -c '^sd'")
        assert gone.split() == ["0", "0"], gone
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)

        copy = str(tmp_path / "beta.img")
        subprocess.run(["cp", "--sparse=always", twosys, copy], check=True)
        # No key pressed: the menu sees a disk its list lacks and scans again by itself.
        vm.hot_add(copy, "hot1", snapshot=False)
        vm.expect(r"More devices appeared after this scan began \(\d+: sd[a-z]+[ 0-9a-z]*\); "
                  r"scanning again\.", timeout=300)
        again = menu_after(vm, timeout=300)
        # The twin: with every device listed, further notices (the disk's partitions) scan no more.
        vm.expect_not("More devices appeared", within=5)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), again), again
        assert re.search(LISTED.format(name="beta", dev="sd[a-z]+1"), again), again
        # Unplugged again at the menu: the list still shows it, so the menu names it as gone and
        # scans again by itself; beta is no longer listed, alpha still is.
        vm.hot_remove("hot1")
        vm.expect(r"Devices in this list are gone \(\d+: sd[a-z]+[ 0-9a-z.]*\); scanning again\.", timeout=300)
        after = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), after), after
        assert "beta" not in after, after
        power_off(vm)
    assert sha256(healthy) == before
    assert sha256(copy) == sha256(twosys)


def partition_copy(img, offset, size, dst):
    with open(img, "rb") as f, open(dst, "wb") as o:
        f.seek(offset)
        left = size
        while left:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            o.write(chunk)
            left -= len(chunk)
    return dst


def test_shutdown_with_a_session_swap_and_busy_filesystems(tmp_path):
    """gamma (split: ESP, root, /home, /nix and the swap partition its fstab names) entered from
    the menu with its swap active (enter itself never turns swap on: the plan marks it
    swap-ignored, so it is turned on from the rescue shell first), and inside the session an
    open file and the working directory on /home and a stopped job holding /nix. Ctrl-Alt-Del
    from the QEMU monitor: the shutdown turns swap off, unmounts everything within its deadline
    (no "did not finish", no file system left busy: the twin waits for the line that ends it),
    and afterwards every filesystem is clean by fsck -n and the swap signature is intact (each
    ext4 seen needing journal recovery while the session ran: the twin)."""
    src = os.path.join(FIXDIR, "split.img")
    if not os.path.exists(src):
        pytest.skip("fixtures missing: run make fixtures")
    import json
    expect = json.load(open(os.path.join(FIXDIR, "split.expect.json")))
    img = str(tmp_path / "split.img")
    subprocess.run(["cp", "--sparse=always", src, img], check=True)
    with VM(disks=[Disk(img)], monitor=True) as vm:
        vm.expect(MENU, timeout=300)
        shell_from_menu(vm)
        run(vm, "dmesg -n 1")
        got = run(vm, "swapon /dev/vda5 && grep -c '^/dev/vda5 ' /proc/swaps")
        assert got.split() == ["1"], got
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        vm.sendline("1")
        vm.expect(r"gamma - NixOS")
        vm.expect(MENU)
        vm.sendline("e")
        vm.expect(r"\[root@gamma:~\]# ", timeout=90)
        vm.sendline("exec 3>>/home/busy; echo held >&3; cd /home; (exec 4>>/nix/busy; cd /nix; read x) &")
        vm.sendline("echo SESSION''READY $(pwd)")
        vm.expect(r"SESSION" r"READY /home", timeout=30)
        # The twin of the checks after the boot: while mounted, each ext4 says its journal
        # needs recovery, so a shutdown that left one mounted would fail them.
        for d in expect["devices"]:
            if d["type"] == "ext4":
                part = partition_copy(img, d["offset"], d["size"], str(tmp_path / "live"))
                feats = subprocess.run(["dumpe2fs", "-h", part], capture_output=True, text=True).stdout
                assert "needs_recovery" in feats, (d, feats)
        vm.hmp("sendkey ctrl-alt-delete")
        vm.expect(r"reboot: stopping processes", timeout=60)
        vm.expect_not(r"the disks did not finish|could not be unmounted|swap off failed|failed:",
                      within=200, instead=r"file systems done; reboot now")
        text = vm.text()
        assert vm.wait_exit(120) == 0
    assert re.search(r"(?m)^lifeboat: swap off /dev/vda5$", text), text[-3000:]
    for d in expect["devices"]:
        part = partition_copy(img, d["offset"], d["size"], str(tmp_path / f"p{d['partition']}"))
        if d["type"] == "ext4":
            r = subprocess.run(["e2fsck", "-n", "-f", part], capture_output=True, text=True)
            assert r.returncode == 0, (d, r.stdout, r.stderr)
            feats = subprocess.run(["dumpe2fs", "-h", part], capture_output=True, text=True).stdout
            assert "needs_recovery" not in feats and re.search(r"Filesystem state:\s+clean", feats), (d, feats)
        elif d["type"] == "vfat":
            r = subprocess.run(["fsck.vfat", "-n", part], capture_output=True, text=True)
            assert r.returncode == 0, (d, r.stdout, r.stderr)
        elif d["type"] == "swap":
            with open(part, "rb") as f:
                assert f.read(4096)[-10:] == b"SWAPSPACE2", d


GOING_DOWN = 0x8004587D   # EXT4_IOC_SHUTDOWN and XFS_IOC_GOINGDOWN: _IOR('X', 125, __u32)
LOGFLUSH = 1              # commit the journal (the log), then stop: nothing checkpointed


def loop_mounted(img, fstype, opts, work):
    """Mount img on a loop device, run work(mountpoint) in it, unmount."""
    import tempfile
    mnt = tempfile.mkdtemp(prefix="lb-zw-")
    try:
        subprocess.run(["mount", "-t", fstype, "-o", "loop" + ("," + opts if opts else ""), img, mnt],
                       check=True)
        try:
            return work(mnt)
        finally:
            subprocess.run(["umount", mnt], check=True)
    finally:
        os.rmdir(mnt)


def write_then_power_cut(mnt):
    """Write a file, then shut the file system down with its journal committed and not
    checkpointed, as a power cut right after a commit leaves it."""
    import fcntl
    with open(os.path.join(mnt, "written-before-the-cut"), "w") as f:
        f.write("complete only after journal recovery\n" * 100)
    fd = os.open(mnt, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, GOING_DOWN, LOGFLUSH.to_bytes(4, "little"))
    finally:
        os.close(fd)


def btrfs_with_log_tree(img, copy):
    """A btrfs whose superblock names a log tree: a file fsynced (which writes the log tree),
    the image copied before the next commit (commit=300), as a power cut would leave it."""
    def work(mnt):
        with open(os.path.join(mnt, "fsynced"), "w") as f:
            f.write("in the log tree only\n" * 100)
            f.flush()
            os.fsync(f.fileno())
        subprocess.run(["cp", "--sparse=always", img, copy], check=True)
    loop_mounted(img, "btrfs", "commit=300", work)
    sb = subprocess.run(["btrfs", "inspect-internal", "dump-super", copy], capture_output=True, text=True,
                        check=True).stdout
    m = re.search(r"^log_root\s+(\d+)", sb, re.M)
    return bool(m and int(m.group(1)))


FSYNC_APPEND = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	static char buf[65536];
	memset(buf, 'r', sizeof(buf));
	int fd = open(argv[1], O_WRONLY | O_APPEND);
	if (argc != 2 || fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf) || fsync(fd) < 0)
		return 1;
	puts("FSYNCED");
	return 0;
}
"""


def f2fs_with_fsync_data(img, tmp):
    """An f2fs left with fsynced data to roll forward, as a power cut right after an fsync
    leaves it (this host's kernel has no f2fs: a VM makes it). In the VM: mount it, write a file
    and sync (a checkpoint), append 64 KiB and fsync (node blocks marked for roll-forward, no
    checkpoint: f2fs checkpoints on sync, umount or every 60 s), then QEMU is killed. The append
    is done by a static program from a second disk: busybox has no fsync."""
    tool = os.path.join(tmp, "f2fs-tool")
    os.makedirs(tool, exist_ok=True)
    with open(os.path.join(tmp, "fsync-append.c"), "w") as f:
        f.write(FSYNC_APPEND)
    subprocess.run(["musl-gcc", "-static", "-Os", "-o", os.path.join(tool, "fsync-append"),
                    os.path.join(tmp, "fsync-append.c")], check=True)
    tooldisk = os.path.join(tmp, "f2fs-tool.img")
    subprocess.run(["truncate", "-s", "8M", tooldisk], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", tool, tooldisk], check=True)
    subprocess.run(["truncate", "-s", "52M", img], check=True)
    subprocess.run(["mkfs.f2fs", "-q", "-f", "-l", "zwf2fs", img], check=True, capture_output=True)
    with VM(disks=[Disk(img), Disk(tooldisk, snapshot=True)]) as vm:
        menu_after(vm, timeout=300)
        shell_from_menu(vm)
        run(vm, "dmesg -n 1")
        got = run(vm, "mkdir -p /mnt/f /mnt/t && mount -t f2fs /dev/vda /mnt/f && "
                      "mount -o ro /dev/vdb /mnt/t && echo checkpointed > /mnt/f/fsynced && sync && "
                      "/mnt/t/fsync-append /mnt/f/fsynced", timeout=60)
        assert "FSYNCED" in got, got
    # The kill was the power cut. The last checkpoint is not an unmount's.
    r = subprocess.run(["dump.f2fs", "-i", "3", img], capture_output=True, text=True)
    state = re.search(r"checkpoint state = .*", r.stdout)
    assert state and "unmount" not in state.group(0), r.stdout


def test_zero_writes_without_the_read_only_flag(images, tmp_path):
    """lifeboat.debug_noblkro: the scan leaves every device writable, so only the mount options
    keep the disks unwritten. Journalled filesystems that a plain mount would replay: zeta's
    ext4 (the dirty fixture: a NixOS whose journal needs recovery), an ext3 and an xfs left
    after a power cut with a committed journal, a btrfs whose superblock names a log tree, an
    f2fs with fsynced data to roll forward (made in a VM, when the host has f2fs-tools); and
    alpha. The menu lists alpha and zeta, a second scan from the shell too, and afterwards no
    image changed but the twins': a plain read-only mount of the ext3 and of the f2fs from the
    shell, which replay the journal and roll the fsynced data forward on the writable device,
    and so write them. The f2fs is hashed in the VM before its twin too; the scan reports it as
    having data to roll forward before the twin and as clean after it."""
    healthy, _ = images
    dirty = str(tmp_path / "dirty.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(FIXDIR, "dirty.img"), dirty], check=True)
    ext3 = str(tmp_path / "ext3.img")
    subprocess.run(["truncate", "-s", "32M", ext3], check=True)
    subprocess.run(["mkfs.ext3", "-q", "-F", "-L", "zwext3", ext3], check=True)
    loop_mounted(ext3, "ext3", None, write_then_power_cut)
    sb = subprocess.run(["dumpe2fs", "-h", ext3], capture_output=True, text=True).stdout
    assert "needs_recovery" in sb and "has_journal" in sb, sb
    xfs = str(tmp_path / "xfs.img") if shutil.which("mkfs.xfs") else None  # xfsprogs, when there
    if xfs:
        subprocess.run(["truncate", "-s", "320M", xfs], check=True)
        subprocess.run(["mkfs.xfs", "-q", "-f", "-L", "zwxfs", xfs], check=True)
        loop_mounted(xfs, "xfs", None, write_then_power_cut)
        r = subprocess.run(["xfs_repair", "-n", xfs], capture_output=True, text=True)
        assert "valuable metadata changes in a log" in r.stdout + r.stderr, r
    btrfs = str(tmp_path / "btrfs.img")
    live = str(tmp_path / "btrfs-live.img")
    subprocess.run(["truncate", "-s", "128M", live], check=True)
    subprocess.run(["mkfs.btrfs", "-q", "-f", "-L", "zwbtrfs", live], check=True)
    assert btrfs_with_log_tree(live, btrfs), "no log tree in the btrfs copy"
    f2fs = str(tmp_path / "f2fs.img") if shutil.which("mkfs.f2fs") else None  # f2fs-tools
    if f2fs:
        f2fs_with_fsync_data(f2fs, str(tmp_path))
    paths = [p for p in (healthy, dirty, ext3, btrfs, xfs, f2fs) if p]
    before = {p: sha256(p) for p in paths}
    with VM(disks=[Disk(p) for p in paths], append="lifeboat.debug_noblkro") as vm:
        menu = menu_after(vm, timeout=300)
        assert re.search(LISTED.format(name="alpha", dev="vda2"), menu), menu
        assert re.search(LISTED.format(name="zeta", dev="vdb1"), menu), menu
        shell_from_menu(vm)
        run(vm, "dmesg -n 1")
        # Nothing was read-only during the scan: the flag's absence is what is tested.
        assert "devices stay writable while inspected" in run(vm, "cat /run/lifeboat/log")
        ro = run(vm, "cat /sys/class/block/vd*/ro | sort -u")
        assert set(ro.split()) == {"0"}, ro
        rep = parse(run(vm, "lifeboat scan 2>/dev/null", timeout=120))
        assert sorted(s["host"] for s in kind(rep, "system")) == ["alpha", "zeta"], rep
        types = [t for p, t in ((ext3, "ext3"), (btrfs, "btrfs"), (xfs, "xfs"), (f2fs, "f2fs")) if p]
        dev_of = {t: "/dev/vd" + chr(ord("c") + i) for i, t in enumerate(types)}
        for t, dev in dev_of.items():
            assert kind(rep, "device", path=dev, type=t), (dev, rep)
        if f2fs:
            f2dev = dev_of["f2fs"]
            # Both scans mounted it with norecovery: each found the fsynced data still there
            # and left it (f2fs drops it in memory only), and no checkpoint was written; the
            # device's bytes are what the host hashed before the boot.
            log = run(vm, f"dmesg | grep 'F2FS-fs ({f2dev[5:]})'; sha256sum {f2dev}")
            assert log.count("drop all fsynced data") == 2 and "checkpoint: version" not in log, log
            assert before[f2fs] in log, log
            # The scan says so: the data waits to be rolled forward (not merely "unclean").
            st = kind(rep, "fsstate", path=f2dev)
            assert [r.get("state") for r in st] == ["recover"], st
        got = run(vm, "mount -t ext4 -o ro /dev/vdc /mnt && umount /mnt && echo REPLAYED")
        assert "REPLAYED" in got, got
        if f2fs:
            # The twin: a plain read-only mount rolls the fsynced data forward, and writes.
            got = run(vm, f"dmesg -c >/dev/null; mount -t f2fs -o ro {f2dev} /mnt && umount /mnt && "
                          f"echo ROLLED; dmesg | grep 'F2FS-fs ({f2dev[5:]})'")
            assert "ROLLED" in got and "recover_data: ino = 4" in got and "checkpoint: version" in got, got
            # The roll-forward ends with a checkpoint that f2fs marks as an unmount's (dump.f2fs
            # on the host says "unmount" after this twin): nothing waits any more, and the same
            # scan now says "clean".
            st = kind(parse(run(vm, "lifeboat scan 2>/dev/null", timeout=120)), "fsstate", path=f2dev)
            assert [r.get("state") for r in st] == ["clean"], st
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        power_off(vm)
    changed = [p for p in paths if sha256(p) != before[p]]
    assert changed == [p for p in (ext3, f2fs) if p], changed
