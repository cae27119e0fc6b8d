"""Assembly in the booted image (docs/assemble.md): a NixOS on md RAID1, on LVM (root and swap
LVs), on LVM on md, and on a btrfs raid1 over two disks is found by the scan and shown in the
menu; with a member left out, md and btrfs are found degraded and reported so; and not one
byte of any member changes (sha256 of every member image around a boot that assembles, scans,
shows the menu and powers off). The fixtures come from tests/vm/layerfix.py (made in a VM,
cached)."""
import json
import re
import os
import subprocess

import pytest

from layerfix import layer_expect, layer_fixture
from scanreport import kind, parse
from test_discover import run
from vm import VM, Disk, sha256

ALL = ["md-raid1", "lvm", "lvm-on-md", "btrfs-raid1"]


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Writable copies of every fixture's members: {name: [paths]}, plus a scratch disk."""
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures need root (loop devices for btrfs)")
    tmp = str(tmp_path_factory.mktemp("assemble"))
    out = {}
    for n in ALL:
        out[n] = []
        for src in layer_fixture(n):
            dst = os.path.join(tmp, f"{n}-{os.path.basename(src)}")
            subprocess.run(["cp", "--sparse=always", src, dst], check=True)
            out[n].append(dst)
    scratch = os.path.join(tmp, "scratch.img")
    subprocess.run(["truncate", "-s", "1M", scratch], check=True)
    out["scratch"] = [scratch]
    return out


def boot_scan(disks, hosts):
    """Boot with disks attached writable, check the menu names every host, scan in the shell,
    write to the scratch disk (the last one: the twin of the zero-write proof), power off from
    the menu. Returns the scan records and the --json document."""
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        menu = vm.text()
        for h in hosts:
            assert f"{h} - NixOS" in menu or f" {h} " in menu, (h, menu[-3000:])
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        text = run(vm, "lifeboat scan --save >/dev/null 2>&1; cat /run/lifeboat/scan", timeout=180)
        doc = json.loads(run(vm, "lifeboat scan --json 2>/dev/null", timeout=180))
        letter = "vd" + chr(ord("a") + len(disks) - 1)
        # A new token each time: the scratch disk is shared by the tests of this file.
        vm.shell(f"echo written-{os.urandom(6).hex()} > /dev/{letter}; sync", timeout=30)
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=120) == 0
    return parse(text), doc, menu


def system_of(recs, host):
    found = kind(recs, "system", host=host)
    assert len(found) == 1, (host, kind(recs, "system"))
    return found[0]


def check_system(recs, doc, name):
    exp = layer_expect(name)
    s = system_of(recs, exp["host"])
    assert s["version"] == exp["version"] and s["current"] == str(exp["current"]), s
    gens = sorted(int(g["number"]) for g in kind(recs, "generation", system=s["id"]))
    assert gens == exp["generation_numbers"], gens
    # Every fstab line naming a device resolves to the device the system was found on.
    for m in kind(recs, "mount", system=s["id"], number=str(exp["current"])):
        if m["type"] == "swap":
            continue
        assert m["status"] == "ok" and m["source"] == s["root"], m
    assert [x for x in doc["systems"] if x["host"] == exp["host"]], doc["systems"]
    if exp.get("array"):
        assert [a for a in doc["arrays"] if a["name"].endswith(":" + exp["array"]["name"])], doc["arrays"]
    if exp.get("vg"):
        assert [v for v in doc["vgs"] if v["name"] == exp["vg"]["name"]], doc["vgs"]
    return s


