"""Settings that looked like something else: an API version the org does not serve, an object name of 100,000
characters, two mappings onto one field. Each is a config error that names its setting."""

from __future__ import annotations

import logging

import pytest
from airbyte_cdk.models import FailureType, Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_salesforce import DestinationSalesforce
from salesforce_api.errors import ConfigError

LONG_NAME = "X" * 100_000


def write_error(cfg: dict, h, object_name: str | None = None) -> AirbyteTracedException:
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(cfg, h.catalog(h.stream("s", object_name=object_name)), [h.record("s", {"Name": "never"})])
    return raised.value


def test_an_api_version_the_org_does_not_serve_is_named(emulator, h) -> None:
    cfg = h.config(emulator, api_version="99.0")
    error = write_error(cfg, h)
    assert error.failure_type == FailureType.config_error
    assert "'api_version' is 99.0, which this org does not serve: it serves 31.0 to 66.0" in error.message
    assert "does not exist" not in error.message
    status = DestinationSalesforce().check(logging.getLogger("test"), cfg)
    assert status.status == Status.FAILED and "'api_version'" in status.message


def test_a_served_api_version_and_an_unknown_object_still_name_the_object(emulator, h) -> None:
    error = write_error(h.config(emulator, object="No_Such__c", api_version="60.0"), h)
    assert "No_Such__c" in error.message and "'object'" in error.message


def test_an_object_name_of_100000_characters_is_a_config_error(emulator, h) -> None:
    emulator.admin.reset_calls()
    for error in (write_error(h.config(emulator, object=LONG_NAME), h), write_error(h.config(emulator), h, LONG_NAME)):
        assert error.failure_type == FailureType.config_error
        assert "100,000 characters long" in error.message and LONG_NAME not in error.message
    assert not [e for e in emulator.admin.calls()["by_endpoint"] if "sobjects" in e]
    with pytest.raises(ConfigError, match="'object'"):
        DestinationSalesforce().validate_config(h.config(emulator, object=LONG_NAME))


@pytest.mark.parametrize("second", ["Text__c", "text__C"])
def test_two_mappings_onto_one_target_are_refused(emulator, h, second: str) -> None:
    mapping = [{"source": "a", "target": "Text__c"}, {"source": "b", "target": second}]
    with pytest.raises(ConfigError) as raised:
        DestinationSalesforce().validate_config(h.config(emulator, column_mapping=mapping))
    assert raised.value.setting == "column_mapping" and "'column_mapping'" in str(raised.value)
    DestinationSalesforce().validate_config(h.config(emulator, column_mapping=mapping[:1]))


def test_two_mappings_onto_one_target_in_a_streams_entry_name_that_entry(emulator, h) -> None:
    rules = [{"source": "a", "target": "Text__c"}, {"source": "b", "target": "TEXT__c"}]
    cfg = h.config(emulator, streams=[{"name": "b", "object": "X__c", "column_mapping": rules}])
    with pytest.raises(ConfigError) as raised:
        DestinationSalesforce().validate_config(cfg)
    assert raised.value.setting == "streams[b].column_mapping" and "'streams[b].column_mapping'" in str(raised.value)
    # Each scope is its own: the same target in the top-level mapping and in an entry is not a duplicate.
    cfg = h.config(
        emulator,
        column_mapping=rules[:1],
        streams=[{"name": "b", "object": "X__c", "column_mapping": rules[1:]}],
    )
    DestinationSalesforce().validate_config(cfg)
