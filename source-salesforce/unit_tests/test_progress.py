"""Read progress: one ESTIMATE trace per stream with the total the read learns (COUNT() or the first page's
totalSize), and log lines with the rate and the time left."""

from __future__ import annotations

import logging

import pytest
from airbyte_cdk.models import EstimateType, SyncMode, TraceType, Type
from source_salesforce import progress as progress_module
from source_salesforce.progress import ReadProgress


class FakeSession:
    calls = 0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def estimates(output) -> dict[str, int]:
    found: dict[str, int] = {}
    for message in output._messages:
        if message.type == Type.TRACE and message.trace.type == TraceType.ESTIMATE:
            estimate = message.trace.estimate
            assert estimate.type == EstimateType.STREAM
            assert estimate.name not in found, f"a second ESTIMATE for {estimate.name}"
            found[estimate.name] = estimate.row_estimate
    return found


def test_only_the_first_known_total_is_the_estimate() -> None:
    progress = ReadProgress("Account", FakeSession(), clock=Clock())
    assert list(progress.estimate(None)) == []
    (message,) = progress.estimate(200_000)
    assert message.trace.estimate.row_estimate == 200_000 and message.trace.estimate.name == "Account"
    assert list(progress.estimate(50_000)) == [], "a narrower query after a split is not the stream's total"
    assert progress.total == 200_000


def test_log_lines_give_the_rate_and_the_time_left(caplog, monkeypatch) -> None:
    monkeypatch.setattr(progress_module, "PROGRESS_EVERY_SECONDS", 59.0)
    clock, session = Clock(), FakeSession()
    progress = ReadProgress("Account", session, clock=clock)
    list(progress.estimate(200_000))
    with caplog.at_level(logging.INFO, logger="airbyte"):
        clock.now += 1
        progress.add(10_000)  # before the interval: no line
        assert caplog.messages == []
        clock.now += 59
        session.calls = 7
        progress.add(50_000)
    # 60,000 records in 60 s: 1,000 records/s, so the 140,000 left take 2 min 20 s.
    assert caplog.messages == [
        "Account progress: 60000 of about 200000 records (30%), 1000 records/s, about 2 min 20 s left, 7 API calls"
    ]


def test_without_a_total_the_log_gives_the_rate_only(caplog) -> None:
    clock = Clock()
    progress = ReadProgress("Lead", FakeSession(), clock=clock)
    with caplog.at_level(logging.INFO, logger="airbyte"):
        clock.now += progress_module.PROGRESS_EVERY_SECONDS
        progress.add(300)
    (line,) = caplog.messages
    assert line.startswith("Lead progress: 300 records, ") and "left" not in line


@pytest.mark.parametrize(
    ("settings", "sync_mode"),
    [
        ({"force_api": "rest"}, SyncMode.full_refresh),
        ({"force_api": "rest"}, SyncMode.incremental),
        ({"force_api": "bulk"}, SyncMode.full_refresh),
        ({"force_api": "bulk"}, SyncMode.incremental),
        ({"bulk_threshold": 1}, SyncMode.full_refresh),  # the first REST page's totalSize, then Bulk
    ],
)
def test_each_stream_gets_one_estimate_with_its_record_count(sf, org, admin, settings, sync_mode, monkeypatch, caplog):
    monkeypatch.setattr(progress_module, "PROGRESS_EVERY_SECONDS", 0.0)  # a line for every page or block
    config = sf.config(org, **settings)
    streams = sf.discover(config)
    names = ["Account", "Contact"]
    with caplog.at_level(logging.INFO, logger="airbyte"):
        output = sf.read(config, sf.configured_catalog(streams, names, sync_mode))
    found = estimates(output)
    assert found == {name: len(admin.records(name)) for name in names}
    for name in names:
        assert len(sf.records(output, name)) == found[name]
        # The estimate comes before the stream's first record.
        kinds = [
            "estimate" if m.type == Type.TRACE and m.trace.type == TraceType.ESTIMATE else "record"
            for m in output._messages
            if (m.type == Type.RECORD and m.record.stream == name)
            or (m.type == Type.TRACE and m.trace.type == TraceType.ESTIMATE and m.trace.estimate.name == name)
        ]
        assert kinds[0] == "estimate"
        assert any(
            line.startswith(f"{name} progress: ") and f"of about {found[name]} records" in line
            for line in caplog.messages
        )