def test_every_layout_found_and_nothing_written(members):
    disks = [p for n in ALL for p in members[n]] + members["scratch"]
    hosts = [layer_expect(n)["host"] for n in ALL]
    before = {p: sha256(p) for p in disks}
    recs, doc, menu = boot_scan(disks, hosts)
    after = {p: sha256(p) for p in disks}
    changed = [os.path.basename(p) for p in disks if before[p] != after[p]]
    assert changed == ["scratch.img"], f"images changed by the boot: {changed}"

    assert kind(recs, "done") and "NixOS systems: 4   Problems: 0" in menu, menu[-2000:]
    # md: assembled read-only, clean, both members; the system on it by /dev/md/root.
    md = check_system(recs, doc, "md-raid1")
    arrays = {a["name"]: a for a in kind(recs, "array")}
    assert arrays["mu:root"]["state"] == "clean" and arrays["mu:root"]["mdstate"] == "readonly"
    assert md["root"] == arrays["mu:root"]["path"] and len(arrays["mu:root"]["members"].split(",")) == 2
    # LVM: both VGs complete; root by /dev/mapper/VG-LV, on LVM on md by /dev/VG/LV.
    vgs = {v["name"]: v for v in kind(recs, "vg")}
    assert vgs["nixvg"]["state"] == "complete" and vgs["nixvg"]["lvs"] == "2"
    assert vgs["mdvg"]["state"] == "complete"
    lv = check_system(recs, doc, "lvm")
    # LVs are named as people and fstabs name them, not /dev/dm-N.
    assert lv["root"] == "/dev/mapper/nixvg-root", lv
    mdlv = check_system(recs, doc, "lvm-on-md")
    assert mdlv["root"] == "/dev/mapper/mdvg-root", mdlv
    assert arrays["omicron:pv"]["state"] == "clean"
    # btrfs raid1: one system (inspected once), both members registered, complete.
    bt = check_system(recs, doc, "btrfs-raid1")
    assert bt["rootsubvol"] == "@" and bt["nixsubvol"] == "@nix"
    b = kind(recs, "btrfs", uuid=layer_expect("btrfs-raid1")["uuid"])
    assert len(b) == 1 and b[0]["state"] == "complete" and len(b[0]["members"].split(",")) == 2, b
    # Nothing degraded, nothing failed.
    assert not kind(recs, "problem"), kind(recs, "problem")


def test_degraded_found_reported_and_nothing_written(members):
    # md RAID1 and LVM on md with their first member only, btrfs raid1 with its second only.
    disks = [members["md-raid1"][0], members["lvm-on-md"][1], members["btrfs-raid1"][1],
             members["scratch"][0]]
    hosts = [layer_expect(n)["host"] for n in ("md-raid1", "lvm-on-md", "btrfs-raid1")]
    before = {p: sha256(p) for p in disks}
    recs, doc, menu = boot_scan(disks, hosts)
    after = {p: sha256(p) for p in disks}
    changed = [os.path.basename(p) for p in disks if before[p] != after[p]]
    assert changed == ["scratch.img"], f"images changed by the boot: {changed}"

    # The menu says so before anything is chosen.
    assert "NixOS systems: 3   Problems: 3" in menu and menu.count("runs degraded, read") == 2, menu[-2000:]
    for n in ("md-raid1", "lvm-on-md", "btrfs-raid1"):
        check_system(recs, doc, n)
    arrays = {a["name"]: a for a in kind(recs, "array")}
    assert arrays["mu:root"]["state"] == "degraded" and arrays["mu:root"]["missing"] == "2"
    assert arrays["mu:root"]["members"] == "/dev/vda1"
    assert arrays["omicron:pv"]["state"] == "degraded" and arrays["omicron:pv"]["missing"] == "1"
    deg = kind(recs, "problem", what="degraded")
    for a in ("mu:root", "omicron:pv"):
        p = [x for x in deg if x["path"] == arrays[a]["path"]]
        assert p and "runs degraded, read-only" in p[0]["msg"] and "missing" in p[0]["msg"], deg
    b = kind(recs, "btrfs")
    assert len(b) == 1 and b[0]["state"] == "degraded" and b[0]["members"] == "/dev/vdc", b
    assert [x for x in deg if x["path"] == "/dev/vdc" and "inspected degraded, read-only" in x["msg"]], deg
    assert len(deg) == 3, deg
    # The degraded problems reach the JSON report too.
    assert len([p for p in doc.get("problems", []) if p.get("what") == "degraded"]) == 3, doc.get("problems")


