"""Object and field metadata of the emulated org, and its describe / describeGlobal JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "textarea": "xsd:string",
    "picklist": "xsd:string",
    "multipicklist": "xsd:string",
    "combobox": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "url": "xsd:string",
    "encryptedstring": "xsd:string",
    "base64": "xsd:base64Binary",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "address": "urn:address",
    "location": "urn:location",
    "anyType": "xsd:anyType",
}

# Describe types whose values are text, and the default length Salesforce reports for them.
TEXT_TYPES = {"string", "textarea", "picklist", "multipicklist", "combobox", "email", "phone", "url", "encryptedstring"}
NUMBER_TYPES = {"double", "currency", "percent"}
COMPOUND_TYPES = {"address", "location"}
AUDIT_REFERENCES = {"OwnerId", "CreatedById", "LastModifiedById"}
LONG_TEXT_LENGTH = 255  # a textarea longer than this is a "long text area" (smaller query pages)

# Three-character key prefixes of record ids.
KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Opportunity": "006",
    "Case": "500",
    "User": "005",
    "Group": "00G",
    "X__c": "a00",
    "X__e": "e00",
}


@dataclass
class FieldDef:
    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    calculated: bool = False
    auto_number: bool = False
    custom: bool = False
    unique: bool = False
    external_id: bool = False
    id_lookup: bool = False
    name_field: bool = False
    filterable: bool = True
    sortable: bool = True
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    # The name of this reference as seen from the parent (its child relationship): "Contacts" for Contact.AccountId.
    # Unset, it is the child object's plural ("Xs__r" for a custom field).
    child_relationship_name: str | None = None
    compound_field_name: str | None = None
    picklist_values: list[str] = field(default_factory=list)
    restricted_picklist: bool = False
    extra_type_info: str | None = None  # e.g. "personname" on a person's Name and its parts

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name.removesuffix("__c").removesuffix("__s").replace("_", " ")
        if self.type in COMPOUND_TYPES or self.type in {"textarea", "multipicklist", "base64"}:
            # Salesforce can neither filter nor sort on long text, compounds or binaries.
            if self.type != "textarea" or self.length > LONG_TEXT_LENGTH:
                self.filterable = self.type == "multipicklist"
                self.sortable = False
        if self.type in COMPOUND_TYPES:
            self.createable = self.updateable = False
        if self.type == "id":
            self.length, self.createable, self.updateable, self.id_lookup, self.nillable = 18, False, False, True, False
            self.defaulted_on_create = True
        if self.type == "reference" and not self.length:
            self.length = 18
        if self.type == "boolean":
            self.nillable = False
            self.defaulted_on_create = True

    @property
    def required(self) -> bool:
        return self.createable and not self.nillable and not self.defaulted_on_create

    @property
    def is_long_text(self) -> bool:
        return self.type == "textarea" and self.length > LONG_TEXT_LENGTH

    @property
    def stored(self) -> bool:
        return self.type not in COMPOUND_TYPES

    def describe(self) -> dict[str, Any]:
        text = self.type in TEXT_TYPES or self.type in {"id", "reference", "base64"}
        body = {
            "aggregatable": self.type not in {"textarea", "base64", "address", "location", "multipicklist"},
            "aiPredictionField": False,
            "autoNumber": self.auto_number,
            "byteLength": 18 if self.type in {"id", "reference"} else self.length * 3 if text else 0,
            "calculated": self.calculated,
            "calculatedFormula": None,
            "cascadeDelete": False,
            "caseSensitive": False,
            "compoundFieldName": self.compound_field_name,
            "controllerName": None,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value if self.type != "boolean" else bool(self.default_value),
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": self.digits,
            "displayLocationInDecimal": self.type == "location",
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": _extra_type_info(self),
            "filterable": self.filterable,
            "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": self.type not in {"textarea", "double", "currency", "percent", "datetime", "base64"},
            "highScaleNumber": False,
            "htmlFormatted": False,
            "idLookup": self.id_lookup,
            "inlineHelpText": None,
            "label": self.label,
            "length": self.length if text else 0,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": len(self.reference_to) > 1,  # a polymorphic reference points at the Name entity
            "nillable": self.nillable,
            "permissionable": self.custom and self.nillable,
            "picklistValues": [
                {"active": True, "defaultValue": v == self.default_value, "label": v, "validFor": None, "value": v}
                for v in self.picklist_values
            ],
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "precision": self.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": sorted(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": None,
            "restrictedDelete": False,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": self.type == "reference",
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.sortable,
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": False,
        }
        return body


def _extra_type_info(f: FieldDef) -> str | None:
    return f.extra_type_info or ("plaintextarea" if f.type == "textarea" else None)


@dataclass
class ObjectDef:
    name: str
    label: str = ""
    custom: bool = False
    queryable: bool = True
    is_event: bool = False
    key_prefix: str = ""
    fields: list[FieldDef] = field(default_factory=list)
    auto_assign: bool = False  # an active assignment rule runs on create/update unless Sforce-Auto-Assign: FALSE
    _by_name: dict[str, FieldDef] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name.removesuffix("__c").removesuffix("__e").replace("_", " ")
        self.reindex()

    def reindex(self) -> None:
        self._by_name = {f.name.lower(): f for f in self.fields}

    def field(self, name: str) -> FieldDef | None:
        return self._by_name.get(name.lower())

    @property
    def stored_fields(self) -> list[FieldDef]:
        return [f for f in self.fields if f.stored]

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == lowered:
                return f
        return None

    def _urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        urls = {"describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}", "sobject": base}
        if self.is_event:
            urls["eventSchema"] = f"/services/data/v{version}/event/eventSchema/{self.key_prefix}"
        return urls

    def global_entry(self, version: str) -> dict[str, Any]:
        writable = not self.is_event
        return {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": True,
            "custom": self.custom,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": writable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label + "s",
            "layoutable": writable,
            "mergeable": self.name in {"Account", "Contact", "Lead", "Case"},
            "mruEnabled": writable,
            "name": self.name,
            "queryable": self.queryable,
            "replicateable": writable,
            "retrieveable": writable,
            "searchable": writable,
            "triggerable": True,
            "undeletable": writable,
            "updateable": writable,
            "urls": self._urls(version),
        }

    def describe(self, version: str, child_relationships: list[dict[str, Any]]) -> dict[str, Any]:
        body = self.global_entry(version)
        body.update(
            {
                "actionOverrides": [],
                "childRelationships": child_relationships,
                "compactLayoutable": not self.is_event,
                "defaultImplementation": None,
                "extendedBy": None,
                "extendsInterfaces": None,
                "fields": [f.describe() for f in self.fields],
                "implementedBy": None,
                "implementsInterfaces": None,
                "listviewable": None,
                "lookupLayoutable": None,
                "namedLayoutInfos": [],
                "networkScopeFieldName": None,
                "recordTypeInfos": [self._master_record_type(version)],
                "searchLayoutable": not self.is_event,
                "sobjectDescribeOption": "FULL",
                "supportedScopes": [{"label": "All " + self.label + "s", "name": "everything"}],
            }
        )
        return dict(sorted(body.items()))

    def _master_record_type(self, version: str) -> dict[str, Any]:
        """Every object has the Master record type, even in an org that defines no others."""
        master = "012000000000000AAA"
        return {
            "active": True,
            "available": True,
            "defaultRecordTypeMapping": True,
            "developerName": "Master",
            "master": True,
            "name": "Master",
            "recordTypeId": master,
            "urls": {"layout": f"/services/data/v{version}/sobjects/{self.name}/describe/layouts/{master}"},
        }

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_by_name", None)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectDef:
        data = dict(data)
        fields = [FieldDef(**f) for f in data.pop("fields")]
        data.pop("_by_name", None)
        return cls(fields=fields, **data)


class Schema:
    """Every object of the org; satisfies the SOQL engine's SchemaInfo protocol."""

    def __init__(self, objects: list[ObjectDef]) -> None:
        self._objects: dict[str, ObjectDef] = {}
        for obj in objects:
            self.add(obj)

    def add(self, obj: ObjectDef) -> None:
        self._objects[obj.name.lower()] = obj

    def object(self, name: str) -> ObjectDef | None:
        return self._objects.get(name.lower())

    @property
    def objects(self) -> list[ObjectDef]:
        return sorted(self._objects.values(), key=lambda o: o.name)

    def child_relationships(self, parent: str) -> list[dict[str, Any]]:
        """Every reference to `parent`, by the name a subquery uses; owner and audit references (to User, Group) have
        no relationship name, as in a real org, so they cannot be used in a subquery. Deleting a parent never deletes
        or blocks its children here, so cascadeDelete and restrictedDelete are false."""
        children = []
        for obj in self.objects:
            for f in obj.fields:
                if not obj.queryable or parent not in f.reference_to or not f.relationship_name:
                    continue
                name = None
                if f.name not in AUDIT_REFERENCES:
                    name = f.child_relationship_name or _child_name(obj, f)
                children.append(
                    {
                        "cascadeDelete": False,
                        "childSObject": obj.name,
                        "deprecatedAndHidden": False,
                        "field": f.name,
                        "junctionIdListNames": [],
                        "junctionReferenceTo": [],
                        "relationshipName": name,
                        "restrictedDelete": False,
                    }
                )
        return children

    def global_describe(self, version: str) -> dict[str, Any]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [obj.global_entry(version) for obj in self.objects],
        }


def _plural(name: str) -> str:
    return name[:-1] + "ies" if name.endswith("y") else name + "s"


def _child_name(child: ObjectDef, reference: FieldDef) -> str:
    """A standard reference is named after the child's plural (Cases); a custom one after the child's plural label
    with the custom relationship suffix (Xs__r), as Salesforce proposes when the lookup is created."""
    plural = _plural(child.name.removesuffix("__c"))
    return plural + "__r" if reference.custom else plural
