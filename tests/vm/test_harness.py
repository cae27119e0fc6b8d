"""The bench itself: it sees lifeboat's first console line, and it fails when a marker never
appears (a harness that cannot fail proves nothing)."""
import pytest

from vm import VM, Timeout


def test_boot_reaches_menu_and_harness_can_fail():
    with VM() as vm:
        vm.expect(r"lifeboat \S+ starting", timeout=120)
        vm.expect(r"Choose \(key then Enter", timeout=120)
        # The twin: a marker that never appears must time out, not pass.
        with pytest.raises(Timeout):
            vm.expect("THIS-MARKER-NEVER-APPEARS", timeout=3)
        # A PID 1 death ends the VM (panic=1, -no-reboot): expect() then fails at once.
        vm.sendline("p")
        assert vm.wait_exit(timeout=60) == 0
        with pytest.raises(Timeout, match="VM exited"):
            vm.expect("anything after exit", timeout=5)
