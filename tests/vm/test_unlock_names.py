"""LUKS mappings named as the systems' own initrds name them (docs/unlock.md, "Names"; issue 14),
learned while the roots are still locked, from initrd copies on ESPs (tests/vm/initrdfix.py):

- ESP A (/dev/vdd): generation 1 a scripted stage-1 (microcode cpio + zstd cpio) whose init
  opens luks2's root as `cryptroot` and the LVM-on-LUKS1 device as `crypthome`; generation 2
  a systemd stage-1 whose crypttab calls btrfs-on-luks `cryptdata` (its fstab says
  /dev/mapper/cryptbtrfs: the fstab's name for `/` wins, the mapping is renamed).
- ESP B (/dev/vde): garbage, a gzip initrd that calls the LVM device `lvmcrypt` (a
  disagreement: the first seen, ESP A's, is used, and said), and a zstd bomb.

The scan says the names and where they came from, names each hostile initrd in a problem and
goes on; `lifeboat unlock` opens each device under its name from the start; no disk changes.
"""
import json
import os
import re
import subprocess

import pytest

import initrdfix
from layerfix import layer_expect, layer_fixture
from test_discover import run
from vm import VM, Disk, sha256

LUKS = ["luks2", "luks-lvm", "btrfs-on-luks"]
MENU = r"Choose \(key then Enter"
PROMPT = r"lifeboat:\S*# "
SCRIPTED = "00000000000000000000000000000001-initrd-linux-6.1-initrd.efi"
SYSTEMD = "00000000000000000000000000000002-initrd-linux-6.1-initrd.efi"
GARBAGE = "00000000000000000000000000000003-initrd-linux-6.1-initrd.efi"
GZIP = "00000000000000000000000000000004-initrd-linux-6.1-initrd.efi"
BOMB = "00000000000000000000000000000005-initrd-linux-6.1-initrd.efi"


def disks(tmp):
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures are made with root")
    out = []
    for n in LUKS:
        for src in layer_fixture(n):
            dst = os.path.join(tmp, f"{n}-{os.path.basename(src)}")
            subprocess.run(["cp", "--sparse=always", src, dst], check=True)
            out.append(dst)
    u = {n: layer_expect(n)["luks"][0]["uuid"] for n in LUKS}
    a = initrdfix.esp(os.path.join(tmp, "esp-a.img"), [
        (1, SCRIPTED, initrdfix.scripted([(f"/dev/disk/by-uuid/{u['luks2']}", "cryptroot"),
                                          (f"UUID={u['luks-lvm']}", "crypthome")])),
        (2, SYSTEMD, initrdfix.systemd(f"# crypttab\ncryptdata UUID={u['btrfs-on-luks']} - luks,discard\n")),
    ], label="ESPA", volid="1FEB-0A71")
    b = initrdfix.esp(os.path.join(tmp, "esp-b.img"), [
        (3, GARBAGE, initrdfix.garbage()),
        (2, GZIP, initrdfix.gzip_scripted([(f"/dev/disk/by-uuid/{u['luks-lvm']}", "lvmcrypt")])),
        (1, BOMB, initrdfix.bomb()),
    ], label="ESPB", volid="1FEB-0A72")
    return out + [a, b], u


def test_names_from_initrds_before_unlocking(tmp_path):
    paths, u = disks(str(tmp_path))
    before = [sha256(p) for p in paths]
    with VM(disks=[Disk(p) for p in paths], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=300)
        vm.sendline("s")
        vm.expect(PROMPT, timeout=30)
        run(vm, "dmesg -n 1")
        doc = json.loads(run(vm, "lifeboat scan --json 2>/dev/null", timeout=240))
        luks = {l["uuid"]: l for l in doc["luks"]}
        assert all(luks[u[n]]["state"] == "locked" for n in LUKS), doc["luks"]
        assert luks[u["luks2"]]["name"] == "cryptroot", luks[u["luks2"]]
        assert luks[u["luks2"]]["namefrom"] == f"/dev/vdd:/EFI/nixos/{SCRIPTED}", luks[u["luks2"]]
        assert luks[u["btrfs-on-luks"]]["name"] == "cryptdata", luks[u["btrfs-on-luks"]]
        assert luks[u["btrfs-on-luks"]]["namefrom"] == f"/dev/vdd:/EFI/nixos/{SYSTEMD}"
        lvm = luks[u["luks-lvm"]]
        assert lvm["name"] == "crypthome", lvm
        assert "disagree" in lvm["namenote"] and f"lvmcrypt in /dev/vde:/EFI/nixos/{GZIP}" in lvm["namenote"], lvm
        human = run(vm, "lifeboat scan --human 2>/dev/null", timeout=240)
        assert f"its initrd names it cryptroot (/dev/vdd:/EFI/nixos/{SCRIPTED})" in human, human
        assert "initrds disagree: lvmcrypt in /dev/vde" in human, human
        # The hostile initrds: each named, why, and the scan went on.
        probs = [p for p in doc["problems"] if p["what"] == "initrd"]
        msgs = "\n".join(p["msg"] for p in probs)
        assert re.search(rf"{GARBAGE}: not an initrd lifeboat can read", msgs), probs
        assert re.search(rf"{BOMB}: (it unpacks to more than 256 MiB|unpacking it took too long)", msgs), probs
        assert GZIP not in msgs and SCRIPTED not in msgs and SYSTEMD not in msgs, probs
        # Nothing left behind in /run (the unpack roots) and nothing of the ESPs mounted.
        o = run(vm, "ls /run/lifeboat | grep -c -e initrd -e bootfs; grep -c vd[de] /proc/mounts")
        assert o.split() == ["0", "0"], o
        # Unlocked under those names from the start; the fstab's name for btrfs's / wins.
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=600)
        assert "rc=0" in o, o
        assert re.search(r"/dev/vda2 is open as /dev/mapper/cryptroot \(read-only", o), o
        assert re.search(r"/dev/vdb1 is open as /dev/mapper/crypthome \(read-only", o), o
        assert re.search(r"/dev/vdc1 is open as /dev/mapper/cryptdata \(read-only", o), o
        assert "/dev/mapper/cryptdata renamed /dev/mapper/cryptbtrfs" in o, o
        assert "3 NixOS systems found now" in o, o
        o = run(vm, "ls /dev/mapper")
        names = set(o.split())
        assert {"cryptroot", "crypthome", "cryptbtrfs"} <= names, o
        assert not [n for n in names if n.startswith("luks-")], o
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        vm.sendline("p")
        vm.expect("close encrypted volumes", timeout=120)
        assert vm.wait_exit(timeout=120) == 0
        shutdown = vm.text().split("Powering off")[-1]
        assert "failed" not in shutdown and "Kernel panic" not in vm.text(), shutdown
    assert [sha256(p) for p in paths] == before


