"""Hostile data end to end, in one boot of the image (issue 18, "Hostile data").

Strings: a disk whose label, host name (ESC, latin-1, a newline and a NUL), version (OSC, a C1
CSI as UTF-8 and a lone byte), specialisation name and fstab fields carry terminal escapes, and a
disk whose host name is 10 KiB. The menu, `lifeboat scan --human`, the log and the console
receive no raw control byte (read byte for byte from the serial console), the escaped forms say
what the bytes were, and `lifeboat scan --json` gives back every value's exact bytes. A LUKS2
header made in the VM has a label and a token type that forge luksDump lines (a UUID, a keyslot
costing 4 TiB of memory): the scan keeps libblkid's UUID and label and the JSON metadata's
keyslots, and the menu's unlock line shows the label escaped.

Entering: a copy of the inroot fixture whose fstab binds /a and /a/b onto each other, mounts
through links that point out of the root, and asks for 150 tmpfs mounts: all 150 are made inside,
nothing is mounted or created on the rescue system, and the session's processes are all gone
afterwards."""
import json
import os
import re
import subprocess

import pytest

from scanreport import json_bytes, kind, parse, unescape_bytes
from vm import BUILD, VM, Disk

FIXDIR = os.path.join(BUILD, "fixtures")
H = "0" * 32
LABEL = b"\x1b[31mL\xe9b"
HOST = b"ev\x1b]0;pwned\x07\xe9il\nx\x00hidden\n"
VERSION = b"24.05\x1b[5m\xc2\x9b\xe9"
SPEC = b"\x1b[1mspec\xe9"
FSTAB = b"/dev/vda9 /mnt/\x1b[7mrev ext4 x\x1b[8m 0 0\n"
BIG_HOST = b"\x1b[2J" + b"h" * 10240
MANY = 150
NUL_AT = "NUL byte at byte %d of %d" % (HOST.index(b"\0"), len(HOST))
LUKS_LABEL = b"\x1b[31mL\xe9b\nUUID: 1feb0a70-0000-4000-8000-00000000000f"[:47]
FORGED_TOKEN = '{"type":"x\\nKeyslots:\\n  5: luks2\\n\\tMemory: 4294967296","keyslots":[]}'


def toplevel(tree, name, host, version):
    top = os.path.join(tree, b"nix/store", H.encode() + b"-" + name)
    os.makedirs(os.path.join(top, b"etc"))
    with open(os.path.join(top, b"etc/hostname"), "wb") as f:
        f.write(host)
    with open(os.path.join(top, b"etc/fstab"), "wb") as f:
        f.write(FSTAB)
    with open(os.path.join(top, b"nixos-version"), "wb") as f:
        f.write(version)
    for n in (b"kernel", b"initrd", b"init"):
        with open(os.path.join(top, n), "wb") as f:
            f.write(b"x")
    return top


def strings_disk(path, tmp, host, label):
    tree = os.path.join(tmp.encode(), os.path.basename(path).encode() + b".d")
    top = toplevel(tree, b"nixos-system-evil-1", host, VERSION)
    spec = toplevel(tree, b"nixos-system-evil-1-spec", b"spec\n", b"24.05")
    os.makedirs(os.path.join(top, b"specialisation"))
    os.symlink(b"/nix/store/" + os.path.basename(spec), os.path.join(top, b"specialisation", SPEC))
    prof = os.path.join(tree, b"nix/var/nix/profiles")
    os.makedirs(prof)
    os.symlink(b"/nix/store/" + os.path.basename(top), os.path.join(prof, b"system-1-link"))
    os.symlink(b"system-1-link", os.path.join(prof, b"system"))
    subprocess.run(["truncate", "-s", "16M", path], check=True)
    subprocess.run([b"mkfs.ext4", b"-q", b"-F", b"-L", label, b"-d", tree, path.encode()], check=True)


