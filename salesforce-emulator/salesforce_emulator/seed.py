"""Deterministic sample data: the same seed, object and count always give the same rows.

Rows go straight into SQLite with executemany in batches (no per-record validation), which is what lets a
million X__c rows load in seconds. Values are valid for their field types, so the org's own writes accept them.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from salesforce_emulator.ids import counter_of
from salesforce_emulator.schema import FieldDef, ObjectDef
from salesforce_emulator.store import q
from salesforce_emulator.values import format_datetime, seconds_of

if TYPE_CHECKING:
    from salesforce_emulator.org import Org

BATCH = 50_000
# Audit stamps are tied as in a real org (whole seconds; in recorded orgs 2,000 Accounts share about 400 distinct
# SystemModstamps and a data load stamps thousands of rows with one second). Consecutive records come in bursts that
# share one CreatedDate and one LastModifiedDate/SystemModstamp: a burst ends after each record with probability
# 1/BURST_MEAN (so about 5 records a burst), and a batch starts a burst. Besides, the records numbered
# LOAD_OFFSET + 1 .. LOAD_OFFSET + LOAD_SIZE of every LOAD_EVERY were written by one data load: one second for all
# of them (created and last modified), so an org of 10,000 records or more holds at least one tie of 2,500 rows.
BURST_MEAN = 5
LOAD_EVERY = 20_000
LOAD_OFFSET = 5_000
LOAD_SIZE = 2_500
SPAN_START = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
SPAN_END = dt.datetime(2024, 12, 31, tzinfo=dt.UTC)
SPAN_SECONDS = int((SPAN_END - SPAN_START).total_seconds())
ORDER = ["Account", "Contact", "Lead", "Opportunity", "Case", "X__c"]
FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Margaret", "Linus"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee"]
WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent", "Hooli"]
CITIES = [("Paris", "FR"), ("Berlin", "DE"), ("Lyon", "FR"), ("Austin", "US"), ("Leeds", "GB"), ("Oslo", "NO")]
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. "
)
# The fixed users: the API user every session runs as, the assignment-rule target, and a few owners.
USERS = [
    ("admin@example.com", "Admin", "Emulator", "admin"),
    ("assignment@example.com", "Assignment", "Queue", "assign"),
    ("ada@example.com", "Ada", "Lovelace", "ada"),
    ("alan@example.com", "Alan", "Turing", "alan"),
    ("grace@example.com", "Grace", "Hopper", "grace"),
]


def seed_org(org: Org, seed: str, records: int) -> None:
    """Users always; then `records` rows of every seeded object unless seed is 'empty'."""
    seed_users(org)
    if seed == "empty" or records <= 0:
        return
    for name in ORDER:
        if org.schema.object(name) is not None:
            generate(org, name, records, seed)


def seed_users(org: Org) -> None:
    obj = org.schema.object("User")
    conn = org.read_connection()
    if conn.execute('SELECT COUNT(*) FROM "User"').fetchone()[0]:
        return
    ids = org.store.next_ids(obj, len(USERS))
    stamp = format_datetime(SPAN_START)
    rows = []
    for record_id, (username, first, last, alias) in zip(ids, USERS, strict=True):
        row = {
            "Id": record_id,
            "IsDeleted": 0,
            "Username": username,
            "FirstName": first,
            "LastName": last,
            "Name": f"{first} {last}",
            "Email": username,
            "Alias": alias,
            "IsActive": 1,
            "Title": "User",
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
            "SystemModstamp": stamp,
            "CreatedById": ids[0],
            "LastModifiedById": ids[0],
        }
        rows.append(row)
    _insert(org, obj, list(rows[0]), [list(r.values()) for r in rows])
    seed_queue(org, stamp, ids[0])


def seed_queue(org: Org, stamp: str, creator: str) -> None:
    """One queue (a Group of type Queue), which owns some of the seeded Leads and Cases."""
    obj = org.schema.object("Group")
    if obj is None:
        return
    (queue_id,) = org.store.next_ids(obj, 1)
    row = {
        "Id": queue_id,
        "IsDeleted": 0,
        "Name": "Support Queue",
        "DeveloperName": "Support_Queue",
        "Type": "Queue",
        "Email": "support@example.com",
        "DoesSendEmailToMembers": 0,
        "CreatedDate": stamp,
        "CreatedById": creator,
        "LastModifiedDate": stamp,
        "LastModifiedById": creator,
        "SystemModstamp": stamp,
    }
    _insert(org, obj, list(row), [list(row.values())])


def generate(org: Org, sobject: str, count: int, seed: str = "demo", stamp: str | None = None) -> list[str]:
    """Add `count` generated rows to an object; returns their ids.

    `stamp` (a datetime): the rows are one data load, all created and last modified at that second.
    """
    obj = org.schema.object(sobject)
    if obj is None or not obj.queryable:
        raise KeyError(sobject)
    pools = _parent_pools(org, obj)
    fields = [f for f in obj.stored_fields]
    columns = [f.name for f in fields]
    makers = [_maker(obj, f, pools) for f in fields]
    fixed = None if stamp is None else int(seconds_of(stamp)) - _EPOCH
    new_ids: list[str] = []
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        ids = org.store.next_ids(obj, size)
        rng = random.Random(f"{seed}:{obj.name}:{counter_of(ids[0])}")
        # Bursts are drawn from their own generator, so every other value is what it was before stamps were tied.
        bursts = random.Random(f"{seed}:{obj.name}:bursts:{counter_of(ids[0])}")
        batch = []
        created = modified = 0
        burst_ends = True
        for record_id in ids:
            n = counter_of(record_id)
            own_created = _below(rng, SPAN_SECONDS)
            own_modified = own_created + _below(rng, SPAN_SECONDS - own_created)
            load = _load_second(seed, obj.name, n) if fixed is None else fixed
            if load is not None:
                created = modified = load
                burst_ends = True
            else:
                if burst_ends:
                    created, modified = own_created, own_modified
                burst_ends = bursts.random() < 1 / BURST_MEAN
            ctx = {"id": record_id, "n": n, "created": created, "modified": modified}
            row = [make(rng, ctx) for make in makers]
            batch.append(row)
        _derive(obj, columns, batch)
        _insert(org, obj, columns, batch)
        new_ids += ids
        done += size
    return new_ids


def _load_second(seed: str, sobject: str, n: int) -> int | None:
    """The second of the data load that wrote record number n, or None when no load wrote it."""
    load, offset = divmod(n - 1, LOAD_EVERY)
    if not LOAD_OFFSET <= offset < LOAD_OFFSET + LOAD_SIZE:
        return None
    return _below(random.Random(f"{seed}:{sobject}:load:{load}"), SPAN_SECONDS)


def _insert(org: Org, obj: ObjectDef, columns: list[str], rows: list[list[Any]]) -> None:
    sql = f"INSERT INTO {q(obj.name)} ({', '.join(q(c) for c in columns)}) VALUES ({', '.join('?' * len(columns))})"
    with org.store.transaction() as conn:
        conn.executemany(sql, rows)


def _parent_pools(org: Org, obj: ObjectDef) -> dict[str, list[str]]:
    conn = org.read_connection()
    pools: dict[str, list[str]] = {}
    for f in obj.fields:
        for target_name in f.reference_to if f.type == "reference" else ():
            target = org.schema.object(target_name)
            if target is not None and target.queryable and target.name not in pools:
                pools[target.name] = [
                    r[0]
                    for r in conn.execute(
                        f"SELECT Id FROM {q(target.name)} WHERE IsDeleted = 0 ORDER BY Id LIMIT 10000"
                    )
                ]
    if "User" in pools:
        pools["User"] = pools["User"][:5]
    return pools


_EPOCH = int(SPAN_START.timestamp())
_DATES = [(SPAN_START + dt.timedelta(days=d)).date().isoformat() for d in range(1461)]


def _stamp(seconds: int) -> str:
    # gmtime + strftime are C calls: several times faster than datetime arithmetic for a million rows.
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(_EPOCH + seconds))


def _below(rng: random.Random, n: int) -> int:
    """rng.randrange(n), without randrange's Python-level overhead."""
    return int(rng.random() * n)


