"""The emulator's ASGI application: OAuth, identity, REST, Bulk API 2.0 and admin routes behind the request
gateway."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from salesforce_emulator import admin, identity, rest
from salesforce_emulator.gateway import Gateway
from salesforce_emulator.jsonresp import not_found
from salesforce_emulator.oauth import authorize_endpoint, token_endpoint
from salesforce_emulator.org import Org
from salesforce_emulator.soap_login import soap_endpoint

try:  # Bulk API 2.0 lives in its own module; the REST org still works without it.
    from salesforce_emulator.bulk import routes as bulk_routes
except ImportError:  # pragma: no cover - only while bulk.py is absent
    bulk_routes = []


async def _not_found(request: Any, exc: Exception) -> Any:
    return not_found()


def create_app(org: Org) -> Gateway:
    routes = [
        Route("/services/oauth2/token", token_endpoint, methods=["POST"]),
        *admin.routes(),
        *list(bulk_routes),
        *rest.routes(),
        # Rarely called, so last: Starlette tries routes in order, and every data API call would pay for them.
        Route("/services/oauth2/authorize", authorize_endpoint, methods=["GET"]),
        Route("/services/Soap/u/{version}", soap_endpoint, methods=["POST"]),
        *identity.routes(),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found})
    app.router.redirect_slashes = False
    app.state.org = org
    return Gateway(app, org)
