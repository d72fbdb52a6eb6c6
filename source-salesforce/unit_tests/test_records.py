from source_salesforce.records import RecordShaper
from source_salesforce.schema import from_describe

DESCRIBE = {
    "name": "X__c",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Text__c", "type": "string"},
        {"name": "Flag__c", "type": "boolean"},
        {"name": "Count__c", "type": "int"},
        {"name": "Big__c", "type": "long"},
        {"name": "Amount__c", "type": "currency"},
        {"name": "Ratio__c", "type": "double"},
        {"name": "When__c", "type": "datetime"},
        {"name": "Day__c", "type": "date"},
        {"name": "Any__c", "type": "anyType"},
        {"name": "Loc__Latitude__s", "type": "double", "compoundFieldName": "Loc__c"},
        {"name": "Loc__Longitude__s", "type": "double", "compoundFieldName": "Loc__c"},
        {"name": "Loc__c", "type": "location"},
    ],
}


def test_rest_and_csv_give_identical_records():
    schema = from_describe(DESCRIBE)
    shaper = RecordShaper(schema, [f["name"] for f in DESCRIBE["fields"] if f["name"] != "Loc__Longitude__s"])
    assert "Loc__c" not in shaper.columns and "Loc__Longitude__s" in shaper.columns
    rest = {
        "Id": "a00000000000001AAA",
        "Text__c": "NA",
        "Flag__c": True,
        "Count__c": 3,
        "Big__c": 12345678901,
        "Amount__c": 5,
        "Ratio__c": 0.25,
        "When__c": "2024-01-31T12:00:00.000+0000",
        "Day__c": "2024-01-31",
        "Any__c": 7,
        "Loc__Latitude__s": 1.5,
        "Loc__Longitude__s": -2.0,
        "Loc__c": {"latitude": 1.5},
    }
    csv = {
        "Id": "a00000000000001AAA",
        "Text__c": "NA",
        "Flag__c": "true",
        "Count__c": "3",
        "Big__c": "12345678901",
        "Amount__c": "5",
        "Ratio__c": "0.25",
        "When__c": "2024-01-31T12:00:00.000Z",
        "Day__c": "2024-01-31",
        "Any__c": "7",
        "Loc__Latitude__s": "1.5",
        "Loc__Longitude__s": "-2.0",
    }
    from_rest, from_csv = shaper.from_rest(rest), shaper.from_csv(csv)
    assert from_rest == from_csv
    assert list(from_rest) == list(from_csv)
    assert from_csv["Text__c"] == "NA"
    assert from_csv["Amount__c"] == 5.0 and isinstance(from_rest["Amount__c"], float)
    assert from_csv["Loc__c"] == {"latitude": 1.5, "longitude": -2.0}
    assert "Loc__Longitude__s" not in from_csv


def test_empty_values_are_null_in_both():
    schema = from_describe(DESCRIBE)
    shaper = RecordShaper(schema, ["Id", "Text__c", "Flag__c", "Count__c", "Loc__c"])
    csv = shaper.from_csv(
        {
            "Id": "a00000000000001AAA",
            "Text__c": "",
            "Flag__c": "",
            "Count__c": "",
            "Loc__Latitude__s": "",
            "Loc__Longitude__s": "",
        }
    )
    rest = shaper.from_rest(
        {
            "Id": "a00000000000001AAA",
            "Text__c": None,
            "Flag__c": None,
            "Count__c": None,
            "Loc__Latitude__s": None,
            "Loc__Longitude__s": None,
        }
    )
    assert (
        csv == rest == {"Id": "a00000000000001AAA", "Text__c": None, "Flag__c": None, "Count__c": None, "Loc__c": None}
    )
