"""Airbyte source for Salesforce."""

from typing import Any

__all__ = ["SourceSalesforce"]


def __getattr__(name: str) -> Any:
    # Imported on first use so that the pure modules (soql, schema, records) load without the CDK and the client.
    if name == "SourceSalesforce":
        from source_salesforce.source import SourceSalesforce

        return SourceSalesforce
    raise AttributeError(name)
