"""The repair toolbox in the booted image: `lifeboat check` reports damage made by the tools
themselves (debugfs clearing an inode, a FAT with its dirty bit set and its two copies differing,
the `dirty` fixture's ext4 that needs journal recovery) and writes not one byte (each image hashed
around the boot, attached writable); `lifeboat check --repair` changes nothing without a typed
"yes", refuses a mounted filesystem, and after "yes" leaves a clean second check, and the
repaired system can then be entered."""
import os
import re
import struct
import subprocess

import pytest

from vm import BUILD, VM, Disk, sha256

FIX = os.path.join(BUILD, "fixtures")


def run(vm, cmd, timeout=120):
    """What cmd printed in the rescue shell, then its exit status (as the last line)."""
    with vm.lock:
        start = len(vm.buf)
    m = vm.shell(f"echo LBST''ART; {cmd}", timeout=timeout)
    with vm.lock:
        text = vm.buf[start:]
    text = text[:text.rfind(m.group(0))]
    begin = text.find("LBSTART\n")
    return (text[begin + len("LBSTART\n"):] if begin >= 0 else "") + f"\nstatus {m.group(1)}\n"


def make_ext_clri(path, tmp):
    """An ext4 with a directory entry whose inode debugfs cleared."""
    tree = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "data"), exist_ok=True)
    for i in range(3):
        with open(os.path.join(tree, "data", f"f{i}"), "w") as f:
            f.write(f"file {i}\n")
    subprocess.run(["truncate", "-s", "16M", path], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", tree, path], check=True)
    subprocess.run(["debugfs", "-w", "-R", "clri /data/f1", path], check=True, capture_output=True)


def make_fat_damaged(path):
    """A FAT32 marked dirty (as after a power cut) whose second FAT differs from the first."""
    subprocess.run(["truncate", "-s", "40M", path], check=True)
    subprocess.run(["mkfs.vfat", "-F", "32", path], check=True, stdout=subprocess.DEVNULL)
    with open(path, "r+b") as f:
        boot = bytearray(f.read(512))
        bps, reserved = struct.unpack_from("<HH", boot, 11)[0], struct.unpack_from("<H", boot, 14)[0]
        fat_sectors = struct.unpack_from("<I", boot, 36)[0]
        boot[0x41] |= 1  # FAT32's state byte: bit 0 is the dirty bit
        f.seek(0)
        f.write(boot)
        f.seek((reserved + fat_sectors) * bps + 4 * 100)  # cluster 100 of the second FAT: bad
        f.write(struct.pack("<I", 0x0FFFFFF7))


@pytest.fixture
def disks(tmp_path):
    src = os.path.join(FIX, "dirty.img")
    if not os.path.exists(src):
        pytest.skip("fixtures missing: run make fixtures")
    tmp = str(tmp_path)
    dirty = os.path.join(tmp, "dirty.img")
    subprocess.run(["cp", "--sparse=always", src, dirty], check=True)
    ext, fat, clean = (os.path.join(tmp, n) for n in ("ext.img", "fat.img", "clean.img"))
    make_ext_clri(ext, tmp)
    make_fat_damaged(fat)
    subprocess.run(["truncate", "-s", "16M", clean], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", clean], check=True)
    return [dirty, ext, fat, clean]  # vda, vdb, vdc, vdd


def boot_shell(vm):
    vm.expect(r"Choose \(key then Enter", timeout=180)
    vm.sendline("s")
    vm.expect(r"lifeboat:\S*# ", timeout=30)
    run(vm, "dmesg -n 1")


def test_check_reports_damage_and_writes_nothing(disks):
    before = {p: sha256(p) for p in disks}
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        boot_shell(vm)
        ext = run(vm, "lifeboat check /dev/vdb")
        fat = run(vm, "lifeboat check /dev/vdc")
        clean = run(vm, "lifeboat check /dev/vdd")
        system = run(vm, "lifeboat check zeta")
        states = run(vm, "lifeboat scan 2>/dev/null | grep '^fsstate'")
        ro = run(vm, "cat /sys/class/block/vd[a-d]/ro | sort | uniq -c")
        busy = run(vm, "mount -o ro /dev/vdd /mnt && { lifeboat check /dev/vdd; echo rc=$?; }; umount /mnt")
        tools = run(vm, "fsck -t ext4 -n /dev/vdd; fsck.vfat -n /dev/vdc; tune2fs -l /dev/vdd | head -n 3")
        # The twin of the zero-write proof: a write through the same attachment shows up.
        vm.shell("echo written > /dev/vdd; sync")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0
    after = {p: sha256(p) for p in disks}
    changed = [os.path.basename(p) for p in disks if before[p] != after[p]]
    assert changed == ["clean.img"], f"images changed by the boot: {changed}"

    assert "has deleted/unused inode" in ext, ext
    assert re.search(r"(?m)^/dev/vdb: errors ", ext) and "status 1" in ext, ext
    assert "FATs differ" in fat and "Dirty bit is set" in fat, fat
    assert re.search(r"(?m)^/dev/vdc: errors ", fat) and "status 1" in fat, fat
    # The twin: a filesystem without damage is called clean, and the exit status says so.
    assert re.search(r"(?m)^/dev/vdd: clean ", clean) and "status 0" in clean, clean
    assert "errors" not in clean, clean
    # A found system by host name: its root is checked; e2fsck says it left the journal alone.
    assert re.search(r"checking /dev/vda\d \(ext4, /\)", system), system
    assert "journal recovery" in system, system
    # The scan reads each filesystem's own state: the journal to recover, the FAT's dirty bit.
    assert re.search(r"(?m)^fsstate path=/dev/vda\d type=ext4 state=recover mounted=1 ", states), states
    # A FAT is not mounted by the scan: its size and free space come from its BPB and FSInfo.
    assert re.search(r"(?m)^fsstate path=/dev/vdc type=vfat state=unclean mounted=- size=4\d{7} free=\d+$",
                     states), states
    # The twin: an undamaged one reads clean.
    assert re.search(r"(?m)^fsstate path=/dev/vdd type=ext4 state=clean mounted=1 ", states), states
    # Every device is writable again after its check.
    assert re.search(r"(?m)^\s*4 0$", ro), ro
    assert "mounted or in use; not checked" in busy and "rc=1" in busy, busy
    # The tools are on PATH, and fsck -t finds its checker.
    assert re.search(r"/dev/vdd: clean, \d+/\d+ files", tools), tools
    assert "FATs differ" in tools and "Filesystem volume name" in tools, tools


def test_repair_after_confirmation(disks):
    dirty, ext, fat, clean = disks
    fat_before = sha256(fat)
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        boot_shell(vm)
        declined = run(vm, "echo no | lifeboat check --repair /dev/vdc")
        busy = run(vm, "mount -o ro /dev/vdb /mnt && echo yes | lifeboat check --repair /dev/vdb; umount /mnt")
        ext_fix = run(vm, "echo yes | lifeboat check --repair /dev/vdb")
        ext_again = run(vm, "lifeboat check /dev/vdb")
        sys_fix = run(vm, "echo yes | lifeboat check --repair zeta", timeout=300)
        entered = run(vm, "lifeboat enter --silent -c 'echo inside-$(cat /etc/hostname); ls /var/log'", timeout=180)
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0
    assert "Nothing was changed." in declined and "status 1" in declined, declined
    assert sha256(fat) == fat_before, "a declined repair wrote to the FAT"
    assert "Nothing to repair." in busy, busy
    assert "mounted or in use; not repaired" in busy, busy
    assert "repairing /dev/vdb" in ext_fix and "Checking again:" in ext_fix, ext_fix
    assert re.search(r"(?m)^/dev/vdb: repaired ", ext_fix), ext_fix
    assert re.search(r"(?m)^/dev/vdb: clean ", ext_fix) and "status 0" in ext_fix, ext_fix
    # The twin of "clean after repair": the same device reported errors before (first test), and
    # a new check of it now is clean too.
    assert re.search(r"(?m)^/dev/vdb: clean ", ext_again) and "status 0" in ext_again, ext_again
    assert re.search(r"(?m)^/dev/vda\d: clean ", sys_fix) and "status 0" in sys_fix, sys_fix
    # Entered read-write after the repair: the journal's last transaction is there.
    assert "inside-zeta" in entered and "written-before-power-cut" in entered, entered
    # On the host: the repaired images are clean for Debian's own tools too.
    r = subprocess.run(["e2fsck", "-n", "-f", ext], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_repair_from_the_menu():
    """The system's page shows the root needing journal recovery; x checks, shows the plan, takes
    "yes", repairs and checks again; after the new scan the page says clean."""
    src = os.path.join(FIX, "dirty.img")
    if not os.path.exists(src):
        pytest.skip("fixtures missing: run make fixtures")
    with VM(disks=[Disk(src, snapshot=True)], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=180)
        vm.sendline("1")
        vm.expect(r"/\s+ext4\s+/dev/vda\d\s+needs journal recovery, \d+ of \d+ MiB free", timeout=30)
        vm.expect(r"x\)\s+repair its filesystems", timeout=10)
        vm.sendline("x")
        vm.expect("The repair will write to these filesystems:", timeout=120)
        vm.expect("Type yes to repair", timeout=30)
        vm.sendline("yes")
        vm.expect("Checking again:", timeout=300)
        vm.expect(r"/dev/vda\d: clean ", timeout=120)
        vm.expect("Press Enter to return to the menu.", timeout=30)
        vm.sendline("")
        vm.expect(r"Choose \(key then Enter", timeout=120)
        vm.sendline("1")
        vm.expect(r"/\s+ext4\s+/dev/vda\d\s+clean, \d+ of \d+ MiB free", timeout=30)
        # The twin: the old state is not on the new page.
        vm.expect_not("needs journal recovery", within=3)
        vm.sendline("m")
        vm.expect(r"Choose \(key then Enter", timeout=30)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0


def make_btrfs(path, tmp, damaged):
    """A single-device btrfs (metadata single, so no second copy hides the damage) with a few
    files; damaged: bytes flipped inside the leaf that holds a file's name (its checksum then
    fails), found by the name, the leaf being a nodesize-aligned block of the image. The host's
    own btrfs check proves the damage is there, and that the twin is clean."""
    tree = os.path.join(tmp, "btree-%d" % damaged)
    os.makedirs(os.path.join(tree, "etc"), exist_ok=True)
    name = "lifeboat-btrfs-marker-%d" % damaged
    for f in (name, "hostname", "fstab"):
        with open(os.path.join(tree, "etc", f), "w") as fh:
            fh.write(f + "\n")
    subprocess.run(["truncate", "-s", "128M", path], check=True)
    subprocess.run(["mkfs.btrfs", "-q", "-f", "-m", "single", "-d", "single", "-n", "16384",
                    "--rootdir", tree, path], check=True, stdout=subprocess.DEVNULL)
    if damaged:
        data = open(path, "rb").read()
        hits = [m.start() for m in re.finditer(name.encode(), data)]
        assert hits, "marker name not found in the btrfs image"
        with open(path, "r+b") as f:
            for leaf in sorted({h - h % 16384 for h in hits}):
                f.seek(leaf + 200)  # past the header (checksum, fsid, bytenr...): item data
                f.write(b"\xa5" * 64)
    r = subprocess.run(["btrfs", "check", "--readonly", path], capture_output=True, text=True)
    assert (r.returncode != 0) == bool(damaged), r.stdout + r.stderr


def check_damaged_and_clean(tmp_path, make, tools_cmd):
    """A damaged (/dev/vda) and a clean (/dev/vdb) image made by make(path, damaged): lifeboat
    check on each, `--repair` on the damaged one, then tools_cmd; power off, and both images
    must be bit-identical. Returns the four outputs."""
    bad, good = str(tmp_path / "bad.img"), str(tmp_path / "good.img")
    make(bad, 1)
    make(good, 0)
    before = {p: sha256(p) for p in (bad, good)}
    with VM(disks=[Disk(bad), Disk(good)], mem=768) as vm:
        boot_shell(vm)
        damaged = run(vm, "lifeboat check /dev/vda")
        clean = run(vm, "lifeboat check /dev/vdb")
        repair = run(vm, "echo yes | lifeboat check --repair /dev/vda")
        tools = run(vm, tools_cmd)
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0
    assert {p: sha256(p) for p in (bad, good)} == before, "an image changed"
    return damaged, clean, repair, tools


def assert_checked_not_repaired(damaged, clean, repair, fstype, finding, clean_lacks):
    """What check_damaged_and_clean's outputs must say for a type lifeboat checks but does not
    repair: the finding on /dev/vda (status 1), /dev/vdb clean (status 0), and --repair checks
    first, finds the damage, then refuses without asking."""
    assert re.search(r"(?m)^/dev/vda: errors ", damaged) and "status 1" in damaged, damaged
    assert finding in damaged, damaged
    assert re.search(r"(?m)^/dev/vdb: clean ", clean) and "status 0" in clean, clean
    assert "errors" not in clean and clean_lacks not in clean, clean
    assert finding in repair, repair
    assert f"/dev/vda ({fstype}, device): not repaired by lifeboat" in repair, repair
    assert "Nothing to repair." in repair and "Type yes" not in repair, repair
    assert "status 1" in repair, repair


def test_btrfs_check_reports_damage_and_writes_nothing(tmp_path):
    """btrfs-progs' `btrfs check --readonly` through lifeboat check: a leaf with a bad checksum
    is reported as errors (status 1), the twin clean (status 0); --repair does not touch a btrfs
    (its authors call check --repair a last resort: a person's decision at the shell); both
    images bit-identical afterwards."""
    damaged, clean, repair, tools = check_damaged_and_clean(
        tmp_path, lambda path, bad: make_btrfs(path, str(tmp_path), bad),
        "btrfs --version; btrfs filesystem show /dev/vdb; fsck.btrfs /dev/vdb; echo fsck=$?")
    assert re.search(r"(?m)^/dev/vda: errors ", damaged) and "status 1" in damaged, damaged
    assert "checksum" in damaged or "csum" in damaged, damaged
    assert re.search(r"(?m)^/dev/vdb: clean ", clean) and "status 0" in clean, clean
    assert "status 0" not in repair, repair
    assert "btrfs-progs v6.2" in tools and "fsck=0" in tools, tools


def make_xfs(path, damaged):
    """An xfs (300 MiB, mkfs.xfs's smallest) whose superblock inode count xfs_db set to 1 when
    damaged (the AGs hold 64): xfs_repair -n counts them and reports the mismatch. The host's own
    xfs_repair -n proves the damage is there (exit status 1), and that the twin is clean (0)."""
    subprocess.run(["truncate", "-s", "300M", path], check=True)
    subprocess.run(["mkfs.xfs", "-q", "-f", "-L", "xfs%d" % damaged, path], check=True)
    if damaged:
        subprocess.run(["xfs_db", "-x", "-c", "sb 0", "-c", "write -d icount 1", path], check=True,
                       capture_output=True)
    r = subprocess.run(["xfs_repair", "-n", path], capture_output=True, text=True)
    assert r.returncode == (1 if damaged else 0), r.stdout + r.stderr


def test_xfs_check_reports_damage_and_writes_nothing(tmp_path):
    """xfsprogs' `xfs_repair -n` through lifeboat check: a wrong superblock inode count is
    reported as errors (status 1), the twin clean (status 0); --repair does not touch an xfs
    (xfs_repair on a dirty log wants a mount first: a person's decision at the shell); both
    images bit-identical afterwards. xfs_db and Debian's fsck.xfs run too."""
    damaged, clean, repair, tools = check_damaged_and_clean(
        tmp_path, make_xfs,
        "xfs_repair -V; xfs_db -r -c 'sb 0' -c 'p icount' -c 'p fname' /dev/vda; "
        "fsck.xfs /dev/vdb; echo fsck=$?; fsck -t xfs -a /dev/vdb; echo fsckt=$?")
    assert_checked_not_repaired(damaged, clean, repair, "xfs", "sb_icount 1, counted 64", "sb_icount")
    assert "xfs_repair version 6.1.0" in tools, tools
    assert "icount = 1" in tools and 'fname = "xfs1' in tools, tools
    # busybox sh runs Debian's script: without -f it only points to xfs_repair.
    assert "see xfs_repair(8)" in tools and "fsck=0" in tools, tools
    assert "XFS file system." in tools and "fsckt=0" in tools, tools


def make_f2fs(path, tmp, damaged):
    """An f2fs (52 MiB, mkfs.f2fs's smallest) whose root directory inode says 5 links when
    damaged (it has 2): fsck.f2fs counts them and reports the mismatch. The inode's block is the
    one its NAT entry names, as the host's dump.f2fs writes the NAT (to ./dump_nat); the host's
    own `fsck.f2fs -f --dry-run` proves the damage is there (exit status 1) and that the twin is
    clean (0)."""
    subprocess.run(["truncate", "-s", "52M", path], check=True)
    subprocess.run(["mkfs.f2fs", "-q", "-f", "-l", "f2fs%d" % damaged, path], check=True,
                   capture_output=True)
    if damaged:
        subprocess.run(["dump.f2fs", "-n", "0~-1", path], check=True, capture_output=True, cwd=tmp)
        with open(os.path.join(tmp, "dump_nat")) as f:
            m = re.search(r"(?m)^nid:\s+3\s+ino:\s+3\s+offset:\s+\d+\s+blkaddr:\s+(\d+)", f.read())
        assert m, "no NAT entry for the root inode (3)"
        with open(path, "r+b") as f:
            f.seek(int(m.group(1)) * 4096 + 12)  # struct f2fs_inode: mode, advise, inline, uid, gid, links
            assert struct.unpack("<I", f.read(4))[0] == 2
            f.seek(int(m.group(1)) * 4096 + 12)
            f.write(struct.pack("<I", 5))
    r = subprocess.run(["fsck.f2fs", "-f", "--dry-run", path], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == (1 if damaged else 0), r.stdout + r.stderr
    assert ("i_links: 5, real links: 2" in r.stdout) == bool(damaged), r.stdout


def test_f2fs_check_reports_damage_and_writes_nothing(tmp_path):
    """f2fs-tools' `fsck.f2fs -f --dry-run` through lifeboat check: a directory inode with a
    wrong link count is reported as errors (status 1), the twin clean (status 0); --repair does
    not touch an f2fs (fsck.f2fs fixes in place and may stop halfway for a question on stdin: a
    person's decision at the shell); both images bit-identical afterwards. dump.f2fs (a link to
    fsck.f2fs) reads the damaged inode."""
    damaged, clean, repair, tools = check_damaged_and_clean(
        tmp_path, lambda path, bad: make_f2fs(path, str(tmp_path), bad),
        "fsck.f2fs -V; readlink /sbin/dump.f2fs; blockdev --setro /dev/vda; "
        "dump.f2fs -i 3 /dev/vda | grep -a i_links; echo dump=$?; blockdev --setrw /dev/vda")
    assert_checked_not_repaired(damaged, clean, repair, "f2fs", "i_links: 5, real links: 2", "real links")
    assert "fsck.f2fs 1.15.0" in tools and "fsck.f2fs\n" in tools, tools
    assert re.search(r"i_links\s+\[0x\s+5 : 5\]", tools) and "dump=0" in tools, tools


def make_f2fs_lost(path, tmp):
    """An f2fs (64 MiB: sload.f2fs needs more than 52) with /etc/hostname loaded by sload.f2fs,
    whose root directory's dentry block (i_addr[0], as the host's dump.f2fs prints it) is zeroed:
    /etc and its file are unreachable. Debian's own fsck.f2fs then asks on stdin whether to
    restore them into ./lost_found, and with no answer dies on an assertion (status 255): what
    the recipe's patch skips under --dry-run."""
    tree = os.path.join(tmp, "lost-tree", "etc")
    os.makedirs(tree, exist_ok=True)
    with open(os.path.join(tree, "hostname"), "w") as f:
        f.write("lost\n")
    subprocess.run(["truncate", "-s", "64M", path], check=True)
    subprocess.run(["mkfs.f2fs", "-q", "-f", "-l", "f2fslost", path], check=True, capture_output=True)
    subprocess.run(["sload.f2fs", "-f", os.path.dirname(tree), path], check=True, capture_output=True)
    r = subprocess.run(["dump.f2fs", "-i", "3", path], capture_output=True, text=True, check=True)
    m = re.search(r"i_addr\[0x0\]\s+\[0x\s*[0-9a-f]+ : (\d+)\]", r.stdout)
    assert m, r.stdout
    with open(path, "r+b") as f:
        f.seek(int(m.group(1)) * 4096)
        f.write(bytes(4096))
    r = subprocess.run(["fsck.f2fs", "-f", "--dry-run", path], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 255 and "restore lost files into ./lost_found" in r.stdout, r.stdout


def test_f2fs_check_unreachable_files_without_a_question(tmp_path):
    """Unreachable files on an f2fs: lifeboat's fsck.f2fs (patched) asks nothing under
    --dry-run and reports errors (status 1), where Debian's build dies asking (the host's, in
    make_f2fs_lost); the twin clean; both images bit-identical afterwards."""
    damaged, clean, repair, tools = check_damaged_and_clean(
        tmp_path, lambda path, bad: make_f2fs_lost(path, str(tmp_path)) if bad
        else make_f2fs(path, str(tmp_path), 0), "ls -a /; echo listed")
    assert re.search(r"(?m)^/dev/vda: errors ", damaged) and "status 1" in damaged, damaged
    assert re.search(r"Unreachable nat entries\s+\[Fail\] \[0x2\]", damaged), damaged
    assert "lost_found" not in damaged and "[ASSERT] (fsck_verify" not in damaged, damaged
    assert re.search(r"(?m)^/dev/vdb: clean ", clean) and "status 0" in clean, clean
    assert "/dev/vda (f2fs, device): not repaired by lifeboat" in repair, repair
    assert "lost_found" not in tools, tools  # nothing restored into the shell's folder
