"""What is retried, against real sockets: TLS and proxy failures are final, a DELETE's 404
counts as done only after an attempt that may have reached the server, a Retry-After over
the cap is the caller's to decide, and timeouts must be finite."""

from __future__ import annotations

import asyncio
import inspect
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from calendar_transport import (
    Dialect,
    NotFoundError,
    ProxyError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TLSError,
    Transport,
)
from calendar_transport.checks import require_finite_positive
from pyrus_calendar import PyrusClient
from r7cal import R7Client
from r7cal.testing import FakeR7Server

from .support import DemoAuth, DemoServer, Item

FAST = RetryPolicy(attempts=4, initial_backoff=0.001, max_backoff=0.005, max_retry_after=0.05)
EVENTS = "/api/v1/events"
START = datetime(2024, 5, 1, 9, tzinfo=UTC)


# ---- TLS and proxies: final ------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no CA signed."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


class _Counting(asyncio.Protocol):
    """Accepts a connection and does nothing else (the TLS layer under it does the rest)."""


@asynccontextmanager
async def tls_stub(cert: Path, key: Path) -> AsyncIterator[tuple[str, list[int]]]:
    """An https server on loopback that counts the TCP connections it accepts (a factory
    call per connection, made before the handshake) and never answers HTTP."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    accepted: list[int] = []

    def factory() -> asyncio.Protocol:
        accepted.append(1)
        return _Counting()

    server = await asyncio.get_running_loop().create_server(
        factory, "127.0.0.1", 0, ssl=context, ssl_handshake_timeout=5
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", accepted
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("method", "body"), [("POST", {"name": "create me once"}), ("GET", None), ("DELETE", None)]
)
async def test_an_untrusted_certificate_is_not_retried(
    self_signed: tuple[Path, Path], method: str, body: object
) -> None:
    async with tls_stub(*self_signed) as (url, accepted), Transport(url, retry=FAST) as transport:
        with pytest.raises(TLSError, match=r"(?i)certificate") as caught:
            await transport.request(method, "/items", json=body)
    assert len(accepted) == 1  # one connection, no retry
    assert transport.stats.attempts == 1
    assert caught.value.request_sent is False


async def test_a_host_name_the_certificate_does_not_cover_is_not_retried(
    self_signed: tuple[Path, Path],
) -> None:
    cert, _ = self_signed
    trusting = ssl.create_default_context(cafile=str(cert))  # trusted, but for 127.0.0.1 only
    async with tls_stub(*self_signed) as (url, accepted):
        wrong_name = url.replace("127.0.0.1", "localhost")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)) as session:
            transport = Transport(wrong_name, session=session, retry=FAST)
            with pytest.raises(TLSError, match=r"(?i)hostname|host name|match"):
                await transport.request("GET", "/items")
            await transport.aclose()
    assert len(accepted) <= 1  # localhost may go to ::1 first, where nothing listens
    assert transport.stats.attempts == 1


@asynccontextmanager
async def refusing_proxy() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A proxy on loopback that answers every CONNECT with 407 and counts them."""
    asked: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        asked.append(head.split(b"\r\n", 1)[0])
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", asked
    finally:
        server.close()
        await server.wait_closed()


