"""PyAirbyte installs the source from its folder (`pip_url`), as it would from a git URL of this repository, and reads
the emulated org into its DuckDB cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap

import pytest
from install import REPO_ROOT
from test_pyairbyte import pyairbyte_python  # noqa: F401 - the fixture: PyAirbyte's own virtualenv

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import airbyte as ab

    source = ab.get_source("source-salesforce", pip_url=sys.argv[1], config=json.loads(sys.argv[2]))
    source.check()
    source.select_streams(["Account"])
    result = source.read(cache=ab.get_default_cache())
    ids = sorted(result["Account"].to_pandas()["id"])
    print(json.dumps({"ids": ids}))
    """
)


@pytest.mark.images  # a fresh install from the index, a minute or more: run by make test-images
@pytest.mark.timeout(900)
def test_pyairbyte_installs_the_source_from_its_folder(pyairbyte_python, source_config, org, tmp_path) -> None:  # noqa: F811
    # The repository's layout, copied: the connector folder with its link to the shared client kept as a link.
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "unit_tests", "integration_tests", "tests")
    for folder in ("salesforce-api", "source-salesforce"):
        shutil.copytree(REPO_ROOT / folder, checkout / folder, symlinks=True, ignore=ignore)
    assert (checkout / "source-salesforce" / "salesforce_api").is_symlink()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AIRBYTE_OFFLINE_MODE": "1",  # no connector registry here: the install method is given
        "DO_NOT_TRACK": "1",
        "AIRBYTE_CACHE_ROOT": str(tmp_path / "cache"),
        "AIRBYTE_INSTALL_DIR": str(tmp_path / "venvs"),
        "AIRBYTE_NO_UV": "1",  # venv and pip, as everywhere else here (uv is not installed)
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_")},  # the machine's package index settings
    }
    folder = str(checkout / "source-salesforce")
    done = subprocess.run(
        [pyairbyte_python, "-c", SCRIPT, folder, json.dumps(source_config)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=840,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["ids"] == sorted(r["Id"] for r in org.admin.records("Account"))
    # PyAirbyte's own virtualenv ran the connector, with the shared client installed as files, not as a link.
    venv = tmp_path / "venvs" / ".venv-source-salesforce"
    assert (venv / "bin" / "source-salesforce").is_file()
    (installed,) = venv.glob("lib/python3*/site-packages/salesforce_api")
    assert installed.is_dir() and not installed.is_symlink() and (installed / "auth.py").is_file()
