"""kexec: `lifeboat boot` refuses a bad kernel clearly and keeps the shell, and the bundled
(demo) installer is reached through PID 1's clean shutdown and kexec."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from vm import BUILD, OUT, ROOT, Disk, VM

PROMPT = r"lifeboat:\S*# "
INSTALLER_MARK = "lifeboat-payload: lifeboat demo installer reached"


def shell(vm):
    vm.expect(r"Choose \(key then Enter", timeout=120)
    vm.sendline("s")
    vm.expect(PROMPT, timeout=30)


def run(vm, cmd, timeout=60):
    """Run cmd at the shell prompt; return (exit status, its output). The quotes split the
    markers in the echoed command line, so only the printed markers match."""
    tag = "%d" % int(time.monotonic() * 1000)
    vm.sendline(f"echo LBS''TART{tag}; {cmd}; echo LBE''ND{tag} $?")
    vm.expect(f"LBSTART{tag}\n", timeout=10)
    m = vm.expect(f"(?s)(.*)LBEND{tag} (\\d+)\r?\n", timeout=timeout)
    return int(m.group(2)), m.group(1)


def test_installer_bad_kernel_and_dry_run():
    with VM(mem=512) as vm:
        shell(vm)
        # A truncated kernel: a clear one-paragraph error, nothing loaded, the shell goes on.
        rc, out = run(vm, "head -c 65536 /installer/kernel > /tmp/bad && "
                      "lifeboat boot --kernel /tmp/bad --initrd /installer/initrd --cmdline x")
        assert rc == 5
        assert "lifeboat boot: cannot load the kernel /tmp/bad. The kernel file is truncated" in out
        rc, out = run(vm, "echo loaded=$(cat /sys/kernel/kexec_loaded) still-here-$((6*7))")
        assert out.strip() == "loaded=0 still-here-42"
        # The twin: run() sees only its own command's output.
        assert "truncated" not in out

        # Dry run: the plan with the console carried over, the memory check, nothing loaded.
        rc, out = run(vm, "lifeboat boot --installer --dry-run")
        assert rc == 0
        assert "lifeboat boot: lifeboat demo installer" in out
        assert "cmdline lifeboat.demo-installer console=ttyS0,115200" in out
        assert "dry run: nothing loaded" in out
        assert "MiB available" in out
        rc, out = run(vm, "echo loaded=$(cat /sys/kernel/kexec_loaded)")
        assert out.strip() == "loaded=0"

        # Too little memory (a sparse 1 GiB initrd on a 512 MiB machine): says how much is missing.
        rc, out = run(vm, "dd if=/dev/zero of=/tmp/big bs=1M count=0 seek=1024 2>/dev/null && "
                          "lifeboat boot --kernel /installer/kernel --initrd /tmp/big --cmdline x --dry-run")
        assert rc == 4, out
        m = re.search(r"the load needs about (\d+) MiB .* only (\d+) MiB is available, so (\d+) MiB is missing", out)
        assert m, out
        need, avail, missing = map(int, m.groups())
        kernel = os.path.getsize(os.path.join(BUILD, "installer", "kernel"))
        assert need == (2 * (kernel + (1 << 30)) + (32 << 20)) >> 20, out
        assert abs(missing - (need - avail)) <= 1, out

        # The real thing: loaded, files freed, PID 1 unmounts and jumps; the payload reports
        # the command line it was given.
        rc, out = run(vm, "rm /tmp/big")
        # From the menu, as a user would: its installer entry runs `lifeboat boot --installer`.
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=60)
        vm.sendline("i")
        vm.expect("Loading the installer...", timeout=30)
        vm.expect("loaded with kexec_file_load", timeout=60)
        vm.expect("installer files freed", timeout=10)
        vm.expect("lifeboat: kexec: stopping processes", timeout=30)
        # The twin: a wrong marker, looked for where the right one comes (the payload powers
        # off a second later: a wait after it would end with the VM, proving nothing).
        vm.expect_not("lifeboat-payload: some other installer reached", instead=INSTALLER_MARK, within=120)
        vm.expect(INSTALLER_MARK, timeout=10)
        vm.expect(r"lifeboat-payload cmdline: lifeboat.demo-installer console=ttyS0,115200", timeout=10)
        assert vm.wait_exit(timeout=60) == 0


def test_lockdown_refusal_is_explained():
    """Under lockdown (as with Secure Boot) the refusal is explained, kexec_load is not tried,
    nothing is loaded, and the shell goes on."""
    with VM(append="lockdown=integrity") as vm:
        shell(vm)
        rc, out = run(vm, "lifeboat boot --installer --load-only")
        assert rc == 5, out
        assert "lifeboat boot: cannot load lifeboat demo installer. The running kernel is locked " \
               "down (lockdown=integrity, normally because Secure Boot is on)" in out, out
        assert "kexec-tools" not in out and "kexec_load failed" not in out, out
        rc, out = run(vm, "echo loaded=$(cat /sys/kernel/kexec_loaded); ls /installer")
        assert out.split() == ["loaded=0", "cmdline", "initrd", "kernel", "name"], out


def test_kexec_load_fallback_reaches_the_installer():
    """Where kexec_file_load is missing (ENOSYS, here through the LIFEBOAT_KEXEC_FAULT seam), the
    bundled kexec-tools loads the installer with kexec_load, and the jump reaches it with its
    command line. Under lockdown the same fallback is never tried (the test above)."""
    with VM() as vm:
        shell(vm)
        vm.sendline("LIFEBOAT_KEXEC_FAULT=enosys lifeboat boot --installer")
        vm.expect(r"lifeboat boot: loaded with kexec-tools \(kexec_load\)\.", timeout=120)
        vm.expect("lifeboat-payload: lifeboat demo installer reached", timeout=120)
        vm.expect("lifeboat-payload cmdline: lifeboat.demo-installer console=ttyS0,115200")
        assert vm.wait_exit(timeout=60) == 0


def expected(fixture):
    with open(os.path.join(BUILD, "fixtures", fixture + ".expect.json")) as f:
        return json.load(f)["systems"][0]


def gen(system, number, profile="system"):
    return next(g for g in system["generations"] if g["number"] == number and g["profile"] == profile)


def partition(img, dev, workdir):
    """Copy one partition of a disk image out, for e2fsprogs to read."""
    part = os.path.join(workdir, "part%d.img" % dev["partition"])
    with open(img, "rb") as src, open(part, "wb") as dst:
        src.seek(dev["offset"])
        dst.write(src.read(dev["size"]))
    return part


def test_generation_boot_split_fixture(tmp_path):
    """A non-current generation of the split layout (/nix on its own partition) is booted with
    exactly its own command line; the disk is unmounted before the jump, and a file written to a
    mounted file system before the jump is there afterwards, with the file system clean."""
    gamma = expected("split")
    g5 = gen(gamma, 5)
    rescue2 = gen(gamma, 2, "rescue")
    gaming = next(s for s in gen(gamma, 7)["specialisations"] if s["name"] == "gaming")
    img = str(tmp_path / "split.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(BUILD, "fixtures", "split.img"), img], check=True)
    with VM(disks=[Disk(img)], mem=512) as vm:
        shell(vm)
        rc, out = run(vm, "lifeboat boot --system gamma --generation 5 --dry-run", timeout=120)
        assert rc == 0, out
        assert f"  cmdline {g5['cmdline']}\n" in out
        assert f"  kernel  {g5['kernel']}" in out
        rc, out = run(vm, "lifeboat boot --system gamma --profile rescue --generation 2 --dry-run")
        assert rc == 0, out
        assert f"  cmdline {rescue2['cmdline']}\n" in out
        rc, out = run(vm, "lifeboat boot --system 1 --specialisation gaming --append x=1 --dry-run")
        assert rc == 0, out
        assert f"  cmdline {gaming['cmdline']} x=1\n" in out
        # A dangling generation and an unknown system are refused with a reason.
        rc, out = run(vm, "lifeboat boot --system gamma --generation 3 --dry-run")
        assert rc == 3 and "is dangling" in out, out
        rc, out = run(vm, "lifeboat boot --system nosuchhost --dry-run")
        assert rc == 3 and "--system nosuchhost matches no system found" in out, out
        assert "found: 1 (gamma) on /dev/vda2" in out, out
        # The menu passes the system's key with its id: an id that has come to mean another
        # system (here: a store on a disk that is not there) is refused, not booted. The
        # menu-driven boots and enters elsewhere are the twin: they pass the right key.
        rc, out = run(vm, "lifeboat boot --system 1 --expect /dev/vdz9//// --generation 5 --dry-run")
        assert rc == 3 and "--system 1 is no longer the system chosen (on /dev/vdz9)" in out, out
        rc, out = run(vm, "lifeboat enter --id 1 --expect /dev/vdz9//// -c true")
        assert rc == 1 and "--id 1 is no longer the system chosen (on /dev/vdz9)" in out, out

        # Loaded, then nothing of the disk is mounted in any namespace; the twin proves the
        # check sees a mount when there is one.
        rc, out = run(vm, "lifeboat boot --system gamma --generation 5 --load-only", timeout=120)
        assert rc == 0 and "loaded with kexec_file_load" in out, out
        count = "cat /proc/[0-9]*/mountinfo | grep -c ' /dev/vda'"
        rc, out = run(vm, count)
        assert out.strip() == "0", out
        rc, out = run(vm, f"mount -o ro /dev/vda4 /mnt && {count}; umount /mnt")
        assert out.strip() != "0", out

        # Initrd secrets: the boot loader's copy on the ESP is used, and the user is told.
        rc, out = run(vm, "lifeboat scan > /tmp/r && sed '/^generation system=1 profile=system number=5 /"
                          "{s/ secrets=[^ ]*//;s/$/ secrets=1/}' /tmp/r > /tmp/r5 && "
                          "LIFEBOAT_SCAN_REPORT=/tmp/r5 lifeboat boot --system gamma --generation 5 --dry-run",
                      timeout=120)
        assert rc == 0, out
        assert "note: this generation uses initrd secrets: kernel, initrd and options come from the " \
               "boot loader's copy on the ESP (/dev/vda1:/loader/entries/nixos-generation-5.conf)" in out, out
        assert "  kernel  /dev/vda1:/EFI/nixos/" in out and f"  cmdline {g5['cmdline']}\n" in out, out

        # A file system left mounted read-write with fresh data: PID 1 must sync and unmount it.
        rc, out = run(vm, "mount -t ext4 /dev/vda3 /mnt && echo kept-across-kexec > /mnt/lifeboat-note")
        assert rc == 0, out
        vm.sendline("lifeboat boot --system gamma --generation 5")
        vm.expect("lifeboat: kexec: stopping processes", timeout=120)
        vm.expect(f"lifeboat-payload: {g5['payload']} reached", timeout=120)
        m = vm.expect(r"lifeboat-payload cmdline: (.*)\n", timeout=10)
        assert m.group(1).strip() == g5["cmdline"]
        assert vm.wait_exit(timeout=60) == 0
    home = next(d for d in json.load(open(os.path.join(BUILD, "fixtures", "split.expect.json")))["devices"]
                if d["label"] == "home")
    part = partition(img, home, str(tmp_path))
    cat = subprocess.run(["debugfs", "-R", "cat /lifeboat-note", part], capture_output=True, text=True)
    assert cat.stdout == "kept-across-kexec\n", cat.stderr
    head = subprocess.run(["dumpe2fs", "-h", part], capture_output=True, text=True).stdout
    assert re.search(r"Filesystem state:\s+clean\n", head), head
    assert "needs_recovery" not in head, head
    # The twin: the check does see a file system that was not cleanly unmounted.
    dirty = next(d for d in json.load(open(os.path.join(BUILD, "fixtures", "dirty.expect.json")))["devices"]
                 if d["type"] == "ext4")
    head = subprocess.run(["dumpe2fs", "-h", partition(os.path.join(BUILD, "fixtures", "dirty.img"), dirty,
                                                       str(tmp_path))], capture_output=True, text=True).stdout
    assert "needs_recovery" in head


def test_generation_with_initrd_secrets_boots_the_esp_copy():
    """The f2fs fixture's current generation uses initrd secrets (found by the scan: its
    toplevel's append-initrd-secrets and boot.json's initrdSecrets, nothing injected): its
    store initrd lacks them, so the boot takes kernel, initrd and options from systemd-boot's
    entry on the ESP, says so, and the payload that comes up is the ESP's. The twin: generation
    3, without secrets, boots the store's files and no note is given."""
    if not os.path.exists(os.path.join(BUILD, "fixtures", "f2fs.img")):
        pytest.skip("fixtures missing: run make fixtures")
    kappa = expected("f2fs")
    g4, g3 = gen(kappa, 4), gen(kappa, 3)
    assert g4["secrets"] and not g3["secrets"]
    with VM(disks=[Disk(os.path.join(BUILD, "fixtures", "f2fs.img"), snapshot=True)], mem=512) as vm:
        shell(vm)
        rc, out = run(vm, "lifeboat scan 2>/dev/null | grep '^generation system=1 profile=system '", timeout=120)
        found = {m.group(1): m.group(2) for m in re.finditer(r" number=(\d+) .* specialisation=- .* secrets=([01])", out)}
        assert found == {"1": "0", "2": "0", "3": "0", "4": "1"}, out
        rc, out = run(vm, "lifeboat boot --system kappa --generation 3 --dry-run", timeout=120)
        assert rc == 0 and f"  kernel  {g3['kernel']}" in out and "initrd secrets" not in out, out
        rc, out = run(vm, "lifeboat boot --system kappa --dry-run", timeout=120)
        assert rc == 0, out
        assert "note: this generation uses initrd secrets: kernel, initrd and options come from the " \
               "boot loader's copy on the ESP (/dev/vda1:/loader/entries/nixos-generation-4.conf)" in out, out
        assert "  kernel  /dev/vda1:/EFI/nixos/" in out and f"  cmdline {g4['cmdline']}\n" in out, out
        vm.sendline("lifeboat boot --system kappa")
        vm.expect("lifeboat: kexec: stopping processes", timeout=120)
        vm.expect_not(f"lifeboat-payload: {g4['payload']} reached",
                      instead=f"lifeboat-payload: {g4['esp_payload']} reached", within=120)
        m = vm.expect(r"lifeboat-payload cmdline: (.*)\n", timeout=10)
        assert m.group(1).strip() == g4["cmdline"]
        assert vm.wait_exit(timeout=60) == 0


