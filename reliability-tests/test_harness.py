"""The suite's own instruments can fail: the secret scan finds a planted secret, the comparison finds a difference."""

from __future__ import annotations

import pytest
from reliability_harness import SecretLeak, compare_records, scan, secret_values


def test_scan_finds_every_kind_of_secret_and_token_shaped_text(org) -> None:
    config = {"credentials": org.credentials("username_password")}
    for secret in ("emulator-password", "EMULATORTOKEN", "emulator-client-secret"):
        with pytest.raises(SecretLeak) as leak:
            scan({"stdout": f"login failed for {secret}!"}, config, org)
        assert secret not in str(leak.value)
    token = org.access_token()
    with pytest.raises(SecretLeak):
        scan({"stderr": f"Authorization: Bearer {token}"}, None, org)
    with pytest.raises(SecretLeak):  # by shape alone, even a token this run never saw
        scan({"stderr": "Bearer 00D8d0000000001!AQ4AQFakeTokenValue1234567890"}, None, None)
    scan({"stdout": "nothing to see"}, config, org)


def test_private_key_lines_are_secrets(org) -> None:
    values = secret_values({"credentials": org.credentials("jwt_bearer")})
    body_lines = [name for name in values if "line" in name]
    assert len(body_lines) > 10
    some_line = values[body_lines[5]]
    with pytest.raises(SecretLeak):
        scan({"log": f"key starts {some_line}"}, {"credentials": org.credentials("jwt_bearer")}, None)


def test_compare_records_reports_missing_duplicated_and_changed_values() -> None:
    rows = [{"Id": "a1", "Name": "x", "Checkbox__c": 1, "Number__c": 1.5}, {"Id": "a2", "Name": "y"}]
    assert compare_records(rows, [{"Id": "a1", "Name": "x", "Checkbox__c": True, "Number__c": 1.5}, rows[1]]) == []
    assert compare_records(rows, [rows[1]])  # a1 missing
    assert compare_records(rows, [*rows, rows[1]])  # a2 twice
    assert compare_records(rows, [{**rows[0], "Checkbox__c": False}, rows[1]])
    assert compare_records(rows, [{"Id": "a1", "Name": "z", "Checkbox__c": True, "Number__c": 1.5}, rows[1]])
