"""Console entry point: `source-salesforce spec|check|discover|read`."""

from __future__ import annotations

import sys

from airbyte_cdk.entrypoint import PRINT_BUFFER

from source_salesforce.entrypoint import SourceEntrypoint
from source_salesforce.source import SourceSalesforce


def run(args: list[str] | None = None) -> None:
    entrypoint = SourceEntrypoint(SourceSalesforce())
    parsed = entrypoint.parse_args(sys.argv[1:] if args is None else args)
    with PRINT_BUFFER:
        for message in entrypoint.run(parsed):
            print(f"{message}\n", end="")


if __name__ == "__main__":
    run()
