"""Unlocking LUKS in the booted image (docs/unlock.md), on the fixtures of tests/vm/layerfix.py:
a NixOS on LUKS2 (installer layout: ESP + LUKS2 root, mapping luks-<UUID>), LVM on LUKS1 with the
same passphrase (reused without asking), a LUKS2 whose system expects /dev/mapper/cryptroot and
that has a FIDO2 token and a recovery key, and a LUKS2 keyslot needing 1 GiB of memory.

- From the menu: every locked device listed, a wrong passphrase said and asked again, the right
  one opens it, the passphrase reused on the next device, the systems inside shown; every byte
  of every member the same after the boot (unlock, scans, power-off).
- Entering a system on an unlocked device writes to it (the mapping made writable), power-off
  closes the mappings; the next boot finds the file and cryptsetup and e2fsck find them clean.
- A keyslot needing more memory than there is: said before trying, the menu lives.
"""
import json
import os
import re


from layerfix import layer_copies as copies, layer_expect
from test_discover import run
from vm import VM, Disk, sha256

LUKS = ["luks2", "luks-lvm", "luks-named"]
MENU = r"Choose \(key then Enter"


def hosts():
    return [layer_expect(n)["host"] for n in LUKS]


def test_unlock_from_the_menu_reuses_the_passphrase_and_writes_nothing(tmp_path):
    disks = copies(str(tmp_path), LUKS)
    before = [sha256(p) for p in disks]
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        menu = vm.text()
        # Each locked device, in full, and one entry to unlock them all.
        for n, dev in zip(LUKS, ["/dev/vda2", "/dev/vdb1", "/dev/vdc1"]):
            uuid = layer_expect(n)["luks"][0]["uuid"]
            assert re.search(rf"Locked: {dev} LUKS\d UUID {uuid}\n", menu), (n, menu[-2500:])
        assert "u1)" in menu and "u) " in menu and "unlock all 3 locked devices" in menu
        assert "unlock /dev/vda2 (LUKS2, " in menu and "'cryptroot')" in menu
        assert "FIDO2 token: not usable here, use a passphrase or recovery key" in menu
        assert "NixOS systems: 0" in menu
        vm.sendline("u")
        vm.expect(r"Passphrase for /dev/vda2 \(UUID [0-9a-f-]+\): ", timeout=60)
        vm.sendline("not the passphrase")
        vm.expect(r"wrong passphrase for /dev/vda2 \(1 of 3 tries\)", timeout=180)
        vm.expect(r"Passphrase for /dev/vda2", timeout=30)
        vm.sendline("correct horse")
        vm.expect(r"/dev/vda2 is open as /dev/mapper/luks-[0-9a-f-]+ \(read-only", timeout=180)
        # The same passphrase opens LVM-on-LUKS without a prompt.
        vm.expect(r"trying the passphrase that opened the last device", timeout=60)
        vm.expect(r"/dev/vdb1 is open as /dev/mapper/luks-", timeout=180)
        # It does not open the third: asked, and a recovery key is a passphrase too.
        vm.expect(r"Passphrase for /dev/vdc1", timeout=180)
        vm.sendline(layer_expect("luks-named")["luks"][0]["recovery"])
        vm.expect(r"/dev/vdc1 is open as /dev/mapper/luks-", timeout=180)
        # Named as its system's fstab names it, so that the fstab resolves.
        vm.expect(r"renamed /dev/mapper/cryptroot, as \S+'s fstab names it", timeout=240)
        vm.expect(MENU, timeout=240)
        after = vm.text()[len(menu):]
        assert "NixOS systems: 3" in after, after[-2500:]
        for h in hosts():
            assert re.search(rf"(?m)^\d\)\s+[> ] {re.escape(h)} ", after), (h, after[-2500:])
        assert "Locked:" not in after.split("lifeboat")[-1]
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        doc = json.loads(run(vm, "lifeboat scan --json 2>/dev/null", timeout=180))
        states = {l["path"]: (l["state"], l["mapper"]) for l in doc["luks"]}
        assert states["/dev/vdc1"] == ("open", "/dev/mapper/cryptroot"), states
        assert states["/dev/vda2"][0] == states["/dev/vdb1"][0] == "open", states
        assert not [p for p in doc["problems"] if p["what"] == "locked"], doc["problems"]
        # Opened read-only: the kernel refuses writes to the mappings (an LV on one is
        # read-write in its own table; its writes would meet the mapping's refusal).
        o = run(vm, "for d in /sys/block/dm-*; do case $(cat $d/dm/uuid) in CRYPT-*) echo ro=$(cat $d/ro);; esac; done; "
                    "dd if=/dev/zero of=/dev/mapper/cryptroot count=1 2>&1; echo dd=$?")
        assert o.count("ro=1") == 3 and "ro=0" not in o and "dd=1" in o, o
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        vm.sendline("p")
        vm.expect("close encrypted volumes", timeout=120)
        assert vm.wait_exit(timeout=120) == 0
        tail = vm.text()[-3000:]
        assert "failed" not in tail.split("Powering off")[-1], tail
    assert [sha256(p) for p in disks] == before


