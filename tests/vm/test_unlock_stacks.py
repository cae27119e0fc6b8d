"""Unlocking LUKS in stacks (docs/unlock.md, issue 14), on the fixtures of tests/vm/layerfix.py:
btrfs with subvolumes @ and @nix on LUKS2 (the system expects /dev/mapper/cryptbtrfs), LUKS2 on
an md RAID1 (found once the scan has assembled the array read-only), and a generation of a
system on LUKS2 booted by kexec.

- From the menu: both locked devices listed (the md one after assembly), one passphrase opens
  both (reused for the second), both systems shown, the btrfs mapping renamed as its fstab
  names it, every mount resolved; not one byte of any member changed.
- Entering both writes to them (mapping made writable, through md too), power-off closes the
  mappings and stops the array; the next boot finds md clean, the headers readable, the files
  there and btrfs and ext4 clean.
- btrfs raid1 over two LUKS2 devices: one key opens both, complete, zero writes, entered,
  clean afterwards.
- Booting generation 2 of the LUKS2 system by kexec: the mappings are closed before the jump
  (said, and the shutdown's step does not fail), the generation's kernel comes up with exactly
  its command line.
"""
import json
import os
import re


from layerfix import layer_copies as copies, layer_expect
from test_discover import run
from vm import VM, Disk, sha256

STACKS = ["btrfs-on-luks", "luks-on-md"]
MENU = r"Choose \(key then Enter"
PROMPT = r"lifeboat:\S*# "


def shell(vm):
    vm.sendline("s")
    vm.expect(PROMPT, timeout=30)
    run(vm, "dmesg -n 1")


def power_off(vm):
    """Back to the menu, power off; returns what the shutdown printed. Proves the steps that
    close the mappings and stop the arrays ran and none failed."""
    vm.sendline("exit")
    vm.expect(MENU, timeout=60)
    vm.sendline("p")
    vm.expect("close encrypted volumes", timeout=120)
    assert vm.wait_exit(timeout=120) == 0
    shutdown = vm.text().split("Powering off")[-1]
    assert "failed" not in shutdown, shutdown
    return shutdown


def test_unlock_stacks_found_and_nothing_written(tmp_path):
    disks = copies(str(tmp_path), STACKS)
    bt, md = layer_expect("btrfs-on-luks"), layer_expect("luks-on-md")
    before = [sha256(p) for p in disks]
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        menu = vm.text()
        # Both locked: the partition, and the LUKS inside the array the scan assembled.
        assert re.search(rf"Locked: /dev/vda1 LUKS2 UUID {bt['luks'][0]['uuid']}\n", menu), menu[-2500:]
        m = re.search(rf"Locked: (/dev/md\S*) LUKS2 UUID {md['luks'][0]['uuid']}\n", menu)
        assert m, menu[-2500:]
        mddev = m.group(1)
        assert "unlock all 2 locked devices" in menu and "NixOS systems: 0" in menu, menu[-2500:]
        vm.sendline("u")
        m = vm.expect(r"Passphrase for (\S+) \(UUID [0-9a-f-]+\): ", timeout=60)
        first = m.group(1)
        assert first in ("/dev/vda1", mddev), first
        vm.sendline("correct horse")
        vm.expect(rf"{re.escape(first)} is open as /dev/mapper/luks-[0-9a-f-]+ \(read-only", timeout=180)
        # The second device: the same passphrase, no prompt.
        second = mddev if first == "/dev/vda1" else "/dev/vda1"
        vm.expect(r"trying the passphrase that opened the last device", timeout=60)
        vm.expect(rf"{re.escape(second)} is open as /dev/mapper/luks-", timeout=180)
        vm.expect(r"renamed /dev/mapper/cryptbtrfs, as sigma's fstab names it", timeout=240)
        vm.expect(MENU, timeout=240)
        after = vm.text()[len(menu):]
        assert "Passphrase for" not in after.split("trying the passphrase")[-1], after[-2500:]
        assert "NixOS systems: 2" in after, after[-2500:]
        for h in (bt["host"], md["host"]):
            assert re.search(rf"(?m)^\d\)\s+[> ] {re.escape(h)} ", after), (h, after[-2500:])
        assert "Locked:" not in after.split("lifeboat")[-1]
        shell(vm)
        doc = json.loads(run(vm, "lifeboat scan --json 2>/dev/null", timeout=180))
        systems = {s["host"]: s for s in doc["systems"]}
        assert set(systems) == {"sigma", "tau"}, list(systems)
        for h, targets in (("sigma", {"/", "/nix"}), ("tau", {"/"})):
            mounts = systems[h]["mounts"]
            cur = [x for x in mounts if str(x.get("number", systems[h].get("current"))) ==
                   str(systems[h].get("current"))] or mounts
            assert {x["target"] for x in cur} == targets, (h, mounts)
            assert all(x["status"] == "ok" for x in cur), (h, mounts)
        assert systems["sigma"]["root"] == "/dev/mapper/cryptbtrfs", systems["sigma"]
        states = {l["path"]: (l["state"], l["mapper"]) for l in doc["luks"]}
        assert states["/dev/vda1"] == ("open", "/dev/mapper/cryptbtrfs"), states
        assert states[mddev][0] == "open", states
        assert not [p for p in doc["problems"] if p["what"] == "locked"], doc["problems"]
        # Read-only all the way down: the array and both mappings.
        o = run(vm, "for d in /sys/block/dm-* /sys/block/md*; do echo $(basename $d) ro=$(cat $d/ro); done")
        assert "ro=0" not in o and o.count("ro=1") >= 3, o
        shutdown = power_off(vm)
        assert "stop md arrays" in shutdown, shutdown
    assert [sha256(p) for p in disks] == before


