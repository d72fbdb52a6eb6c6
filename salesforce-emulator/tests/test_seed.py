"""Seeded data is tied like a real org's: whole-second stamps in bursts, data loads on one second, writes stamped at
whole seconds."""

from __future__ import annotations

from collections import Counter

from salesforce_emulator.org import Org
from salesforce_emulator.seed import LOAD_OFFSET, LOAD_SIZE


def stamps(org: Org, sobject: str, field: str = "SystemModstamp") -> Counter[str]:
    conn = org.read_connection()
    return Counter(r[0] for r in conn.execute(f'SELECT "{field}" FROM "{sobject}"'))


def test_seeded_stamps_are_whole_seconds_in_bursts() -> None:
    org = Org()
    try:
        org.seed_data("demo", 2000)
        modstamps = stamps(org, "Account")
        assert sum(modstamps.values()) == 2000
        assert all(s.endswith(".000+0000") for s in modstamps)
        # About 400 distinct stamps for 2,000 Accounts, as in recorded orgs.
        assert 300 <= len(modstamps) <= 550
        assert len(stamps(org, "Contact", "LastModifiedDate")) < 600
        created = stamps(org, "Account", "CreatedDate")
        assert len(created) < 600 and all(s.endswith(".000+0000") for s in created)
    finally:
        org.close()


def test_seeding_is_deterministic_and_a_large_org_holds_a_data_load_on_one_second() -> None:
    first, second = Org(), Org()
    try:
        first.seed_data("demo", LOAD_OFFSET + LOAD_SIZE + 10)
        second.seed_data("demo", LOAD_OFFSET + LOAD_SIZE + 10)
        rows = 'SELECT Id, CreatedDate, SystemModstamp FROM "X__c" ORDER BY Id'
        assert first.read_connection().execute(rows).fetchall() == second.read_connection().execute(rows).fetchall()
        (stamp, count), *_ = stamps(first, "X__c").most_common(1)
        assert count == LOAD_SIZE
        assert stamps(first, "X__c", "CreatedDate")[stamp] == LOAD_SIZE
    finally:
        first.close()
        second.close()


def test_generate_with_a_stamp_is_one_data_load(emulator) -> None:
    ids = emulator.admin.generate("Contact", 50, stamp="2023-06-01T12:00:00Z")
    rows = [r for r in emulator.admin.records("Contact") if r["Id"] in set(ids)]
    assert len(rows) == 50
    assert {(r["CreatedDate"], r["SystemModstamp"]) for r in rows} == {("2023-06-01T12:00:00.000+0000",) * 2}


def test_writes_are_stamped_at_whole_seconds(emulator) -> None:
    results = emulator.org.dml("Account", "insert", [{"Name": f"tie {i}"} for i in range(300)])
    ids = {r["id"] for r in results}
    rows = [r for r in emulator.admin.records("Account") if r["Id"] in ids]
    assert len(rows) == 300
    assert len({r["SystemModstamp"] for r in rows}) == 1, "one write, one second"
    assert all(r["SystemModstamp"].endswith(".000+0000") for r in rows)
