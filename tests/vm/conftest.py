import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from vm import OUT  # noqa: E402


def pytest_configure(config):
    for f in ("bzImage", "initrd.img"):
        if not os.path.exists(os.path.join(OUT, f)):
            raise pytest.UsageError(f"{OUT}/{f} is missing: run `make` first (make check does)")