def test_enter_unlocked_systems_then_closed_and_clean(tmp_path):
    disks = copies(str(tmp_path), ["luks2", "luks-lvm"])
    kappa, lam = layer_expect("luks2")["host"], layer_expect("luks-lvm")["host"]
    token = os.urandom(6).hex()
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        # The shell's way: a key file, every locked device of the last scan.
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k; echo rc=$?", timeout=400)
        assert "rc=0" in o and "2 NixOS systems found now" in o, o
        for h in (kappa, lam):
            o = run(vm, f"lifeboat enter --host {h} -c 'echo {token} > /root/unlocked; cat /root/unlocked'; echo rc=$?",
                    timeout=240)
            assert f"\n{token}" in o and "rc=0" in o, o
            assert "made writable" in o, o
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        vm.sendline("p")
        vm.expect("close encrypted volumes", timeout=120)
        assert vm.wait_exit(timeout=120) == 0
        shutdown = vm.text().split("Powering off")[-1]
        assert "failed" not in shutdown, shutdown
    # The next boot: the files are there, the headers and filesystems clean.
    with VM(disks=[Disk(p) for p in disks], mem=768, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        for dev in ("/dev/vda2", "/dev/vdb1"):
            o = run(vm, f"cryptsetup luksDump {dev} >/dev/null; echo dump=$?")
            assert "dump=0" in o, o
        o = run(vm, "printf 'correct horse' > /tmp/k; lifeboat unlock --key-file /tmp/k --no-rescan; echo rc=$?",
                timeout=400)
        assert "rc=0" in o, o
        o = run(vm, "lvm vgchange -ay --sysinit >/dev/null 2>&1; ls /dev/mapper", timeout=60)
        root = [l for l in o.split() if l.startswith("luks-")]
        assert root and "cryptvg-root" in o, o
        for dev in [f"/dev/mapper/{r}" for r in root] + ["/dev/mapper/cryptvg-root"]:
            o = run(vm, f"e2fsck -fn {dev} >/dev/null 2>&1; echo fsck=$?", timeout=120)
            if "fsck=8" in o:
                continue  # the LVM PV under LUKS1 is not ext4; its LV is
            assert "fsck=0" in o, (dev, o)
        o = run(vm, f"mkdir -p /mnt/x; for d in /dev/mapper/cryptvg-root {' '.join('/dev/mapper/' + r for r in root)}; do "
                    f"mount -o ro $d /mnt/x 2>/dev/null && cat /mnt/x/root/unlocked; umount /mnt/x 2>/dev/null; done")
        assert o.count(token) == 2, o


def test_not_enough_memory_is_said_before_trying(tmp_path):
    disks = copies(str(tmp_path), ["luks-bigmem"])
    with VM(disks=[Disk(p) for p in disks], mem=512, append="lifeboat.timeout=-1") as vm:
        vm.expect(MENU, timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        run(vm, "dmesg -n 1")
        o = run(vm, "echo 'correct horse' | lifeboat unlock /dev/vda; echo rc=$?", timeout=120)
        assert re.search(r"cannot be unlocked here: its key derivation \(argon2id\) needs 1024 MiB of memory", o), o
        assert re.search(r"only \d+ MiB are\s+available", o) and "rc=1" in o, o
        assert "Passphrase for" not in o and "killed" not in o, o
        # The twin: a wrong option is refused as such, not as memory.
        o = run(vm, "lifeboat unlock --tries 0 /dev/vda; echo rc=$?")
        assert "--tries takes 1 to 100" in o and "rc=2" in o, o
        vm.sendline("exit")
        vm.expect(MENU, timeout=60)
        vm.sendline("p")
        assert vm.wait_exit(timeout=120) == 0


def test_unlock_over_ssh(tmp_path):
    """A remote encrypted machine: the menu of an SSH login asks for the passphrase on the SSH
    session (not on the serial console) and then shows the system inside."""
    from test_remote import Pty, cmdline_key, free_port, keypair, net, ssh_argv, wait_ssh_ready
    disks = copies(str(tmp_path), ["luks2"])
    key, pub = keypair("lb-test")
    port = free_port()
    host = layer_expect("luks2")["host"]
    with VM(disks=[Disk(p) for p in disks], mem=768, append=cmdline_key(pub) + " lifeboat.timeout=-1",
            extra=net(port)) as vm:
        wait_ssh_ready(vm)
        t = Pty(ssh_argv(port, key) + ["-tt"])
        try:
            t.expect(r"Locked: /dev/vda2 LUKS2")
            t.expect(r"Choose")
            console_before = len(vm.text())
            t.sendline("u")
            t.expect(r"Passphrase for /dev/vda2 \(UUID ")
            t.sendline("correct horse")
            t.expect(r"/dev/vda2 is open as /dev/mapper/luks-", timeout=240)
            t.expect(rf"1\)\s+[> ] {host} ", timeout=240)
            t.expect(r"Choose")
            # The prompt was the SSH session's, not the console's.
            assert "Passphrase for" not in vm.text()[console_before:]
        finally:
            t.close()


def test_unlock_of_an_unscanned_device_takes_libblkid_uuid():
    """`lifeboat unlock FILE` for what the last scan did not list (a header copy in /tmp): the
    UUID shown and used is the one libblkid reads from the header's own field, not a line that
    a crafted LUKS1 cipher name forges in cryptsetup's luksDump (issue 18). The twin: luksDump
    does print the forged line first."""
    with VM(mem=512) as vm:
        vm.expect(MENU, timeout=240)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        vm.shell("dmesg -n 1")
        # The cipher name field (32 bytes at offset 8, NUL-terminated) rewritten with busybox's
        # head and tail (its dd has no conv=notrunc).
        vm.shell("dd if=/dev/zero of=/tmp/l1.img bs=1M count=4 2>/dev/null; echo -n pw | "
                 "cryptsetup luksFormat --batch-mode --type luks1 --pbkdf-force-iterations 1000 "
                 "--key-file - /tmp/l1.img; cryptsetup luksUUID /tmp/l1.img > /tmp/real; "
                 "{ head -c 8 /tmp/l1.img; printf 'x\\nUUID: 0bad0bad-0000-4000-8000\\0'; "
                 "tail -c +41 /tmp/l1.img; } > /tmp/forged.img", timeout=120)
        m = vm.shell("echo REAL=$(cat /tmp/real); echo DUMP=$(cryptsetup luksDump /tmp/forged.img | "
                     "grep -m1 '^UUID:'); lifeboat unlock /tmp/forged.img --key-file /dev/null "
                     "--no-rescan --tries 1", timeout=120)
        text = vm.text()
        real = re.findall(r"REAL=([0-9a-f-]{36})\n", text)
        assert real, text[-2000:]
        assert re.search(r"DUMP=UUID: 0bad0bad-0000-4000-8000\n", text), text[-2000:]
        assert f"lifeboat unlock: /tmp/forged.img: LUKS1, UUID {real[-1]}\n" in text, text[-2000:]
        assert "0bad0bad" not in text[text.rfind("lifeboat unlock: /tmp/forged.img"):]
        assert m.group(1) == "1"  # no key: not unlocked, said so
        vm.sendline("poweroff")
        assert vm.wait_exit(60) == 0
