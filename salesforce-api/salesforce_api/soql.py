"""The two SOQL primitives every caller needs to keep outside text from changing a query's meaning."""

from __future__ import annotations

import re

# An object or field API name: the only text from settings or a catalog that may reach a URL or SOQL unquoted.
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

# SOQL's escape sequences: a value can neither end its quoted literal nor break the statement's line.
_ESCAPES = str.maketrans(
    {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
)


def is_api_name(name: object) -> bool:
    """Whether `name` is a Salesforce object or field API name (the whole string: no trailing newline)."""
    return isinstance(name, str) and _API_NAME.fullmatch(name) is not None


def string_literal(value: object) -> str:
    """A quoted SOQL string literal holding `value` exactly."""
    return f"'{str(value).translate(_ESCAPES)}'"
