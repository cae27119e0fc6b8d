"""The self-built kernel (make KERNEL=source): one boot with a small disk on every bus checks
that the drivers and filesystems of kernel-config/ are built in, that the image carries no
modules and the device worker says so calmly, and that power-off works. Skipped unless the
image in OUT was built with KERNEL=source (make check-kernel-source runs it)."""
import os
import re

import pytest

from vm import BUILD, VM, Disk

SOURCE = os.path.join(BUILD, "kernel", "SOURCE")
pytestmark = pytest.mark.skipif(
    not (os.path.exists(SOURCE) and open(SOURCE).read().startswith("kernel linux-source")),
    reason="the image was not built with KERNEL=source")

BUSES = ["virtio", "ahci", "nvme", "scsi", "usb"]
FILESYSTEMS = ["ext4", "btrfs", "xfs", "vfat", "f2fs", "iso9660", "squashfs", "overlay"]


@pytest.fixture(scope="module")
def blank_disks(tmp_path_factory):
    d = tmp_path_factory.mktemp("disks")
    paths = []
    for bus in BUSES:
        p = d / f"{bus}.img"
        with open(p, "wb") as f:
            f.truncate(1 << 20)
        paths.append(Disk(str(p), bus=bus, serial=f"lb{bus}"))
    return paths


def run(vm, cmd):
    """Run cmd in the shell; return (status, output)."""
    start = len(vm.text())
    m = vm.shell(cmd)
    out = vm.text()[start:]
    return int(m.group(1)), out


def test_built_in_drivers_no_modules_and_poweroff(blank_disks):
    with VM(disks=blank_disks, mem=768) as vm:
        vm.expect(r"Linux version \S+-lifeboat ", timeout=60)
        vm.expect(r"kernel without loadable modules: every driver is built in", timeout=120)
        vm.expect(r"Choose \(key then Enter", timeout=120)
        assert not re.search(r"lifeboat: (warning|error):", vm.text()), vm.tail()
        vm.sendline("s")
        vm.expect(r"lifeboat:\S*# ", timeout=30)
        # One disk per bus, each found by a built-in driver. usb-storage waits a second
        # (delay_use) before it scans a new device, which can be after devices "settled":
        # give the USB disk up to 10 s.
        status, out = run(vm, "i=0; while [ $(ls -d /sys/block/sd? | wc -l) -lt 3 ] && "
                              "[ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done; ls /sys/block")
        assert status == 0
        blocks = out.split()
        for name in ("vda", "sda", "nvme0n1"):
            assert name in blocks, out
        # ahci, scsi and usb disks are all sd*: three of them.
        assert len([b for b in blocks if re.fullmatch(r"sd[a-z]", b)]) == 3, out
        status, out = run(vm, "cat /proc/filesystems")
        for fs in FILESYSTEMS:
            assert re.search(r"\b%s\b" % fs, out), (fs, out)
        # dm-crypt and md: their control nodes exist without loading anything.
        assert run(vm, "test -e /dev/mapper/control && test -e /proc/mdstat")[0] == 0
        # No modules anywhere: no module support, an empty /lib/modules.
        assert run(vm, "test ! -e /proc/modules && test -z \"$(ls -A /lib/modules)\"")[0] == 0
        # The twin: a check of something absent fails.
        assert run(vm, "test -e /sys/block/vdz")[0] == 1
        vm.sendline("exit")
        vm.expect(r"Choose \(key then Enter", timeout=30)
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0
