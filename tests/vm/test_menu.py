"""The console menu on the real image, over a hand-written scan report (the LIFEBOAT_SCAN_REPORT
seam, passed to PID 1 as an environment variable on the kernel command line): the lines for two
systems, keys and arrows, escaping of a hostile host name, the countdown and lifeboat.default."""
import os
import re

import pytest

from extra_initrd import initrd_with
from vm import ROOT, VM, Timeout

REPORT = open(os.path.join(ROOT, "tests", "menu", "two-systems.report")).read()
SEAM = "LIFEBOAT_SCAN_REPORT=/menu-test.report"
DOWN = "\x1b[B"


def boot(append=""):
    return VM(initrd=initrd_with({"/menu-test.report": REPORT}), append=SEAM + " " + append)


def test_menu_keys_arrows_escaping():
    # A wrong lifeboat.system= gives a clear message, then the menu.
    with boot("lifeboat.default=enter lifeboat.system=nosuch lifeboat.timeout=0") as vm:
        vm.expect("Scanning disks...", timeout=120)
        vm.expect(r"lifeboat.system=nosuch matches no system found")
        vm.expect(r"Disks: 5   NixOS systems: 2   Problems: 1")
        vm.expect(r"(?m)^1\)   > laptop +24\.05\.20240501\.abcdef  gen 3 +/dev/vda2$")
        # The hostile host name arrives escaped: no ESC byte reaches the console.
        vm.expect(r"(?m)^2\)     \\x1b\[2Jevil\\x07\.\.\. 23\.11\.7 +gen 7 +/dev/vdb1$")
        vm.expect(r"(?m)^i\)     boot lifeboat demo installer \(kexec\)$")
        vm.expect(r"(?m)^p\)     power off$")
        vm.expect(r"Choose \(key then Enter")
        menu_out = vm.buf[vm.buf.index("Scanning disks..."):]  # SeaBIOS clears the screen itself
        assert "\x1b" not in menu_out and "\x07" not in menu_out
        with pytest.raises(Timeout):  # the twin: a third system line never shows
            vm.expect(r"(?m)^3\)  ", timeout=2)

        # Key then Enter opens a system's page, generations newest first, current marked.
        vm.sendline("1")
        vm.expect(r"laptop - NixOS 24\.05\.20240501\.abcdef, 3 generations")
        vm.expect(r"(?m)^e\)   > enter laptop: a shell in generation 3 \(current\)")
        vm.expect(r"(?m)^3\)     \* 2024-05-01 10:40 .*\(current\)\n3a\) .*gaming\n2\) .*corrupt.*\n1\) ")
        vm.expect(r"(?m)^m\)     back to the main menu")
        vm.expect("Choose")
        vm.sendline("m")
        vm.expect(r"(?m)^1\)   > laptop")
        # Arrows and Enter: down once, Enter opens the second system.
        vm.send(DOWN)
        vm.expect(r"(?m)^2\)   > \\x1b\[2Jevil")
        vm.expect("Choose")
        vm.sendline("")
        vm.expect(r"(?m)\\x1b\[2Jevil\\x07host - NixOS 23\.11\.7, 1 generation$")
        vm.expect("Choose")
        # Boot shows the generation's command line, escaped, and Ctrl-C goes back.
        vm.sendline("b")
        vm.expect(r"(?m)Kernel command line of generation 7:\ninit=/nix/store/e+-nixos-system-evil-23\.11\.7/init console=ttyS0\\x1b\[2J$")
        vm.expect("Press Enter to boot with it")
        vm.send("\x03")
        vm.expect("Cancelled.")
        vm.expect("Choose")
        vm.sendline("zz")
        vm.expect("No choice 'zz' here.")
        vm.expect("Choose")
        vm.sendline("m")
        vm.expect("Choose")
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0


def test_countdown_stops_on_a_key_and_default_runs():
    with boot("lifeboat.default=shell lifeboat.timeout=30") as vm:
        vm.expect(r"lifeboat.default: shell in 30 s; press any key for the menu", timeout=120)
        vm.expect(r"in 29 s")  # it counts, visibly
        vm.send(" ")
        vm.expect("Stopped.")
        vm.expect("Choose")
        vm.expect_not("lifeboat:/# ", within=2)  # the twin: the default did not run
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0


def test_timeout_zero_acts_at_once():
    with boot("lifeboat.default=shell lifeboat.timeout=0") as vm:
        vm.expect("lifeboat.default: shell now.", timeout=120)
        vm.expect(r"lifeboat:/# ")
        vm.sendline("exit")
        # Back to the menu, and the default does not run a second time.
        vm.expect("Choose")
        vm.expect_not("lifeboat.default: shell", within=2)
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0