def test_enter_md_and_lvm_systems_then_metadata_clean(tmp_path):
    """Entering makes what the system needs writable (the md array under / and under the PV);
    at power-off the LVs are deactivated and the arrays stopped; what was written inside is on
    the members afterwards, the md superblocks say clean and the next scan finds every array
    clean, every VG complete."""
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures need root")
    names = ["md-raid1", "lvm-on-md", "lvm"]
    disks = []
    for n in names:
        for src in layer_fixture(n):
            dst = str(tmp_path / f"{n}-{os.path.basename(src)}")
            subprocess.run(["cp", "--sparse=always", src, dst], check=True)
            disks.append(dst)
    hosts = [layer_expect(n)["host"] for n in names]
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        for h in hosts:
            o = run(vm, f"lifeboat enter --host {h} --silent -c 'echo entered-{h} > /root/entered; "
                        f"sync; echo inside-$(cat /etc/hostname)'", timeout=180)
            assert f"inside-{h}\n" in o, o
            assert "could not enter" not in o, o
        md = run(vm, "cat /proc/mdstat")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        # Teardown after the unmounts: LVs, then arrays, each done (not failed).
        vm.expect(r"deactivate LVM volume groups", timeout=120)
        vm.expect(r"stop md arrays", timeout=120)
        assert vm.wait_exit(timeout=120) == 0
        down = vm.text()
        assert "failed" not in down[down.find("deactivate LVM volume groups") - 200:], down[-3000:]
    # Both arrays were switched to read-write for the entries (no "(read-only)" left).
    assert md.count("active raid1") == 2 and "read-only" not in md, md
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        menu = vm.text()
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        examine = run(vm, "mdadm --examine /dev/vda1 /dev/vdb1 /dev/vdc1 /dev/vdd1")
        recs = parse(run(vm, "lifeboat scan 2>/dev/null", timeout=180))
        files = run(vm, "for d in /dev/md/root /dev/mdvg/root /dev/nixvg/root; do "
                        "mount -o ro $d /mnt && cat /mnt/root/entered; umount /mnt; done")
        fsck = run(vm, "for d in /dev/md/root /dev/mdvg/root /dev/nixvg/root; do "
                       "e2fsck -n $d >/dev/null 2>&1; echo fsck=$?; done")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=120) == 0
    assert "NixOS systems: 3   Problems: 0" in menu, menu[-2000:]
    assert examine.count("State : clean") == 4 and "State : active" not in examine, examine
    assert all(a["state"] == "clean" for a in kind(recs, "array")) and len(kind(recs, "array")) == 2
    assert all(v["state"] == "complete" for v in kind(recs, "vg")) and len(kind(recs, "vg")) == 2
    assert not kind(recs, "problem"), kind(recs, "problem")
    for h in hosts:
        assert f"entered-{h}\n" in files, files
    assert fsck.split() == ["fsck=0"] * 3, fsck


def copies(tmp, names, pick=None):
    """Writable sparse copies of the members of fixtures names (pick: {name: [indexes]} to
    attach only some), in attach order."""
    out = []
    for n in names:
        srcs = layer_fixture(n)
        for i in (pick or {}).get(n, range(len(srcs))):
            dst = os.path.join(tmp, f"{n}-{os.path.basename(srcs[i])}")
            subprocess.run(["cp", "--sparse=always", srcs[i], dst], check=True)
            out.append(dst)
    return out


