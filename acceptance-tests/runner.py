"""Run an installed console script as Airbyte does (files for config, catalog and state; messages on stdout)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from airbyte_cdk.models import AirbyteMessageSerializer


@dataclass
class Run:
    """One command's outcome; `messages` are the parsed stdout lines, each a valid Airbyte message."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [m["record"]["data"] for m in self.of_type("RECORD") if stream in (None, m["record"]["stream"])]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    def final_state(self, stream: str) -> dict[str, Any]:
        return [s for s in self.states if s["stream"]["stream_descriptor"]["name"] == stream][-1]

    def statuses(self, stream: str) -> list[str]:
        return [
            t["stream_status"]["status"]
            for t in (m["trace"] for m in self.of_type("TRACE"))
            if t["type"] == "STREAM_STATUS" and t["stream_status"]["stream_descriptor"]["name"] == stream
        ]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    @property
    def connection_statuses(self) -> list[dict[str, Any]]:
        return [m["connectionStatus"] for m in self.of_type("CONNECTION_STATUS")]

    @property
    def catalog(self) -> dict[str, Any]:
        catalogs = self.of_type("CATALOG")
        assert len(catalogs) == 1, f"expected one CATALOG message, got {len(catalogs)}: {self.describe()}"
        return catalogs[0]["catalog"]

    @property
    def spec(self) -> dict[str, Any]:
        specs = self.of_type("SPEC")
        assert len(specs) == 1, f"expected one SPEC message, got {len(specs)}: {self.describe()}"
        return specs[0]["spec"]

    def describe(self) -> str:
        """A short account for assertion messages: exit code, errors and the end of stderr."""
        errors = [e.get("message") for e in self.errors]
        return (
            f"{' '.join(self.args[:1])}: exit {self.returncode}, errors {errors}, stderr tail {self.stderr[-2000:]!r}"
        )

    def ok(self) -> Run:
        assert self.returncode == 0 and not self.errors, self.describe()
        return self


class Connector:
    """An installed console script; each call writes its inputs to a fresh temp dir, as the platform mounts files."""

    def __init__(self, script: Path, workdir: Path) -> None:
        self.script = script
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
        args = [command]
        for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if value is not None:
                path = files / f"{flag[2:]}.json"
                path.write_text(json.dumps(value))
                args += [flag, str(path)]
        # Only what a container would have: no inherited settings such as DEPLOYMENT_MODE.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(files), "TMPDIR": str(files)}
        done = subprocess.run(
            [str(self.script), *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env
        )
        return Run([str(self.script), *args], done.returncode, done.stdout, done.stderr, parse_messages(done.stdout))


def parse_messages(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line must be one Airbyte protocol message: the platform drops or fails on anything else."""
    messages = []
    for number, line in enumerate(stdout.splitlines(), start=1):
        try:
            message = orjson.loads(line)
            AirbyteMessageSerializer.load(message)
        except Exception as exc:
            raise AssertionError(f"stdout line {number} is not an Airbyte message ({exc}): {line[:300]!r}") from exc
        messages.append(message)
    return messages


def configured_catalog(
    streams: list[dict[str, Any]], names: list[str], sync_mode: str, destination_sync_mode: str = "append"
) -> dict[str, Any]:
    by_name = {s["name"]: s for s in streams}
    return {
        "streams": [
            {
                "stream": by_name[name],
                "sync_mode": sync_mode,
                "destination_sync_mode": destination_sync_mode,
                **({"cursor_field": by_name[name]["default_cursor_field"]} if sync_mode == "incremental" else {}),
            }
            for name in names
        ]
    }
