"""The `salesforce-emulator` command: serve an org, read its event bus, change its schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import requests
import uvicorn

from salesforce_emulator.app import create_app
from salesforce_emulator.org import Config, Org


def serve(args: argparse.Namespace) -> int:
    config = Config(token_ttl_seconds=args.token_ttl, daily_api_limit=args.daily_limit)
    if args.jwt_public_key:
        config.jwt_public_key = Path(args.jwt_public_key).read_text()
    org = Org(args.db, config)
    org.seed_data(args.seed, args.records)
    print(f"salesforce-emulator serving on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        uvicorn.run(
            create_app(org), host=args.host, port=args.port, log_level="warning", lifespan="off", proxy_headers=False
        )
    finally:
        org.close()
    return 0


def events(args: argparse.Namespace) -> int:
    response = requests.get(f"{args.url.rstrip('/')}/__emulator/events/{args.name}", timeout=60)
    response.raise_for_status()
    for event in response.json():
        print(json.dumps(event, sort_keys=True))
    return 0


def add_field(args: argparse.Namespace) -> int:
    spec = {"name": args.field, "type": args.type}
    if args.values:
        spec["picklist_values"] = args.values.split(",")
    response = requests.post(f"{args.url.rstrip('/')}/__emulator/schema/{args.object}/fields", json=spec, timeout=60)
    if response.status_code >= 400:
        print(response.text, file=sys.stderr)
        return 1
    print(f"added {args.object}.{args.field} ({args.type})")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="salesforce-emulator", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve an emulated org")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8443)
    run.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    run.add_argument("--seed", default="demo", help="demo, empty, or any name (a different deterministic data set)")
    run.add_argument("--records", type=int, default=200, help="records per seeded object")
    run.add_argument("--token-ttl", type=float, default=7200)
    run.add_argument("--daily-limit", type=int, default=15000)
    run.add_argument("--jwt-public-key", default=None, help="PEM file of the key that signs JWT bearer assertions")
    run.set_defaults(func=serve)
    bus = commands.add_parser("events", help="print the events published on the bus, one JSON per line")
    bus.add_argument("--url", required=True)
    bus.add_argument("name")
    bus.set_defaults(func=events)
    field = commands.add_parser("add-field", help="add a field to an object at run time")
    field.add_argument("--url", required=True)
    field.add_argument("--values", default=None, help="picklist values, comma-separated")
    field.add_argument("object")
    field.add_argument("field")
    field.add_argument("type")
    field.set_defaults(func=add_field)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
