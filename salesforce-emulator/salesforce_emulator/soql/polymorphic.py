"""The Name entity: what a path through a polymorphic reference (Lead.Owner -> User or Group) reaches in SOQL.

Salesforce resolves `Owner.Name` on a queue-owned record through the record the reference actually points at, and
offers only the Name object's fields on such a path; a REST record nests it with `attributes.type` "Name" and the url
of the real record. Here the Name entity is a SQL view, one UNION ALL arm per target object, joined like a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .schema import FieldInfo, ObjectInfo

NAME_ENTITY = "Name"
# The Name object's fields the emulated targets can fill (the others, e.g. ProfileId, have no column here).
NAME_FIELDS = (
    "Id",
    "Alias",
    "Email",
    "FirstName",
    "IsActive",
    "LastName",
    "Name",
    "Phone",
    "Title",
    "Type",
    "Username",
)
TYPE_COLUMN = "_sobject"  # the view's column naming each row's real object, for the record's url


@dataclass
class NameField:
    name: str
    type: str
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    filterable: bool = True
    sortable: bool = True
    compound_field_name: str | None = None


@dataclass
class NameEntity:
    """An ObjectInfo for the Name entity over `targets`, with the SQL that reads it."""

    targets: tuple[ObjectInfo, ...]
    name: str = NAME_ENTITY
    queryable: bool = False
    fields: list[FieldInfo] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in NAME_FIELDS:
            if name == "Type":
                self.fields.append(NameField("Type", "picklist"))
                continue
            found = next((f for t in self.targets if (f := t.field(name)) is not None), None)
            if found is not None:
                self.fields.append(NameField(found.name, found.type))

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name.lower() == name.lower()), None)

    def source_sql(self) -> str:
        """A parenthesised SELECT usable after LEFT JOIN: every target's rows with the Name fields."""
        arms = []
        for target in self.targets:
            columns = []
            for f in self.fields:
                own = target.field(f.name)
                if f.name == "Type" and (own is None or target.name == "User"):
                    # A user is of type User; a queue (a Group) has its own Type, "Queue".
                    value = _text(target.name)
                else:
                    value = _quote(own.name) if own is not None else "NULL"
                columns.append(f"{value} AS {_quote(f.name)}")
            columns.append(f"{_text(target.name)} AS {_quote(TYPE_COLUMN)}")
            arms.append(f"SELECT {', '.join(columns)} FROM {_quote(target.name)}")
        return "(" + " UNION ALL ".join(arms) + ")"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
