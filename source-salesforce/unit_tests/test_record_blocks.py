import orjson
import pytest
from source_salesforce.record_blocks import RecordBlocks


@pytest.mark.parametrize("namespace", [None, "ns"])
def test_a_block_holds_the_lines_of_single_record_messages(namespace):
    records = [{"Id": "a01", "Name": 'say "hi"\nthere', "N": 1.5}, {"Id": "a02", "Name": None, "N": None}]
    block = RecordBlocks("X__c", namespace, 1700000000000).block(iter(records))
    assert block is not None and block.count == 2 and (block.stream, block.namespace) == ("X__c", namespace)
    expected = []
    for data in records:
        body = {"stream": "X__c", "data": data, "emitted_at": 1700000000000}
        if namespace is not None:
            body["namespace"] = namespace
        expected.append(orjson.dumps({"type": "RECORD", "record": body}))
    assert block.lines == b"".join(line + b"\n" for line in expected)


def test_no_records_make_no_block():
    assert RecordBlocks("X__c", None, 0).block(iter([])) is None