def test_enter_stacks_then_clean(tmp_path):
    disks = copies(str(tmp_path), STACKS)
    token = os.urandom(6).hex()
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        shell(vm)
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=400)
        assert "rc=0" in o and "2 NixOS systems found now" in o, o
        for h in ("sigma", "tau"):
            o = run(vm, f"lifeboat enter --host {h} -c 'echo {token} > /root/f; cat /root/f'; echo rc=$?",
                    timeout=240)
            assert f"\n{token}" in o and "rc=0" in o, (h, o)
            assert "made writable" in o, (h, o)
        shutdown = power_off(vm)
        assert "stop md arrays" in shutdown, shutdown
    # The next boot: md clean, headers readable, the files there, the filesystems clean.
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        shell(vm)
        o = run(vm, "for d in /dev/vdb1 /dev/vdc1; do mdadm --examine $d | grep 'State :'; done")
        assert o.count("State : clean") == 2, o
        o = run(vm, "md=$(ls -d /dev/md/* /dev/md[0-9]* 2>/dev/null | head -1); "
                    "for d in /dev/vda1 $md; do cryptsetup luksDump $d >/dev/null; echo dump=$?; done")
        assert o.count("dump=0") == 2, o
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=400)
        assert "rc=0" in o, o
        o = run(vm, "ls /dev/mapper")
        tau = [x for x in o.split() if x.startswith("luks-")]
        assert "cryptbtrfs" in o and len(tau) == 1, o
        o = run(vm, "mkdir -p /mnt/x; mount -o ro,subvol=@ /dev/mapper/cryptbtrfs /mnt/x && cat /mnt/x/root/f; "
                    f"umount /mnt/x; mount -o ro /dev/mapper/{tau[0]} /mnt/x && cat /mnt/x/root/f; umount /mnt/x")
        assert o.count(token) == 2, o
        o = run(vm, "btrfs check --readonly /dev/mapper/cryptbtrfs >/dev/null 2>&1; echo btrfs=$?; "
                    f"e2fsck -fn /dev/mapper/{tau[0]} >/dev/null 2>&1; echo fsck=$?", timeout=240)
        assert "btrfs=0" in o and "fsck=0" in o, o
        power_off(vm)


