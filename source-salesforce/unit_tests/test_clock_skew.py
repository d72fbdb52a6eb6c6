"""The connector's clock may be wrong: a read's bounds come from Salesforce's clock, so a skewed machine loses nothing.

The connector runs as its console script in a subprocess whose clock (time.time and datetime.now) is shifted; the
emulator serves from this process with the true clock, as an org would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode
from salesforce_api import RestClient, connect

SKEWED_CLOCK = """
import datetime as _dt
import os
import time as _time

_skew = float(os.environ["CLOCK_SKEW_SECONDS"])
_real_time = _time.time
_time.time = lambda: _real_time() + _skew


class _SkewedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return super().now(tz) + _dt.timedelta(seconds=_skew)

    @classmethod
    def utcnow(cls):
        return super().utcnow() + _dt.timedelta(seconds=_skew)


_dt.datetime = _SkewedDatetime
"""


def read(tmp_path: Path, skew: float, config: dict, catalog, state: list | None = None) -> list[dict]:
    (tmp_path / "sitecustomize.py").write_text(SKEWED_CLOCK)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog)))
    args = ["read", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        args += ["--state", str(tmp_path / "state.json")]
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "CLOCK_SKEW_SECONDS": str(skew)}
    script = Path(sys.executable).with_name("source-salesforce")
    done = subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def clock_check(tmp_path: Path, skew: float) -> float:
    """The subprocess's idea of now minus the true now, in seconds (proves the skew is in force)."""
    (tmp_path / "sitecustomize.py").write_text(SKEWED_CLOCK)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "CLOCK_SKEW_SECONDS": str(skew)}
    code = "from datetime import datetime, UTC; print(datetime.now(UTC).timestamp())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(done.stdout) - datetime.now(UTC).timestamp()


@pytest.mark.parametrize(
    ("api", "skew"),
    [("rest", 30.0), ("rest", -600.0), ("bulk", 600.0)],
    ids=["rest-ahead-30s", "rest-behind-10min", "bulk-ahead-10min"],
)
def test_a_skewed_connector_clock_loses_no_change(sf, org, admin, config, tmp_path, skew, api):
    assert abs(clock_check(tmp_path, skew) - skew) < 30
    config = {**config, "force_api": api}
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], SyncMode.incremental)
    first = read(tmp_path, skew, config, catalog)
    assert {m["record"]["data"]["Id"] for m in first if m["type"] == "RECORD"} == {
        r["Id"] for r in admin.records("Contact")
    }
    state = [m["state"] for m in first if m["type"] == "STATE"][-1]
    saved = datetime.fromisoformat(state["stream"]["stream_state"]["cursor"].replace("Z", "+00:00"))
    assert saved <= datetime.now(UTC), "the saved cursor never passes Salesforce's time"

    victim = admin.records("Contact")[0]["Id"]
    RestClient(connect(org.credentials("username_password"))).update_one("Contact", victim, {"LastName": "Skewed"})
    # Salesforce stamps whole seconds: a read starting in the second of the change ends before it (the next reads it).
    sf.let_org_clock_pass_changes()

    second = read(tmp_path, skew, config, catalog, [state])
    changed = [m["record"]["data"] for m in second if m["type"] == "RECORD"]
    assert [r["Id"] for r in changed] == [victim]
    assert changed[0]["LastName"] == "Skewed"
