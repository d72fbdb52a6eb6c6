"""Reference fields written through the parent's external id, so that a copy between orgs keeps its lookups.

A record read from another org holds that org's parent Ids (`Account__c`), which mean nothing here. When the record
also carries the parent's external id, as a relationship query returns it, the reference is written as a lookup by
that external id (`Account__r.External_Id__c`) and the foreign Id is dropped. Both shapes are understood:

    {"Account__c": "001...", "Account__r": {"External_Id__c": "A-1"}}      nested, as SOQL returns it
    {"Account__c": "001...", "Account__r.External_Id__c": "A-1"}          flattened

Without a parent external id value (no parent, or a parent without one) the record's `Account__c` is written as is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reference:
    """A writable reference field (`Account__c`), its relationship (`Account__r`), and the parents' external id
    fields (asked of Salesforce only when a record first needs them)."""

    field: str
    relationship: str
    parent_keys: Callable[[], Collection[str]]


class ParentLookups:
    def __init__(self, references: Sequence[Reference]) -> None:
        self.by_name = {r.relationship.casefold(): r for r in references}
        self.relationships = {r.relationship: r for r in references}
        self.keys: dict[str, dict[str, str]] = {}  # relationship -> the parents' external ids, case-folded

    def target_of(self, name: str) -> str | None:
        """`Account__r` for a nested relationship, `Account__r.External_Id__c` for a flattened one; else None."""
        relationship, dot, parent_field = name.partition(".")
        reference = self.by_name.get(relationship.casefold())
        if reference is None:
            return None
        if not dot:
            return reference.relationship
        key = self._key(reference, parent_field)
        return f"{reference.relationship}.{key}" if key else None

    def add(self, values: MutableMapping[str, Any], target: str, value: Any) -> None:
        """Put the lookup values of an incoming field that `target_of` named into `values`."""
        if "." in target:
            if value is not None:
                values[target] = _text(value)
            return
        if not isinstance(value, Mapping):
            return  # null (no parent) or not an object: the reference field decides
        reference = self.relationships[target]
        for name, parent_value in value.items():
            key = self._key(reference, name)
            if key and parent_value is not None:
                values[f"{reference.relationship}.{key}"] = _text(parent_value)

    def finish(self, values: MutableMapping[str, Any]) -> None:
        """Drop each reference Id that a lookup by external id replaces (two ways of setting one field conflict)."""
        for target in [t for t in values if "." in t]:
            reference = self.relationships.get(target.split(".", 1)[0])
            if reference is not None:
                values.pop(reference.field, None)

    def _key(self, reference: Reference, name: str) -> str | None:
        """The parent's external id field `name` stands for (exact, else case-insensitive); None when none."""
        folded = self.keys.get(reference.relationship)
        if folded is None:
            folded = self.keys[reference.relationship] = {k.casefold(): k for k in reference.parent_keys()}
        key = folded.get(name.casefold())
        return name if key is not None and name in folded.values() else key


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