def session_through(proxy: str, monkeypatch: pytest.MonkeyPatch) -> aiohttp.ClientSession:
    """A user's session whose requests go through ``proxy``: ``ClientSession(proxy=...)`` on
    aiohttp 3.11+, ``trust_env=True`` with ``HTTPS_PROXY`` on the older releases we support."""
    if "proxy" in inspect.signature(aiohttp.ClientSession).parameters:
        return aiohttp.ClientSession(proxy=proxy)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    for name in ("NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    return aiohttp.ClientSession(trust_env=True)


async def test_a_proxy_that_refuses_the_tunnel_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with (
        refusing_proxy() as (proxy, asked),
        session_through(proxy, monkeypatch) as session,
    ):
        transport = Transport("https://r7.example.ru", session=session, retry=FAST)
        with pytest.raises(ProxyError):
            await transport.request("GET", "/items")  # a GET: retried if it could heal
        await transport.aclose()
    assert asked == [b"CONNECT r7.example.ru:443 HTTP/1.1"]  # asked once, not four times
    assert transport.stats.attempts == 1


async def test_a_proxy_that_cannot_be_reached_is_not_retried(
    unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://127.0.0.1:{unused_tcp_port}"
    async with session_through(proxy, monkeypatch) as session:
        transport = Transport("https://r7.example.ru", session=session, retry=FAST)
        with pytest.raises(ProxyError):
            await transport.request("GET", "/items")
        await transport.aclose()
    assert transport.stats.attempts == 1


async def test_a_refused_connection_is_still_retried(unused_tcp_port: int) -> None:
    """Only what cannot heal is final: a server that is not up yet may be in a moment."""
    transport = Transport(f"http://127.0.0.1:{unused_tcp_port}", retry=FAST)
    with pytest.raises(Exception, match="could not connect") as caught:
        await transport.request("POST", "/items", json={"name": "x"})
    await transport.aclose()
    assert not isinstance(caught.value, TLSError | ProxyError)
    assert transport.stats.attempts == FAST.attempts


# ---- DELETE answered 404 ----------------------------------------------------------------------


@asynccontextmanager
async def r7(server: FakeR7Server) -> AsyncIterator[R7Client]:
    async with R7Client(server.url, login="user_test", password="TestPassword", retry=FAST) as r:
        await r.login()
        yield r


async def _event_id(client: R7Client) -> int:
    event = await client.events.create(START, START + timedelta(hours=1), name="Standup")
    return event.id


@pytest.mark.parametrize("status", [503, 429])
async def test_a_404_after_a_clean_refusal_is_not_found(status: int) -> None:
    """503 and 429 say the server did nothing: the 404 that follows is the truth."""
    async with FakeR7Server() as server, r7(server) as client:
        server.faults.fail_next(1, status, retry_after=0, path=EVENTS)
        with pytest.raises(NotFoundError) as caught:
            await client.events.delete(987654)
    assert caught.value.attempt == 2
    assert caught.value.earlier_attempt_may_have_reached is False
    assert len(server.requests_to(EVENTS, "DELETE")) == 2


async def test_a_404_on_the_first_attempt_is_not_found() -> None:
    async with FakeR7Server() as server, r7(server) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.events.delete(987654)
    assert caught.value.earlier_attempt_may_have_reached is False


@pytest.mark.parametrize("status", [502, 504])
async def test_a_404_after_a_gateway_error_counts_as_done(status: int) -> None:
    """Behind a gateway that answered 502/504 the backend may have deleted it already."""
    async with FakeR7Server() as server, r7(server) as client:
        server.faults.fail_next(1, status, path=EVENTS)
        await client.events.delete(987654)  # no error: an earlier attempt may have done it
    assert len(server.requests_to(EVENTS, "DELETE")) == 2


async def test_a_delete_whose_answer_was_lost_is_done_once() -> None:
    """The first attempt deletes and its answer is cut off; the retry's 404 means done."""
    async with FakeR7Server() as server, r7(server) as client:
        event_id = await _event_id(client)
        server.faults.truncate_next(1, path=EVENTS)
        await client.events.delete(event_id)
        listed = await client.events.list(
            [server.user("user_test").main_calendar_id],
            START - timedelta(days=1),
            START + timedelta(days=1),
        )
    assert event_id not in [event.id for event in listed]
    assert len(server.requests_to(EVENTS, "DELETE")) == 2


async def test_an_error_says_whether_an_earlier_attempt_may_have_reached() -> None:
    async with DemoServer() as server:
        server.faults.fail_next(1, 503, retry_after=0, path="/items")
        server.faults.fail_next(1, 502, path="/items")
        server.faults.fail_next(2, 503, retry_after=0, path="/items")
        async with Transport(server.url, retry=FAST, dialect=Dialect(auth=DemoAuth())) as transport:
            with pytest.raises(ServerError) as caught:
                await transport.request("GET", "/items", response_type=list[Item])
    assert (caught.value.attempt, caught.value.status) == (4, 503)
    assert caught.value.earlier_attempt_may_have_reached is True  # attempt 2's 502


# ---- Retry-After longer than the cap ----------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{"Retry-After": "120"}, {"X-RateLimit-Reset": "300"}], ids=["retry-after", "reset"]
)
async def test_a_wait_longer_than_the_cap_is_raised_at_once(headers: dict[str, str]) -> None:
    async with DemoServer() as server:
        server.faults.fail_next(1, 429, path="/items", headers=headers)
        policy = RetryPolicy(attempts=4, max_retry_after=60)
        async with Transport(
            server.url, retry=policy, dialect=Dialect(auth=DemoAuth())
        ) as transport:
            with pytest.raises(RateLimitError) as caught:
                await transport.request("GET", "/items")
    assert caught.value.retry_after == float(next(iter(headers.values())))
    assert len(server.requests_to("/items")) == 1  # not retried early into another 429


async def test_a_503_asking_for_longer_than_the_cap_is_raised_at_once() -> None:
    async with DemoServer() as server:
        server.faults.fail_next(1, 503, retry_after=600, path="/items")
        async with Transport(server.url, retry=FAST, dialect=Dialect(auth=DemoAuth())) as transport:
            with pytest.raises(ServerError) as caught:
                await transport.request("GET", "/items")
    assert caught.value.retry_after == 600
    assert len(server.requests_to("/items")) == 1


async def test_a_wait_within_the_cap_is_waited_and_retried() -> None:
    async with DemoServer() as server:
        server.faults.fail_next(1, 429, retry_after=0.01, path="/items")
        async with Transport(server.url, retry=FAST, dialect=Dialect(auth=DemoAuth())) as transport:
            items = await transport.request("GET", "/items", response_type=list[Item])
    assert [item.id for item in items] == [1, 2]
    assert len(server.requests_to("/items")) == 2


# ---- timeouts must be finite ------------------------------------------------------------------

BAD_SECONDS = [float("nan"), float("inf"), float("-inf"), 0, -1.5, "30", True]


def _r7(**kwargs: object) -> object:
    return R7Client("https://r7.example.ru", login="u", password="p", **kwargs)  # type: ignore[arg-type]


def _pyrus(**kwargs: object) -> object:
    return PyrusClient(login="bot@example.ru", security_key="key", **kwargs)  # type: ignore[arg-type]


def _transport(**kwargs: object) -> object:
    return Transport("https://r7.example.ru", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [_r7, _pyrus, _transport], ids=["r7", "pyrus", "transport"])
@pytest.mark.parametrize("name", ["timeout", "deadline"])
@pytest.mark.parametrize("value", BAD_SECONDS, ids=repr)
def test_timeouts_that_are_not_finite_positive_numbers_are_refused(
    make: Callable[..., object], name: str, value: object
) -> None:
    with pytest.raises(ValueError, match=name):
        make(**{name: value})


@pytest.mark.parametrize("name", ["initial_backoff", "max_backoff", "max_retry_after"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1])
def test_retry_policy_waits_must_be_finite(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        RetryPolicy(**{name: value})  # type: ignore[arg-type]


def test_require_finite_positive_is_reusable() -> None:
    assert require_finite_positive(2, "timeout") == 2.0
    assert require_finite_positive(0, "wait", allow_zero=True) == 0.0
    with pytest.raises(ValueError, match="--timeout must be a finite number"):
        require_finite_positive(float("inf"), "--timeout")
