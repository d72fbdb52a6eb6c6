"""Console entry point: `source-salesforce spec|check|discover|read`."""

from __future__ import annotations

import sys

from airbyte_cdk.entrypoint import launch

from source_salesforce.source import SourceSalesforce


def run() -> None:
    launch(SourceSalesforce(), sys.argv[1:])


if __name__ == "__main__":
    run()
