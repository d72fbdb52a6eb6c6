"""Salesforce-style record ids: 15 case-sensitive characters plus the 3-character case-insensitive checksum."""

from __future__ import annotations

import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_POD = "8d"  # two "instance" characters after the key prefix
ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def checksum(id15: str) -> str:
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX[bits])
    return "".join(out)


def make_id(prefix: str, counter: int) -> str:
    digits = []
    for _ in range(10):
        counter, rem = divmod(counter, 62)
        digits.append(BASE62[rem])
    id15 = prefix + _POD + "".join(reversed(digits))
    return id15 + checksum(id15)


def counter_of(record_id: str) -> int:
    value = 0
    for ch in record_id[5:15]:
        value = value * 62 + BASE62.index(ch)
    return value


def to18(record_id: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not an id."""
    if not ID_PATTERN.match(record_id):
        return None
    return record_id if len(record_id) == 18 else record_id + checksum(record_id)
