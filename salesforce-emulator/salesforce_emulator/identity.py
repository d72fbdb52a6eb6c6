"""Salesforce's identity service: the identity URL (`/id/{orgId}/{userId}`, the `id` of every token answer) and the
OpenID Connect `/services/oauth2/userinfo`, both answering for the user an access token belongs to.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from salesforce_emulator.gateway import MAX_VERSION
from salesforce_emulator.jsonresp import json_response
from salesforce_emulator.oauth import ORG_ID, instance_url
from salesforce_emulator.store import q

LOCALE = {"timezone": "America/Los_Angeles", "language": "en_US", "locale": "en_US", "utcOffset": -28800000}


def _token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in {"bearer", "oauth"} and token.strip():
        return token.strip()
    return request.query_params.get("oauth_token") or request.query_params.get("access_token")


def _user(request: Request, user_id: str) -> dict[str, Any] | None:
    org = request.app.state.org
    cursor = org.read_connection().execute(f"SELECT * FROM {q('User')} WHERE Id = ?", (user_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    user = dict(zip([d[0] for d in cursor.description], row, strict=True))
    user["Name"] = user.get("Name") or " ".join(p for p in (user.get("FirstName"), user.get("LastName")) if p)
    return user


def _urls(base: str, user_id: str, version: str) -> dict[str, str]:
    data = f"{base}/services/data/v{version}"
    return {
        "enterprise": f"{base}/services/Soap/c/{version}/{ORG_ID[:15]}",
        "metadata": f"{base}/services/Soap/m/{version}/{ORG_ID[:15]}",
        "partner": f"{base}/services/Soap/u/{version}/{ORG_ID[:15]}",
        "rest": f"{data}/",
        "sobjects": f"{data}/sobjects/",
        "search": f"{data}/search/",
        "query": f"{data}/query/",
        "recent": f"{data}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{version}/{ORG_ID[:15]}",
        "tooling_rest": f"{data}/tooling/",
        "profile": f"{base}/{user_id}",
        "feeds": f"{data}/chatter/feeds",
        "groups": f"{data}/chatter/groups",
        "users": f"{data}/chatter/users",
        "feed_items": f"{data}/chatter/feed-items",
        "feed_elements": f"{data}/chatter/feed-elements",
        "custom_domain": base,
    }


def _version(request: Request) -> str:
    """The API version the URLs carry: `version` (a number or `latest`), else the literal `{version}`."""
    version = request.query_params.get("version")
    if version == "latest":
        return f"{MAX_VERSION:.1f}"
    return version or "{version}"


def _who(request: Request) -> tuple[str, dict[str, Any]] | Response:
    """The token's user id and User row, or Salesforce's refusal of the token."""
    token = _token(request)
    session = request.app.state.org.tokens.check(token) if token else None
    if session is None:
        return PlainTextResponse("Bad_OAuth_Token", status_code=403)
    user = _user(request, session.user_id)
    if user is None:
        return PlainTextResponse("Bad_OAuth_Token", status_code=403)
    return session.user_id, user


def _photos(base: str, user_id: str) -> dict[str, str]:
    return {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"}


async def identity(request: Request) -> Response:
    who = _who(request)
    if isinstance(who, Response):
        return who
    user_id, user = who
    if request.path_params["org_id"][:15] != ORG_ID[:15] or request.path_params["user_id"][:15] != user_id[:15]:
        # A token may read its own user's identity (reading other users needs permissions this org does not model).
        return PlainTextResponse("Bad_Id", status_code=403)
    base = instance_url(request)
    body = {
        "id": str(request.base_url).rstrip("/") + f"/id/{ORG_ID}/{user_id}",
        "asserted_user": True,
        "user_id": user_id,
        "organization_id": ORG_ID,
        "username": user["Username"],
        "nick_name": user["Alias"],
        "display_name": user["Name"],
        "email": user["Email"],
        "email_verified": True,
        "first_name": user["FirstName"],
        "last_name": user["LastName"],
        "timezone": LOCALE["timezone"],
        "photos": _photos(base, user_id),
        "addr_street": None,
        "addr_city": None,
        "addr_state": None,
        "addr_country": None,
        "addr_zip": None,
        "mobile_phone": None,
        "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": _urls(base, user_id, _version(request)),
        "active": bool(user["IsActive"]),
        "user_type": "STANDARD",
        "language": LOCALE["language"],
        "locale": LOCALE["locale"],
        "utcOffset": LOCALE["utcOffset"],
        "last_modified_date": user["LastModifiedDate"],
        "is_app_installed": True,
    }
    return json_response(body)


async def userinfo(request: Request) -> Response:
    who = _who(request)
    if isinstance(who, Response):
        return who
    user_id, user = who
    base = instance_url(request)
    photos = _photos(base, user_id)
    body = {
        "sub": str(request.base_url).rstrip("/") + f"/id/{ORG_ID}/{user_id}",
        "user_id": user_id,
        "organization_id": ORG_ID,
        "preferred_username": user["Username"],
        "nickname": user["Alias"],
        "name": user["Name"],
        "email": user["Email"],
        "email_verified": True,
        "given_name": user["FirstName"],
        "family_name": user["LastName"],
        "zoneinfo": LOCALE["timezone"],
        "photos": photos,
        "profile": f"{base}/{user_id}",
        "picture": photos["picture"],
        "address": {},
        "is_salesforce_integration_user": False,
        "urls": _urls(base, user_id, _version(request)),
        "active": bool(user["IsActive"]),
        "user_type": "STANDARD",
        "language": LOCALE["language"],
        "locale": LOCALE["locale"],
        "utcOffset": LOCALE["utcOffset"],
        "updated_at": str(user["LastModifiedDate"])[:19] + "Z",  # OpenID Connect's form of the same instant
        "is_app_installed": True,
    }
    return json_response(body)


def routes() -> list[Route]:
    return [
        Route("/id/{org_id}/{user_id}", identity, methods=["GET", "POST"]),
        Route("/services/oauth2/userinfo", userinfo, methods=["GET", "POST"]),
    ]
