"""The emulator's SOQL engine: parse SOQL, compile it against the org's schema to SQLite SQL, shape result rows.

plan = compile_query("SELECT Id, Owner.Name FROM Account WHERE Name LIKE 'A%'", schema)
rows = connection.execute(plan.sql, plan.params)
records = [plan.record(row, "62.0") for row in rows]
"""

from .compiler import compile_query
from .errors import INVALID_FIELD, INVALID_TYPE, MALFORMED_QUERY, SoqlError
from .parser import parse
from .plan import QueryPlan
from .query import SoqlQuery
from .schema import FieldInfo, ObjectInfo, SchemaInfo

__all__ = [
    "INVALID_FIELD",
    "INVALID_TYPE",
    "MALFORMED_QUERY",
    "FieldInfo",
    "ObjectInfo",
    "QueryPlan",
    "SchemaInfo",
    "SoqlError",
    "SoqlQuery",
    "compile_query",
    "parse",
]
