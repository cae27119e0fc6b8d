"""Discovery in the booted image: `lifeboat scan` over every fixture layout finds what each
fixture's expect.json says, finds nothing on the non-NixOS, garbage and empty disks, shows hostile
strings escaped, and writes not one byte to any disk (checked by hashing every image around one
boot that scans, shows the menu and powers off from it)."""
import json
import os
import re
import shutil
import subprocess

import pytest

from scanreport import compare, kind, parse
from vm import BUILD, VM, Disk, Timeout, sha256

FIXDIR = os.path.join(BUILD, "fixtures")
LAYOUTS = ["inroot", "split", "btrfs", "tmpfs", "twosys", "notnixos", "garbage", "empty", "dirty", "f2fs"]
EVIL_LABEL = "\x1b[2Jevil"


def run(vm, cmd, timeout=60):
    """Run cmd in the rescue shell; return what it printed. The output starts after a marker the
    shell prints (the echoed command line, wrapped by the terminal, shows it quoted)."""
    with vm.lock:
        start = len(vm.buf)
    m = vm.shell(f"echo LBST''ART; {cmd}", timeout=timeout)
    with vm.lock:
        text = vm.buf[start:]
    text = text[:text.rfind(m.group(0))]
    begin = text.find("LBSTART\n")
    return text[begin + len("LBSTART\n"):] if begin >= 0 else ""


