import json
import logging
import os

import pytest
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_salesforce.rejects import Rejection, RejectLog, RejectThresholdExceeded
from salesforce_api.errors import ConfigError


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


@pytest.mark.parametrize("where", ["directory", "device", "unwritable folder"])
def test_a_path_that_cannot_take_the_file_is_refused_at_the_start(tmp_path, where: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    path = {"directory": tmp_path, "device": "/dev/full", "unwritable folder": locked / "sub" / "r.jsonl"}[where]
    if where == "unwritable folder" and os.access(locked, os.W_OK):
        pytest.skip("running as a user who can write anywhere")
    with pytest.raises(ConfigError) as raised:
        RejectLog(logging.getLogger("test"), path=str(path))
    assert raised.value.setting == "rejected_records_path" and "'rejected_records_path'" in str(raised.value)


def test_a_failing_write_is_a_config_error_naming_the_setting(tmp_path) -> None:
    log = RejectLog(logging.getLogger("test"), path=str(tmp_path / "r.jsonl"))
    log._file.close()
    log._file = open("/dev/full", "w")  # noqa: SIM115 - every write of it fails: No space left on device
    with pytest.raises(ConfigError, match="rejected_records_path.*No space left"):
        log.add(_rejection(1, "DUPLICATE_VALUE"), {"a": 1})
    log.close()


def test_the_write_is_refused_before_any_record_is_sent(emulator, h, tmp_path) -> None:
    cfg = h.config(emulator, rejected_records_path=str(tmp_path))
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(cfg, h.catalog(h.stream("s")), [h.record("s", {"Name": "never"}), h.state("s", c=1)])
    assert raised.value.failure_type == FailureType.config_error
    assert "rejected_records_path" in raised.value.message
    assert not [r for r in h.live(emulator, "X__c") if r.get("Name") == "never"]
