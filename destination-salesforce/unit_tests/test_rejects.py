import json
import logging

import pytest
from destination_salesforce.rejects import Rejection, RejectLog, RejectThresholdExceeded


def _rejection(n: int, code: str) -> Rejection:
    return Rejection("contacts", n, f"Ext__c=E-{n}", code, "message", ("LastName",))


def test_counts_and_groups_by_code_with_sample_keys(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectLog(logging.getLogger("test"))
    for n in range(7):
        log.add(_rejection(n, "REQUIRED_FIELD_MISSING"), {"secret_payload": "x"})
    log.add(_rejection(99, "STRING_TOO_LONG"))
    assert log.total == 8
    summary = log.summary()
    assert summary[0].startswith("REQUIRED_FIELD_MISSING: 7 rejected (e.g. contacts:Ext__c=E-0")
    assert "E-5" not in summary[0]  # five samples at most
    assert summary[1] == "STRING_TOO_LONG: 1 rejected (e.g. contacts:Ext__c=E-99)"
    with caplog.at_level(logging.WARNING):
        log.log_summary()
    assert "8 records rejected" in caplog.text
    assert "secret_payload" not in caplog.text


def test_writes_jsonl_file(tmp_path) -> None:
    path = tmp_path / "out" / "rejects.jsonl"
    log = RejectLog(logging.getLogger("test"), path=str(path))
    log.add(_rejection(1, "DUPLICATE_VALUE"), {"a": 1})
    log.add(_rejection(2, "DUPLICATE_VALUE"), {"a": 2})
    log.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["data"] for line in lines] == [{"a": 1}, {"a": 2}]
    assert lines[0]["error"] == {"code": "DUPLICATE_VALUE", "message": "message", "fields": ["LastName"]}


def test_thresholds() -> None:
    log = RejectLog(logging.getLogger("test"), max_records=2)
    for n in range(2):
        log.add(_rejection(n, "X"))
    log.check(2)
    log.add(_rejection(3, "X"))
    with pytest.raises(RejectThresholdExceeded, match="max_rejected_records=2"):
        log.check(3)
    ratio = RejectLog(logging.getLogger("test"), max_ratio=0.1)
    for n in range(11):
        ratio.add(_rejection(n, "X"))
    ratio.check(50)  # too few records to judge a ratio
    ratio.check(110)
    with pytest.raises(RejectThresholdExceeded, match="max_rejected_ratio"):
        ratio.check(109)