def hostile_enter_disk(src, dst, tmp):
    """The inroot fixture with a hostile fstab in its current generation."""
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)
    # Partition 2 by its offset (this host may have no partition device nodes for loops).
    part = json.loads(subprocess.run(["sfdisk", "--json", dst], check=True, capture_output=True,
                                     text=True).stdout)["partitiontable"]["partitions"][1]
    dev = subprocess.run(["losetup", "--find", "--show", "-o", str(part["start"] * 512), "--sizelimit",
                          str(part["size"] * 512), dst], check=True, capture_output=True,
                         text=True).stdout.strip()
    mnt = os.path.join(tmp, "enter-mnt")
    os.makedirs(mnt)
    try:
        subprocess.run(["mount", dev, mnt], check=True)
        try:
            link = os.readlink(os.path.join(mnt, "nix/var/nix/profiles/system"))
            gen = os.readlink(os.path.join(mnt, "nix/var/nix/profiles", link))
            etc = os.readlink(os.path.join(mnt, gen.lstrip("/"), "etc"))
            fstab = os.path.join(mnt, etc.lstrip("/"), "fstab")
            lines = ["/a /a/b none bind 0 0", "/a/b /a none bind 0 0",
                     "tmpfs /out-abs/x tmpfs defaults 0 0", "tmpfs /out-rel/y tmpfs defaults 0 0",
                     "/out-abs /bound-out none bind 0 0"]
            lines += [f"tmpfs /many/m{i:03d} tmpfs size=64k 0 0" for i in range(MANY)]
            with open(fstab, "a") as f:
                f.write("\n".join(lines) + "\n")
            os.makedirs(os.path.join(mnt, "a/b"))
            os.symlink("/run/lifeboat-h6-escaped", os.path.join(mnt, "out-abs"))
            os.symlink("../../../../../../tmp/h6-escaped", os.path.join(mnt, "out-rel"))
        finally:
            subprocess.run(["umount", mnt], check=True)
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    inroot = os.path.join(FIXDIR, "inroot.img")
    if not os.path.exists(inroot):
        pytest.skip("fixtures missing: run make fixtures")
    tmp = str(tmp_path_factory.mktemp("hostile"))
    a, b, c, d = (os.path.join(tmp, n) for n in ("enter.img", "strings.img", "bighost.img", "luks.img"))
    hostile_enter_disk(inroot, a, tmp)
    strings_disk(b, tmp, HOST, LABEL)
    strings_disk(c, tmp, BIG_HOST, b"big")
    subprocess.run(["truncate", "-s", "32M", d], check=True)  # formatted in the VM (cryptsetup)
    return [a, b, c, d]


def raw_between(vm, start, cmd, timeout=120):
    """The raw console bytes cmd printed (latin-1 as read: one char per byte)."""
    m = vm.shell(f"echo LBST''ART; {cmd}", timeout=timeout)
    with vm.lock:
        text = vm.buf[start:]
    text = text[:text.rfind(m.group(0))]
    begin = text.find("LBSTART\n")
    return text[begin + len("LBSTART\n"):] if begin >= 0 else ""


def controls(text):
    """Control bytes other than newline (the harness drops carriage returns)."""
    return sorted({hex(ord(ch)) for ch in text if (ord(ch) < 0x20 and ch != "\n") or 0x7f <= ord(ch)})


