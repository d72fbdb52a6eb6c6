"""Finding record Ids by external id, for update and delete of records that carry only their external id."""

from __future__ import annotations

from collections.abc import Sequence

from salesforce_api import RestClient
from salesforce_api.soql import string_literal

from destination_salesforce.mapping import PreparedRecord
from destination_salesforce.writers import Outcome

IN_LIST_SIZE = 200  # keeps each SOQL statement far below the 100,000-character limit


def resolve_ids(
    rest: RestClient, sobject: str, external_id_field: str, records: Sequence[PreparedRecord]
) -> dict[int, Outcome]:
    """Set `Id` on each record that lacks one from its external id; return failures for those that cannot have one.

    The keys of the result are the records' positions.
    """
    failures: dict[int, Outcome] = {}
    wanted: dict[str, list[PreparedRecord]] = {}
    for record in records:
        if record.values.get("Id") not in (None, ""):
            continue
        key = record.values.get(external_id_field)
        if key in (None, ""):
            failures[record.position] = Outcome.failure(
                "MISSING_KEY", f"the record has neither Id nor {external_id_field}", [external_id_field]
            )
            continue
        wanted.setdefault(str(key), []).append(record)
    keys = list(wanted)
    found: dict[str, list[str]] = {}
    for start in range(0, len(keys), IN_LIST_SIZE):
        chunk = keys[start : start + IN_LIST_SIZE]
        soql = (
            f"SELECT Id, {external_id_field} FROM {sobject} "
            f"WHERE {external_id_field} IN ({', '.join(string_literal(k) for k in chunk)})"
        )
        for row in rest.query(soql):
            found.setdefault(str(row[external_id_field]), []).append(row["Id"])
    for key, matching in wanted.items():
        ids = found.get(key, [])
        for record in matching:
            if len(ids) == 1:
                record.values["Id"] = ids[0]
                # The external id identified the record; sending it again would be a (no-op) write of the key.
            elif not ids:
                failures[record.position] = Outcome.failure(
                    "NOT_FOUND", f"no {sobject} has {external_id_field} = {key}", [external_id_field]
                )
            else:
                failures[record.position] = Outcome.failure(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{len(ids)} {sobject} records have {external_id_field} = {key}",
                    [external_id_field],
                )
    return failures
