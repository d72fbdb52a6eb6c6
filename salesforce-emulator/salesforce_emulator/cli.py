"""The `salesforce-emulator` command: serve an org, read its event bus, change its schema."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import requests

from salesforce_emulator import server
from salesforce_emulator.app import create_app
from salesforce_emulator.latency import PROFILES
from salesforce_emulator.org import Config, Org
from salesforce_emulator.tls import make_certificates


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def serve(args: argparse.Namespace) -> int:
    config = Config(token_ttl_seconds=args.token_ttl, daily_api_limit=args.daily_limit)
    if args.jwt_public_key:
        config.jwt_public_key = Path(args.jwt_public_key).read_text()
    org = Org(args.db, config)
    org.latency.configure({"profile": args.profile})
    org.seed_data(args.seed, args.records)
    sock = server.listen(args.host, args.port)
    proxy_sock = server.listen(args.host, args.proxy) if args.proxy is not None else None
    tls = args.tls or proxy_sock is not None  # the proxy tunnels https, so the emulator serves https behind it
    cert_dir = None
    certificates = None
    if tls:
        cert_dir = args.cert_dir or tempfile.mkdtemp(prefix="sf-emulator-tls-")
        Path(cert_dir).mkdir(parents=True, exist_ok=True)
        certificates = make_certificates(cert_dir, (args.host, "localhost"))
    scheme = "https" if tls else "http"
    _say(f"salesforce-emulator serving on {scheme}://{args.host}:{sock.getsockname()[1]}")
    if certificates is not None:
        _say(f"CA bundle (trust it with REQUESTS_CA_BUNDLE): {certificates.ca_file}")
    if proxy_sock is not None:
        _say(f"proxy for Salesforce's hosts: HTTPS_PROXY=http://{args.host}:{proxy_sock.getsockname()[1]}")
    try:
        server.EmulatorServer(server.config(create_app(org), certificates), proxy_sock).run(sockets=[sock])
    finally:
        org.close()
        if cert_dir is not None and not args.cert_dir:
            shutil.rmtree(cert_dir, ignore_errors=True)
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
    run.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="default",
        help="latency profile: default (no added latency) or production (a busy org over the internet)",
    )
    run.add_argument("--tls", action="store_true", help="serve https with a throw-away CA (its file is printed)")
    run.add_argument(
        "--proxy",
        type=int,
        nargs="?",
        const=0,
        default=None,
        metavar="PORT",
        help="also answer HTTP CONNECT for Salesforce's login and My Domain hosts on PORT (default: a free port); "
        "implies --tls",
    )
    run.add_argument(
        "--cert-dir", default=None, help="write the CA and server certificate here (default: a temporary directory)"
    )
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
