"""The SOAP API's `login` call (`POST /services/Soap/u/{version}`): the username-password login that clients such as
simple-salesforce make by default. It answers a session id (an ordinary access token of this org) and the server
URL; every other SOAP call is out of scope.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: N817
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from salesforce_emulator.oauth import ORG_ID, PASSWORD, SECURITY_TOKEN, USERNAME, instance_url

PARTNER = "{urn:partner.soap.sforce.com}"
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
    ' xmlns="urn:partner.soap.sforce.com" xmlns:sf="urn:fault.partner.soap.sforce.com"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
)
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


def _xml(body: str, status: int = 200) -> Response:
    return Response(ENVELOPE.format(body=body), status_code=status, media_type="text/xml; charset=utf-8")


def _fault(code: str, message: str, fault_type: str = "LoginFault", status: int = 500) -> Response:
    return _xml(
        f"<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        f'<detail><sf:{fault_type} xsi:type="sf:{fault_type}"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:{fault_type}></detail></soapenv:Fault>",
        status,
    )


def _credentials(raw: bytes) -> tuple[str, str] | None:
    """(username, password) of a login request, or None when the body is not one."""
    try:
        # The emulator listens on 127.0.0.1 for its own tests: a local client's XML is trusted input.
        root = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError:
        return None
    login = root.find(f".//{PARTNER}login")
    if login is None:
        return None
    return login.findtext(f"{PARTNER}username") or "", login.findtext(f"{PARTNER}password") or ""


async def soap_endpoint(request: Request) -> Response:
    org = request.app.state.org
    credentials = _credentials(await request.body())
    if credentials is None:
        return _fault("INVALID_OPERATION", "only the login call is supported here", "UnexpectedErrorFault")
    username, password = credentials
    if username != USERNAME or password != PASSWORD + SECURITY_TOKEN:
        return _fault("INVALID_LOGIN", INVALID_LOGIN)
    user_id = org.api_user_id
    session_id = org.tokens.issue(user_id, org.config.token_ttl_seconds)
    base = instance_url(request)
    version = request.path_params["version"]
    ttl = int(org.config.token_ttl_seconds)
    return _xml(
        "<loginResponse><result>"
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{ORG_ID[:15]}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{ORG_ID[:15]}</serverUrl>"
        f"<sessionId>{escape(session_id)}</sessionId><userId>{user_id}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId><sessionSecondsValid>{ttl}</sessionSecondsValid>"
        f"<userEmail>{USERNAME}</userEmail><userId>{user_id}</userId><userName>{USERNAME}</userName>"
        "<userTimeZone>America/Los_Angeles</userTimeZone></userInfo>"
        "</result></loginResponse>"
    )
