"""The SOQL primitives: API names checked whole, literals that cannot end their string or their line."""

import pytest
from salesforce_api.soql import is_api_name, string_literal


@pytest.mark.parametrize("name", ["Account", "My_Object__c", "Address__City__s", "a1"])
def test_api_names(name):
    assert is_api_name(name)


@pytest.mark.parametrize(
    "name", ["", "1Account", "Account\n", "Account' OR Id != null", "../A", "A%2F", "A B", None, 7]
)
def test_not_api_names(name):
    assert not is_api_name(name)


def test_string_literals_cannot_end_the_string_or_the_line():
    assert string_literal("x' OR Id != null") == "'x\\' OR Id != null'"
    assert string_literal("a\\'b") == "'a\\\\\\'b'"
    assert string_literal("line\nnext\r\tend") == "'line\\nnext\\r\\tend'"
    assert string_literal("O'Brien\\x") == "'O\\'Brien\\\\x'"