def kexec_boot_dry(*args, host_cmdline="BOOT_IMAGE=/vmlinuz console=tty0 console=ttyS1,57600n8 quiet"):
    with tempfile.NamedTemporaryFile("w", suffix=".cmdline") as f:
        f.write(host_cmdline + "\n")
        f.flush()
        env = dict(os.environ, KEXEC_BOOT_HOST_CMDLINE=f.name)
        p = subprocess.run([os.path.join(OUT, "kexec-boot"), "--dry-run", *args], env=env,
                           capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_kexec_boot_dry_run_without_vm():
    """--dry-run prints the commands: consoles carried over, lifeboat.* options and extra
    parameters passed on, kexec_file_load first and kexec_load only as the stated fallback."""
    rc, out, err = kexec_boot_dry("--delay", "3", "lifeboat.debug", "lifeboat.timeout=9", "--", "quiet")
    assert rc == 0, err
    k = os.path.join(OUT, "kexec")
    want = "'--command-line=console=tty0 console=ttyS1,57600n8 lifeboat.debug lifeboat.timeout=9 quiet'"
    lines = out.splitlines()
    load = [i for i, l in enumerate(lines) if " -s -l " in l]
    assert len(load) == 1 and lines[load[0]].endswith(want), out
    assert lines[load[0] + 1].startswith("# only when kexec_file_load is unsupported"), out
    assert " -l " in lines[load[0] + 2] and " -s " not in lines[load[0] + 2], out
    assert lines[-3:] == ["sleep 3", "sync", (shutil.which("kexec") or k) + " -e"], out
    assert "/etc/lifeboat/host/" in out
    # Without host data the image itself is loaded; without consoles on the host none are made up.
    rc, out, err = kexec_boot_dry("--no-host-data", host_cmdline="root=/dev/sda1")
    assert rc == 0, err
    assert f" -s -l {os.path.join(OUT, 'bzImage')} --initrd={os.path.join(OUT, 'initrd.img')} --command-line=\n" in out, out
    # The twin: an unknown argument is refused, not passed on.
    rc, out, err = kexec_boot_dry("--bogus")
    assert rc == 2 and "unknown argument '--bogus'" in err


@pytest.fixture(scope="module")
def out_disk(tmp_path_factory):
    """An ext4 disk holding the out/ tree, as a user would copy it to a broken host."""
    tree = tmp_path_factory.mktemp("outtree")
    for f in ("bzImage", "initrd.img", "kexec", "kexec-boot"):
        shutil.copy2(os.path.join(OUT, f), tree / f)
    img = str(tmp_path_factory.mktemp("disk") / "out.img")
    subprocess.run(["mkfs.ext4", "-q", "-L", "lifeboat-out", "-d", str(tree), img, "64M"], check=True,
                   env=dict(os.environ, E2FSPROGS_FAKE_TIME=os.environ.get("SOURCE_DATE_EPOCH", "1")))
    return img


def test_kexec_boot_from_running_lifeboat(out_disk):
    """A running Linux with kexec (lifeboat itself) runs out/kexec-boot: lifeboat comes up again
    with the host's console and the given lifeboat.* option, and the host data it carried. The
    second boot gets the suite's panic=1 oops=panic as extra parameters (after --)."""
    with VM(disks=[Disk(out_disk, snapshot=True)], mem=768) as vm:
        shell(vm)
        rc, out = run(vm, "mount -t ext4 -o ro /dev/vda /mnt && echo first-boot-$(cat /proc/sys/kernel/random/boot_id)")
        assert rc == 0, out
        first = out.strip()
        rc, out = run(vm, "mkdir -p /root/.ssh && echo 'ssh-ed25519 AAAAC3test lifeboat-test' "
                          "> /root/.ssh/authorized_keys")
        # A host without kexec on its PATH: the static one next to the script is used.
        vm.sendline("PATH=/bin:/usr/bin /mnt/kexec-boot --delay 1 lifeboat.debug -- panic=1 oops=panic")
        vm.expect(r"kexec-boot:   cmdline console=ttyS0,115200 lifeboat.debug panic=1 oops=panic\n", timeout=60)
        vm.expect(r"kexec-boot:   kexec   /mnt/kexec \(lockdown: none\)", timeout=10)
        vm.expect("kexec-boot: in 1 seconds this system stops", timeout=60)
        vm.expect(r"lifeboat \S+ starting", timeout=120)
        shell(vm)
        rc, out = run(vm, "echo first-boot-$(cat /proc/sys/kernel/random/boot_id); cat /proc/cmdline; "
                          "cat /etc/lifeboat/host/hostname /etc/lifeboat/host/authorized_keys")
        assert rc == 0, out
        lines = out.splitlines()
        assert lines[0] != first          # the twin of "it came up again": a new kernel booted
        assert lines[1].strip() == "console=ttyS0,115200 lifeboat.debug panic=1 oops=panic"
        assert lines[2].strip() == "lifeboat"
        assert lines[3].strip() == "ssh-ed25519 AAAAC3test lifeboat-test"


def installer_build(tmp_path, **env):
    out = tmp_path / "inst"
    e = {k: v for k, v in os.environ.items() if not k.startswith("INSTALLER")}
    e.update(env)
    p = subprocess.run([os.path.join(ROOT, "tools", "installer.sh"), str(out),
                        os.path.join(BUILD, "payload-init"), os.path.join(OUT, "bzImage"),
                        os.path.join(BUILD, "installer-cmdline")], env=e, capture_output=True, text=True)
    return p, out


def test_installer_sources_without_vm(tmp_path):
    """Every way of choosing the installer at build time: a NixOS kexec tarball (parameters from
    its run script), a folder, the parts one by one, and the demo; bad input stops the build."""
    src = tmp_path / "src"
    (src / "kexec").mkdir(parents=True)
    (src / "kexec" / "bzImage").write_bytes(b"K" * 100)
    (src / "kexec" / "initrd").write_bytes(b"I" * 50)
    (src / "kexec" / "run").write_text(
        '#!/bin/sh\ninit="/nix/store/aaa-nixos-system-nixos-kexec/init"\n'
        'kernelParams="console=tty0 panic=30 boot.panic_on_fail"\n'
        "sh -c \"'$SCRIPT_DIR/kexec' --load '$SCRIPT_DIR/bzImage' --command-line 'init=$init $kernelParams'\"\n")
    tarball = tmp_path / "nixos-kexec-installer.tar.gz"
    subprocess.run(["tar", "-czf", str(tarball), "-C", str(src), "kexec"], check=True)
    p, out = installer_build(tmp_path, INSTALLER=str(tarball))
    assert p.returncode == 0, p.stderr
    assert (out / "cmdline").read_text() == \
        "init=/nix/store/aaa-nixos-system-nixos-kexec/init console=tty0 panic=30 boot.panic_on_fail\n"
    assert (out / "kernel").read_bytes() == b"K" * 100 and (out / "initrd").read_bytes() == b"I" * 50
    info = (out / "INFO").read_text()
    assert "source INSTALLER=" in info and "name NixOS kexec installer" in info

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "vmlinuz").write_bytes(b"V" * 10)
    (folder / "initrd").write_bytes(b"R" * 10)
    (folder / "cmdline").write_text("ip=dhcp\n")
    p, out = installer_build(tmp_path, INSTALLER=str(folder))
    assert p.returncode == 0, p.stderr
    assert (out / "kernel").read_bytes() == b"V" * 10 and (out / "cmdline").read_text() == "ip=dhcp\n"

    p, out = installer_build(tmp_path, INSTALLER_KERNEL=str(folder / "vmlinuz"), INSTALLER_CMDLINE="a=1 b")
    assert p.returncode == 0, p.stderr
    assert (out / "cmdline").read_text() == "a=1 b\n" and not (out / "initrd").exists()

    p, out = installer_build(tmp_path)
    assert p.returncode == 0, p.stderr
    assert (out / "name").read_text() == "lifeboat demo installer\n"
    assert (out / "kernel").read_bytes() == open(os.path.join(OUT, "bzImage"), "rb").read()

    # The twins: a run script whose template nix never filled in, and a missing file.
    (src / "kexec" / "run").write_text('init="@init@"\nkernelParams="@kernelParams@"\n')
    p, out = installer_build(tmp_path, INSTALLER=str(src))
    assert p.returncode != 0 and "cannot find the kernel parameters" in p.stderr
    p, out = installer_build(tmp_path, INSTALLER_KERNEL=str(tmp_path / "nope"))
    assert p.returncode != 0 and "no such file" in p.stderr
