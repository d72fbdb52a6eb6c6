"""Salesforce record ids: the 15-character case-sensitive form and its 18-character checksum form."""

from __future__ import annotations

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def to_18(record_id: str) -> str:
    """The 18-character form of a 15-character id (any other string is returned unchanged)."""
    if len(record_id) != 15 or not record_id.isalnum():
        return record_id
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(record_id[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _ALPHABET[bits]
    return record_id + suffix
