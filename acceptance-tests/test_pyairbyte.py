"""PyAirbyte drives the installed source as a local executable and reads the emulated org into its DuckDB cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from install import cache_root

PYAIRBYTE = "airbyte==0.71.3"

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import airbyte as ab

    source = ab.get_source("source-salesforce", local_executable=sys.argv[1], config=json.loads(sys.argv[2]))
    source.check()
    source.select_streams(["Account", "X__c"])
    result = source.read(cache=ab.get_default_cache())
    ids = {name: sorted(result[name].to_pandas()["id"]) for name in ("Account", "X__c")}
    print(json.dumps({"ids": ids, "cache": str(result.cache.db_path)}))
    """
)


@pytest.fixture(scope="session")
def pyairbyte_python():
    """PyAirbyte's own virtualenv (heavy, ~780 MB), built once outside the repository and reused."""
    venv = cache_root().parent / f"pyairbyte-{PYAIRBYTE.split('==')[1]}"
    if not (venv / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run(
            [venv / "bin" / "python", "-m", "pip", "install", "--quiet", PYAIRBYTE], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"{PYAIRBYTE} cannot be installed here: {done.stderr.strip()[-300:]}")
        (venv / ".complete").write_text("")
    return venv / "bin" / "python"


def test_pyairbyte_reads_the_org_into_duckdb(pyairbyte_python, installation, source_config, org, tmp_path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AIRBYTE_OFFLINE_MODE": "1",  # no connector registry here: local executables only
        "DO_NOT_TRACK": "1",
        "AIRBYTE_CACHE_ROOT": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [pyairbyte_python, "-c", SCRIPT, str(installation.script("source-salesforce")), json.dumps(source_config)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("Account", "X__c"):
        assert answer["ids"][name] == sorted(r["Id"] for r in org.admin.records(name))
    assert answer["cache"].startswith(str(tmp_path)) and answer["cache"].endswith(".duckdb")
