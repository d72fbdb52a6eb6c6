"""An HTTP CONNECT proxy that sends Salesforce's hosts to the emulator, so clients with hard-coded hosts run unchanged.

A client configured with `HTTPS_PROXY=http://127.0.0.1:PORT` asks this proxy for a tunnel to, say,
`login.salesforce.com:443`. The proxy accepts only Salesforce's login and My Domain hosts (any other host gets
403, as a proxy whose policy forbids it would answer), opens a connection to the emulator's https port and pipes
bytes both ways. TLS is terminated by the emulator itself, whose certificate covers those names (see tls.py), so
the client's certificate check passes once it trusts the emulator's CA, and the emulator sees the Host header the
client sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

log = logging.getLogger(__name__)

LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
MY_DOMAIN_SUFFIX = ".my.salesforce.com"
HEAD_LIMIT = 16 * 1024
HEAD_TIMEOUT = 30.0
CHUNK = 64 * 1024


def tunnels_to_emulator(host: str) -> bool:
    """True for the hosts the proxy sends to the emulator: the login hosts and any single-label My Domain."""
    host = host.lower().rstrip(".")
    if host in LOGIN_HOSTS:
        return True
    label = host.removesuffix(MY_DOMAIN_SUFFIX)
    return host.endswith(MY_DOMAIN_SUFFIX) and bool(label) and "." not in label


def _answer(status: str, text: str = "", extra: str = "") -> bytes:
    body = text.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    return (head + extra).encode("latin-1") + b"\r\n" + body


def _target(head: bytes) -> tuple[str, str, int] | bytes:
    """(method, host, port) of a CONNECT request head, or the error answer to send."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _answer("400 Bad Request", "malformed request line\n")
    method, target = parts[0], parts[1]
    if method != "CONNECT":
        text = "this proxy only tunnels https (CONNECT) to Salesforce's hosts\n"
        return _answer("405 Method Not Allowed", text, extra="Allow: CONNECT\r\n")
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        return _answer("400 Bad Request", f"CONNECT target must be host:port, not {target!r}\n")
    return method, host, int(port)


class ConnectProxy:
    """Serves CONNECT on a listening socket; tunnels allowed hosts to the emulator's https port on `upstream`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._client, sock=sock)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._tunnel(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        if len(head) > HEAD_LIMIT:
            writer.write(_answer("431 Request Header Fields Too Large"))
            return
        target = _target(head)
        if isinstance(target, bytes):
            writer.write(target)
            return
        _, host, port = target
        if port != 443 or not tunnels_to_emulator(host):
            log.info("proxy refused CONNECT %s:%s", host, port)
            writer.write(
                _answer(
                    "403 Forbidden",
                    f"the salesforce-emulator proxy refuses {host}:{port}: it only tunnels to login.salesforce.com, "
                    "test.salesforce.com and *.my.salesforce.com on port 443 (set NO_PROXY for other hosts)\n",
                )
            )
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.write(_answer("502 Bad Gateway", "the emulator is not reachable\n"))
            return
        try:
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close the other side (TLS close_notify still reaches the peer)."""
    try:
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()
