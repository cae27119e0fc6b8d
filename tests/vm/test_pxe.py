"""PXE: a BIOS machine with no disk netboots from QEMU's built-in DHCP and TFTP server with the
iPXE ROM of its network card, either running out/lifeboat.ipxe or loading Debian's pxelinux.0,
which reads out/pxelinux.cfg/default. Both start lifeboat with its command line (both
consoles), served with the test's DEATH_ARGS added (see test_bootpaths.py); the twin shows a
missing script starts nothing."""
import os
import shutil

from test_bootpaths import reaches_menu_with_cmdline, with_death_args
from vm import OUT, VM


def tftp_root(top, config, keyword):
    """A TFTP folder with out/'s kernel and initrd, and out/'s config file (a path relative to
    out/) with DEATH_ARGS on its command line."""
    for name in ("bzImage", "initrd.img"):
        os.symlink(os.path.join(OUT, name), top / name)
    (top / config).parent.mkdir(parents=True, exist_ok=True)
    with open(os.path.join(OUT, config)) as f:
        (top / config).write_text(with_death_args(f.read(), keyword))
    return top


def test_pxe_ipxe_script(tmp_path):
    """SeaBIOS, iPXE's ROM for virtio-net, and QEMU's built-in DHCP and TFTP serving out/. No
    romfile= is given: QEMU's default ROM for virtio-net-pci is efi-virtio.rom from Debian's
    ipxe-qemu (found on its firmware path, /usr/lib/ipxe/qemu), and naming that same file by its
    path left SeaBIOS without a boot ROM for the card (QEMU 7.2, seen here)."""
    top = tftp_root(tmp_path, "lifeboat.ipxe", "kernel")
    net = ["-netdev", f"user,id=n,tftp={top},bootfile=lifeboat.ipxe",
           "-device", "virtio-net-pci,netdev=n,bootindex=1"]
    with VM(kernel="", initrd="", extra=net, mem=1024, name="bootpaths-pxe") as vm:
        vm.expect(r"lifeboat \S+: loading kernel and initrd", timeout=120)
        reaches_menu_with_cmdline(vm)


def test_pxe_without_script_does_not_start_lifeboat(tmp_path):
    """The twin: the same netboot from a TFTP folder without the script ends in the BIOS's
    "No bootable device", and no kernel starts."""
    net = ["-netdev", f"user,id=n,tftp={tmp_path},bootfile=lifeboat.ipxe",
           "-device", "virtio-net-pci,netdev=n,bootindex=1"]
    with VM(kernel="", initrd="", extra=net, name="bootpaths-pxe-noscript") as vm:
        vm.expect("No bootable device", timeout=120)
        assert "Linux version" not in vm.text()


PXELINUX = "/usr/lib/PXELINUX/pxelinux.0"
LDLINUX = "/usr/lib/syslinux/modules/bios/ldlinux.c32"


def test_pxe_pxelinux_config(tmp_path):
    """A plain PXE boot: iPXE's ROM acting as a PXE stack loads Debian's pxelinux.0, which reads
    out/pxelinux.cfg/default from the TFTP root (out/'s files beside pxelinux.0, as the README
    says to serve them)."""
    tftp_root(tmp_path, "pxelinux.cfg/default", "APPEND")
    for src in (PXELINUX, LDLINUX):
        shutil.copy(src, tmp_path)
    net = ["-netdev", f"user,id=n,tftp={tmp_path},bootfile=pxelinux.0",
           "-device", "virtio-net-pci,netdev=n,bootindex=1"]
    with VM(kernel="", initrd="", extra=net, mem=1024, name="bootpaths-pxelinux") as vm:
        vm.expect(r"PXELINUX \d", timeout=120)
        reaches_menu_with_cmdline(vm)
