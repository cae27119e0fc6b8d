"""PXE: a BIOS machine with no disk netboots out/ with iPXE (the ROM of its network card),
fetches out/lifeboat.ipxe from QEMU's built-in TFTP server, and the script starts lifeboat with
its command line (both consoles)."""
from test_bootpaths import reaches_menu_with_cmdline
from vm import OUT, VM


def test_pxe_ipxe_script():
    """SeaBIOS, iPXE's ROM for virtio-net, and QEMU's built-in DHCP and TFTP serving out/. No
    romfile= is given: QEMU's default ROM for virtio-net-pci is efi-virtio.rom from Debian's
    ipxe-qemu (found on its firmware path, /usr/lib/ipxe/qemu), and naming that same file by its
    path left SeaBIOS without a boot ROM for the card (QEMU 7.2, seen here)."""
    net = ["-netdev", f"user,id=n,tftp={OUT},bootfile=lifeboat.ipxe",
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