def test_no_boot_entries_keeps_luks_uuid(tmp_path):
    """The twin: without the ESPs nothing is learned, and the mapping is luks-<UUID>."""
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures are made with root")
    src = layer_fixture("luks2")[0]
    dst = os.path.join(str(tmp_path), "luks2.img")
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)
    uuid = layer_expect("luks2")["luks"][0]["uuid"]
    with VM(disks=[Disk(dst)], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=300)
        vm.sendline("s")
        vm.expect(PROMPT, timeout=30)
        run(vm, "dmesg -n 1")
        doc = json.loads(run(vm, "lifeboat scan --json 2>/dev/null", timeout=240))
        assert [l.get("name") for l in doc["luks"]] in ([None], [""]), doc["luks"]
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k --no-rescan; echo rc=$?",
                timeout=400)
        assert "rc=0" in o and f"open as /dev/mapper/luks-{uuid} " in o, o


def test_name_from_the_unlocked_systems_own_initrd(tmp_path):
    """A second LUKS device named only in the initrd inside the encrypted store (no ESP copy):
    known once the root is open, and its mapping renamed then. The first boot writes that
    initrd into luks2's store (a gzip cpio whose init opens luks-lvm as `crypthome`); the
    second unlocks both: luks-lvm opens as luks-<UUID>, then is renamed."""
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures are made with root")
    paths = []
    for n in ("luks2", "luks-lvm"):
        src = layer_fixture(n)[0]
        dst = os.path.join(str(tmp_path), f"{n}.img")
        subprocess.run(["cp", "--sparse=always", src, dst], check=True)
        paths.append(dst)
    u2, ul = layer_expect("luks2")["luks"][0]["uuid"], layer_expect("luks-lvm")["luks"][0]["uuid"]
    with VM(disks=[Disk(p) for p in paths], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=300)
        vm.sendline("s")
        vm.expect(PROMPT, timeout=30)
        run(vm, "dmesg -n 1")
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=600)
        assert "rc=0" in o and f"/dev/vdb1 is open as /dev/mapper/luks-{ul} " in o, o
        # Writable through entering, then the generation's initrd replaced from outside.
        o = run(vm, f"lifeboat enter --host {layer_expect('luks2')['host']} -c true; echo rc=$?", timeout=240)
        assert "rc=0" in o, o
        script = (f"mkdir -p /mnt && mount /dev/mapper/luks-{u2} /mnt && cp /bin/busybox /mnt/busybox && "
                  "mkdir -p /mnt/ir && printf '#!/bin/ash\\n"
                  f"echo -n \"$p\" | cryptsetup luksOpen /dev/disk/by-uuid/{ul} crypthome --key-file=-\\n' > /mnt/ir/init && "
                  "i=$(chroot /mnt /busybox readlink -f /nix/var/nix/profiles/system/initrd) && echo initrd=$i && "
                  "chroot /mnt /busybox sh -c \"cd /ir && echo init | /busybox cpio -o -H newc | /busybox gzip > $i\" && "
                  "rm -rf /mnt/busybox /mnt/ir && umount /mnt && echo wrote=$?")
        o = run(vm, script, timeout=120)
        assert "initrd=/nix/store/" in o and "wrote=0" in o, o
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        vm.sendline("p")
        vm.expect("close encrypted volumes", timeout=120)
        assert vm.wait_exit(timeout=120) == 0
    with VM(disks=[Disk(p) for p in paths], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=300)
        vm.sendline("s")
        vm.expect(PROMPT, timeout=30)
        run(vm, "dmesg -n 1")
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=600)
        assert "rc=0" in o and f"/dev/vdb1 is open as /dev/mapper/luks-{ul} " in o, o
        assert re.search(rf"/dev/mapper/luks-{ul} renamed /dev/mapper/crypthome, as the initrd "
                         r"\S+:/nix/var/nix/profiles/system/initrd names it", o), o
        doc = json.loads(run(vm, "lifeboat scan --json 2>/dev/null", timeout=240))
        states = {l["uuid"]: l["mapper"] for l in doc["luks"]}
        assert states[ul] == "/dev/mapper/crypthome" and states[u2] == f"/dev/mapper/luks-{u2}", states
        assert len(doc["systems"]) == 2, doc["systems"]
