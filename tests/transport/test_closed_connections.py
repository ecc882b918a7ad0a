"""Connections the server closes: a create never rides one the server already hung up on as
if it might have been sent, and ``request_sent`` is true only when the request may really
have reached the server. A raw-socket server on loopback, so nothing of aiohttp's own server
smooths over what a proxy or a small server does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from calendar_transport import RetryPolicy, Transport, TransportError

# Listings are retried (aiohttp before 3.10 does not replay a GET on a dead pooled connection
# itself); a create whose request may have left never is.
FAST = RetryPolicy(attempts=3, initial_backoff=0.001, max_backoff=0.002)
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


@dataclass
class RawServer:
    """What the server was sent: each request line with its body, and the connections."""

    url: str
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    connections: int = 0

    def sent(self, method: str) -> list[bytes]:
        return [body for line, body in self.requests if line.startswith(method)]


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return lines[0], body


@asynccontextmanager
async def raw_server(*, answer_posts: bool = True) -> AsyncIterator[RawServer]:
    """A server that answers one request per connection and then closes it, without the
    ``Connection: close`` that would warn the client (as some proxies and small servers do).
    ``answer_posts=False``: a POST is read whole, then the connection is dropped unanswered."""
    state = RawServer(url="")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            request = await _read_request(reader)
            if request is None:
                return
            state.requests.append(request)
            if answer_posts or not request[0].startswith("POST"):
                writer.write(ANSWER)
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def test_a_create_after_the_server_hung_up_is_sent_once_on_a_new_connection() -> None:
    async with raw_server() as server, Transport(server.url, retry=FAST) as transport:
        for number in range(3):
            await transport.request("GET", "/items")
            # The pooled connection is dead; the create must not be lost to it, nor doubled.
            await transport.request("POST", "/items", json={"n": number})
    assert server.sent("POST") == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    assert server.connections == 6  # one per request: none of them rode a dead one


async def test_a_create_the_server_took_and_never_answered_is_a_maybe_and_not_retried() -> None:
    async with (
        raw_server(answer_posts=False) as server,
        Transport(server.url, retry=FAST) as transport,
    ):
        await transport.request("GET", "/items")
        with pytest.raises(TransportError) as raised:
            await transport.request("POST", "/items", json={"n": 1})
    assert raised.value.request_sent is True  # the server may have acted: the caller decides
    assert server.sent("POST") == [b'{"n":1}']


async def test_a_listing_after_the_server_hung_up_still_succeeds() -> None:
    async with raw_server() as server, Transport(server.url, retry=FAST) as transport:
        for _ in range(3):
            assert await transport.request("GET", "/items", response_type=dict) == {}
    assert len(server.sent("GET")) == 3


async def test_a_refused_connection_is_not_sent(unused_tcp_port: int) -> None:
    async with Transport(
        f"http://127.0.0.1:{unused_tcp_port}", retry=RetryPolicy(attempts=1)
    ) as transport:
        with pytest.raises(TransportError) as raised:
            await transport.request("POST", "/items", json={"n": 1})
    assert raised.value.request_sent is False