def test_enter_degraded_btrfs_then_found_again(tmp_path):
    """A btrfs raid1 with its first member absent: the menu line says degraded, enter mounts it
    with `degraded` and says what that means, a file written inside is there on the next boot
    (still degraded), the power-off between is clean."""
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures need root")
    disks = copies(str(tmp_path), ["btrfs-raid1"], pick={"btrfs-raid1": [1]})
    host = layer_expect("btrfs-raid1")["host"]
    token = "entered-" + os.urandom(4).hex()
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        menu = vm.text()
        line = [l for l in menu.splitlines() if f" {host} " in l]
        assert line and "/dev/vda degraded" in line[0], menu[-2000:]
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        o = run(vm, f"lifeboat enter --host {host} -c 'echo {token} > /root/entered; sync; "
                    f"echo inside-$(cat /etc/hostname); grep \" / \" /proc/mounts'", timeout=180)
        assert f"inside-{host}\n" in o and "could not enter" not in o, o
        assert "/dev/vda runs degraded: btrfs" in o and "mounted with `degraded`" in o, o
        assert "btrfs replace start" in o and "btrfs balance start" in o, o
        # Once per filesystem, though / and /nix are both on it.
        assert o.count("runs degraded") == 1, o
        assert re.search(r" / btrfs rw,\S*degraded", o), o
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=120) == 0
        down = vm.text()
        assert "failed" not in down[down.rfind("Choose"):], down[-3000:]
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        menu = vm.text()
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        got = run(vm, "mount -o ro,degraded,subvol=@ /dev/vda /mnt && cat /mnt/root/entered; umount /mnt")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=120) == 0
    assert f" {host} " in menu and "Problems: 1" in menu, menu[-2000:]
    assert f"{token}\n" in got, got


def region(path, start, size):
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(size)


