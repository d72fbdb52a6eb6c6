"""`make demo` is one of the two commands a newcomer runs: its script must keep working end to end."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_copies_the_source_org_into_the_destination_org():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Demo OK" in done.stdout
    assert "differing: 0" in done.stdout
    assert "emulator-password" not in done.stdout + done.stderr
