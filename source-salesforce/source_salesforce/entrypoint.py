"""The command-line entrypoint: the CDK's, with a config check that names the wrong setting without echoing it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import ConnectorSpecification, FailureType
from airbyte_cdk.sources.utils.schema_helpers import split_config
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from salesforce_api.errors import ConfigError

from source_salesforce.config import check_against_spec


class SourceEntrypoint(AirbyteEntrypoint):
    @staticmethod
    def validate_connection(source_spec: ConnectorSpecification, config: Mapping[str, Any]) -> None:
        # The CDK's message quotes the rejected value (perhaps a secret) and not the setting that holds it.
        connector_config, _ = split_config(config)
        try:
            check_against_spec(connector_config, source_spec.connectionSpecification)
        except ConfigError as exc:
            raise AirbyteTracedException(message=str(exc), failure_type=FailureType.config_error) from None
