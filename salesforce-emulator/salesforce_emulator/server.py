"""Serving the emulator: uvicorn on a socket of 127.0.0.1, over http or https, with the CONNECT proxy beside it.

The command line (cli.py) and the in-process test server (testing.py) both start the emulator through here, so both
serve the same way. The proxy shares uvicorn's event loop: it only copies bytes, and stops with the server.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from salesforce_emulator.proxy import ConnectProxy
from salesforce_emulator.tls import Certificates

SSL_CLOSE_GRACE = 0.5  # seconds open connections get to close by themselves when the server stops


def listen(host: str, port: int) -> socket.socket:
    """A bound TCP socket (port 0: a free one), for uvicorn or the proxy to listen on."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for sockets whose proto says
    # TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle) between headers and body.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def config(app: Any, certificates: Certificates | None = None) -> uvicorn.Config:
    tls: dict[str, Any] = {}
    if certificates is not None:
        tls = {"ssl_certfile": str(certificates.cert_file), "ssl_keyfile": str(certificates.key_file)}
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=False,
        timeout_keep_alive=30,
        **tls,
    )


class EmulatorServer(uvicorn.Server):
    """uvicorn's server, plus the CONNECT proxy on `proxy_socket` tunnelling to the emulator's own port."""

    def __init__(self, config: uvicorn.Config, proxy_socket: socket.socket | None = None) -> None:
        super().__init__(config)
        self.proxy_socket = proxy_socket
        self._proxy: ConnectProxy | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.proxy_socket is not None and sockets:
            self._proxy = ConnectProxy(sockets[0].getsockname()[:2])
            await self._proxy.start(self.proxy_socket)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._proxy is not None:
            await self._proxy.close()
        if self.config.is_ssl:
            # A graceful TLS close waits for the client's close_notify, which an idle pooled client never sends.
            asyncio.get_running_loop().call_later(SSL_CLOSE_GRACE, self._abort_connections)
        await super().shutdown(sockets=sockets)

    def _abort_connections(self) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