def test_kexec_generation_of_an_encrypted_system(tmp_path):
    disks = copies(str(tmp_path), ["luks2"])
    host = layer_expect("luks2")["host"]
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        shell(vm)
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=400)
        assert "rc=0" in o and "1 NixOS system" in o, o
        o = run(vm, f"lifeboat boot --system {host} --generation 2 --dry-run; echo rc=$?", timeout=120)
        m = re.search(r"\n  cmdline (.*)\n", o)
        assert m and "rc=0" in o, o
        cmdline = m.group(1).strip()
        assert "init=/nix/store/" in cmdline, cmdline
        start = len(vm.text())
        vm.sendline(f"lifeboat boot --system {host} --generation 2")
        vm.expect("the unlocked LUKS devices are closed before the jump: the booted system's initrd "
                  "asks for their passphrases again", timeout=120)
        vm.expect("lifeboat: kexec: stopping processes", timeout=120)
        # The generation's payload (its initrd, a real kernel's) names itself and its command line.
        vm.expect(rf"lifeboat-payload: {host} generation 2 reached", timeout=180)
        m2 = vm.expect(r"lifeboat-payload cmdline: (.*)\n", timeout=10)
        assert m2.group(1).strip() == cmdline
        jump = vm.text()[start:]
        before = jump.split("lifeboat-payload:")[0]
        assert "close encrypted volumes" in before, before[-3000:]
        step = [l for l in before.splitlines() if "close encrypted volumes" in l]
        assert not [l for l in step if "failed" in l], step
        assert "failed" not in before.split("stopping processes")[-1], before[-3000:]
        assert vm.wait_exit(timeout=60) == 0


def test_btrfs_raid1_over_two_luks_devices(tmp_path):
    """disko's two-disk layout: btrfs raid1 over two LUKS2 devices with one passphrase. One key
    opens both; the btrfs is complete only with both mappings (registered after the unlock);
    nothing is written by boot, unlock and scan; entering writes through both and power-off
    closes them without a failure; the next boot finds the file on a clean btrfs."""
    disks = copies(str(tmp_path), ["btrfs-raid1-luks"])
    ex = layer_expect("btrfs-raid1-luks")
    before = [sha256(p) for p in disks]
    token = os.urandom(6).hex()
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        menu = vm.text()
        for l in ex["luks"]:
            assert f"Locked: {l['device']} LUKS2 UUID {l['uuid']}" in menu, menu[-2500:]
        shell(vm)
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=400)
        assert "rc=0" in o and "1 NixOS system found now" in o, o
        doc = json.loads(run(vm, "lifeboat scan --json 2>/dev/null", timeout=180))
        assert [s["host"] for s in doc["systems"]] == [ex["host"]], doc["systems"]
        b = [x for x in doc["btrfs"] if x["uuid"] == ex["uuid"]]
        mappers = sorted(l["mapper"] for l in ex["luks"])
        assert len(b) == 1 and b[0]["state"] == "complete", b
        assert sorted(b[0]["members"].split(",")) == [f"/dev/mapper/{m}" for m in mappers], b
        assert {l["path"]: l["state"] for l in doc["luks"]} == {"/dev/vda1": "open", "/dev/vdb1": "open"}
        assert not doc["problems"], doc["problems"]
        power_off(vm)
    assert [sha256(p) for p in disks] == before, "boot, unlock and scan wrote to a member"
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        shell(vm)
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=400)
        assert "rc=0" in o, o
        o = run(vm, f"lifeboat enter --host {ex['host']} -c 'echo {token} > /root/f; sync; cat /root/f'; "
                    "echo rc=$?", timeout=240)
        assert f"\n{token}" in o and "rc=0" in o and "made writable" in o, o
        power_off(vm)
    assert [sha256(p) for p in disks] != before, "entering wrote nothing: the twin of the proof above"
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        shell(vm)
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k >/dev/null 2>&1; "
                    f"mkdir -p /mnt/x; mount -o ro,subvol=@ /dev/mapper/{mappers[0]} /mnt/x && cat /mnt/x/root/f; "
                    f"umount /mnt/x; btrfs check --readonly /dev/mapper/{mappers[0]} >/dev/null 2>&1; "
                    "echo btrfs=$?", timeout=400)
        assert token in o and "btrfs=0" in o, o
        power_off(vm)
