"""`make demo` is one of the two commands a newcomer runs: its script must keep working end to end."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_copies_the_source_org_into_the_destination_org_lookups_included():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Demo OK" in done.stdout
    assert "Account: 50 in org A, 50 equal in org B" in done.stdout
    assert "X__c: 200 in org A, 200 equal in org B" in done.stdout
    assert done.stdout.count("differing: 0") == 2
    # The lookups went through the parent's external id: org B's Accounts have other Ids than org A's.
    pattern = r"lookups: (\d+) X__c records in org B point at an Account of org B \((\d+) by another Id"
    lookups = re.search(pattern, done.stdout)
    assert lookups and int(lookups[1]) > 150 and lookups[1] == lookups[2], done.stdout
    assert "emulator-password" not in done.stdout + done.stderr
