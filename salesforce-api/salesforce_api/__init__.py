"""Salesforce REST and Bulk API 2.0 client shared by the source and destination connectors."""

from salesforce_api.auth import Token, authenticator_from_config
from salesforce_api.bulk import BulkClient, BulkJobError, BulkNotSupportedError, BulkQueryResult, IngestJob
from salesforce_api.errors import (
    ApiConfigError,
    ApiError,
    AuthenticationError,
    ConfigError,
    LoginUnreachableError,
    NotFoundError,
    QueryTimeoutError,
    QuotaExceededError,
    SalesforceError,
    TransientError,
)
from salesforce_api.http import ApiUsage, SalesforceSession, connect
from salesforce_api.rest import QueryPage, RecordError, RecordResult, RestClient

__all__ = [
    "ApiConfigError",
    "ApiError",
    "ApiUsage",
    "AuthenticationError",
    "BulkClient",
    "BulkJobError",
    "BulkNotSupportedError",
    "BulkQueryResult",
    "ConfigError",
    "LoginUnreachableError",
    "IngestJob",
    "NotFoundError",
    "QueryPage",
    "QueryTimeoutError",
    "QuotaExceededError",
    "RecordError",
    "RecordResult",
    "RestClient",
    "SalesforceError",
    "SalesforceSession",
    "Token",
    "TransientError",
    "authenticator_from_config",
    "connect",
]
