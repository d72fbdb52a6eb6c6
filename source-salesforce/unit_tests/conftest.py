"""Helpers for end-to-end tests: run the connector in process against an emulated org (fixtures from the emulator)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import requests
from airbyte_cdk.models import (
    AirbyteStateMessage,
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
)
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, discover, read
from airbyte_cdk.test.models.scenario import ExpectedOutcome


class Admin:
    """The emulator's admin API (/__emulator/...), called over HTTP as its README documents it."""

    def __init__(self, url: str):
        self.url = url.rstrip("/") + "/__emulator"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, self.url + path, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def calls(self) -> dict[str, Any]:
        return self._call("GET", "/calls")

    def reset_calls(self) -> None:
        self._call("DELETE", "/calls")

    def configure(self, **settings: Any) -> None:
        self._call("PUT", "/config", json=settings)

    def fault(self, **fault: Any) -> None:
        self._call("POST", "/faults", json=fault)

    def records(self, sobject: str) -> list[dict[str, Any]]:
        answer = self._call("GET", f"/records/{sobject}")
        return answer["records"] if isinstance(answer, dict) else answer

    def add_field(self, sobject: str, name: str, field_type: str) -> None:
        self._call("POST", f"/schema/{sobject}/fields", json={"name": name, "type": field_type})

    def remove_field(self, sobject: str, name: str) -> None:
        self._call("DELETE", f"/schema/{sobject}/fields/{name}")


class Harness:
    """Runs the connector in process; tests get it as the `sf` fixture."""

    configured_catalog = staticmethod(lambda *a, **k: configured_catalog(*a, **k))
    discover = staticmethod(lambda config: run_discover(config))
    read = staticmethod(lambda *a, **k: run_read(*a, **k))
    records = staticmethod(lambda *a, **k: record_data(*a, **k))
    states = staticmethod(lambda output: states(output))
    config = staticmethod(lambda *a, **k: make_config(*a, **k))
    let_org_clock_pass_changes = staticmethod(lambda: let_org_clock_pass_changes())
    largest_tie = staticmethod(lambda *a, **k: largest_tie(*a, **k))
    resumes_from_every_checkpoint = staticmethod(lambda *a, **k: resumes_from_every_checkpoint(*a, **k))


@pytest.fixture
def sf() -> Harness:
    return Harness()


@pytest.fixture
def org(emulator):
    return emulator


@pytest.fixture
def admin(org) -> Admin:
    return Admin(org.url)


@pytest.fixture
def config(org) -> dict[str, Any]:
    return make_config(org)


def make_config(org: Any, flow: str = "username_password", **settings: Any) -> dict[str, Any]:
    return {"credentials": org.credentials(flow), "lookback_seconds": 0, **settings}


def new_source():
    from source_salesforce import SourceSalesforce

    return SourceSalesforce()


def run_discover(config: dict[str, Any]) -> list[AirbyteStream]:
    output = discover(new_source(), config)
    assert not output.errors, output.get_formatted_error_message()
    return output.catalog.catalog.streams


def configured_catalog(
    streams: list[AirbyteStream], names: list[str], sync_mode: SyncMode, cursor: str | None = None
) -> ConfiguredAirbyteCatalog:
    by_name = {s.name: s for s in streams}
    return ConfiguredAirbyteCatalog(
        streams=[
            ConfiguredAirbyteStream(
                stream=by_name[name],
                sync_mode=sync_mode,
                destination_sync_mode=DestinationSyncMode.append,
                cursor_field=[cursor] if cursor else None,
            )
            for name in names
        ]
    )


def run_read(
    config: dict[str, Any],
    catalog: ConfiguredAirbyteCatalog,
    state: list[AirbyteStateMessage] | None = None,
    expect_failure: bool = False,
) -> EntrypointOutput:
    outcome = ExpectedOutcome.EXPECT_EXCEPTION if expect_failure else ExpectedOutcome.EXPECT_SUCCESS
    output = read(new_source(), config, catalog, state, expected_outcome=outcome)
    if not expect_failure:
        assert not output.errors, output.get_formatted_error_message()
    return output


def record_data(output: EntrypointOutput, stream: str | None = None) -> list[dict[str, Any]]:
    return [m.record.data for m in output.records if stream is None or m.record.stream == stream]


def states(output: EntrypointOutput) -> list[AirbyteStateMessage]:
    return [m.state for m in output.state_messages]


def let_org_clock_pass_changes() -> None:
    """Wait until the org's clock, as its Date header tells it (whole seconds, refreshed each second), has passed the
    changes just made: a read ends at that time, so a change from the last second or two is read by the next sync."""
    time.sleep(2.1)


def resumes_from_every_checkpoint(
    config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, full: EntrypointOutput, all_ids: list[str]
) -> int:
    """Resume a read from each of its checkpoints (but a full refresh's final one): the records delivered before it
    plus those of the resumed read are every record. Returns how many checkpoints were tried."""
    delivered: list[str] = []
    checked = 0
    for message in full.records_and_state_messages:
        if message.record:
            delivered.append(message.record.data["Id"])
            continue
        if message.state.stream.stream_state.__dict__.get("__ab_full_refresh_sync_complete"):
            continue
        resumed = run_read(config, catalog, [message.state])
        assert sorted(delivered + [r["Id"] for r in record_data(resumed)]) == all_ids
        checked += 1
    return checked


def largest_tie(admin, sobject: str) -> int:
    """The most records sharing one SystemModstamp. A query timing out on more rows than this can be split by
    cursor time; one second is never split (a tie of more rows than the timeout allows fails the read)."""
    stamps = Counter(r["SystemModstamp"] for r in admin.records(sobject))
    assert stamps.most_common(1)[0][1] < len(admin.records(sobject)), "some window must be worth splitting"
    return stamps.most_common(1)[0][1]