def test_boot_a_generation_with_an_edited_command_line():
    """Generation 3 of the inroot fixture, chosen by its key, booted by kexec with a replaced
    command line: the generation's payload reports the line it got."""
    import json
    from vm import BUILD, Disk
    img = os.path.join(BUILD, "fixtures", "inroot.img")
    if not os.path.exists(img):
        pytest.skip("run `make fixtures`")
    exp = json.load(open(os.path.join(BUILD, "fixtures", "inroot.expect.json")))
    g3 = [g for g in exp["systems"][0]["generations"] if g["number"] == 3][0]
    with VM(disks=[Disk(img, snapshot=True)], mem=512) as vm:
        vm.expect("Choose", timeout=120)
        vm.sendline("1")
        vm.expect("Choose")
        vm.sendline("3")
        vm.expect(r"(?m)^e\)   > enter alpha: a shell in generation 3$")
        vm.expect("Choose")
        vm.sendline("b")
        vm.expect("Kernel command line of generation 3:\n" + re.escape(g3["cmdline"]) + "\n")
        vm.expect("Press Enter to boot with it")
        vm.sendline(g3["cmdline"] + " lifeboat.edited=1")
        # The twin: another generation's payload, looked for where this one's line comes (the
        # payload powers off a second later, so a wait after it would prove nothing).
        vm.expect_not("lifeboat-payload: alpha generation 4 reached", within=120,
                      instead=f"lifeboat-payload: {g3['payload']} reached")
        vm.expect(f"lifeboat-payload: {g3['payload']} reached", timeout=10)
        m = vm.expect(r"lifeboat-payload cmdline: (.*)\n", timeout=10)
        assert m.group(1).strip().endswith("lifeboat.fixture=alpha.3 lifeboat.edited=1")




def test_boot_not_taken_over_comes_back_to_the_menu():
    """After a successful `lifeboat boot` the menu waits for PID 1 to stop it, but not forever:
    here PID 1 is never asked (the LIFEBOAT_KEXEC_FAULT=nojump seam stands for a PID 1 that
    refuses the jump) and the wait is made 5 s; the menu says so and is usable again (its
    power-off works). The twin: the generation's payload never runs."""
    from vm import BUILD, Disk
    img = os.path.join(BUILD, "fixtures", "inroot.img")
    if not os.path.exists(img):
        pytest.skip("run `make fixtures`")
    with VM(disks=[Disk(img, snapshot=True)], mem=512,
            append="LIFEBOAT_KEXEC_FAULT=nojump LIFEBOAT_TAKEOVER_MS=5000") as vm:
        vm.expect("Choose", timeout=120)
        vm.sendline("1")
        vm.expect("Choose")
        vm.sendline("b")
        vm.expect("Press Enter to boot with it")
        vm.sendline("")
        vm.expect("lifeboat boot: loaded with", timeout=120)
        vm.expect("Starting the new kernel...", timeout=30)
        vm.expect_not("lifeboat-payload:", within=60,
                      instead=r"PID 1 did not start the new kernel within 5 s; back to the menu\. "
                              r"The kernel is still loaded")
        vm.expect("Choose", timeout=30)
        vm.sendline("m")
        vm.expect("Choose")
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0
        assert "did not power off" not in vm.text()


def test_menu_on_screen_and_serial():
    """The screen (tty0, a VGA card with a PS/2 keyboard) and the serial line are both consoles:
    the first one where a key is pressed drives the menu, and a key on the other says where it
    is in use. (Two serial ports cannot both be consoles: the kernel takes one console per
    driver.)"""
    vm = VM(initrd=initrd_with({"/menu-test.report": REPORT}), append=SEAM + " console=tty0",
            extra=["-device", "VGA"], monitor=True)

    def keys(*names):
        for k in names:
            vm.hmp(f"sendkey {k}")

    with vm:
        vm.expect(r"Choose \(key then Enter", timeout=120)
        vm.expect_not("The menu is in use", within=1)
        keys("1", "ret")  # typed on the screen's keyboard: the screen drives from now on
        vm.expect(r"The menu is in use on /dev/tty1\.", timeout=30)
        vm.send("m\r")
        vm.expect(r"The menu is in use on /dev/tty1\.", timeout=30)
        vm.expect_not(r"Choose \(key", within=2)  # the twin: the serial key did not act
        keys("m", "ret", "p", "ret")  # back to the main page and power off, from the screen
        assert vm.wait_exit(timeout=60) == 0
