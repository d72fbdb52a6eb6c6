"""The Salesforce destination: spec, check, discover, and write (one plan per stream, run by a WriteSession)."""

from __future__ import annotations

import argparse
import io
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airbyte_cdk.destinations import Destination
from airbyte_cdk.exception_handler import init_uncaught_exception_handler
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    DestinationSyncMode,
    FailureType,
    Status,
    Type,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from airbyte_protocol_dataclasses.models import DestinationCatalog, DestinationOperation
from salesforce_api import BulkClient, RestClient, connect
from salesforce_api.airbyte import traced_exception
from salesforce_api.errors import ApiError, ConfigError, NotFoundError, SalesforceError

from destination_salesforce.mapping import RecordFilter
from destination_salesforce.plan import StreamPlan, build_plan, choose_operation, is_event, problems
from destination_salesforce.protocol import catalog_to_json, message_to_json, parse_lines
from destination_salesforce.rejects import RejectLog, RejectThresholdExceeded
from destination_salesforce.session import WriteSession
from destination_salesforce.spec import WriterConfig, check_against_spec, check_api_name, connector_spec

logger = logging.getLogger("airbyte")

JSON_TYPES = {
    "boolean": {"type": ["null", "boolean"]},
    "int": {"type": ["null", "integer"]},
    "double": {"type": ["null", "number"]},
    "currency": {"type": ["null", "number"]},
    "percent": {"type": ["null", "number"]},
    "date": {"type": ["null", "string"], "format": "date"},
    "datetime": {"type": ["null", "string"], "format": "date-time"},
    "time": {"type": ["null", "string"], "format": "time"},
}


class DestinationSalesforce(Destination):
    VALID_CMDS = {"spec", "check", "discover", "write"}

    def spec(self, logger: logging.Logger | None = None) -> ConnectorSpecification:
        return connector_spec()

    # -- check ---------------------------------------------------------------------------------------------------

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            cfg = WriterConfig.from_mapping(config)
            RecordFilter(cfg.filter)
            operation, _ = choose_operation(DestinationSyncMode.append, cfg, cfg.object)
            rest = RestClient(connect(cfg.credentials, api_version=cfg.api_version))
            describe = describe_object(rest, cfg.object, "object")
            found = problems(describe, cfg, operation)
            if found:
                return AirbyteConnectionStatus(status=Status.FAILED, message="; ".join(found))
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        except ValueError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
        except ApiError as exc:
            if exc.status == 404:
                return AirbyteConnectionStatus(status=Status.FAILED, message=f"object {config.get('object')} not found")
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"Salesforce refused the check: {exc}")
        except SalesforceError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))

    # -- discover ------------------------------------------------------------------------------------------------

    def discover_operations(self, config: Mapping[str, Any]) -> DestinationCatalog:
        """One operation per writable object and supported sync mode, with its writable fields as JSON schema;
        the matching keys of append_dedup are the object's external id fields."""
        cfg = WriterConfig.from_mapping(config)
        rest = RestClient(connect(cfg.credentials, api_version=cfg.api_version))
        names = [
            o["name"]
            for o in rest.describe_global()["sobjects"]
            if (o.get("createable") or o.get("updateable")) and not o.get("deprecatedAndHidden")
        ]
        operations: list[DestinationOperation] = []
        for name, describe in rest.describe_many(names):
            if isinstance(describe, Exception):
                logger.warning("Skipping %s: %s", name, describe)
                continue
            operations.extend(_operations(describe))
        return DestinationCatalog(operations=operations)

    # -- write ---------------------------------------------------------------------------------------------------

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[AirbyteMessage],
    ) -> Iterable[AirbyteMessage]:
        try:
            yield from self._write(WriterConfig.from_mapping(config), configured_catalog, input_messages)
        except RejectThresholdExceeded as exc:
            raise AirbyteTracedException(message=str(exc), failure_type=FailureType.config_error) from None
        except SalesforceError as exc:
            raise traced_exception(exc) from None

    def _write(
        self, cfg: WriterConfig, catalog: ConfiguredAirbyteCatalog, input_messages: Iterable[AirbyteMessage]
    ) -> Iterator[AirbyteMessage]:
        try:
            record_filter = RecordFilter(cfg.filter)
        except ValueError as exc:
            raise ConfigError(str(exc), setting="filter") from None
        session = connect(cfg.credentials, api_version=cfg.api_version)
        rest, bulk = RestClient(session), BulkClient(session)
        plans: dict[tuple[str | None, str], StreamPlan] = {}
        describes: dict[str, Mapping[str, Any]] = {}
        for configured in catalog.streams:
            sobject = configured.destination_object_name or cfg.object
            if sobject not in describes:
                describes[sobject] = describe_object(rest, sobject, object_setting(configured, cfg))
            plans[(configured.stream.namespace, configured.stream.name)] = build_plan(
                configured.stream.name, sobject, configured.destination_sync_mode, describes[sobject],
                cfg, rest, bulk, logger,
            )  # fmt: skip
        rejects = RejectLog(
            logger, max_records=cfg.max_rejected_records, max_ratio=cfg.max_rejected_ratio,
            path=cfg.rejected_records_path,
        )  # fmt: skip
        yield from WriteSession(
            plans, rejects, logger, record_filter=record_filter, batch_size=cfg.batch_size,
            flush_interval=cfg.flush_interval_seconds,
        ).run(input_messages)  # fmt: skip

    # -- command line --------------------------------------------------------------------------------------------

    def parse_args(self, args: list[str]) -> argparse.Namespace:
        parser = argparse.ArgumentParser(prog="destination-salesforce")
        commands = parser.add_subparsers(title="commands", dest="command", required=True)
        commands.add_parser("spec", help="print the configuration specification")
        for name in ("check", "discover", "write"):
            sub = commands.add_parser(name)
            sub.add_argument("--config", required=True, help="path to the JSON configuration file")
            if name == "write":
                sub.add_argument("--catalog", required=True, help="path to the configured catalog JSON file")
        return parser.parse_args(args)

    def _parse_input_stream(self, input_stream: io.TextIOWrapper) -> Iterable[AirbyteMessage]:
        return parse_lines(input_stream)

    def run_cmd(self, parsed_args: argparse.Namespace) -> Iterable[AirbyteMessage]:
        if parsed_args.command == "discover":
            return iter(())  # printed by run(): the CDK's AirbyteMessage has no destination_catalog field
        if parsed_args.command in ("check", "write"):
            # Our own spec check runs first: the CDK's would quote the offending value, perhaps a secret.
            try:
                self.validate_config(self.read_config(parsed_args.config))
            except ConfigError as exc:
                if parsed_args.command == "check":
                    status = AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
                    return iter([AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=status)])
                raise AirbyteTracedException(message=str(exc), failure_type=FailureType.config_error) from None
        return super().run_cmd(parsed_args)

    def validate_config(self, config: Mapping[str, Any]) -> None:
        """The config against the spec, then the names that reach URLs and queries; ConfigError naming the setting."""
        check_against_spec(config, self.spec().connectionSpecification)
        check_api_name(config["object"], "object")
        if config.get("external_id_field"):
            check_api_name(config["external_id_field"], "external_id_field")
        for rule in config.get("column_mapping") or ():
            for part in str(rule["target"]).split(".", 1):
                check_api_name(part, "column_mapping target")

    def run(self, args: list[str]) -> None:
        init_uncaught_exception_handler(logger)
        parsed = self.parse_args(args)
        if parsed.command == "discover":
            config = self.read_config(parsed.config)
            try:
                self.validate_config(config)
                catalog = self.discover_operations(config)
            except SalesforceError as exc:
                raise traced_exception(exc) from None
            print(catalog_to_json(catalog), flush=True)
            return
        for message in self.run_cmd(parsed):
            # Flushed per message: the platform checkpoints on each STATE as soon as it sees it.
            print(message_to_json(message), flush=True)


