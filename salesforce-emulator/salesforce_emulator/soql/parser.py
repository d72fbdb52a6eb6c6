"""SOQL text -> SoqlQuery, with a Lark LALR grammar (grammar.lark) and a transformer to the query dataclasses."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib.resources import files

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import literals
from .errors import MALFORMED_QUERY, Position, SoqlError, located_error
from .query import (
    Aggregate,
    Aliased,
    And,
    Comparison,
    DateRange,
    FieldPath,
    Includes,
    InList,
    Literal,
    Not,
    Or,
    OrderItem,
    SoqlQuery,
    SubQuery,
    TypeOf,
)


@cache
def _lark() -> Lark:
    grammar = files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False)


def _pos(token: Token) -> Position:
    return Position(token.line or 1, token.column or 1)


class _LiteralProblem(Exception):
    def __init__(self, position: Position, detail: str) -> None:
        super().__init__(detail)
        self.position = position
        self.detail = detail


class _ToQuery(Transformer):
    def __init__(self, text: str, today: dt.date) -> None:
        super().__init__()
        self._text = text
        self._today = today

    # --- select / from ---------------------------------------------------------------------------------------------

    def start(self, children: list) -> SoqlQuery:
        return children[0]

    def query(self, children: list) -> SoqlQuery:
        select_list = children[1]
        name: Token = children[3]
        query = SoqlQuery(text=self._text, object_name=str(name), object_position=_pos(name))
        if select_list == "COUNT":
            query.is_count = True
        else:
            query.select = select_list
        for child in children[4:]:
            kind, value = child
            setattr(query, kind, value)
        return query

    def select_list(self, children: list) -> list | str:
        if len(children) == 1 and children[0] == "COUNT":
            return "COUNT"
        return list(children)

    def count_all(self, _children: list) -> str:
        return "COUNT"

    def subquery(self, children: list) -> SubQuery:
        inner: SoqlQuery = children[0]
        return SubQuery(inner, inner.object_position)

    def aliased(self, children: list) -> Aliased:
        return Aliased(children[0], str(children[1]))

    def aggregate(self, children: list) -> Aggregate:
        function: Token = children[0]
        alias = str(children[2]) if len(children) > 2 else None
        return Aggregate(str(function).upper(), children[1], alias, _pos(function))

    def typeof(self, children: list) -> TypeOf:
        name: Token = children[1]
        whens = tuple(c for c in children[2:] if isinstance(c, tuple))
        otherwise = next((c for c in children[2:] if isinstance(c, list)), [])
        return TypeOf(str(name), whens, tuple(otherwise), _pos(name))

    def when(self, children: list) -> tuple[str, tuple[FieldPath, ...]]:
        return (str(children[1]), tuple(children[3]))

    def field_list(self, children: list) -> list[FieldPath]:
        return list(children)

    def group_clause(self, children: list) -> tuple[str, list[FieldPath]]:
        return ("group_by", [c for c in children if isinstance(c, FieldPath)])

    def field_path(self, children: list[Token]) -> FieldPath:
        return FieldPath(tuple(str(c) for c in children), _pos(children[0]))

    def alias(self, children: list[Token]) -> tuple[str, str]:
        return ("alias", str(children[0]))

    # --- where -----------------------------------------------------------------------------------------------------

    def where_clause(self, children: list) -> tuple[str, object]:
        return ("where", children[1])

    def and_chain(self, children: list) -> And:
        return And(tuple(c for c in children if not isinstance(c, Token)))

    def or_chain(self, children: list) -> Or:
        return Or(tuple(c for c in children if not isinstance(c, Token)))

    def not_(self, children: list) -> Not:
        return Not(children[1])

    def compare(self, children: list) -> Comparison:
        field, operator, value = children
        op = "!=" if str(operator) == "<>" else str(operator)
        return Comparison(field, op, value)

    def like(self, children: list) -> Comparison:
        return Comparison(children[0], "LIKE", children[2])

    def in_(self, children: list) -> InList:
        return InList(children[0], children[2], negated=False)

    def not_in(self, children: list) -> InList:
        return InList(children[0], children[3], negated=True)

    def includes(self, children: list) -> Includes:
        return Includes(children[0], children[2], negated=False)

    def excludes(self, children: list) -> Includes:
        return Includes(children[0], children[2], negated=True)

    def values(self, children: list) -> tuple:
        return tuple(children)

    # --- literals --------------------------------------------------------------------------------------------------

    def string(self, children: list[Token]) -> Literal:
        token = children[0]
        try:
            value, pattern = literals.decode_string(str(token))
        except literals.LiteralError as exc:
            raise _LiteralProblem(_pos(token), str(exc)) from None
        return Literal("string", value, _pos(token), like_pattern=pattern)

    def number(self, children: list[Token]) -> Literal:
        token = children[0]
        text = str(token)
        value: int | float = float(text) if "." in text else int(text)
        return Literal("number", value, _pos(token))

    def date(self, children: list[Token]) -> Literal:
        token = children[0]
        try:
            return Literal("date", literals.parse_date(str(token)), _pos(token))
        except literals.LiteralError as exc:
            raise _LiteralProblem(_pos(token), str(exc)) from None

    def datetime(self, children: list[Token]) -> Literal:
        token = children[0]
        try:
            return Literal("datetime", literals.normalise_datetime(str(token)), _pos(token))
        except literals.LiteralError as exc:
            raise _LiteralProblem(_pos(token), str(exc)) from None

    def true(self, children: list[Token]) -> Literal:
        return Literal("boolean", True, _pos(children[0]))

    def false(self, children: list[Token]) -> Literal:
        return Literal("boolean", False, _pos(children[0]))

    def null(self, children: list[Token]) -> Literal:
        return Literal("null", None, _pos(children[0]))

    def date_constant(self, children: list[Token]) -> DateRange:
        name = children[0]
        n = int(children[1]) if len(children) > 1 else None
        try:
            start, end = literals.date_constant_range(str(name), n, self._today)
        except literals.LiteralError as exc:
            raise _LiteralProblem(_pos(name), str(exc)) from None
        label = str(name).upper() if n is None else f"{str(name).upper()}:{n}"
        return DateRange(label, start, end, _pos(name))

    # --- order / limit / offset ------------------------------------------------------------------------------------

    def order_clause(self, children: list) -> tuple[str, list[OrderItem]]:
        return ("order_by", [c for c in children if isinstance(c, OrderItem)])

    def order_item(self, children: list) -> OrderItem:
        field = children[0]
        descending = "DESC" in children[1:]
        nulls = [c for c in children[1:] if isinstance(c, tuple)]
        nulls_first = nulls[0][1] if nulls else not descending
        return OrderItem(field, descending, nulls_first)

    def direction(self, children: list[Token]) -> str:
        return children[0].type

    @v_args(inline=True)
    def nulls(self, _nulls: Token, which: Token) -> tuple[str, bool]:
        return ("nulls", which.type == "FIRST")

    def limit_clause(self, children: list[Token]) -> tuple[str, int]:
        return ("limit", int(children[1]))

    def offset_clause(self, children: list[Token]) -> tuple[str, int]:
        return ("offset", int(children[1]))


def _describe(token: Token | None) -> str:
    if token is None or token.type == "$END":
        return "<EOF>"
    return str(token)


def parse(text: str, *, today: dt.date | None = None) -> SoqlQuery:
    """Parse SOQL text; raises SoqlError(MALFORMED_QUERY) with the offending position.

    `today` (UTC by default) anchors date constants such as LAST_N_DAYS:30.
    """
    day = today or dt.datetime.now(dt.UTC).date()
    try:
        tree = _lark().parse(text)
        return _ToQuery(text, day).transform(tree)
    except UnexpectedToken as exc:
        raise located_error(
            MALFORMED_QUERY, text, _error_position(text, exc), f"unexpected token: '{_describe(exc.token)}'"
        ) from None
    except UnexpectedCharacters as exc:
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else "<EOF>"
        detail = (
            f"line {exc.line}:{exc.column - 1} no viable alternative at character '{char}'"
            if char != "'"
            else "unterminated string literal"
        )
        raise located_error(MALFORMED_QUERY, text, Position(exc.line, exc.column), detail) from None
    except UnexpectedEOF as exc:
        raise located_error(MALFORMED_QUERY, text, _end_position(text), "unexpected token: '<EOF>'") from exc
    except UnexpectedInput as exc:  # pragma: no cover - the LALR parser raises the subclasses above
        raise SoqlError(MALFORMED_QUERY, str(exc)) from None
    except VisitError as exc:
        problem = exc.orig_exc
        if isinstance(problem, _LiteralProblem):
            raise located_error(MALFORMED_QUERY, text, problem.position, problem.detail) from None
        raise


def _end_position(text: str) -> Position:
    lines = text.splitlines() or [""]
    return Position(len(lines), len(lines[-1]) + 1)


def _error_position(text: str, exc: UnexpectedToken) -> Position:
    if exc.token is None or exc.token.type == "$END" or exc.token.line is None:
        return _end_position(text)
    return Position(exc.token.line, exc.token.column or 1)
