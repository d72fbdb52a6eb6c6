"""Airbyte destination for Salesforce objects and Platform Events."""

from destination_salesforce.destination import DestinationSalesforce

__all__ = ["DestinationSalesforce"]
