"""Boot paths: the artifacts in out/ start lifeboat without QEMU's -kernel, the way a machine
does: OVMF running the UKI as the removable-media loader, OVMF running systemd-boot with the
entry `make install-boot-entry` installed, OVMF running Debian's GRUB with the 40_lifeboat
snippet (PXE: see test_pxe.py). Each boot checks that the menu appears and that the kernel
got the artifact's command line (both consoles). The ESP images are built once per session
from out/.

Every boot of the suite runs with panic=1 oops=panic (vm.BOOT_ARGS), so that a death ends it
at once; the artifacts carry the command line users get, which must not (a rescue machine that
reboots after an oops loses the message and the rescue system), so these tests boot copies that
differ from out/'s files only by those two words on the command line (checked for the UKI).

Twins: systemd-boot from an ESP without the entry shows no lifeboat and starts no kernel, and every boot checks a
marker that never appears times out (the harness can fail on these boots too)."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from vm import BUILD, OUT, ROOT, VM, Disk, Timeout, esp_image, ovmf_args

CMDLINE = "console=tty0 console=ttyS0,115200"
DEATH_ARGS = "panic=1 oops=panic"
MENU = r"Choose \(key then Enter"
# One folder per pytest-xdist worker: each worker builds its own images (seconds), none races.
ESPDIR = os.path.join(BUILD, "esp", os.environ.get("PYTEST_XDIST_WORKER", "main"))
SDBOOT = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
EFI_STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"


def with_death_args(text, keyword):
    """text (an entry or script) with DEATH_ARGS appended to its one command-line line, the line
    starting with keyword (options, linux, kernel, APPEND)."""
    rx = re.compile(rf"(?m)^(\s*{keyword}\s.*)$")
    assert len(rx.findall(text)) == 1, text
    return rx.sub(lambda m: m.group(1) + " " + DEATH_ARGS, text)


def pe_sections(path):
    """The sections of a PE file: name -> bytes (a section's data, without the file's padding)."""
    data = open(path, "rb").read()
    pe = int.from_bytes(data[0x3c:0x40], "little")
    count = int.from_bytes(data[pe + 6:pe + 8], "little")
    table = pe + 24 + int.from_bytes(data[pe + 20:pe + 22], "little")
    out = {}
    for i in range(count):
        h = data[table + 40 * i:table + 40 * (i + 1)]
        vsize, raw_size, raw_at = (int.from_bytes(h[o:o + 4], "little") for o in (8, 16, 20))
        out[h[:8].rstrip(b"\0").decode()] = data[raw_at:raw_at + min(vsize or raw_size, raw_size)]
    return out


def uki_with_death_args(path):
    """out/lifeboat.efi with DEATH_ARGS on its command line: made by tools/mkuki.sh from the same
    parts, and checked to differ from the shipped file in .cmdline alone."""
    cmdline = path + ".cmdline"
    with open(os.path.join(BUILD, "boot-cmdline")) as f:
        shipped = f.read()
    with open(cmdline, "w") as f:
        f.write(shipped + " " + DEATH_ARGS)
    subprocess.run([os.path.join(ROOT, "tools", "mkuki.sh"), EFI_STUB, os.path.join(OUT, "bzImage"),
                    os.path.join(OUT, "initrd.img"), cmdline, os.path.join(BUILD, "os-release"), path],
                   check=True)
    ours, theirs = pe_sections(path), pe_sections(os.path.join(OUT, "lifeboat.efi"))
    assert theirs[".cmdline"] == shipped.encode() and shipped == CMDLINE
    assert ours[".cmdline"] == (shipped + " " + DEATH_ARGS).encode()
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        if name != ".cmdline":
            assert ours[name] == theirs[name], name
    return path


def files_under(top, prefix=""):
    """Map every file below top to its path relative to top (for esp_image)."""
    out = {}
    for d, _, fs in os.walk(top):
        for f in fs:
            full = os.path.join(d, f)
            out[prefix + os.path.relpath(full, top)] = full
    return out


@pytest.fixture(scope="session")
def esps():
    os.makedirs(ESPDIR, exist_ok=True)
    imgs = {}
    imgs["uki"] = esp_image(os.path.join(ESPDIR, "uki.img"),
                            {"EFI/BOOT/BOOTX64.EFI": uki_with_death_args(os.path.join(ESPDIR, "lifeboat.efi"))})
    # systemd-boot: the ESP gets exactly what `make install-boot-entry` puts there. KERNEL is
    # passed on so that a stale file never makes this rebuild the image with another kernel.
    staged = tempfile.mkdtemp(dir=ESPDIR)
    try:
        subprocess.run(["make", "-s", "--no-print-directory", "install-boot-entry", "ESP=" + staged,
                        "OUT=" + OUT, "BUILD=" + BUILD, "KERNEL=" + os.environ.get("KERNEL", "debian")],
                       cwd=ROOT, check=True)
        installed = files_under(staged)
        assert sorted(installed) == ["lifeboat/bzImage", "lifeboat/initrd.img",
                                     "loader/entries/lifeboat.conf"]
        installed["EFI/BOOT/BOOTX64.EFI"] = SDBOOT
        entry = os.path.join(staged, "lifeboat.conf")
        with open(installed["loader/entries/lifeboat.conf"]) as src, open(entry, "w") as dst:
            dst.write(with_death_args(src.read(), "options"))
        installed["loader/entries/lifeboat.conf"] = entry
        imgs["sdboot"] = esp_image(os.path.join(ESPDIR, "sdboot.img"), installed)
        # The twin: the same ESP without the entry must not start lifeboat.
        del installed["loader/entries/lifeboat.conf"]
        imgs["sdboot-noentry"] = esp_image(os.path.join(ESPDIR, "sdboot-noentry.img"), installed)
        # GRUB: Debian's EFI GRUB modules, built into one image whose config is the snippet.
        cfg = os.path.join(staged, "grub.cfg")
        with open(os.path.join(OUT, "grub", "40_lifeboat")) as f:
            snippet = f.read().split("\n", 2)[2]
        with open(cfg, "w") as f:
            f.write("set timeout=0\nset default=lifeboat\n" + with_death_args(snippet, "linux"))
        grub = os.path.join(staged, "grubx64.efi")
        subprocess.run(["grub-mkstandalone", "-O", "x86_64-efi", "-o", grub,
                        "--install-modules=part_gpt part_msdos fat search search_fs_file linux "
                        "normal echo test",
                        "--modules=part_gpt part_msdos fat", "--locales=", "--fonts=", "--themes=",
                        "boot/grub/grub.cfg=" + cfg], check=True)
        imgs["grub"] = esp_image(os.path.join(ESPDIR, "grub.img"), {
            "EFI/BOOT/BOOTX64.EFI": grub,
            "lifeboat/bzImage": os.path.join(staged, "lifeboat", "bzImage"),
            "lifeboat/initrd.img": os.path.join(staged, "lifeboat", "initrd.img")})
    finally:
        shutil.rmtree(staged)
    return imgs


def efi_vm(esp, name):
    return VM(disks=[Disk(esp, snapshot=True)], kernel="", initrd="", machine="q35", mem=1024,
              extra=ovmf_args(os.path.join(ESPDIR, f"vars-{name}.fd")), name=f"bootpaths-{name}")


def reaches_menu_with_cmdline(vm):
    """The kernel reports the artifact's command line (and the test's DEATH_ARGS), lifeboat's
    menu appears, and power-off ends the VM cleanly (ACPI works on this path too)."""
    want = CMDLINE + " " + DEATH_ARGS
    vm.expect(r"Command line: (?:\S+ )*?" + want.replace(" ", r" (?:\S+ )*?"), timeout=240)
    vm.expect(r"lifeboat \S+ starting", timeout=120)
    vm.expect(MENU, timeout=120)
    with pytest.raises(Timeout):
        vm.expect("THIS-MARKER-NEVER-APPEARS", timeout=2)
    vm.sendline("p")
    assert vm.wait_exit(timeout=60) == 0


def test_uki_as_removable_loader(esps):
    with efi_vm(esps["uki"], "uki") as vm:
        vm.expect("EFI stub: Loaded initrd", timeout=240)
        reaches_menu_with_cmdline(vm)


def test_systemd_boot_with_installed_entry(esps):
    with efi_vm(esps["sdboot"], "sdboot") as vm:
        reaches_menu_with_cmdline(vm)


def test_systemd_boot_without_entry_does_not_start_lifeboat(esps):
    """The twin: without the entry, systemd-boot shows its own menu with nothing but its
    built-in firmware entry, and no kernel starts."""
    with efi_vm(esps["sdboot-noentry"], "sdboot-noentry") as vm:
        vm.expect("Reboot Into Firmware Interface", timeout=120)
        assert "Linux version" not in vm.text() and "lifeboat" not in vm.text()


def test_grub_with_snippet(esps):
    with efi_vm(esps["grub"], "grub") as vm:
        reaches_menu_with_cmdline(vm)
