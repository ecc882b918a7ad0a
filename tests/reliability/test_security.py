"""Secrets never leave; TLS is verified; plain http only to loopback; redirects are not
followed; ids in URLs are integers. Through both clients and their fakes."""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from calendar_transport import APIError, CalendarError, TransportError
from pyrus_calendar import PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer
from r7cal import AuthenticationError, R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from r7cal.testing.fake import REFRESH_PATH

FAST = RetryPolicy(attempts=2, initial_backoff=0.001, max_backoff=0.005, max_retry_after=0.01)
R7_PASSWORDS = {"alice": "alice-Pa55word-secret", "bob": "bob-Pa55word-secret"}
PYRUS_KEY = "pyrus-Security-Key-0123456789"
DAY = datetime(2024, 5, 1, tzinfo=UTC)


class _Everything(logging.Handler):
    """Keeps every record of every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        return [self.format(record) for record in self.records]


@pytest.fixture
def all_logs() -> Iterator[_Everything]:
    """DEBUG for every logger (aiohttp's and asyncio's included), captured at the root."""
    handler = _Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    named = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    old_levels = [(logger, logger.level) for logger in named]
    for logger in named:
        logger.setLevel(logging.NOTSET)  # inherit DEBUG from the root
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for logger, level in old_levels:
            logger.setLevel(level)


def _error_texts(error: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(error))]
    while error is not None:
        texts += [str(error), repr(error)]
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return texts


async def test_r7_secrets_never_reach_logs_errors_or_reprs(all_logs: _Everything) -> None:
    texts: list[str] = []
    errors: list[BaseException] = []
    async with FakeR7Server(users=R7_PASSWORDS) as server:
        async with R7Client(
            server.url,
            login="alice",
            password=R7_PASSWORDS["alice"],
            retry=FAST,
            refresh_path=REFRESH_PATH,
        ) as alice:
            login = await alice.login()
            calendar = await alice.calendars.create(name="Team")
            shared = await alice.calendars.share([calendar.id], [server.user("bob").id])
            server.expire_tokens()  # a 401, a refresh-token login, a replay
            await alice.calendars.list()
            server.revoke_tokens()  # the refresh token is gone too: back to the password
            await alice.events.list([calendar.id])
            texts += [repr(x) for x in (alice, alice.auth, alice.transport, login, shared)]
            last = alice.auth.last_login
            assert last is not None
            texts += [str(alice.auth), repr(last.tokens), repr(alice.user)]
            alice_token = alice.token
        async with R7Client(
            server.url, login="bob", password="wrong-" + R7_PASSWORDS["bob"]
        ) as bad:
            with pytest.raises(AuthenticationError) as refused:
                await bad.calendars.list()
            texts.append(repr(bad))
        errors.append(refused.value)
        stale = server.issue_token("bob")
        server.revoke_tokens("bob")
        async with R7Client(server.url, token=stale, retry=FAST) as token_only:
            with pytest.raises(AuthenticationError) as stale_refused:
                await token_only.calendars.list()
            texts.append(repr(token_only))
        errors.append(stale_refused.value)
        sent_tokens = {r.headers.get("Authorization", "") for r in server.requests} - {""}
    secrets = {*R7_PASSWORDS.values(), "wrong-" + R7_PASSWORDS["bob"], stale, *sent_tokens}
    secrets |= {last.tokens.auth_token, last.tokens.refresh_token or "", alice_token or ""}
    secrets.discard("")
    assert len(sent_tokens) >= 3  # the first token, the refreshed one, the password's one
    for error in errors:
        texts += _error_texts(error)
    logs = all_logs.texts()
    assert any("logging in again" in line for line in logs)
    assert any(line.startswith("calendar_transport DEBUG") for line in logs)
    for text in logs + texts:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into: {text[:200]}"


async def test_pyrus_secrets_never_reach_logs_errors_or_reprs(all_logs: _Everything) -> None:
    texts: list[str] = []
    errors: list[BaseException] = []
    async with FakePyrusServer(
        users={"bot@example.com": PYRUS_KEY, "other@example.com": "k2-secret"}
    ) as server:
        server.add_task(Task(id=1, text="one", due=DAY + timedelta(hours=1)))
        async with PyrusClient(
            base_url=server.api_url, login="bot@example.com", security_key=PYRUS_KEY, retry=FAST
        ) as pyrus:
            page = await pyrus.calendar(DAY, DAY + timedelta(days=1))
            server.revoke_tokens()
            tasks = [task async for task in pyrus.iter_calendar(DAY, DAY + timedelta(days=1))]
            texts += [repr(x) for x in (pyrus, pyrus.auth, pyrus.transport, page, tasks)]
        assert [task.id for task in tasks] == [1]
        async with PyrusClient(
            base_url=server.api_url, login="bot@example.com", security_key="wrong-" + PYRUS_KEY
        ) as bad:
            with pytest.raises(AuthenticationError) as refused:
                await bad.calendar(DAY, DAY + timedelta(days=1))
        errors.append(refused.value)
        server.block_user("other@example.com")
        async with PyrusClient(
            base_url=server.api_url, login="other@example.com", security_key="k2-secret"
        ) as blocked:
            with pytest.raises(AuthenticationError) as blocked_error:
                await blocked.calendar(DAY, DAY + timedelta(days=1))
        errors.append(blocked_error.value)
        stale = server.tokens[0]
        async with PyrusClient(base_url=server.api_url, token=stale) as token_only:
            with pytest.raises(AuthenticationError) as stale_refused:
                await token_only.calendar(DAY, DAY + timedelta(days=1))
            texts.append(repr(token_only))
        errors.append(stale_refused.value)
        secrets = {PYRUS_KEY, "wrong-" + PYRUS_KEY, "k2-secret", *server.tokens}
    assert len(server.tokens) >= 2
    for error in errors:
        texts += _error_texts(error)
    logs = all_logs.texts()
    assert any("logging in again" in line for line in logs)
    for text in logs + texts:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into: {text[:200]}"


# ---- TLS -----------------------------------------------------------------------------------


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
    )  # fmt: skip
    return cert, key


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_tls_certificates_are_verified_by_default(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    async with FakeR7Server(ssl_context=_server_context(cert, key)) as server:
        assert server.url.startswith("https://")
        async with R7Client(
            server.url, login="user_test", password="TestPassword", retry=FAST
        ) as r7:
            with pytest.raises(TransportError) as caught:
                await r7.login()
        assert server.requests == []  # the handshake failed: not a byte of the login was read
        assert "certificate" in str(caught.value).lower()
        # trusting the certificate is the caller's explicit choice, through their own session
        trusting = ssl.create_default_context(cafile=str(cert))
        connector = aiohttp.TCPConnector(ssl=trusting)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            R7Client(server.url, login="user_test", password="TestPassword", session=session) as r7,
        ):
            result = await r7.login()
        assert result.user is not None


async def test_tls_is_verified_for_pyrus_too(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    async with FakePyrusServer(ssl_context=_server_context(cert, key)) as server:
        async with PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            retry=FAST,
        ) as pyrus:
            with pytest.raises(TransportError, match=r"(?i)certificate"):
                await pyrus.calendar(DAY, DAY + timedelta(days=1))
        assert server.requests == []


# ---- plain http ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.9.9.9"],
)
def test_plain_http_is_allowed_to_loopback(url: str) -> None:
    R7Client(url, token="t")
    PyrusClient(base_url=url + "/v4/", token="t")


@pytest.mark.parametrize(
    "url",
    ["http://r7.example.ru", "http://10.0.0.5", "http://192.168.1.10:8080", "http://[2001:db8::1]"],
)
def test_plain_http_elsewhere_needs_allow_insecure(url: str) -> None:
    with pytest.raises(ValueError, match="refusing plain http"):
        R7Client(url, token="t")
    with pytest.raises(ValueError, match="refusing plain http"):
        PyrusClient(base_url=url + "/v4/", token="t")
    assert R7Client(url, token="t", allow_insecure=True).transport.base_url == url
    PyrusClient(base_url=url + "/v4/", token="t", allow_insecure=True)


class _PlainHttpApiUrl(FakePyrusServer):
    @property
    def api_url(self) -> str:
        if self._port is None:
            return super().api_url
        return "http://pyrus.example.com/v4/"  # a login answer sending us to plain http


async def test_a_login_answer_cannot_move_pyrus_to_plain_http() -> None:
    async with _PlainHttpApiUrl() as server:
        async with PyrusClient(
            base_url=f"{server.url}/v4/",
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        ) as pyrus:
            with pytest.raises(ValueError, match=r"api_url .*refusing plain http"):
                await pyrus.calendar(DAY, DAY + timedelta(days=1))
        assert server.requests_to("/v4/calendar") == []


# ---- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_to_another_host_are_not_followed(status: int) -> None:
    async with FakeR7Server() as server, FakeR7Server() as elsewhere:
        # the same port space, another host name: the header must not cross over
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "/api/v1/email/Calendars"
        server.faults.fail_next(
            1, status, path="/api/v1/email/Calendars", headers={"Location": target}
        )
        async with R7Client(server.url, login="user_test", password="TestPassword") as r7:
            with pytest.raises(APIError) as caught:
                await r7.calendars.list()
        assert elsewhere.requests == []
        assert len(server.requests_to("/api/v1/email/Calendars")) == 1
    assert caught.value.status == status
    assert "not followed" in str(caught.value)
    assert "localhost" in str(caught.value)


async def test_pyrus_redirects_are_not_followed_either() -> None:
    async with FakePyrusServer() as server, FakePyrusServer() as elsewhere:
        server.faults.fail_next(
            1, 307, path="/v4/calendar", headers={"Location": f"{elsewhere.url}/v4/calendar"}
        )
        async with PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        ) as pyrus:
            with pytest.raises(APIError, match="not followed") as caught:
                await pyrus.calendar(DAY, DAY + timedelta(days=1))
        assert elsewhere.requests == []
    assert caught.value.status == 307


# ---- ids in URLs ---------------------------------------------------------------------------


class _HostileInt(int):
    def __str__(self) -> str:
        return "1&id=2"


async def test_ids_reach_the_url_as_one_integer_parameter() -> None:
    async with FakeR7Server() as server:
        async with R7Client(server.url, login="user_test", password="TestPassword") as r7:
            calendar = await r7.calendars.create(name="x")
            event = await r7.events.create(DAY, DAY + timedelta(hours=1), calendar_id=calendar.id)
            await r7.events.delete(event.id)
            await r7.calendars.clear(calendar.id)
            await r7.calendars.delete(calendar.id)
            bad: list[Any] = ["5&id=6", "../Calendars", "5/../../v2", 5.0, True, -5, None, b"5"]
            for value in bad:
                with pytest.raises((TypeError, ValueError), match="_id"):
                    await r7.events.delete(value)
            # an int whose str() is hostile still cannot add a parameter: the query is encoded
            with pytest.raises(CalendarError):
                await r7.events.delete(_HostileInt(7))
        by_path = {(r.method, r.path): r.query for r in server.requests if "id" in r.query}
    assert by_path[("DELETE", "/api/v1/events")] == {"id": "1&id=2"}  # one parameter, refused
    ids = [r.query for r in server.requests if r.method == "DELETE" or "Clear" in r.path]
    assert {"id": str(event.id)} in ids
    assert {"id": str(calendar.id)} in ids
    assert all(list(query) == ["id"] for query in ids)
    assert {r.path for r in server.requests} <= {
        "/api/v2/auth/Login",
        "/api/v1/Calendars/save",
        "/api/v1/events/save",
        "/api/v1/events",
        "/api/v1/Calendars/Clear",
        "/api/v1/Calendars",
    }
