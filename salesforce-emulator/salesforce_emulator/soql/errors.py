"""SoqlError and the Salesforce-style message layout (query line, caret, row and column)."""

from __future__ import annotations

from dataclasses import dataclass

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"


class SoqlError(Exception):
    """A query Salesforce would refuse; `error_code` and `message` go into the 400 error body as they are."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    def __repr__(self) -> str:
        return f"SoqlError({self.error_code!r}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a token starts in the query text, both 1-based like Salesforce's 'Row:1:Column:N'."""

    line: int
    column: int


def located_error(error_code: str, text: str, position: Position | None, detail: str) -> SoqlError:
    """Build the compile-error layout: the offending query row, a caret under the token, the position, the detail."""
    if position is None:
        return SoqlError(error_code, detail)
    lines = text.splitlines() or [""]
    row = lines[position.line - 1] if 0 < position.line <= len(lines) else text
    caret = " " * (position.column - 1) + "^"
    return SoqlError(
        error_code,
        f"\n{row}\n{caret}\nERROR at Row:{position.line}:Column:{position.column}\n{detail}",
    )


def no_such_column(field: str, object_name: str) -> str:
    return (
        f"No such column '{field}' on entity '{object_name}'. If you are attempting to use a custom field, be sure to "
        "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names."
    )


def no_such_relationship(relationship: str) -> str:
    return (
        f"Didn't understand relationship '{relationship}' in field path. If you are attempting to use a custom "
        "relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or "
        "the describe call for the appropriate names."
    )


def unsupported_object(object_name: str) -> str:
    return (
        f"sObject type '{object_name}' is not supported. If you are attempting to use a custom object, be sure to "
        "append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate "
        "names."
    )
