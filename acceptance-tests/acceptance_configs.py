"""The committed sample configs of both connectors, and aiming them at a test org.

(Test modules import these from here, not from conftest: another test folder has a conftest of its own, and
`from conftest import ...` would find whichever comes first on sys.path.)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from install import REPO_ROOT
from salesforce_emulator.testing import Emulator

SOURCE_DIR = REPO_ROOT / "source-salesforce"
DESTINATION_DIR = REPO_ROOT / "destination-salesforce"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def pointed_at(config: dict[str, Any], org: Emulator) -> dict[str, Any]:
    """A committed config (written for `make emulator` on port 8443) aimed at a test org instead."""
    config = copy.deepcopy(config)
    config["credentials"]["login_url"] = org.url
    return config
