"""The config, catalog and state files: every broken file is a ConfigError naming the file and the fault, never
quoting the file's content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from salesforce_api import input_files
from salesforce_api.errors import ConfigError

SECRET = "Secret-Value-123"  # noqa: S105 - planted to be looked for


def write(tmp_path: Path, content: bytes | str | object) -> str:
    path = tmp_path / "config.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


BROKEN = {
    "empty": (b"", "is empty"),
    "blank": (b" \n\t\n", "is empty"),
    "not JSON": (b'{"password": "' + SECRET.encode() + b'"', "not valid JSON (line 1"),
    "a list": (b"[1, 2]", "holds a list"),
    "a string": (b'"' + SECRET.encode() + b'"', "holds a string"),
    "a number": (b"42", "holds a number"),
    "null": (b"null", "holds null"),
    "invalid UTF-8": (b'{"password": "\xff\xfe' + SECRET.encode() + b'"}', "not UTF-8 text (invalid byte at offset"),
    "nested too deeply": (b"[" * 200_000, "nested too deeply"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_config_is_a_config_error_naming_the_file(tmp_path, case):
    content, words = BROKEN[case]
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        input_files.read_config(path)
    assert path in caught.value.message and "config file" in caught.value.message
    assert words in caught.value.message
    assert SECRET not in str(caught.value)


def test_missing_file_and_directory_are_named(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read .No such file"):
        input_files.read_config(str(tmp_path / "absent.json"))
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        input_files.read_config(str(tmp_path))


def test_a_utf8_byte_order_mark_is_not_part_of_the_json(tmp_path):
    path = write(tmp_path, "\ufeff" + json.dumps({"credentials": {}}))
    assert input_files.read_config(path) == {"credentials": {}}


def test_catalog_without_streams_is_named(tmp_path):
    with pytest.raises(ConfigError, match="has no streams"):
        input_files.read_catalog(write(tmp_path, {"streams": []}))
