"""The Salesforce destination: spec, check, discover, and write (one plan per stream, run by a WriteSession)."""

from __future__ import annotations

import argparse
import difflib
import io
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airbyte_cdk.destinations import Destination
from airbyte_cdk.exception_handler import init_uncaught_exception_handler
from airbyte_cdk.logger import PRINT_BUFFER
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
from salesforce_api import BulkClient, RestClient, connect, input_files
from salesforce_api.airbyte import traced_exception
from salesforce_api.errors import ApiError, ConfigError, NotFoundError, SalesforceError

from destination_salesforce.plan import StreamPlan, build_plan, choose_operation, is_event, problems, stream_filter
from destination_salesforce.protocol import catalog_to_json, message_to_json, parse_lines
from destination_salesforce.rejects import RejectLog, RejectThresholdExceeded
from destination_salesforce.session import WriteSession
from destination_salesforce.spec import (
    WriterConfig,
    check_against_spec,
    check_api_name,
    connector_spec,
    unknown_settings,
)
from destination_salesforce.stream_settings import settings_for_config, settings_for_stream

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
        """Logs in; then, for the top-level object and each `streams` entry naming one, every setting Salesforce would
        refuse (mapping targets, relationship targets included, external id field, permissions), in one message."""
        try:
            cfg = WriterConfig.from_mapping(config)
            rest = RestClient(connect(cfg.credentials, api_version=cfg.api_version))
            describes = Describes(rest)
            found: list[str] = []
            for settings in settings_for_config(cfg):
                stream_filter(settings)
                operation, _ = choose_operation(settings)
                describe = describes.get(settings.sobject, settings.object_setting)
                found.extend(message for _, message in problems(describe, settings, cfg, operation, describes.other))
            if not cfg.object and not cfg.streams:
                describes.names()  # nothing to describe: the login alone is checked, by one call
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
        the matching keys of append_dedup are the object's unique external id fields (and Id for update and
        soft_delete). The write takes them back as each configured stream's primary_key."""
        cfg = WriterConfig.from_mapping(config)
        rest = RestClient(connect(cfg.credentials, api_version=cfg.api_version))
        try:
            listing = rest.describe_global()
        except NotFoundError:
            check_api_version(rest)
            raise
        names = [
            o["name"]
            for o in listing["sobjects"]
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
        check_stream_entries(cfg, catalog)
        # Connections for the Collections calls in flight, the upload threads and the main thread's polls.
        session = connect(cfg.credentials, api_version=cfg.api_version, pool_size=max(10, cfg.concurrency + 4))
        # Polls at most 2 s apart: Salesforce reports a job's progress only per internal batch of 10,000 records, too
        # coarse for the poll to aim at a job's end, and the last job's wait is time the whole write waits.
        rest, bulk = RestClient(session), BulkClient(session, poll_max=2.0)
        describes = Describes(rest)
        plans: dict[tuple[str | None, str], StreamPlan] = {}
        for configured in catalog.streams:
            settings = settings_for_stream(cfg, configured, describes.names)
            describe = describes.get(settings.sobject, settings.object_setting)
            plan = build_plan(settings, describe, cfg, rest, bulk, logger, describes.other)
            plans[(configured.stream.namespace, configured.stream.name)] = plan
            logger.info(
                "Stream %s: %s %s%s", plan.stream, plan.operation, plan.sobject,
                f" matching on {plan.external_id_field} ({settings.key_setting})" if plan.external_id_field else "",
            )  # fmt: skip
        rejects = RejectLog(
            logger, max_records=cfg.max_rejected_records, max_ratio=cfg.max_rejected_ratio,
            path=cfg.rejected_records_path,
        )  # fmt: skip
        yield from WriteSession(
            plans, rejects, logger, batch_size=cfg.batch_size, flush_interval=cfg.flush_interval_seconds
        ).run(input_messages)

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
        # Bytes, so that a line that is not UTF-8 is reported with its number.
        return parse_lines(getattr(input_stream, "buffer", input_stream))

    # The CDK's readers turn a broken config or catalog file into a generic system error; these name the file and
    # the fault, as config errors.
    @staticmethod
    def read_config(config_path: str) -> dict[str, Any]:
        try:
            return input_files.read_config(config_path)
        except ConfigError as exc:
            raise traced_exception(exc) from None

    def _run_write(
        self, config: Mapping[str, Any], configured_catalog_path: str, input_stream: io.TextIOWrapper
    ) -> Iterable[AirbyteMessage]:
        try:
            catalog = input_files.read_catalog(configured_catalog_path)
        except ConfigError as exc:
            raise traced_exception(exc) from None
        yield from self.write(config, catalog, self._parse_input_stream(input_stream))

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
        """Unknown settings, the config against the spec, then the names that reach URLs and queries and the targets
        of column_mapping (one rule per target field); ConfigError naming the setting."""
        spec = self.spec().connectionSpecification
        unknown_settings(config, spec)
        check_against_spec(config, spec)
        scopes = [("", config)] + [(f"streams[{entry['name']}].", entry) for entry in config.get("streams") or ()]
        for prefix, scope in scopes:
            for setting in ("object", "external_id_field"):
                if scope.get(setting):
                    check_api_name(scope[setting], prefix + setting)
            targets: set[str] = set()
            for rule in scope.get("column_mapping") or ():
                for part in str(rule["target"]).split(".", 1):
                    check_api_name(part, f"{prefix}column_mapping target")
                if rule["target"].lower() in targets:  # field names are case-insensitive
                    raise ConfigError(
                        f"The setting '{prefix}column_mapping' maps two sources onto the target {rule['target']}: "
                        "keep one rule per target field.",
                        setting=f"{prefix}column_mapping",
                    )
                targets.add(rule["target"].lower())

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
            line = message_to_json(message) + "\n"
            # One write, under the lock of the log lines' buffer: upload and Collections threads log too, and a line
            # of theirs must neither land inside this one nor stay behind it. Flushed per message: the platform
            # checkpoints on each STATE as soon as it sees it.
            with PRINT_BUFFER.lock:
                PRINT_BUFFER.flush()
                sys.stdout.write(line)
                sys.stdout.flush()


def check_stream_entries(cfg: WriterConfig, catalog: ConfiguredAirbyteCatalog) -> None:
    """A `streams` entry must name a stream of the catalog: a misspelt name would silently leave its settings unused."""
    names = [configured.stream.name for configured in catalog.streams]
    for entry in cfg.streams:
        if entry.name not in names:
            close = difflib.get_close_matches(entry.name, names, n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else f" The catalog's streams: {', '.join(names[:20])}."
            raise ConfigError(
                f"The setting 'streams' has an entry for '{entry.name}', which is no stream of the configured catalog."
                + hint,
                setting="streams",
            )


class Describes:
    """The object describes of one check or write, each asked of Salesforce once."""

    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
        self.cache: dict[str, Mapping[str, Any]] = {}
        self.global_names: list[str] | None = None

    def get(self, sobject: str, setting: str) -> Mapping[str, Any]:
        """The describe of an object a setting names; ConfigError naming the setting when there is no such object."""
        if sobject not in self.cache:
            self.cache[sobject] = describe_object(self.rest, sobject, setting)
        return self.cache[sobject]

    def other(self, sobject: str) -> Mapping[str, Any]:
        """The describe of a parent object (NotFoundError when this user cannot see it)."""
        if sobject not in self.cache:
            self.cache[sobject] = self.rest.describe(sobject)
        return self.cache[sobject]

    def names(self) -> list[str]:
        if self.global_names is None:
            self.global_names = [o["name"] for o in self.rest.describe_global()["sobjects"]]
        return self.global_names


def describe_object(rest: RestClient, sobject: str, setting: str) -> Mapping[str, Any]:
    """The object's describe; a ConfigError naming the object and the setting when the name is not valid or the org
    has no such object (or hides it from this user)."""
    check_api_name(sobject, setting)
    try:
        return rest.describe(sobject)
    except NotFoundError:
        check_api_version(rest)
        raise ConfigError(
            f"The object {sobject} (setting '{setting}') does not exist in this org, or this user cannot see it: "
            "check its API name (custom objects end in __c, platform events in __e) and the user's permissions.",
            setting=setting,
        ) from None


def check_api_version(rest: RestClient) -> None:
    """A ConfigError naming api_version when the org does not serve it (every resource of it is then NOT_FOUND)."""
    served = rest.api_versions()
    version = rest.session.api_version
    if served and version not in served:
        raise ConfigError(
            f"The setting 'api_version' is {version}, which this org does not serve: it serves {served[0]} to "
            f"{served[-1]}.",
            setting="api_version",
        )


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
    # Only keys that identify one record: a non-unique external id can match several (and fails those records).
    external_ids = [[f["name"]] for f in fields if f.get("externalId") and f.get("unique")]
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
