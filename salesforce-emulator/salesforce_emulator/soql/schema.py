"""The schema metadata the SOQL engine needs, as Protocols the emulator's metadata classes satisfy."""

from __future__ import annotations

from typing import Protocol


class FieldInfo(Protocol):
    name: str
    type: str  # describe type: "string", "datetime", "reference", "address", ...
    reference_to: list[str]
    relationship_name: str | None
    filterable: bool
    sortable: bool
    compound_field_name: str | None  # set on the components of a compound field


class ObjectInfo(Protocol):
    name: str
    queryable: bool
    fields: list[FieldInfo]  # describe order

    def field(self, name: str) -> FieldInfo | None:
        """The field called `name`, compared case-insensitively."""
        ...


class SchemaInfo(Protocol):
    def object(self, name: str) -> ObjectInfo | None:
        """The sObject called `name`, compared case-insensitively."""
        ...