Maker = Callable[[random.Random, dict[str, Any]], Any]


def _maker(obj: ObjectDef, f: FieldDef, pools: dict[str, list[str]]) -> Maker:  # noqa: C901, PLR0911, PLR0912
    name, t = f.name, f.type
    optional = f.nillable and name not in {"Name"}
    if name == "Id":
        return lambda rng, c: c["id"]
    if name == "IsDeleted":
        return lambda rng, c: 0
    if name == "CreatedDate":
        return lambda rng, c: _stamp(c["created"])
    if name in {"LastModifiedDate", "SystemModstamp"}:
        return lambda rng, c: _stamp(c["modified"])
    if t == "reference":
        # A polymorphic owner (User or queue) draws from every target: some Leads and Cases belong to the queue.
        pool = [i for target in f.reference_to for i in pools.get(target, [])] or None
        if not pool:
            return lambda rng, c: None
        if name in {"CreatedById", "LastModifiedById"}:
            return lambda rng, c: pool[0]
        if not f.nillable:
            return lambda rng, c: pool[_below(rng, len(pool))]
        return lambda rng, c: pool[_below(rng, len(pool))] if rng.random() < 0.9 else None
    if name == "External_Id__c":
        return lambda rng, c: f"X-{c['n']:07d}"
    if name == "Secondary_Key__c":
        # Pairs of records share a key, so an upsert on it can match several (HTTP 300).
        return lambda rng, c: f"K-{c['n'] // 2:07d}"
    if name == "FirstName":
        return lambda rng, c: FIRST[_below(rng, len(FIRST))]
    if name == "LastName":
        return lambda rng, c: LAST[_below(rng, len(LAST))]
    if name in {"Name", "Company"}:
        label = obj.label
        return lambda rng, c: f"{WORDS[_below(rng, len(WORDS))]} {label} {c['n']}"
    if name == "AccountNumber":
        return lambda rng, c: f"AC-{c['n']:06d}"
    if t == "boolean":
        return lambda rng, c: int(rng.random() < 0.5)
    if t in {"picklist", "multipicklist"}:
        values = f.picklist_values
        if not values:
            return lambda rng, c: None
        if t == "multipicklist":
            return lambda rng, c: ";".join(sorted(rng.sample(values, rng.randint(1, min(3, len(values))))))
        if not f.nillable or name == "Status":
            return lambda rng, c: values[_below(rng, len(values))]
        return lambda rng, c: values[_below(rng, len(values))] if rng.random() < 0.85 else None
    maker = _typed_maker(f)
    if optional and t not in {"int", "double", "currency", "percent"} and "City" not in name:
        return lambda rng, c: maker(rng, c) if rng.random() < 0.9 else None
    return maker


