"""An object's describe -> its stream: JSON schema, primary key, cursor fields, compound fields."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("airbyte")

CURSOR_PREFERENCE = ("SystemModstamp", "LastModifiedDate", "CreatedDate")

_STRING_TYPES = frozenset(
    {
        "id",
        "string",
        "textarea",
        "picklist",
        "multipicklist",
        "combobox",
        "reference",
        "email",
        "phone",
        "url",
        "encryptedstring",
        "base64",
        "anyType",
    }
)
_INTEGER_TYPES = frozenset({"int", "long"})
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})
_OBJECT_TYPES = frozenset({"complexvalue", "json"})
COMPOUND_TYPES = frozenset({"address", "location"})

# Keys of a compound value, longest first so that "StateCode" wins over "State".
_COMPOUND_KEYS = (
    "GeocodeAccuracy",
    "CountryCode",
    "PostalCode",
    "StateCode",
    "Longitude",
    "Latitude",
    "Country",
    "Street",
    "State",
    "City",
)
_DEFAULT_COMPONENTS = {
    "address": ("street", "city", "state", "postalCode", "country", "latitude", "longitude", "geocodeAccuracy"),
    "location": ("latitude", "longitude"),
}
_NUMBER_KEYS = frozenset({"latitude", "longitude"})


def _nullable(json_type: str, **extra: Any) -> dict[str, Any]:
    return {"type": [json_type, "null"], **extra}


def compound_key(component_name: str) -> str | None:
    """BillingPostalCode -> postalCode, Loc__Latitude__s -> latitude; None if the name fits no known key."""
    base = component_name[:-3] if component_name.endswith("__s") else component_name
    for key in _COMPOUND_KEYS:
        if base.endswith(key):
            return key[0].lower() + key[1:]
    return None


def property_schema(field_type: str, *, name: str = "", components: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON schema of one describe field; every value may be null."""
    if field_type in _STRING_TYPES:
        return _nullable("string")
    if field_type == "boolean":
        return _nullable("boolean")
    if field_type in _INTEGER_TYPES:
        return _nullable("integer")
    if field_type in _NUMBER_TYPES:
        return _nullable("number")
    if field_type == "date":
        return _nullable("string", format="date")
    if field_type == "datetime":
        return _nullable("string", format="date-time", airbyte_type="timestamp_with_timezone")
    if field_type == "time":
        return _nullable("string", format="time", airbyte_type="time_with_timezone")
    if field_type in COMPOUND_TYPES:
        keys = components or _DEFAULT_COMPONENTS[field_type]
        return _nullable(
            "object",
            properties={k: _nullable("number" if k in _NUMBER_KEYS else "string") for k in keys},
        )
    if field_type in _OBJECT_TYPES:
        return _nullable("object")
    logger.warning("Field %s has the unknown Salesforce type %r; it is read as a string.", name, field_type)
    return _nullable("string")


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    filterable: bool = True
    compound_name: str | None = None
    nillable: bool = True
    reference_to: tuple[str, ...] = ()  # the parent objects of a reference field
    relationship_name: str | None = None  # Account__r for Account__c
    external_id: bool = False
    unique: bool = False


@dataclass(frozen=True)
class ParentKey:
    """A reference field followed to its parent's external id: `Account__c` -> `Account__r.External_Id__c`."""

    field: str  # Account__c
    relationship: str  # Account__r
    parent: str  # Account
    key: str  # External_Id__c
    key_type: str  # the external id field's Salesforce type

    @property
    def path(self) -> str:
        """The relationship query column."""
        return f"{self.relationship}.{self.key}"


@dataclass
class ObjectSchema:
    name: str
    fields: dict[str, FieldInfo]
    json_schema: dict[str, Any]
    # compound field -> ((component field, key in the compound value), ...)
    compounds: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # relationship name -> the parent external id its records carry (the parent_external_ids setting)
    parents: dict[str, ParentKey] = field(default_factory=dict)

    def add_parents(self, keys: Iterable[ParentKey]) -> None:
        """Records also carry `{relationship: {key: value}}` (null without a parent external id) for each key."""
        for key in keys:
            self.parents[key.relationship] = key
            self.json_schema["properties"][key.relationship] = _nullable(
                "object", properties={key.key: property_schema(key.key_type, name=f"{key.parent}.{key.key}")}
            )

    @property
    def primary_key(self) -> str | None:
        return "Id" if "Id" in self.fields else None

    @property
    def cursor_fields(self) -> list[str]:
        """Fields a sync may use as its cursor: filterable datetimes, the usual ones first."""
        usable = [f.name for f in self.fields.values() if f.type == "datetime" and f.filterable]
        preferred = [name for name in CURSOR_PREFERENCE if name in usable]
        return preferred + sorted(name for name in usable if name not in preferred)

    @property
    def default_cursor(self) -> str | None:
        return next((name for name in CURSOR_PREFERENCE if name in self.cursor_fields), None)

    @property
    def has_base64(self) -> bool:
        return any(f.type == "base64" for f in self.fields.values())


def from_describe(describe: Mapping[str, Any]) -> ObjectSchema:
    name = describe["name"]
    fields: dict[str, FieldInfo] = {}
    members: dict[str, list[tuple[str, str]]] = {}
    for raw in describe.get("fields", []):
        info = FieldInfo(
            name=raw["name"],
            type=raw.get("type", "string"),
            filterable=bool(raw.get("filterable", True)),
            compound_name=raw.get("compoundFieldName") or None,
            nillable=bool(raw.get("nillable", True)),
            reference_to=tuple(raw.get("referenceTo") or ()),
            relationship_name=raw.get("relationshipName") or None,
            external_id=bool(raw.get("externalId", False)),
            unique=bool(raw.get("unique", False)),
        )
        fields[info.name] = info
        if info.compound_name:
            key = compound_key(info.name)
            if key:
                members.setdefault(info.compound_name, []).append((info.name, key))
    compounds: dict[str, tuple[tuple[str, str], ...]] = {}
    properties: dict[str, Any] = {}
    for info in fields.values():
        if info.type in COMPOUND_TYPES:
            parts = tuple(members.get(info.name, ()))
            compounds[info.name] = parts
            properties[info.name] = property_schema(info.type, name=info.name, components=tuple(k for _, k in parts))
        else:
            properties[info.name] = property_schema(info.type, name=f"{name}.{info.name}")
    json_schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "properties": properties,
    }
    return ObjectSchema(name=name, fields=fields, json_schema=json_schema, compounds=compounds)