def test_hostile_strings_and_root(disks):
    with VM(disks=[Disk(disks[0], snapshot=True), Disk(disks[1]), Disk(disks[2]), Disk(disks[3])],
            mem=768) as vm:
        vm.expect(r"Choose \(key then Enter", timeout=240)
        with vm.lock:
            menu = vm.buf[vm.buf.rfind("- NixOS rescue"):]
        # The system page of the hostile host: its generations and the specialisation.
        with vm.lock:
            start = len(vm.buf)
        key = re.search(r"(?m)^(\d)\)\s+. ev\\x1b\]0;pwned", menu)
        assert key, menu
        vm.sendline(key.group(1))
        vm.expect(r"Choose \(key then Enter", timeout=60)
        with vm.lock:
            page = vm.buf[start:]
        vm.sendline("m")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        vm.shell("dmesg -n 1")
        # The LUKS2 header with forging strings, on the blank fourth disk (vdd: 32 MiB).
        label = "".join("\\%03o" % ch for ch in LUKS_LABEL)
        made = vm.shell("test $(cat /sys/block/vdd/size) = 65536 && echo -n pw | cryptsetup luksFormat "
                        "--batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file - "
                        f"--label \"$(printf '{label}')\" /dev/vdd && echo '{FORGED_TOKEN}' | "
                        "cryptsetup token import /dev/vdd", timeout=120)
        if made.group(1) != "0":
            with vm.lock:
                pytest.fail("making the LUKS header failed: " + vm.buf[-2000:])
        with vm.lock:
            start = len(vm.buf)
        real_uuid = raw_between(vm, start, "cryptsetup luksUUID /dev/vdd").strip()
        with vm.lock:
            start = len(vm.buf)
        human = raw_between(vm, start, "lifeboat scan --human 2>/dev/null")
        with vm.lock:
            start = len(vm.buf)
        as_json = raw_between(vm, start, "lifeboat scan --json 2>/dev/null")
        with vm.lock:
            start = len(vm.buf)
        lines = raw_between(vm, start, "cat /run/lifeboat/scan")
        with vm.lock:
            start = len(vm.buf)
        log = raw_between(vm, start, "cat /run/lifeboat/log")
        # The twin of every "no control byte" check: a raw one printed here is seen.
        with vm.lock:
            start = len(vm.buf)
        twin = raw_between(vm, start, "printf 'T\\033[2JT\\351\\n'")

        # Entering the hostile root: the rescue system's mounts, files and processes before and
        # after one session that starts a background process and counts its mounts.
        state = ("cat /proc/mounts | sort | md5sum; ls -a /run /tmp / | md5sum; "
                 "ls -d /run/lifeboat-h6-escaped /tmp/h6-escaped 2>&1 | grep -c 'No such'")
        with vm.lock:
            start = len(vm.buf)
        before = raw_between(vm, start, state)
        with vm.lock:
            start = len(vm.buf)
        inside = raw_between(
            vm, start,
            "lifeboat enter --host alpha --silent -c '"
            "grep -c \" /many/m\" /proc/mounts; grep -c \" /a\" /proc/mounts; "
            "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo started' 2>&1; "
            "echo PS=$(ps | grep -c \"[s]leep 1000\")", timeout=240)
        with vm.lock:
            start = len(vm.buf)
        after = raw_between(vm, start, state)
        # The twin: a mount made outside is seen by the same check.
        with vm.lock:
            start = len(vm.buf)
        twin_state = raw_between(vm, start, "mount -t tmpfs none /mnt; " + state + "; umount /mnt; "
                                 "(setsid sleep 1000 </dev/null >/dev/null 2>&1 &); sleep 1; "
                                 "echo PS=$(ps | grep -c \"[s]leep 1000\"); pkill -x sleep")
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        # The menu after a rescan: the LUKS device's unlock line.
        with vm.lock:
            start = len(vm.buf)
        vm.sendline("d")
        vm.expect(r"unlock /dev/vdd[^\n]*\n(.|\n)*Choose \(key then Enter", timeout=120)
        with vm.lock:
            rescanned = vm.buf[start:]
        vm.sendline("p")
        assert vm.wait_exit(timeout=90) == 0

    # Nothing raw on the console, in any of them; the twin shows the check sees raw bytes.
    assert controls(twin) == ["0x1b", "0xe9"], twin
    for what, text in (("menu", menu), ("system page", page), ("--human", human), ("--json", as_json),
                       ("report", lines), ("log", log), ("rescanned menu", rescanned)):
        assert controls(text) == [], (what, controls(text), text[-3000:])
    # What is shown says what the bytes were (escaped, bounded).
    assert "ev\\x1b]0;pwned\\x07\\xe9il\\x0ax" in human, human
    assert "24.05\\x1b[5m\\xc2\\x9b\\xe9" in human, human
    assert "\\x1b[31mL\\xe9b" in human, human
    assert "/mnt/\\x1b[7mrev" in human and "/dev/vda9" in human, human
    assert "\\x1b[2Jhhhh" in human and "h" * 200 not in human, human  # the 10 KiB one, cut
    assert re.search(r"ev\\x1b\]0;pwned", menu) and "\\x1b[2Jhhh" in menu, menu
    assert "specialisation \\x1b[1mspec\\xe9" in page, page
    # The report lines and the JSON: exact bytes.
    recs = parse(lines)
    evil = [s for s in kind(recs, "system") if "pwned" in s["host"]]
    assert len(evil) == 1, kind(recs, "system")
    raw_sys = [w for w in lines.split("\n") if w.startswith("system ") and "pwned" in w][0]
    host_field = [w for w in raw_sys.split() if w.startswith("host=")][0]
    assert unescape_bytes(host_field[5:]) == HOST.split(b"\x00")[0], host_field
    doc = json.loads(as_json)
    js = [s for s in doc["systems"] if "pwned" in s["host"]][0]
    assert json_bytes(js, "host") == HOST.split(b"\x00")[0], js
    assert js["host"] == HOST.split(b"\x00")[0].decode("utf-8", "replace")
    assert json_bytes(js, "version") == VERSION and "version_hex" in js
    specs = [g for g in js["generations"] if g.get("specialisation")]
    assert [json_bytes(g, "specialisation") for g in specs] == [SPEC], specs
    assert any(json_bytes(m, "target") == b"/mnt/\x1b[7mrev" for m in js["mounts"]), js["mounts"]
    assert any(json_bytes(d, "label") == LABEL for d in doc["devices"]), doc["devices"]
    # Valid UTF-8 carries no _hex: the C1 control in the version is \u009b, not a raw byte.
    assert all("label_hex" not in d for d in doc["devices"] if d.get("label") == "big")
    assert any(p["what"] == "value" and NUL_AT in p["msg"] for p in js["problems"]), js
    big = [s for s in doc["systems"] if s["host"].startswith("\x1b[2Jhhh")][0]
    assert len(json_bytes(big, "host")) == 255
    assert any("10244 bytes long" in p["msg"] for p in big["problems"]), big["problems"]

    # The forging LUKS header: libblkid's UUID and exact label, the JSON's one pbkdf2 keyslot
    # (no 4 TiB forged one), the forged token type dropped; the menu shows the label escaped.
    assert re.fullmatch(r"[0-9a-f-]{36}", real_uuid), real_uuid
    lk = [x for x in doc["luks"] if x["path"] == "/dev/vdd"]
    assert len(lk) == 1, doc["luks"]
    assert lk[0]["uuid"] == real_uuid, (lk, real_uuid)
    assert json_bytes(lk[0], "label") == LUKS_LABEL, lk
    assert lk[0]["pbkdf"] == "pbkdf2" and not lk[0].get("memory") and not lk[0].get("tokens"), lk
    assert "\\x1b[31mL\\xe9b" in rescanned, rescanned[-2000:]

    # Entering: 150 mounts inside, the binds made, and nothing changed outside.
    assert re.search(rf"(?m)^{MANY}$", inside), inside
    assert "started" in inside and "PS=0" in inside, inside
    assert before == after, (before, after)
    assert re.search(r"(?m)^2$", before), before  # neither escape target exists
    assert twin_state.split("\n")[0] != before.split("\n")[0], (twin_state, before)
    assert "PS=1" in twin_state, twin_state
