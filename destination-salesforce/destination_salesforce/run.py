"""Console entry point `destination-salesforce`."""

import sys

from destination_salesforce.destination import DestinationSalesforce


def run() -> None:
    DestinationSalesforce().run(sys.argv[1:])


if __name__ == "__main__":
    run()
