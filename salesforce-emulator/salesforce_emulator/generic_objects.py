"""Generic custom objects for load tests: any number of objects with the same dozen typical fields (Bench01__c,
Bench02__c, ...), so a benchmark can build an org of many similar objects in one admin call and fill each with
`generate`. The fields are the everyday kinds (picklists, money, dates, contact details, short text); no address,
location or base64 field, so every client can read them through Bulk API 2.0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesforce_emulator.ids import BASE62

if TYPE_CHECKING:
    from salesforce_emulator.org import Org
    from salesforce_emulator.schema import ObjectDef

FIELDS: list[dict[str, Any]] = [
    {
        "name": "Code__c",
        "type": "string",
        "length": 40,
        "external_id": True,
        "unique": True,
        "id_lookup": True,
        "nillable": False,
    },
    {"name": "Status__c", "type": "picklist", "length": 255, "picklist_values": ["New", "Active", "On Hold", "Closed"]},
    {"name": "Category__c", "type": "picklist", "length": 255, "picklist_values": ["Hardware", "Software", "Service"]},
    {"name": "Amount__c", "type": "currency", "precision": 16, "scale": 2},
    {"name": "Quantity__c", "type": "int", "digits": 9},
    {"name": "Discount__c", "type": "percent", "precision": 5, "scale": 2},
    {"name": "Active__c", "type": "boolean", "default_value": False, "nillable": False},
    {"name": "Start_Date__c", "type": "date"},
    {"name": "Closed_At__c", "type": "datetime"},
    {"name": "Email__c", "type": "email", "length": 80},
    {"name": "Phone__c", "type": "phone", "length": 40},
    {"name": "Description__c", "type": "textarea", "length": 255},
]
# Key prefixes "b00", "b01", ... (three base-62 characters, as Salesforce's): clear of the seeded objects' and of
# the a-prefixes add_object hands out.
PREFIX_LETTER = "b"


def object_spec(name: str, index: int) -> dict[str, Any]:
    """The add_object spec of generic object number `index` (0-based) called `name`."""
    if not 0 <= index < 62 * 62:
        raise ValueError(f"at most {62 * 62} generic objects")
    prefix = PREFIX_LETTER + BASE62[index // 62] + BASE62[index % 62]
    return {"name": name, "label": name.removesuffix("__c"), "key_prefix": prefix, "fields": FIELDS}


def names(prefix: str, count: int) -> list[str]:
    """`prefix01__c` ... (two digits at least, so they sort in order)."""
    width = max(2, len(str(count)))
    return [f"{prefix}{i:0{width}d}__c" for i in range(1, count + 1)]


def add_generic_objects(org: Org, object_names: list[str]) -> list[ObjectDef]:
    """Add one generic object per name (each must end with __c and be new); returns them."""
    taken = sum(1 for obj in org.schema.objects if obj.key_prefix.startswith(PREFIX_LETTER))
    return [org.add_object(object_spec(name, taken + i)) for i, name in enumerate(object_names)]
