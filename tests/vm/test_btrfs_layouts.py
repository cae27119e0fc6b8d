"""btrfs NixOS layouts (issue 12): whatever the subvolumes are called, a system is listed once.
The disks attached together: the NixOS wiki's root/nix/home (its top-level subvolume shows
nix/var/nix/profiles/system through the nix subvolume), @/@nix/@home, nested subvolumes with a
snapper snapshot, and a root with /nix inside whose snapper snapshot holds its own profile (a
second system, the only one listed twice: the twin of "exactly one"). One boot lists them and
writes nothing (each image hashed around it, attached writable); one boot per layout enters it
unattended with lifeboat.default=enter lifeboat.system=HOST, all disks attached."""
import json
import os
import re
import subprocess

import pytest

from scanreport import compare, kind, parse
from test_discover import run, sha256
from vm import BUILD, VM, Disk

FIXDIR = os.path.join(BUILD, "fixtures")
# fixture, host, the subvolume its fstab mounts at /; attached as vda, vdb... in this order.
LAYOUTS = [("btrfs-wiki", "eta", "root"), ("btrfs", "delta", "@"), ("btrfs-nested", "theta", "nixos"),
           ("btrfs-snap", "iota", "@")]
LETTER = {name: "vd" + chr(ord("a") + i) for i, (name, _, _) in enumerate(LAYOUTS)}
# A menu line: "1)   > eta   24.11.20241201.0fedcba  gen 2   /dev/vda1".
MENU_LINE = re.compile(r"(?m)^\d+\)   [ >] (\S+) .* (/dev/vd\w+)$")


def expect(name):
    with open(os.path.join(FIXDIR, name + ".expect.json")) as f:
        return json.load(f)


def images():
    paths = [os.path.join(FIXDIR, n + ".img") for n, _, _ in LAYOUTS]
    for p in paths:
        if not os.path.exists(p):
            pytest.skip(f"{p} missing: run `make fixtures`")
    return paths


def test_each_layout_is_one_system_and_nothing_is_written(tmp_path):
    disks = []
    for p in images():
        # Copies, attached writable without a snapshot: one byte written would change a hash.
        dst = str(tmp_path / os.path.basename(p))
        subprocess.run(["cp", "--sparse=always", p, dst], check=True)
        disks.append(dst)
    before = {p: sha256(p) for p in disks}
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        vm.expect("Scanning disks...", timeout=180)
        with vm.lock:
            start = len(vm.buf)
        vm.expect(r"Choose \(key then Enter", timeout=180)
        with vm.lock:
            menu = vm.buf[start:]
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        recs = parse(run(vm, "lifeboat scan 2>/dev/null", timeout=120))
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0
    after = {p: sha256(p) for p in disks}
    assert [os.path.basename(p) for p in disks if before[p] != after[p]] == [], "images changed by the boot"

    assert kind(recs, "done"), "the report has no done line"
    listed = MENU_LINE.findall(menu)
    for name, host, _ in LAYOUTS:
        if name != "btrfs-snap":
            compare(recs, expect(name), LETTER[name])
            assert listed.count((host, f"/dev/{LETTER[name]}1")) == 1, (name, listed, menu)
    # The snapshot with its own profile: a second system, its root the snapshot, its current
    # generation the one it was taken in; the live one has both generations.
    snap = expect("btrfs-snap")
    dev = f"/dev/{LETTER['btrfs-snap']}1"
    on_snap = sorted((s["rootsubvol"], s["current"], s["generations"]) for s in kind(recs, "system")
                     if s["nix"] == dev)
    assert on_snap == sorted((s["rootsubvol"], str(s["current"]), str(len(s["generation_numbers"])))
                             for s in snap["systems"]), on_snap
    assert listed.count(("iota", dev)) == 2, (listed, menu)
    assert len(listed) == len(LAYOUTS) + 1, (listed, menu)
    assert re.search(rf"NixOS systems: {len(LAYOUTS) + 1} ", menu), menu


def inside(vm, cmd, timeout=30):
    """What cmd printed in the entered system's shell."""
    with vm.lock:
        start = len(vm.buf)
    vm.shell(cmd, timeout=timeout)
    with vm.lock:
        return vm.buf[start:]


@pytest.mark.parametrize("name,host,rootsubvol", LAYOUTS, ids=[n for n, _, _ in LAYOUTS])
def test_unattended_enter(name, host, rootsubvol):
    disks = [Disk(p, snapshot=True) for p in images()]  # entering activates: it writes
    live = expect(name)["systems"][0]
    current = [g["toplevel"] for g in live["generations"] if g["profile"] == "system" and g["current"]][0]
    dev = f"/dev/{LETTER[name]}1"
    with VM(disks=disks, mem=768,
            append=f"lifeboat.default=enter lifeboat.system={host} lifeboat.timeout=0") as vm:
        vm.expect(rf"lifeboat.default: enter {host}, generation {live['current']} now\.", timeout=240)
        vm.expect(rf"\[root@{host}:~\]# ", timeout=120)
        m = inside(vm, "mount; cat /etc/hostname; readlink /run/current-system")
        assert re.search(rf"(?m)^{dev} on / type btrfs \(.*subvol=/{re.escape(rootsubvol)}\)", m), m
        assert re.search(rf"(?m)^{host}$", m) and current in m, m
        for target, sv in ((t["target"], t["subvol"]) for t in live["mounts"] if t["target"] != "/"):
            assert re.search(rf"(?m)^{dev} on {target} type btrfs \(.*subvol=/{re.escape(sv)}\)", m), (target, m)
        # The store's own dynamically linked bash runs: /nix is where the system expects it.
        assert "dyn-ok" in inside(vm, "$(readlink -f /run/current-system/sw/bin/bash) -c 'echo dyn''-ok'")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0
