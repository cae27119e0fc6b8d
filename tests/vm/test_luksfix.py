"""The LUKS fixtures (tests/vm/layerfix.py, docs/unlock.md) are what their expect.json says, as
the image's own cryptsetup sees them: one boot with all four attached (writable copies) shows
each header's version, UUID, label, keyslots, token and key derivation (luksDump), opens each
read-only with its passphrases (the recovery one too) and finds inside the ext4 or the LVM
(blkid: the expected UUIDs and types), refuses a wrong passphrase, and at power-off not one
byte of any member has changed."""
import os
import re
import subprocess

import pytest

from layerfix import layer_expect, layer_fixture
from test_discover import run
from vm import VM, Disk, sha256

ALL = ["luks2", "luks-lvm", "luks-named", "luks-bigmem"]


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    """Writable copies of every fixture's member (each fixture is one disk), in ALL's order:
    attached as vda, vdb, vdc, vdd."""
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures need root")
    tmp = str(tmp_path_factory.mktemp("luksfix"))
    out = []
    for n in ALL:
        (src,) = layer_fixture(n)
        dst = os.path.join(tmp, f"{n}-{os.path.basename(src)}")
        subprocess.run(["cp", "--sparse=always", src, dst], check=True)
        out.append(dst)
    return out


def on(dev, letter):
    """A fixture's device path (as when attached alone, /dev/vdaN) on the disk it has here."""
    return re.sub(r"^/dev/vda", "/dev/" + letter, dev)


def field(dump, name):
    """luksDump's value of a header field ("UUID", "Label", "Version")."""
    m = re.search(rf"^{name}:\s*(.*?)\s*$", dump, re.M)
    assert m, (name, dump)
    return m.group(1)


def opens(vm, dev, passphrase, name):
    """cryptsetup's exit status opening dev read-only with passphrase (no newline) as NAME."""
    out = run(vm, f"printf '%s' '{passphrase}' | cryptsetup open --readonly --key-file - {dev} {name}"
                  f" >/dev/null 2>&1; echo rc=$?", timeout=180)
    m = re.search(r"rc=(\d+)", out)
    assert m, out
    return int(m.group(1))


def blkid(vm, dev):
    """blkid's tags of dev: {"UUID": ..., "TYPE": ..., "LABEL": ...}."""
    out = run(vm, f"blkid {dev}")
    return dict(re.findall(r'\b([A-Z_]+)="([^"]*)"', out))


