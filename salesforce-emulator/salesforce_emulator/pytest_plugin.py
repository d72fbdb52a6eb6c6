"""pytest plugin (entry point pytest11): the fixtures `emulator` and `emulator_factory`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from salesforce_emulator.testing import Emulator


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with any Emulator options; each is stopped after the test."""
    started: list[Emulator] = []

    def start(**options: Any) -> Emulator:
        org = Emulator(**options).start()
        started.append(org)
        return org

    yield start
    for org in started:
        org.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A fresh small seeded org (20 records per object) for one test."""
    return emulator_factory(seed="demo", records=20)
