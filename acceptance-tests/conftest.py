"""Fixtures of the black-box suite: the installed connectors, one emulated org per session, configs pointing at it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest runs with --import-mode=importlib, which does not put test folders on sys.path: make the helper modules
# beside this file importable by name.
sys.path.insert(0, str(Path(__file__).parent))

from acceptance_configs import DESTINATION_DIR, SOURCE_DIR, load_json, pointed_at  # noqa: E402
from install import Installation, install  # noqa: E402
from runner import Connector  # noqa: E402
from salesforce_emulator.testing import Emulator  # noqa: E402

UPDATE_ENV = "UPDATE_EXPECTED"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-expected",
        action="store_true",
        help=f"rewrite the committed expected spec and record files instead of comparing (or set {UPDATE_ENV}=1)",
    )


@pytest.fixture(scope="session")
def update_expected(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-expected", default=False) or os.environ.get(UPDATE_ENV))


@pytest.fixture(scope="session")
def installation() -> Installation:
    return install()


@pytest.fixture(scope="session")
def org() -> Iterator[Emulator]:
    """The read-only org of the session: tests that change data start their own (`fresh_org`)."""
    with Emulator(seed="demo", records=10) as emulated:
        yield emulated


@pytest.fixture
def fresh_org(emulator_factory: Any) -> Emulator:
    return emulator_factory(seed="demo", records=10)


@pytest.fixture(scope="session")
def source(installation: Installation, tmp_path_factory: pytest.TempPathFactory) -> Connector:
    return Connector(installation.script("source-salesforce"), tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="session")
def destination(installation: Installation, tmp_path_factory: pytest.TempPathFactory) -> Connector:
    return Connector(installation.script("destination-salesforce"), tmp_path_factory.mktemp("destination"))


@pytest.fixture(scope="session")
def source_config(org: Emulator) -> dict[str, Any]:
    return pointed_at(load_json(SOURCE_DIR / "integration_tests" / "sample_config.json"), org)


@pytest.fixture(scope="session")
def destination_config(org: Emulator) -> dict[str, Any]:
    return pointed_at(load_json(DESTINATION_DIR / "integration_tests" / "sample_config.json"), org)