def object_setting(configured: Any, cfg: WriterConfig) -> str:
    """Where a stream's object name comes from, said the way the user would look for it."""
    if configured.destination_object_name:
        return f"destination_object_name of stream {configured.stream.name} in the configured catalog"
    return "object"


def describe_object(rest: RestClient, sobject: str, setting: str) -> Mapping[str, Any]:
    """The object's describe; a ConfigError naming the object and the setting when the name is not valid or the org
    has no such object (or hides it from this user)."""
    check_api_name(sobject, setting)
    try:
        return rest.describe(sobject)
    except NotFoundError:
        raise ConfigError(
            f"The object {sobject} (setting '{setting}') does not exist in this org, or this user cannot see it: "
            "check its API name (custom objects end in __c, platform events in __e) and the user's permissions.",
            setting=setting,
        ) from None


def _operations(describe: Mapping[str, Any]) -> list[DestinationOperation]:
    name = describe["name"]
    fields = describe["fields"]

    def schema(flag: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        properties = {
            f["name"]: JSON_TYPES.get(f["type"], {"type": ["null", "string"]})
            for f in fields
            if f.get(flag) or f["name"] in extra
        }
        return {"type": "object", "additionalProperties": True, "properties": properties}

    if is_event(name):
        return [DestinationOperation(name, DestinationSyncMode.append, schema("createable"))]
    external_ids = [[f["name"]] for f in fields if f.get("externalId")]
    result = []
    if describe.get("createable"):
        result.append(DestinationOperation(name, DestinationSyncMode.append, schema("createable")))
        if external_ids and describe.get("updateable"):
            result.append(
                DestinationOperation(name, DestinationSyncMode.append_dedup, schema("createable"), external_ids)
            )
    if describe.get("updateable"):
        result.append(
            DestinationOperation(
                name, DestinationSyncMode.update, schema("updateable", ("Id",)), [["Id"], *external_ids]
            )
        )
    if describe.get("deletable"):
        keys = ("Id", *(k[0] for k in external_ids))
        result.append(
            DestinationOperation(
                name, DestinationSyncMode.soft_delete, schema("__none__", keys), [["Id"], *external_ids]
            )
        )
    return result