def _typed_maker(f: FieldDef) -> Maker:  # noqa: C901, PLR0911
    t, name = f.type, f.name
    if t == "email":
        return lambda rng, c: f"user{c['n']}@example.com"
    if t == "phone":
        return lambda rng, c: f"(555) {c['n'] % 1000:03d}-{_below(rng, 10000):04d}"
    if t == "url":
        return lambda rng, c: f"https://www.example.com/{c['n']}"
    if t == "date":
        return lambda rng, c: _DATES[_below(rng, 1461)]
    if t == "datetime":
        return lambda rng, c: _stamp(_below(rng, SPAN_SECONDS))
    if t == "time":
        return lambda rng, c: f"{_below(rng, 24):02d}:{_below(rng, 60):02d}:00.000Z"
    if t == "base64":
        return lambda rng, c: base64.b64encode(f"file {c['n']}".encode()).decode()
    if t in {"int", "long"}:
        top = 10 ** min(f.digits or 6, 6)
        return lambda rng, c: _below(rng, top)
    if t in {"double", "currency", "percent"}:
        if "Latitude" in name:
            return lambda rng, c: round(rng.uniform(-60, 60), 6)
        if "Longitude" in name:
            return lambda rng, c: round(rng.uniform(-150, 150), 6)
        top = min(10 ** max(1, (f.precision or 18) - (f.scale or 0)) - 1, 1_000_000)
        scale = f.scale
        if t == "percent":
            top = min(top, 100)
        return lambda rng, c: round(rng.uniform(0, top), scale)
    if "City" in name:
        return lambda rng, c: CITIES[c["n"] % len(CITIES)][0]
    if "Country" in name:
        return lambda rng, c: CITIES[c["n"] % len(CITIES)][1]
    if "PostalCode" in name:
        return lambda rng, c: f"{_below(rng, 100000):05d}"
    if "Street" in name:
        return lambda rng, c: f"{1 + _below(rng, 199)} Main Street"
    if t == "textarea":
        if f.length > 255:
            # Long text: short usually, a few hundred characters sometimes.
            return lambda rng, c: (LOREM * rng.randint(2, 6)) if rng.random() < 0.1 else LOREM.strip()
        return lambda rng, c: f"Note {c['n']}"
    limit = max(1, f.length or 80)
    return lambda rng, c: f"{f.label} {c['n']}"[:limit]


def _derive(obj: ObjectDef, columns: list[str], rows: list[list[Any]]) -> None:
    """Fields Salesforce computes: person Name, CaseNumber, IsClosed/IsWon."""
    index = {c: i for i, c in enumerate(columns)}
    get = index.get
    for row in rows:
        if get("FirstName") is not None and get("Name") is not None:
            row[index["Name"]] = f"{row[index['FirstName']] or ''} {row[index['LastName']]}".strip()
        if obj.name == "Case":
            row[index["CaseNumber"]] = f"{counter_of(row[index['Id']]) % 10**8:08d}"
            row[index["IsClosed"]] = int(row[index["Status"]] == "Closed")
        if obj.name == "Opportunity":
            stage = row[index["StageName"]] or ""
            row[index["IsClosed"]] = int(stage.startswith("Closed"))
            row[index["IsWon"]] = int(stage == "Closed Won")
        if obj.name == "X__c" and get("Number__c") is not None and row[index["Number__c"]] is not None:
            row[index["Number__c"]] = abs(row[index["Number__c"]])  # the validation rule: never negative
