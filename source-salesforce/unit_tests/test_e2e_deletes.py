"""include_purged_deletes reports each deleted record once: whole when queryAll still has it, as a stub when purged."""

from __future__ import annotations

from collections import Counter

import pytest
from airbyte_cdk.models import SyncMode
from salesforce_api import RestClient, connect


def delete_one(org, name: str, record_id: str) -> None:
    RestClient(connect(org.credentials("username_password"))).delete_one(name, record_id)


@pytest.mark.parametrize("cursor", ["SystemModstamp", "CreatedDate"])
@pytest.mark.parametrize("api", ["rest", "bulk"])
def test_a_deleted_record_is_reported_once_and_whole(sf, org, admin, cursor, api):
    config = sf.config(org, include_purged_deletes=True, force_api=api)
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], SyncMode.incremental, cursor)
    first = sf.read(config, catalog)
    victim = admin.records("Contact")[3]
    delete_one(org, "Contact", victim["Id"])
    sf.let_org_clock_pass_changes()
    second = sf.read(config, catalog, [sf.states(first)[-1]])
    reported = [r for r in sf.records(second) if r["Id"] == victim["Id"]]
    assert len(reported) == 1, reported
    assert reported[0]["IsDeleted"] is True
    assert reported[0]["LastName"] == victim["LastName"], "the whole row, not a stub"
    assert sf.states(second)[-1].stream.stream_state.__dict__["cursor_field"] == cursor
    assert second.is_in_logs("1 deleted records reported by getDeleted")


def test_a_purged_record_is_reported_as_a_stub_once(sf, org, admin):
    """A record purged from the Recycle Bin (a hard delete) is gone from queryAll and only known to getDeleted."""
    config = sf.config(org, include_purged_deletes=True)
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], SyncMode.incremental)
    first = sf.read(config, catalog)
    victim = admin.records("Contact")[5]["Id"]
    org.org.dml("Contact", "hardDelete", [{"Id": victim}])
    sf.let_org_clock_pass_changes()
    output = sf.read(config, catalog, [sf.states(first)[-1]])
    stubs = [r for r in sf.records(output) if r["Id"] == victim]
    assert len(stubs) == 1 and stubs[0]["IsDeleted"] is True and stubs[0]["SystemModstamp"].endswith("Z")
    assert "LastName" not in stubs[0] or stubs[0]["LastName"] is None, "a stub: the row itself is gone"
    assert Counter(r["Id"] for r in sf.records(output)).most_common(1)[0][1] == 1
    # Records after the read's last STATE are followed by one, so a destination commits them.
    assert output.records_and_state_messages[-1].state is not None
