"""PyAirbyte drives the installed connectors as local executables: the source reads the emulated org into its DuckDB
cache, and the destination writes such a read result into another org."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from install import _lock, cache_root

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
    """PyAirbyte's own virtualenv (heavy, ~780 MB), built once outside the repository and reused.

    Several test runs may want it at once: the build holds a lock, and a venv that lacks the package (a build cut
    short) is built again."""
    venv = cache_root().parent / f"pyairbyte-{PYAIRBYTE.split('==')[1]}"
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _lock(venv.parent / f".{venv.name}.lock"):
        if not ((venv / ".complete").exists() and _has_airbyte(python)):
            (venv / ".complete").unlink(missing_ok=True)
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            pip = [python, "-m", "pip", "install", "--quiet", PYAIRBYTE]
            done = subprocess.run(pip, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"{PYAIRBYTE} cannot be installed here: {done.stderr.strip()[-300:]}")
            (venv / ".complete").write_text("")
    return python


def _has_airbyte(python: Path) -> bool:
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('airbyte') is None)"
    return python.exists() and subprocess.run([python, "-c", probe], capture_output=True).returncode == 0


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


WRITE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import airbyte as ab

    source = ab.get_source("source-salesforce", local_executable=sys.argv[1], config=json.loads(sys.argv[2]))
    source.select_streams(["X__c"])
    result = source.read(cache=ab.get_default_cache())
    destination = ab.get_destination(
        "destination-salesforce", local_executable=sys.argv[3], config=json.loads(sys.argv[4])
    )
    destination.check()
    destination.write(result)
    print(json.dumps({"columns": sorted(result["X__c"].to_pandas().columns)}))
    """
)
COMPARED = (
    "Name", "Text__c", "Text_Area__c", "Integer__c", "Number__c", "Currency__c", "Percent__c", "Checkbox__c", "Date__c",
    "DateTime__c", "Time__c", "Picklist__c", "Multi_Picklist__c", "Email__c", "Phone__c", "Url__c", "Account__c",
)  # fmt: skip


def test_pyairbyte_writes_a_read_result_into_another_org(
    pyairbyte_python, installation, source_config, org, emulator_factory, tmp_path
) -> None:
    """The cache hands the destination lower-cased columns plus _airbyte_* ones; every row must land all the same.

    The second org is seeded differently: the same record Ids and external ids, other field values."""
    target = emulator_factory(seed="pyairbyte", records=10)
    before = {r["External_Id__c"]: tuple(r.get(f) for f in COMPARED) for r in target.admin.records("X__c")}
    expected = {r["External_Id__c"]: tuple(r.get(f) for f in COMPARED) for r in org.admin.records("X__c")}
    assert before != expected  # the write has something to change
    destination_config = {
        "credentials": target.credentials("username_password"),
        "object": "X__c",
        "external_id_field": "External_Id__c",
    }
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AIRBYTE_OFFLINE_MODE": "1",
        "DO_NOT_TRACK": "1",
        "AIRBYTE_CACHE_ROOT": str(tmp_path / "cache"),
    }
    args = [
        pyairbyte_python, "-c", WRITE_SCRIPT,
        str(installation.script("source-salesforce")), json.dumps(source_config),
        str(installation.script("destination-salesforce")), json.dumps(destination_config),
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    columns = json.loads(done.stdout.strip().splitlines()[-1])["columns"]
    assert "external_id__c" in columns and "_airbyte_raw_id" in columns  # what made every record MISSING_KEY once
    after = {r["External_Id__c"]: tuple(r.get(f) for f in COMPARED) for r in target.admin.records("X__c")}
    assert after == expected
