"""Run the installed connectors as Airbyte would, scan everything they print or write for secrets, and keep the
figures (faults injected, records checked, kills, bad inputs) that RESULTS.md reports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesforce_emulator.faults import FaultRegistry
from salesforce_emulator.oauth import TokenStore
from salesforce_emulator.testing import Emulator

BIN = Path(sys.executable).parent
SOURCE = str(BIN / "source-salesforce")
DESTINATION = str(BIN / "destination-salesforce")
SECRET_KEYS = ("password", "security_token", "client_secret", "refresh_token", "private_key")
# The emulator issues tokens shaped like Salesforce's: the 15-character org id, '!', then an opaque string.
ACCESS_TOKEN = re.compile(r"00D[A-Za-z0-9]{12}![A-Za-z0-9_.\-]{16,}")
MAX_TAIL = 4000

# Figures of this run, written to RESULTS.md at the end of the session.
TALLY: Counter[str] = Counter()
FAULTS: Counter[str] = Counter()


class SecretLeak(AssertionError):
    """Names the secret that leaked and where, never its value."""


def watch_org(org: Emulator) -> Emulator:
    """Record every access token the org issues and count every fault it injects (in-process wrappers)."""
    tokens: TokenStore = org.org.tokens
    issued: list[str] = []
    original_issue = tokens.issue

    def issue(user_id: str, ttl: float) -> str:
        token = original_issue(user_id, ttl)
        issued.append(token)
        return token

    tokens.issue = issue  # type: ignore[method-assign]
    registry: FaultRegistry = org.org.faults
    original_take = registry.take

    def take(*args: Any, **kwargs: Any) -> Any:
        fault = original_take(*args, **kwargs)
        if fault is not None:
            FAULTS[fault.kind if fault.kind != "status" else f"status {fault.status}"] += 1
        return fault

    registry.take = take  # type: ignore[method-assign]
    org.issued_tokens = issued  # type: ignore[attr-defined]
    return org


def secret_values(config: Mapping[str, Any]) -> dict[str, str]:
    """Every secret of a config by name; a PEM key also by each line of its body (a leak may be partial)."""
    found: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, str) and path.rsplit(".", 1)[-1] in SECRET_KEYS and node:
            found[path] = node
            if "PRIVATE KEY" in node:
                for number, line in enumerate(node.splitlines()):
                    if len(line) >= 16 and "PRIVATE KEY" not in line:
                        found[f"{path} (line {number})"] = line

    walk(config, "")
    return found


def scan(texts: Mapping[str, str], config: Mapping[str, Any] | None, org: Emulator | None) -> None:
    """Raise SecretLeak when any secret of the config or any access token appears in any of the texts."""
    secrets = secret_values(config or {})
    for token in getattr(org, "issued_tokens", []):
        secrets[f"access token {token[:4]}..."] = token
    for where, text in texts.items():
        TALLY["bytes scanned for secrets"] += len(text)
        for name, value in secrets.items():
            if value in text:
                raise SecretLeak(f"secret {name} appears in {where}")
        match = ACCESS_TOKEN.search(text)
        if match:
            raise SecretLeak(f"an access token ({match.group(0)[:4]}...) appears in {where}")
    TALLY["outputs scanned for secrets"] += 1


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [m["record"]["data"] for m in self.of_type("RECORD") if stream in (None, m["record"]["stream"])]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    @property
    def logs(self) -> list[str]:
        return [m["log"]["message"] for m in self.of_type("LOG")]

    def describe(self) -> str:
        errors = "; ".join(f"{e.get('message', '')} ({e.get('internal_message', '')})" for e in self.errors)
        stack = next((e["stack_trace"] for e in self.errors if e.get("stack_trace")), "")
        tail = self.stderr[-MAX_TAIL:]
        return f"exit {self.returncode}; errors: {errors or 'none'}; stack: {stack[-MAX_TAIL:]}; stderr tail: {tail}"


def parse_messages(stdout: str) -> list[dict[str, Any]]:
    messages = []
    for line in stdout.splitlines():
        if line.strip():
            try:
                messages.append(json.loads(line))
            except ValueError:
                messages.append({"type": "UNPARSEABLE", "line": line})
    return messages


class Workdir:
    """Files for one connector invocation (config, catalog, state, stdin), in a private temporary folder."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="reliability-")
        self.path = Path(self._dir.name)

    def write(self, name: str, content: Any) -> str:
        target = self.path / name
        target.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(target)

    def close(self) -> None:
        self._dir.cleanup()


def command(
    script: str,
    verb: str,
    work: Workdir,
    config: Any = None,
    catalog: Any = None,
    state: Any = None,
) -> list[str]:
    args = [script, verb]
    if config is not None:
        args += ["--config", work.write("config.json", config)]
    if catalog is not None:
        args += ["--catalog", work.write("catalog.json", catalog)]
    if state is not None:
        args += ["--state", work.write("state.json", state)]
    return args


