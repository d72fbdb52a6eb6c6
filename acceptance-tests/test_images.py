"""The connector images through `docker run`, as Airbyte runs them: config, catalog and state mounted as files, the
image's own non-root user, a read-only root filesystem (nothing written to the workdir), the host network to reach
the emulated orgs on 127.0.0.1.

Run by `make test-images`, after `make images` has built both images; without a Docker engine or the images every
test fails and says why: an image suite that was asked for never passes by skipping.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from acceptance_configs import pointed_at
from install import CONNECTORS, REPO_ROOT
from runner import Run, configured_catalog, parse_messages
from test_destination_write import destination_catalog, record, state

pytestmark = pytest.mark.images

EXPECTED = Path(__file__).parent / "expected"


def image_name(connector: str) -> str:
    data = yaml.safe_load((REPO_ROOT / connector / "metadata.yaml").read_text())["data"]
    return f"{data['dockerRepository']}:{data['dockerImageTag']}"


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """Both images, or a failure that says what is missing."""
    if shutil.which("docker") is None:
        pytest.fail("no docker command: run `make images`, which installs and starts a Docker engine")
    info = docker("info", "--format", "{{.ServerVersion}}", timeout=30)
    if info.returncode != 0:
        pytest.fail(f"no Docker engine answers ({info.stderr.strip()[-300:]}): run `make images`, which starts one")
    names = {connector: image_name(connector) for connector in CONNECTORS}
    missing = [name for name in names.values() if docker("image", "inspect", name).returncode != 0]
    if missing:
        pytest.fail(f"images not built: {missing}; run `make images`")
    return names


class ImageConnector:
    """One image; each call writes its inputs to a fresh directory mounted read-only at /data, as the platform does."""

    def __init__(self, image: str, workdir: Path) -> None:
        self.image = image
        self.workdir = workdir

    def run(
        self,
        command: str,
        *,
        config: dict[str, Any] | None = None,
        catalog: dict[str, Any] | None = None,
        state: list[dict[str, Any]] | None = None,
        stdin: str | None = None,
        timeout: float = 180,
    ) -> Run:
        files = Path(tempfile.mkdtemp(dir=self.workdir))
        files.chmod(0o755)  # the image's own user, not root, reads the mounted files
        args = [command]
        for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if value is not None:
                path = files / f"{flag[2:]}.json"
                path.write_text(json.dumps(value))
                path.chmod(0o644)
                args += [flag, f"/data/{path.name}"]
        # --read-only: a connector that writes to its workdir or anywhere but /tmp fails here.
        run = [
            "run", "--rm", "-i", "--network=host", "--read-only", "--tmpfs", "/tmp",  # noqa: S108 - inside the container
            "-v", f"{files}:/data:ro", self.image, *args,
        ]  # fmt: skip
        done = subprocess.run(["docker", *run], input=stdin or "", capture_output=True, text=True, timeout=timeout)
        return Run(["docker", *run], done.returncode, done.stdout, done.stderr, parse_messages(done.stdout))


@pytest.fixture(scope="module")
def source_image(images, tmp_path_factory) -> ImageConnector:
    return ImageConnector(images["source-salesforce"], tmp_path_factory.mktemp("source-image"))


@pytest.fixture(scope="module")
def destination_image(images, tmp_path_factory) -> ImageConnector:
    return ImageConnector(images["destination-salesforce"], tmp_path_factory.mktemp("destination-image"))


@pytest.mark.parametrize("connector", CONNECTORS)
def test_image_runs_the_connector_as_a_non_root_user(images, connector: str) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", images[connector]).stdout)
    assert config["Entrypoint"] == [connector]
    assert f"AIRBYTE_ENTRYPOINT={connector}" in config["Env"]
    repository, tag = images[connector].split(":")
    assert config["Labels"] == {"io.airbyte.name": repository, "io.airbyte.version": tag}
    uid = docker("run", "--rm", "--entrypoint", "id", images[connector], "-u")
    assert uid.returncode == 0 and uid.stdout.strip() not in ("", "0"), uid


@pytest.mark.parametrize("connector", CONNECTORS)
def test_image_spec_is_the_committed_spec(images, connector: str, tmp_path) -> None:
    spec = ImageConnector(images[connector], tmp_path).run("spec").ok().spec
    expected = json.loads((EXPECTED / f"{connector.split('-')[0]}_spec.json").read_text())
    assert spec == expected


def test_source_image_checks_discovers_and_reads_the_org(source_image, org, source_config) -> None:
    statuses = source_image.run("check", config=source_config).ok().connection_statuses
    assert [s["status"] for s in statuses] == ["SUCCEEDED"]
    streams = source_image.run("discover", config=source_config).ok().catalog["streams"]
    assert {"Account", "X__c"} <= {s["name"] for s in streams}
    catalog = configured_catalog(streams, ["Account", "X__c"], "full_refresh")
    read = source_image.run("read", config=source_config, catalog=catalog).ok()
    for name in ("Account", "X__c"):
        assert sorted(r["Id"] for r in read.records(name)) == sorted(r["Id"] for r in org.admin.records(name))
        assert read.statuses(name)[-1] == "COMPLETE"
    assert {s["stream"]["stream_descriptor"]["name"] for s in read.states} == {"Account", "X__c"}


def test_source_image_check_with_a_wrong_password_fails_and_names_it(source_image, source_config) -> None:
    config = json.loads(json.dumps(source_config))
    config["credentials"]["password"] = "not-the-password-in-image"  # noqa: S105
    run = source_image.run("check", config=config)
    assert [s["status"] for s in run.connection_statuses] == ["FAILED"]
    assert "not-the-password-in-image" not in run.stdout + run.stderr


def test_destination_image_checks_and_writes_into_the_org(destination_image, fresh_org, destination_config) -> None:
    config = pointed_at(destination_config, fresh_org)
    statuses = destination_image.run("check", config=config).ok().connection_statuses
    assert [s["status"] for s in statuses] == ["SUCCEEDED"]
    rows = [{"External_Id__c": f"IMG-{i}", "Name": f"From the image {i}", "Integer__c": i} for i in range(1, 4)]
    stdin = "\n".join([*(record("people", r) for r in rows), state("people", 3)]) + "\n"
    catalog = destination_catalog("people", "append_dedup")
    run = destination_image.run("write", config=config, catalog=catalog, stdin=stdin).ok()
    assert [s["stream"]["stream_state"]["position"] for s in run.states] == [3]
    written = {r["External_Id__c"]: r for r in fresh_org.admin.records("X__c") if r.get("External_Id__c")}
    for row in rows:
        assert {k: written[row["External_Id__c"]][k] for k in row} == row
