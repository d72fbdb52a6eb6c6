"""What a failed HTTP call says about its request: whether it may have reached the server."""

from __future__ import annotations

import requests
import urllib3


def reached_server(exc: Exception) -> bool:
    """Only a failure to connect (refused, unknown host, connect timeout) proves the request never got there; a reset
    or a read timeout came after it was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.NewConnectionError)