def run(
    script: str,
    verb: str,
    *,
    config: Any = None,
    catalog: Any = None,
    state: Any = None,
    stdin: str | None = None,
    org: Emulator | None = None,
    written_files: Iterable[str | Path] = (),
    timeout: float = 600,
) -> Run:
    """Run one connector command to its end, then scan its whole output (and files it wrote) for secrets."""
    work = Workdir()
    try:
        args = command(script, verb, work, config, catalog, state)
        done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout, env=_env())
    finally:
        work.close()
    result = Run(args, done.returncode, done.stdout, done.stderr, parse_messages(done.stdout))
    texts = {"stdout": done.stdout, "stderr": done.stderr}
    texts.update({str(p): Path(p).read_text(errors="replace") for p in written_files if Path(p).exists()})
    scan(texts, config if isinstance(config, Mapping) else None, org)
    return result


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Live:
    """A connector running in the background: its messages arrive line by line; kill() sends SIGKILL."""

    def __init__(self, args: list[str], work: Workdir, stdin: Iterator[str] | None = None) -> None:
        self.args = args
        self.work = work
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        self.stderr_chunks: list[str] = []
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        self._stdin_thread = None
        if stdin is not None:
            self._stdin_thread = threading.Thread(target=self._feed, args=(stdin,), daemon=True)
            self._stdin_thread.start()
        self.lines: list[str] = []

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for chunk in self.process.stderr:
            self.stderr_chunks.append(chunk)

    def _feed(self, lines: Iterator[str]) -> None:
        assert self.process.stdin is not None
        try:
            for line in lines:
                self.process.stdin.write(line)
            self.process.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            return  # the connector was killed or stopped reading

    def messages(self) -> Iterator[dict[str, Any]]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.strip():
                yield json.loads(line)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    def finish(self, config: Mapping[str, Any] | None, org: Emulator | None) -> Run:
        assert self.process.stdout is not None
        rest = self.process.stdout.read()
        if rest:
            self.lines.append(rest)
        self.process.wait(timeout=120)
        self._stderr_thread.join(timeout=30)
        stdout, stderr = "".join(self.lines), "".join(self.stderr_chunks)
        self.work.close()
        scan({"stdout": stdout, "stderr": stderr}, config, org)
        return Run(self.args, self.process.returncode, stdout, stderr, parse_messages(stdout))


def configured_catalog(stream: dict[str, Any], sync_mode: str = "incremental") -> dict[str, Any]:
    entry: dict[str, Any] = {"stream": stream, "sync_mode": sync_mode, "destination_sync_mode": "append"}
    if sync_mode == "incremental":
        entry["cursor_field"] = stream.get("default_cursor_field") or ["SystemModstamp"]
    return {"streams": [entry]}


def discover_stream(config: Mapping[str, Any], name: str, org: Emulator) -> dict[str, Any]:
    result = run(SOURCE, "discover", config=config, org=org)
    assert result.returncode == 0, result.describe()
    (catalog,) = result.of_type("CATALOG")
    streams = {s["name"]: s for s in catalog["catalog"]["streams"]}
    return streams[name]


# Values as the org stores them (SQLite: 0/1 booleans) against values as the source emits them.
def same_value(org_value: Any, emitted: Any) -> bool:
    if org_value is None or org_value == "":
        return emitted is None or emitted == ""
    if isinstance(emitted, bool):
        return bool(org_value) == emitted
    if isinstance(emitted, int | float) and not isinstance(org_value, str):
        return abs(float(org_value) - float(emitted)) < 1e-6
    if isinstance(emitted, int | float) and isinstance(org_value, str):
        return abs(float(org_value) - float(emitted)) < 1e-6
    text = str(org_value)
    if text.endswith("+0000"):  # the org's datetime form; the source emits RFC 3339 (...Z)
        text = text[:-5] + "Z"
    return text == str(emitted)


def compare_records(org_rows: list[dict[str, Any]], emitted: list[dict[str, Any]]) -> list[str]:
    """Differences between the org and the emitted records: Ids missing or repeated, and values that differ."""
    problems: list[str] = []
    by_id: dict[str, dict[str, Any]] = {}
    repeated = Counter(r["Id"] for r in emitted)
    duplicates = [i for i, n in repeated.items() if n > 1]
    if duplicates:
        problems.append(f"{len(duplicates)} Ids delivered more than once, e.g. {duplicates[:3]}")
    for record in emitted:
        by_id[record["Id"]] = record
    expected = {row["Id"]: row for row in org_rows}
    missing = sorted(set(expected) - set(by_id))
    extra = sorted(set(by_id) - set(expected))
    if missing:
        problems.append(f"{len(missing)} Ids of the org never delivered, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{len(extra)} Ids delivered that the org does not have, e.g. {extra[:3]}")
    differing = 0
    delivered_fields = _schema_fields(emitted)
    for record_id, row in expected.items():
        record = by_id.get(record_id)
        if record is None:
            continue
        for name, value in row.items():
            if name in record and not isinstance(record[name], dict) and not same_value(value, record[name]):
                differing += 1
                if differing <= 3:
                    problems.append(f"{record_id}.{name}: org {value!r}, delivered {record[name]!r}")
            elif name not in record and value not in (None, "") and name in delivered_fields:
                differing += 1
                if differing <= 3:
                    problems.append(f"{record_id}.{name}: org {value!r}, not delivered")
    TALLY["records compared with the org"] += len(expected)
    return problems


def _schema_fields(emitted: list[dict[str, Any]]) -> set[str]:
    fields: set[str] = set()
    for record in emitted[:200]:
        fields.update(record)
    return fields
