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

from reliability_harness import FAULTS, TALLY, discover_stream, watch_org  # noqa: E402
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


def _is_worker(config: pytest.Config) -> bool:
    """Under pytest-xdist, a worker process (the controller alone sees every test and writes RESULTS.md)."""
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: add a finished worker's figures to this run's."""
    figures = getattr(node, "workeroutput", {}).get("reliability_figures")
    if figures:
        TALLY.update(figures["tally"])
        FAULTS.update(figures["faults"])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _is_worker(session.config):
        # Figures go to the controller; outcomes it already has from the reports it received.
        session.config.workeroutput["reliability_figures"] = {"tally": dict(TALLY), "faults": dict(FAULTS)}  # type: ignore[attr-defined]
        return
    if sum(_outcomes.values()) == 0 or _outcomes["passed"] + _outcomes["failed"] == 0:
        return  # none of this suite ran
    if session.config.option.keyword or _selected_part(session.config):
        return  # a -k selection or a single file: its figures would not describe the suite
    soak = bool(session.config.getoption("--run-soak"))
    workers = int(getattr(session.config.option, "numprocesses", 0) or 0)
    write_results(TALLY, FAULTS, _outcomes, soak, _failed, workers)


def _selected_part(config: pytest.Config) -> bool:
    """Whether the command line named only part of this suite (a file or a test) rather than the suite or more."""
    for arg in config.args:
        target = Path(arg.split("::")[0]).resolve()
        if "::" in arg or (target.is_relative_to(HERE) and target != HERE):
            return True
    return False


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


@pytest.fixture(scope="module")
def shared_org() -> Iterator[Emulator]:
    """One watched org for all the tests of a module that leave it usable for the others (refused inputs, writes
    under their own key prefix): an org per test would cost more than most of those tests."""
    org = watch_org(Emulator(seed="demo", records=5).start())
    yield org
    org.stop()


@pytest.fixture(scope="module")
def x_stream(shared_org: Emulator) -> dict[str, Any]:
    """The X__c stream as `discover` describes it in the shared org, discovered once per module."""
    return discover_stream({"credentials": shared_org.credentials(), "streams": ["X__c"]}, "X__c", shared_org)