def make_hostile(path, tmp):
    """A NixOS-looking ext4 whose links try to leave the disk and whose strings carry terminal
    escapes: profile links to /../../etc/passwd, a version linked to the rescue system's release
    file, a loop, a host name with escape sequences."""
    tree = os.path.join(tmp, "hostile")
    store = os.path.join(tree, "nix/store")
    prof = os.path.join(tree, "nix/var/nix/profiles")
    top = os.path.join(store, "0" * 32 + "-nixos-system-evil-1")
    os.makedirs(os.path.join(top, "etc"))
    os.makedirs(prof)
    with open(os.path.join(top, "etc/hostname"), "w") as f:
        f.write("ev\x1b]0;pwned\x07il\n")
    os.symlink("/../../../etc/lifeboat-release", os.path.join(top, "nixos-version"))
    os.symlink("../../../../../../../../init", os.path.join(top, "kernel"))
    os.symlink("/proc/self/root/init", os.path.join(top, "initrd"))
    os.symlink("/../../etc/passwd", os.path.join(top, "init"))
    os.symlink("/nix/store/" + os.path.basename(top), os.path.join(prof, "system-1-link"))
    os.symlink("/../../etc/passwd", os.path.join(prof, "system-2-link"))
    os.symlink("loop-b", os.path.join(prof, "loop-a"))
    os.symlink("loop-a", os.path.join(prof, "loop-b"))
    os.symlink("/nix/var/nix/profiles/loop-a", os.path.join(prof, "system-3-link"))
    os.symlink("system-1-link", os.path.join(prof, "system"))
    subprocess.run(["truncate", "-s", "16M", path], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", EVIL_LABEL, "-d", tree, path], check=True)


def make_comma_subvol(path, tmp):
    """A btrfs whose subvolumes both hold a NixOS: `good`, and `x,subvolid=5`, whose name would
    add a mount option (subvol=x,subvolid=5) if it were passed on."""
    subprocess.run(["truncate", "-s", "128M", path], check=True)
    subprocess.run(["mkfs.btrfs", "-q", "-f", "-L", "commas", "-m", "single", "-d", "single", path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mnt = os.path.join(tmp, "commas-mnt")
    os.makedirs(mnt)
    dev = subprocess.run(["losetup", "--find", "--show", path], check=True, capture_output=True,
                         text=True).stdout.strip()
    try:
        subprocess.run(["mount", "-t", "btrfs", dev, mnt], check=True)
        try:
            for name in ("good", "x,subvolid=5"):
                sv = os.path.join(mnt, name)
                subprocess.run(["btrfs", "-q", "subvolume", "create", sv], check=True)
                top = os.path.join(sv, "nix/store", "1" * 32 + "-nixos-system-commas-1")
                os.makedirs(top)
                os.makedirs(os.path.join(sv, "nix/var/nix/profiles"))
                os.symlink("/nix/store/" + os.path.basename(top),
                           os.path.join(sv, "nix/var/nix/profiles/system-1-link"))
                os.symlink("system-1-link", os.path.join(sv, "nix/var/nix/profiles/system"))
            subprocess.run(["sync"], check=True)
        finally:
            subprocess.run(["umount", mnt], check=True)
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    for n in LAYOUTS:
        if not os.path.exists(os.path.join(FIXDIR, n + ".img")):
            pytest.skip("fixtures missing: run make fixtures")
    tmp = str(tmp_path_factory.mktemp("discover"))
    imgs = []
    for n in LAYOUTS:
        # Copies: the zero-write proof attaches them writable, and other tests share the originals.
        dst = os.path.join(tmp, n + ".img")
        subprocess.run(["cp", "--sparse=always", os.path.join(FIXDIR, n + ".img"), dst], check=True)
        imgs.append(dst)
    hostile = os.path.join(tmp, "hostile.img")
    make_hostile(hostile, tmp)
    imgs.append(hostile)
    # Two signatures (ext4 with a FAT boot sector over it): ambiguous, never mounted.
    amb, fat = os.path.join(tmp, "ambiguous.img"), os.path.join(tmp, "fat.img")
    subprocess.run(["truncate", "-s", "8M", amb, fat], check=True)
    subprocess.run(["mkfs.ext4", "-q", amb], check=True)
    subprocess.run(["mkfs.vfat", fat], check=True, stdout=subprocess.DEVNULL)
    with open(fat, "rb") as f, open(amb, "r+b") as g:
        g.write(f.read(512))
    imgs.append(amb)
    scratch = os.path.join(tmp, "scratch.img")
    subprocess.run(["truncate", "-s", "1M", scratch], check=True)
    imgs.append(scratch)
    commas = os.path.join(tmp, "commas.img")
    make_comma_subvol(commas, tmp)
    imgs.append(commas)
    return imgs


def test_scan_finds_every_layout_and_writes_nothing(disks):
    names = LAYOUTS + ["hostile", "ambiguous", "scratch", "commas"]
    letter = {n: "vd" + chr(ord("a") + i) for i, n in enumerate(names)}
    before = {p: sha256(p) for p in disks}
    # Attached writable, no snapshot: a single byte written by the scan would change a hash.
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=180)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        # Kernel messages (mount notices) would land in the middle of the lines we read.
        run(vm, "dmesg -n 1")
        out = run(vm, "lifeboat scan --save >/dev/null; cat /run/lifeboat/scan", timeout=120)
        recs = parse(out)
        # stderr is the console here: the progress lines would land in the middle of the table.
        human = run(vm, "lifeboat scan --human 2>/dev/null", timeout=120)
        links = run(vm, "ls /dev/disk/by-label/", timeout=30)
        as_json = run(vm, "lifeboat scan --json 2>/dev/null", timeout=120)
        # Inspection marks each device read-only (BLKROSET) and puts it back: every device is
        # writable again afterwards, so `enter` can mount read-write. The twin: a device set
        # read-only does read 1 here.
        ro = run(vm, "cat /sys/class/block/vd*/ro | sort | uniq -c", timeout=30)
        ro_twin = run(vm, f"blockdev --setro /dev/{letter['scratch']}; "
                          f"cat /sys/class/block/{letter['scratch']}/ro; "
                          f"blockdev --setrw /dev/{letter['scratch']}", timeout=30)
        # The twin of the escaping check: a raw escape sequence does show up in what we read.
        raw = run(vm, "printf 'RAW\\033[2JRAW\\n'", timeout=30)
        # A hung inspection and a crashing one cost their own device only.
        # Progress for a person on stderr when it is a terminal (the console), a line per device;
        # the twin: none when stderr is a pipe.
        hung_out = run(vm, f"LIFEBOAT_SCAN_FAULT={letter['inroot']}2:hang lifeboat scan --timeout 2",
                       timeout=120)
        hung = parse(hung_out)
        quiet = run(vm, "lifeboat scan 2>&1 >/dev/null | cat", timeout=120)
        crashed = parse(run(vm, f"LIFEBOAT_SCAN_FAULT={letter['split']}4:crash lifeboat scan",
                            timeout=120))
        # A scan killed in the middle of an inspection (its device read-only) takes its
        # inspection with it, and the next scan makes the device writable again.
        dev = f"{letter['inroot']}2"
        killed = run(vm, f"LIFEBOAT_SCAN_FAULT={dev}:hang lifeboat scan --timeout 100 >/dev/null 2>&1 & "
                         f"for i in $(seq 60); do [ $(cat /sys/class/block/{dev}/ro) = 1 ] && break; sleep 1; done; "
                         f"echo RO_DURING=$(cat /sys/class/block/{dev}/ro); kill -9 $!; sleep 1; "
                         f"echo RO_KILLED=$(cat /sys/class/block/{dev}/ro) LEFT=$(ps | grep -c '[s]can --timeout 100'); "
                         f"lifeboat scan >/dev/null 2>&1; echo RO_AFTER=$(cat /sys/class/block/{dev}/ro)",
                     timeout=180)
        # The twin of the zero-write proof: a write through the same attachment shows up.
        vm.shell(f"echo written > /dev/{letter['scratch']}; sync",
                 timeout=30)
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0

    after = {p: sha256(p) for p in disks}
    changed = [os.path.basename(p) for p in disks if before[p] != after[p]]
    assert changed == ["scratch.img"], f"images changed by the boot: {changed}"

    assert kind(recs, "done"), "the report has no done line:\n" + out[-2000:]
    for n in LAYOUTS:
        with open(os.path.join(FIXDIR, n + ".expect.json")) as f:
            expect = json.load(f)
        compare(recs, expect, letter[n])
    # Nothing on the disks that hold no NixOS, and no crash or timeout anywhere.
    found_on = {s["nix"] for s in kind(recs, "system")}
    assert kind(recs, "problem", path=f"/dev/{letter['ambiguous']}", what="ambiguous")
    assert kind(recs, "device", path=f"/dev/{letter['ambiguous']}", type="")
    for n in ("notnixos", "garbage", "empty", "scratch", "ambiguous"):
        assert not any(p.startswith("/dev/" + letter[n]) for p in found_on), n
    assert not [p for p in kind(recs, "problem") if p["what"] in ("crash", "timeout")]

    # The hostile disk: found, but nothing of the rescue system leaked in.
    hv = letter["hostile"]
    evil = [s for s in kind(recs, "system") if s["nix"] == f"/dev/{hv}"]
    assert len(evil) == 1
    assert evil[0]["host"] == "ev\x1b]0;pwned\x07il"
    gens = {g["number"]: g for g in kind(recs, "generation", system=evil[0]["id"])}
    assert gens["1"]["status"] == "corrupt" and gens["1"]["version"] == "", gens["1"]
    assert gens["1"]["kernel"] == "" and gens["1"]["initrd"] == "" and gens["1"]["init"] == ""
    assert gens["2"]["status"] == "dangling" and gens["3"]["status"] == "dangling"
    assert "Too many levels" in gens["3"]["reason"] or "loop" in gens["3"]["reason"].lower(), gens["3"]
    probs = [p for p in kind(recs, "problem") if p.get("system") == evil[0]["id"]]
    assert any(p["what"] == "generation" and "outside /nix/store" in p["msg"] for p in probs), probs
    assert any(p["what"] == "generation" and "current generation 1" in p["msg"] for p in probs), probs
    # A subvolume name that would add mount options is a problem, never a system; its twin, a
    # sane subvolume on the same disk holding the same tree, is found.
    cv = f"/dev/{letter['commas']}"
    on_commas = [s for s in kind(recs, "system") if s["nix"] == cv]
    assert [s["nixsubvol"] for s in on_commas] == ["good"], on_commas
    assert [p for p in kind(recs, "problem", path=cv, what="subvolume") if "x,subvolid=5" in p["msg"]], \
        kind(recs, "problem", path=cv)
    assert re.search(r"^\s*\d+ 0$", ro, re.M) and not re.search(r"^\s*\d+ 1$", ro, re.M), ro
    assert ro_twin.strip().splitlines()[0].strip() == "1", ro_twin
    assert "RO_DURING=1" in killed and "RO_KILLED=1 LEFT=0" in killed and "RO_AFTER=0" in killed, killed
    n_sys = len(kind(recs, "system"))
    doc = json.loads(as_json)
    assert len(doc["systems"]) == n_sys and doc["done"]["systems"] == n_sys
    assert sorted(s["host"] for s in doc["systems"]) == sorted(s["host"] for s in kind(recs, "system"))
    assert sum(len(s["generations"]) for s in doc["systems"]) == len(kind(recs, "generation"))
    assert kind(hung, "problem", path=f"/dev/{letter['inroot']}2", what="timeout")
    progress = f"lifeboat scan: inspecting {letter['split']}4 (ext4) ... done in "
    assert progress in hung_out and f"inspecting {letter['inroot']}2 (ext4) ... gave up after 2 s" in hung_out, hung_out
    assert progress not in quiet and "inspecting" not in quiet, quiet
    assert len(kind(hung, "system")) == n_sys - 1 and kind(hung, "done")
    assert kind(crashed, "problem", path=f"/dev/{letter['split']}4", what="crash")
    assert len(kind(crashed, "system")) == n_sys - 1 and kind(crashed, "done")
    assert "\x1b[2J" in raw
    # Escaped on the console: the raw escape never reaches the terminal, its \x form does.
    assert "\x1b[2J" not in human and "\x1b]0" not in human
    assert "\\x1b[2Jevil" in human and "ev\\x1b]0;pwned\\x07il" in human
    # /dev/disk links exist in the image, with udev's escaping.
    assert "nixos" in links and "\\x1b\\x5b2Jevil" in links, links


def test_compare_can_fail():
    """The twin of the layout check: a report that differs from expect.json must fail."""
    exp_path = os.path.join(FIXDIR, "inroot.expect.json")
    if not os.path.exists(exp_path):
        pytest.skip("fixtures missing")
    with open(exp_path) as f:
        expect = json.load(f)
    with pytest.raises(AssertionError):
        compare([], expect, "vda")
    wrong = json.loads(json.dumps(expect))
    wrong["systems"][0]["host"] = "not-alpha"
    with pytest.raises(AssertionError):
        compare(parse("device path=/dev/vda2 type=ext4\n"), wrong, "vda")


def test_menu_shows_what_a_killed_scan_found():
    """A scan killed by the menu's deadline still lists what it found before: the records stream
    out device by device. The menu's deadline is made 12 s (LIFEBOAT_SCAN_MS) and the second
    disk's system partition hangs in its inspection (the fault hook; its own limit, 20 s, comes
    later), so the kill always comes while vdb1 hangs and after vda2 (alpha) was inspected. The
    twin: beta, on the hung disk, is searched the same way and is not there. The saved report is
    the one the menu showed: `lifeboat boot` finds alpha in it by an upper-case UUID (the selector
    shared with enter and lifeboat.system=) and not beta."""
    for n in ("inroot", "twosys"):
        if not os.path.exists(os.path.join(FIXDIR, n + ".img")):
            pytest.skip("fixtures missing: run make fixtures")
    with open(os.path.join(FIXDIR, "inroot.expect.json")) as f:
        alpha_uuid = json.load(f)["systems"][0]["root"]["uuid"]
    disks = [Disk(os.path.join(FIXDIR, n + ".img"), snapshot=True) for n in ("inroot", "twosys")]
    listed = r"(?m)^\d\)   . {name} .*/dev/{dev}$"
    with VM(disks=disks, append="LIFEBOAT_SCAN_MS=12000 LIFEBOAT_SCAN_FAULT=vdb1:hang") as vm:
        vm.expect("Scanning disks...", timeout=180)
        vm.expect(r"The scan did not finish within 12 s; showing what it found so far\.", timeout=120)
        with vm.lock:
            start = len(vm.buf)
        vm.expect(r"NixOS systems: 1 ", timeout=30)
        vm.expect(listed.format(name="alpha", dev="vda2"), timeout=30)
        vm.expect(r"Choose \(key then Enter", timeout=30)
        with vm.lock:
            menu = vm.buf[start:]
        assert re.search(listed.format(name="alpha", dev="vda2"), menu), menu
        assert not re.search(listed.format(name="beta", dev="vdb1"), menu), menu  # the twin
        assert "beta" not in menu, menu

        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        saved = parse(run(vm, "cat /run/lifeboat/scan", timeout=30))
        boot = run(vm, f"lifeboat boot --system UUID={alpha_uuid.upper()} --dry-run 2>&1", timeout=120)
        twin = run(vm, "lifeboat boot --system beta --dry-run 2>&1", timeout=120)
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0

    assert [s["host"] for s in kind(saved, "system")] == ["alpha"], saved
    assert not kind(saved, "done"), "the killed scan's report has a done line"
    assert kind(saved, "device", path="/dev/vdb1"), "device records come first, the hung one too"
    assert "dry run: nothing loaded" in boot and "cut short" in boot, boot
    assert "--system beta matches no system found" in twin and "found: 1 (alpha) on /dev/vda2" in twin, twin


def test_one_scan_at_a_time_shared_by_a_menu_coming_up():
    """Scans in the image take turns (report/scanlock.c). A scan whose only disk hangs in its
    inspection (the fault hook, 6 s deadline) holds the turn; a `--share` scan started during it
    (what a menu coming up runs) waits and prints that scan's report, hang problem and all; a
    plain scan started during it (a rescan asked for) waits and looks again: its report has no
    hang. Without the lock both would scan at once, find alpha and no hang, and differ from the
    first."""
    if not os.path.exists(os.path.join(FIXDIR, "inroot.img")):
        pytest.skip("fixtures missing: run make fixtures")
    with VM(disks=[Disk(os.path.join(FIXDIR, "inroot.img"), snapshot=True)]) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        hang = "LIFEBOAT_SCAN_FAULT=vda2:hang lifeboat scan --timeout 6"
        out = run(vm, f"{hang} > /tmp/a 2>/dev/null & sleep 2; lifeboat scan --share > /tmp/b; wait; "
                      f"{hang} > /tmp/c 2>/dev/null & sleep 2; lifeboat scan > /tmp/d; wait; "
                      "cmp /tmp/a /tmp/b && echo shared-same; cmp -s /tmp/c /tmp/d || echo fresh-differs; "
                      "grep -c 'scan: waited for another' /run/lifeboat/log", timeout=180)
        a = parse(run(vm, "cat /tmp/a", timeout=30))
        d = parse(run(vm, "cat /tmp/d", timeout=30))
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0
    assert "shared-same" in out and "fresh-differs" in out, out
    assert re.search(r"(?m)^1\s*$", out), out  # one reuse: the shared one
    assert kind(a, "problem", path="/dev/vda2"), a       # the first scan saw the hang...
    assert not kind(d, "problem", path="/dev/vda2"), d   # ...the fresh one after it did not
    assert [s["host"] for s in kind(d, "system")] == ["alpha"], d
