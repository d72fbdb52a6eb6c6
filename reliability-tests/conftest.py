"""Fixtures of the reliability and security suite, the `--run-soak` option, and RESULTS.md at the end of a run."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest runs with --import-mode=importlib, which does not put test folders on sys.path: make the helper modules
# beside this file importable by name.
sys.path.insert(0, str(Path(__file__).parent))

from reliability_harness import FAULTS, TALLY, watch_org  # noqa: E402
from reliability_results import write_results  # noqa: E402
from salesforce_emulator.testing import Emulator  # noqa: E402

HERE = Path(__file__).parent
_outcomes: Counter[str] = Counter()
_failed: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-soak", action="store_true", default=False, help="run the long soak variants (make soak)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-soak"):
        return
    skip = pytest.mark.skip(reason="soak variant: run with `make soak` (-m soak --run-soak)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not Path(str(report.fspath)).resolve().is_relative_to(HERE):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _outcomes[report.outcome] += 1
        if report.outcome == "failed":
            _failed.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if sum(_outcomes.values()) == 0 or _outcomes["passed"] + _outcomes["failed"] == 0:
        return  # none of this suite ran
    if session.config.option.keyword:
        return  # a -k selection: its figures would not describe the suite
    write_results(TALLY, FAULTS, _outcomes, bool(session.config.getoption("--run-soak")), _failed)


@pytest.fixture
def org_factory() -> Iterator[Callable[..., Emulator]]:
    """Start watched emulators (issued tokens recorded for the secret scan, faults counted); stopped after the test."""
    started: list[Emulator] = []

    def start(**options: Any) -> Emulator:
        options.setdefault("seed", "demo")
        options.setdefault("records", 5)
        org = watch_org(Emulator(**options).start())
        started.append(org)
        return org

    yield start
    for org in started:
        org.stop()


@pytest.fixture
def org(org_factory: Callable[..., Emulator]) -> Emulator:
    return org_factory()
