"""kexec: `lifeboat boot` refuses a bad kernel clearly and keeps the shell, and the bundled
(demo) installer is reached through PID 1's clean shutdown and kexec."""
import json
import os
import time

import pytest

from vm import BUILD, Disk, VM, Timeout

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
    m = vm.expect(f"(?s)(.*)LBEND{tag} (\\d+)", timeout=timeout)
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

        # The real thing: loaded, files freed, PID 1 unmounts and jumps; the payload reports
        # the command line it was given.
        vm.sendline("lifeboat boot --installer")
        vm.expect("loaded with kexec_file_load", timeout=60)
        vm.expect("installer files freed", timeout=10)
        vm.expect("lifeboat: kexec: stopping processes", timeout=30)
        vm.expect(INSTALLER_MARK, timeout=120)
        vm.expect(r"lifeboat-payload cmdline: lifeboat.demo-installer console=ttyS0,115200", timeout=10)
        # The twin: the harness would notice a wrong marker.
        with pytest.raises(Timeout):
            vm.expect("lifeboat-payload: some other installer reached", timeout=2)
        assert vm.wait_exit(timeout=60) == 0


def expected(fixture):
    with open(os.path.join(BUILD, "fixtures", fixture + ".expect.json")) as f:
        return json.load(f)["systems"][0]


def gen(system, number, profile="system"):
    return next(g for g in system["generations"] if g["number"] == number and g["profile"] == profile)


def test_generation_boot_split_fixture():
    """A non-current generation of the split layout (/nix on its own partition) is booted with
    exactly its own command line; the disk is unmounted before the jump."""
    gamma = expected("split")
    g5 = gen(gamma, 5)
    rescue2 = gen(gamma, 2, "rescue")
    gaming = next(s for s in gen(gamma, 7)["specialisations"] if s["name"] == "gaming")
    disk = Disk(os.path.join(BUILD, "fixtures", "split.img"), snapshot=True)
    with VM(disks=[disk], mem=512) as vm:
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
        assert rc == 3 and "no NixOS system matches 'nosuchhost'; found: 1 (gamma)" in out, out

        # Loaded, then nothing of the disk is mounted in any namespace; the twin proves the
        # check sees a mount when there is one.
        rc, out = run(vm, "lifeboat boot --system gamma --generation 5 --load-only", timeout=120)
        assert rc == 0 and "loaded with kexec_file_load" in out, out
        count = "cat /proc/[0-9]*/mountinfo | grep -c ' /dev/vda'"
        rc, out = run(vm, count)
        assert out.strip() == "0", out
        rc, out = run(vm, f"mount -o ro /dev/vda4 /mnt && {count}; umount /mnt")
        assert out.strip() != "0", out

        vm.sendline("lifeboat boot --system gamma --generation 5")
        vm.expect("lifeboat: kexec: stopping processes", timeout=120)
        vm.expect(f"lifeboat-payload: {g5['payload']} reached", timeout=120)
        m = vm.expect(r"lifeboat-payload cmdline: (.*)\n", timeout=10)
        assert m.group(1).strip() == g5["cmdline"]
        assert vm.wait_exit(timeout=60) == 0
