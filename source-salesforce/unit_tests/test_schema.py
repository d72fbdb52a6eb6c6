import logging

import pytest
from source_salesforce.schema import compound_key, from_describe, property_schema

STRING_TYPES = [
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
]


@pytest.mark.parametrize("field_type", STRING_TYPES)
def test_string_types(field_type):
    assert property_schema(field_type) == {"type": ["string", "null"]}


@pytest.mark.parametrize(
    "field_type, expected",
    [
        ("boolean", {"type": ["boolean", "null"]}),
        ("int", {"type": ["integer", "null"]}),
        ("long", {"type": ["integer", "null"]}),
        ("double", {"type": ["number", "null"]}),
        ("currency", {"type": ["number", "null"]}),
        ("percent", {"type": ["number", "null"]}),
        ("date", {"type": ["string", "null"], "format": "date"}),
        ("datetime", {"type": ["string", "null"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}),
        ("time", {"type": ["string", "null"], "format": "time", "airbyte_type": "time_with_timezone"}),
        ("complexvalue", {"type": ["object", "null"]}),
        ("json", {"type": ["object", "null"]}),
    ],
)
def test_typed_fields(field_type, expected):
    assert property_schema(field_type) == expected


def test_compound_types_and_unknown_type(caplog):
    location = property_schema("location")
    assert location["type"] == ["object", "null"]
    assert location["properties"] == {
        "latitude": {"type": ["number", "null"]},
        "longitude": {"type": ["number", "null"]},
    }
    assert set(property_schema("address")["properties"]) >= {"street", "city", "postalCode", "geocodeAccuracy"}
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert property_schema("hologram", name="X.Y") == {"type": ["string", "null"]}
    assert "hologram" in caplog.text


def test_compound_key():
    assert compound_key("BillingPostalCode") == "postalCode"
    assert compound_key("BillingStateCode") == "stateCode"
    assert compound_key("Foo__Latitude__s") == "latitude"
    assert compound_key("Street") == "street"
    assert compound_key("Nonsense") is None


DESCRIBE = {
    "name": "Account",
    "fields": [
        {"name": "Id", "type": "id", "filterable": True},
        {"name": "BillingCity", "type": "string", "compoundFieldName": "BillingAddress"},
        {"name": "BillingLatitude", "type": "double", "compoundFieldName": "BillingAddress"},
        {"name": "BillingAddress", "type": "address"},
        {"name": "CreatedDate", "type": "datetime", "filterable": True},
        {"name": "SystemModstamp", "type": "datetime", "filterable": True},
        {"name": "Hidden__c", "type": "datetime", "filterable": False},
        {"name": "Other__c", "type": "datetime", "filterable": True},
    ],
}


def test_from_describe():
    schema = from_describe(DESCRIBE)
    assert schema.primary_key == "Id"
    assert schema.cursor_fields == ["SystemModstamp", "CreatedDate", "Other__c"]
    assert schema.default_cursor == "SystemModstamp"
    assert schema.compounds["BillingAddress"] == (("BillingCity", "city"), ("BillingLatitude", "latitude"))
    props = schema.json_schema["properties"]
    assert props["BillingAddress"]["properties"] == {
        "city": {"type": ["string", "null"]},
        "latitude": {"type": ["number", "null"]},
    }
    assert all("null" in p["type"] for p in props.values())


def test_default_cursor_falls_back():
    schema = from_describe(
        {"name": "T", "fields": [{"name": "Id", "type": "id"}, {"name": "CreatedDate", "type": "datetime"}]}
    )
    assert schema.default_cursor == "CreatedDate"
    assert from_describe({"name": "T", "fields": [{"name": "Name", "type": "string"}]}).default_cursor is None