def test_vg_with_missing_pv_found_entered_metadata_untouched(tmp_path):
    """A VG over two disks with the second absent: activated where whole (root), the problem
    names the missing PV's UUID and the LV not activated (home), the menu says degraded, nothing
    is written by the scan; entering mounts the root read-write without /home and writes no
    LVM metadata, so that with the disk back the VG is complete and /home is there."""
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures need root")
    disks = copies(str(tmp_path), ["lvm-2pv"])
    exp = layer_expect("lvm-2pv")
    host, missing_uuid = exp["host"], exp["vg"]["pv_uuids"][1]
    before = {p: sha256(p) for p in disks}
    scratch = str(tmp_path / "scratch.img")
    subprocess.run(["truncate", "-s", "1M", scratch], check=True)
    recs, doc, menu = boot_scan([disks[0], scratch], [host])
    assert {p: sha256(p) for p in disks} == before, "a member changed by boot and scan"
    line = [l for l in menu.splitlines() if f" {host} " in l]
    assert line and "duovg-root degraded" in line[0], menu[-2000:]
    assert "NixOS systems: 1   Problems: 1" in menu, menu[-2000:]
    s = system_of(recs, host)
    assert s["root"] == "/dev/mapper/duovg-root" and s["current"] == str(exp["current"]), s
    mounts = {m["target"]: m for m in kind(recs, "mount", system=s["id"], number=s["current"])}
    assert mounts["/"]["status"] == "ok" and mounts["/"]["source"] == s["root"], mounts
    assert mounts["/home"]["status"] == "missing", mounts
    vg = kind(recs, "vg", name="duovg")
    assert len(vg) == 1 and vg[0]["state"] == "partial" and vg[0]["missingpvs"] == "1", vg
    lvs = {lv["name"]: lv for lv in kind(recs, "lv", vg="duovg")}
    assert lvs["root"]["state"] == "complete" and lvs["root"]["active"] == "1", lvs
    assert lvs["home"]["state"] == "missing" and lvs["home"]["active"] == "0", lvs
    assert {lv["name"]: lv["state"] for lv in doc["lvs"]} == {"root": "complete", "home": "missing"}, doc["lvs"]
    probs = kind(recs, "problem")
    assert len(probs) == 1 and probs[0]["what"] == "degraded", probs
    assert f"(PV UUID {missing_uuid})" in probs[0]["msg"], probs
    assert "not activated, their data is on it: home; activated: root" in probs[0]["msg"], probs
    assert exp["vg"]["pv_uuids"][0] not in probs[0]["msg"], probs
    # The metadata area of the present PV (its partition's first MiB, after the GPT's MiB).
    meta = region(disks[0], 1 << 20, 1 << 20)
    token = "entered-" + os.urandom(4).hex()
    with VM(disks=[Disk(disks[0])], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        o = run(vm, f"lifeboat enter --host {host} -c 'echo {token} > /root/entered; sync; "
                    f"echo inside-$(cat /etc/hostname); cat /proc/mounts'", timeout=180)
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        vm.expect(r"deactivate LVM volume groups", timeout=120)
        assert vm.wait_exit(timeout=120) == 0
        down = vm.text()
        assert "failed" not in down[down.find("deactivate LVM volume groups") - 200:], down[-3000:]
    assert f"inside-{host}\n" in o and "could not enter" not in o, o
    assert "runs degraded: volume group duovg has a PV missing" in o and "no vgreduce" in o, o
    assert "not mounted: /home: LV /dev/duovg/home is on a missing PV of volume group duovg" in o, o
    assert re.search(r"(?m)^/dev/mapper/duovg-root / ext4 rw", o) and " /home " not in o, o
    assert region(disks[0], 1 << 20, 1 << 20) == meta, "the PV's metadata area changed"
    # The disk is back: the VG is whole again (no metadata was changed while it was gone).
    with VM(disks=[Disk(p) for p in disks], mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        menu = vm.text()
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        got = run(vm, "mount -o ro /dev/duovg/root /mnt && cat /mnt/root/entered; umount /mnt; "
                      "mount -o ro /dev/duovg/home /mnt && cat /mnt/alice/notes.txt; umount /mnt")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=120) == 0
    assert "NixOS systems: 1   Problems: 0" in menu and "degraded" not in menu, menu[-2000:]
    assert f"{token}\n" in got and "on the second PV\n" in got, got


def kexec_generation(vm, host, number):
    """Boot generation number of host by kexec from the rescue shell: the payload (the
    generation's initrd) must name it and get the command line the dry run showed. Returns the
    console text from the command to the payload."""
    o = run(vm, f"lifeboat boot --system {host} --generation {number} --dry-run; echo rc=$?", timeout=120)
    m = re.search(r"\n  cmdline (.*)\n", o)
    assert m and "rc=0" in o, o
    start = len(vm.text())
    vm.sendline(f"lifeboat boot --system {host} --generation {number}")
    vm.expect("lifeboat: kexec: stopping processes", timeout=120)
    vm.expect(rf"lifeboat-payload: {host} generation {number} reached", timeout=180)
    m2 = vm.expect(r"lifeboat-payload cmdline: (.*)\n", timeout=10)
    assert m2.group(1).strip() == m.group(1).strip()
    assert vm.wait_exit(timeout=60) == 0
    return vm.text()[start:].split("lifeboat-payload:")[0]


def test_repair_bootloader_and_kexec_on_md_and_lvm(tmp_path):
    """"Repair boot loader" (enter --install-bootloader) on the md RAID1 and the LVM system,
    then a generation of each booted by kexec: before the jump the LVs are deactivated and the
    arrays stopped, none failed."""
    if os.geteuid() != 0:
        pytest.skip("the layer fixtures need root")
    disks = copies(str(tmp_path), ["md-raid1", "lvm"])
    md, lv = layer_expect("md-raid1")["host"], layer_expect("lvm")["host"]
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        for h in (md, lv):
            o = run(vm, f"lifeboat enter --host {h} --install-bootloader; echo rc=$?", timeout=180)
            assert re.search(rf"switch-to-configuration boot for /nix/store/[a-z0-9]{{32}}-nixos-system-{h}-", o), o
            assert "switch-to-configuration got: boot; NIXOS_INSTALL_BOOTLOADER=1; /boot writable\n" in o, o
            assert "rc=0" in o and "could not enter" not in o, o
        before = kexec_generation(vm, md, 2)
    for step in ("deactivate LVM volume groups", "stop md arrays"):
        lines = [l for l in before.splitlines() if step in l]
        assert lines and not [l for l in lines if "failed" in l], (step, before[-3000:])
    assert "failed" not in before.split("stopping processes")[-1], before[-3000:]
    with VM(disks=[Disk(disks[2])], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        before = kexec_generation(vm, lv, 1)
    lines = [l for l in before.splitlines() if "deactivate LVM volume groups" in l]
    assert lines and not [l for l in lines if "failed" in l], before[-3000:]
    assert "stop md arrays" not in before and "failed" not in before.split("stopping processes")[-1], before[-3000:]
