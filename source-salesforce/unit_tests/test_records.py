from source_salesforce.records import RecordShaper
from source_salesforce.schema import ParentKey, from_describe


def shaped_csv(shaper, cells):
    """A Bulk CSV row, given as {column: text} in header order, shaped the way a Bulk read shapes it."""
    return shaper.csv_row_shaper(list(cells))(list(cells.values()))


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
    from_rest, from_csv = shaper.from_rest(rest), shaped_csv(shaper, csv)
    assert from_rest["When__c"] == "2024-01-31T12:00:00.000Z"  # RFC 3339, milliseconds kept
    assert from_rest == from_csv
    assert list(from_rest) == list(from_csv)
    assert from_csv["Text__c"] == "NA"
    assert from_csv["Amount__c"] == 5.0 and isinstance(from_rest["Amount__c"], float)
    assert from_csv["Loc__c"] == {"latitude": 1.5, "longitude": -2.0}
    assert "Loc__Longitude__s" not in from_csv


def test_empty_values_are_null_in_both():
    schema = from_describe(DESCRIBE)
    shaper = RecordShaper(schema, ["Id", "Text__c", "Flag__c", "Count__c", "Loc__c"])
    csv = shaped_csv(
        shaper,
        {
            "Id": "a00000000000001AAA",
            "Text__c": "",
            "Flag__c": "",
            "Count__c": "",
            "Loc__Latitude__s": "",
            "Loc__Longitude__s": "",
        },
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


def test_the_generated_csv_row_shaper_gives_what_the_generic_one_does():
    describe = {
        "name": "X__c",
        "fields": [
            *DESCRIBE["fields"],
            {"name": "Json__c", "type": "complexvalue"},
            {"name": "Addr__Street__s", "type": "string", "compoundFieldName": "Addr__c"},
            {"name": "Addr__Latitude__s", "type": "double", "compoundFieldName": "Addr__c"},
            {"name": "Addr__c", "type": "address"},
        ],
    }
    schema = from_describe(describe)
    wanted = [f["name"] for f in describe["fields"] if f["name"] not in ("Loc__Longitude__s", "Addr__Street__s")]
    shaper = RecordShaper(schema, wanted)
    header = shaper.columns
    assert shaper._csv_row_source(header) is not None  # the generated path serves this header
    texts = [
        {"Id": "a01", "Text__c": "NA", "Flag__c": "true", "Count__c": "3", "Big__c": "12345678901"}
        | {"Amount__c": "5", "Ratio__c": "0.25", "When__c": "2024-01-31T12:00:00.000Z", "Day__c": "2024-01-31"}
        | {"Any__c": "7", "Loc__Latitude__s": "1.5", "Loc__Longitude__s": "-2.0", "Json__c": '{"a": ""}'}
        | {"Addr__Street__s": "Main St", "Addr__Latitude__s": "4"},
        {"Id": "a02", "Flag__c": "TRUE", "Count__c": "3.0", "Amount__c": "-1e20", "Ratio__c": "nan"}
        | {"When__c": "2024-01-31T12:00:00.000+0000", "Json__c": "null"},
        {"Id": "a03", "Text__c": 'say "hi"', "Flag__c": "false", "Json__c": "not json", "Addr__Latitude__s": "0"},
        {"Id": "a04", "Text__c": "x"},
    ]
    rows = [[text.get(name, "") for name in header] for text in texts]
    generic = shaper._generic_csv_row_shaper(header)
    generated = shaper.csv_row_shaper(header)
    for row in rows:
        expected = generic(row)
        assert repr(generated(row)) == repr(expected)  # same values, types and key order (nan included)
        assert repr(generated([*row, "extra"])) == repr(generic([*row, "extra"]))  # a row of another length
    assert generated(rows[1])["When__c"] == generated(rows[0])["When__c"] == "2024-01-31T12:00:00.000Z"
    assert generated(rows[1])["Addr__c"] is None and generated(rows[0])["Addr__c"] == {
        "street": "Main St",
        "latitude": 4.0,
    }


def test_a_parent_external_id_is_nested_alike_from_rest_and_csv():
    """REST nests the parent with `attributes`; Bulk gives a flat column (shaped by generated code, or the generic
    path): all become {"Account__r": {"Key__c": ...}}, null without a value."""
    schema = from_describe(DESCRIBE)
    schema.add_parents([ParentKey("Account__c", "Account__r", "Account", "Key__c", "double")])
    shaper = RecordShaper(schema, ["Id", "Loc__c", "Account__r"])
    assert shaper.columns == ["Id", "Loc__Latitude__s", "Loc__Longitude__s", "Account__r.Key__c"]
    assert shaper.field_columns == ["Id", "Loc__Latitude__s", "Loc__Longitude__s"]
    parent = {"attributes": {"type": "Account", "url": "/services/data/v62.0/sobjects/Account/001"}, "Key__c": 7}
    rest = shaper.from_rest({"Id": "a01", "Loc__Latitude__s": 1.5, "Loc__Longitude__s": 2.5, "Account__r": parent})
    expected = {"Id": "a01", "Account__r": {"Key__c": 7.0}, "Loc__c": {"latitude": 1.5, "longitude": 2.5}}
    assert rest == expected and type(rest["Account__r"]["Key__c"]) is float
    cells = {"Id": "a01", "Loc__Latitude__s": "1.5", "Loc__Longitude__s": "2.5", "Account__r.Key__c": "7"}
    assert shaped_csv(shaper, cells) == expected
    assert list(shaped_csv(shaper, cells)) == list(rest)  # same key order
    generic = shaper._generic_csv_row_shaper(list(cells))
    assert generic(list(cells.values())) == expected
    no_parent = {**cells, "Account__r.Key__c": ""}
    assert shaped_csv(shaper, no_parent)["Account__r"] is None
    assert shaper.from_rest({"Id": "a01", "Account__r": None})["Account__r"] is None
    assert shaper.from_rest({"Id": "a01", "Account__r": {"Key__c": None}})["Account__r"] is None
    assert schema.json_schema["properties"]["Account__r"] == {
        "type": ["object", "null"],
        "properties": {"Key__c": {"type": ["number", "null"]}},
    }
    assert "Account__r" not in RecordShaper(schema, ["Id"]).from_rest({"Id": "a01", "Account__r": parent})