def test_luks_fixtures_as_cryptsetup_sees_them(disks):
    exp = {n: layer_expect(n) for n in ALL}
    letter = {n: "vd" + chr(ord("a") + i) for i, n in enumerate(ALL)}
    lk = {n: exp[n]["luks"][0] for n in ALL}
    dev = {n: on(lk[n]["device"], letter[n]) for n in ALL}
    # What the lead's code relies on: the device paths when a fixture is attached alone.
    assert [lk[n]["device"] for n in ALL] == ["/dev/vda2", "/dev/vda1", "/dev/vda1", "/dev/vda"]
    assert all(len(exp[n]["luks"]) == 1 for n in ALL)
    before = {p: sha256(p) for p in disks}
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        dumps = {n: run(vm, f"cryptsetup luksDump {dev[n]}", timeout=60) for n in ALL}

        # luks2: the ext4 NixOS root inside, by the UUID its fstab names; the ESP beside it.
        assert opens(vm, dev["luks2"], "correct horse", "t") == 0
        inside = blkid(vm, "/dev/mapper/t")
        esp = blkid(vm, on(exp["luks2"]["esp"]["device"], letter["luks2"]))
        files = run(vm, "mount -t ext4 -o ro /dev/mapper/t /mnt && ls /mnt/nix/var/nix/profiles; umount /mnt")
        assert opens(vm, dev["luks2"], "wrong horse", "w") != 0
        run(vm, "cryptsetup close t")

        # luks-lvm: a PV inside; its VG's root LV holds the ext4, its swap LV a swap.
        assert opens(vm, dev["luks-lvm"], "correct horse", "t") == 0
        pv = run(vm, "lvm pvs --noheadings -o pv_name,vg_name,pv_uuid /dev/mapper/t 2>&1").split()
        run(vm, "lvm vgchange -ay cryptvg 2>&1", timeout=120)
        lvroot, lvswap = blkid(vm, "/dev/cryptvg/root"), blkid(vm, "/dev/cryptvg/swap")
        run(vm, "lvm vgchange -an cryptvg 2>&1", timeout=120)
        assert opens(vm, dev["luks-lvm"], "other secret", "w") != 0
        run(vm, "cryptsetup close t")

        # luks-named: both keyslots' passphrases open it; the other fixtures' one does not.
        assert opens(vm, dev["luks-named"], "other secret", "t") == 0
        named = blkid(vm, "/dev/mapper/t")
        run(vm, "cryptsetup close t")
        assert opens(vm, dev["luks-named"], lk["luks-named"]["recovery"], "t") == 0
        run(vm, "cryptsetup close t")
        assert opens(vm, dev["luks-named"], "correct horse", "w") != 0

        left = run(vm, "ls /dev/mapper")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=120) == 0
    after = {p: sha256(p) for p in disks}
    changed = [os.path.basename(p) for p in disks if before[p] != after[p]]
    assert changed == [], f"images changed by the boot: {changed}"

    for n in ALL:
        d, want = dumps[n], lk[n]
        assert field(d, "Version") == str(want["version"]), (n, d)
        assert field(d, "UUID") == want["uuid"], (n, d)
        if want["version"] == 2:
            assert field(d, "Label") == (want["label"] or "(no label)"), (n, d)
            slots = re.findall(r"^  (\d+): luks2$", d.split("Tokens:")[0], re.M)
            assert slots == [str(k["slot"]) for k in want["keyslots"]], (n, d)
            kdf = want["kdf"]
            assert d.count(f"PBKDF:      {kdf['pbkdf']}") == len(slots), (n, d)
            assert d.count(f"Memory:     {kdf['memory_kib']}\n") == len(slots), (n, d)
            assert d.count(f"Time cost:  {kdf['iterations']}\n") == len(slots), (n, d)
            tokens = d.split("Tokens:")[1].split("Digests:")[0]
            got = re.findall(r"^  (\d+): (\S+)\n\tKeyslot:\s+(\d+)", tokens, re.M)
            assert got == [(str(t["id"]), t["type"], str(k)) for t in want["tokens"]
                           for k in t["keyslots"]], (n, tokens)
        else:
            assert field(d, "MK iterations") == str(want["kdf"]["iterations"]), d
            assert re.findall(r"^Key Slot (\d): ENABLED$", d, re.M) == ["0"], d
    assert exp["luks-named"]["luks"][0]["tokens"], "luks-named must carry a token"
    assert [k["passphrase"] for k in lk["luks-named"]["keyslots"]] == ["other secret", "1234-5678-9012"]
    assert exp["luks-bigmem"]["luks"][0]["kdf"]["memory_kib"] == 1048576

    assert inside.get("TYPE") == "ext4" and inside.get("UUID") == exp["luks2"]["uuid"], inside
    assert f"/dev/disk/by-uuid/{exp['luks2']['uuid']} / ext4" in exp["luks2"]["fstab"]
    assert inside.get("LABEL") == "kappa-root", inside
    assert "system-2-link" in files and "system" in files.split(), files
    assert esp.get("TYPE") == "vfat" and esp.get("LABEL") == "ESP", esp
    assert esp.get("UUID") == exp["luks2"]["esp"]["uuid"], esp
    assert pv == ["/dev/mapper/t", "cryptvg", exp["luks-lvm"]["vg"]["pv_uuid"]], pv
    assert lvroot.get("TYPE") == "ext4" and lvroot.get("UUID") == exp["luks-lvm"]["uuid"], lvroot
    assert lvroot.get("LABEL") == "lambda2-root", lvroot
    assert lvswap.get("TYPE") == "swap", lvswap
    assert named.get("TYPE") == "ext4" and named.get("UUID") == exp["luks-named"]["uuid"], named
    assert named.get("LABEL") == "nu-root", named
    # Every mapping was closed again (the wrong passphrases made none).
    assert left.split() == ["control"], left
