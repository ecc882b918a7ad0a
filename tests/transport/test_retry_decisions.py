"""The retry decisions are pure functions: test them directly."""

from __future__ import annotations

import asyncio
import random
import ssl
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from calendar_transport.errors import (
    APIError,
    BadRequestError,
    ClientClosedError,
    ProxyError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TLSError,
    TransportError,
)
from calendar_transport.retry import (
    RetryPolicy,
    backoff_delay,
    final_connection_failure,
    is_idempotent,
    may_have_reached,
    parse_rate_limit_reset,
    parse_retry_after,
    retry_after_from_headers,
    should_retry,
)

POLICY = RetryPolicy()


def _api(cls: type[APIError], status: int) -> APIError:
    return cls(status=status, method="GET", url="https://x/y")


def _transport(sent: bool) -> TransportError:
    return TransportError("boom", method="POST", url="https://x/y", request_sent=sent)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (_api(ServerError, 503), True, True),
        (_api(ServerError, 502), True, True),
        (_api(ServerError, 504), True, True),
        (_api(RateLimitError, 429), True, True),
        (_api(ServerError, 500), True, False),
        (_api(BadRequestError, 400), True, False),
        (_api(ServerError, 503), False, False),
        (_api(RateLimitError, 429), False, False),
        (_transport(sent=True), True, True),
        (_transport(sent=True), False, False),
        (_transport(sent=False), False, True),
        (asyncio.CancelledError(), True, False),
        (KeyError("x"), True, False),
    ],
)
def test_should_retry(error: BaseException, idempotent: bool, expected: bool) -> None:
    assert should_retry(error, idempotent=idempotent, policy=POLICY) is expected


def test_custom_retry_statuses_are_honoured() -> None:
    policy = RetryPolicy(retry_statuses=frozenset({500}))
    assert should_retry(_api(ServerError, 500), idempotent=True, policy=policy)
    assert not should_retry(_api(ServerError, 503), idempotent=True, policy=policy)


@pytest.mark.parametrize(
    ("method", "flag", "expected"),
    [
        ("GET", None, True),
        ("delete", None, True),
        ("POST", None, False),
        ("POST", True, True),
        ("GET", False, False),
    ],
)
def test_is_idempotent(method: str, flag: bool | None, expected: bool) -> None:
    assert is_idempotent(method, flag) is expected


NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("Sat, 21 Nov 2026 12:00:30 GMT", 30.0),
        ("Sat, 21 Nov 2026 11:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


@pytest.mark.parametrize(
    ("header", "expected"), [("12", 12.0), ("0.25", 0.25), ("x", None), (None, None)]
)
def test_parse_rate_limit_reset(header: str | None, expected: float | None) -> None:
    assert parse_rate_limit_reset(header) == expected


def test_retry_after_wins_over_rate_limit_reset() -> None:
    assert retry_after_from_headers({"Retry-After": "2", "X-RateLimit-Reset": "9"}) == 2.0
    assert retry_after_from_headers({"X-RateLimit-Reset": "9"}) == 9.0
    assert retry_after_from_headers({}) is None


def test_rate_limit_reset_is_a_wait_only_on_a_429() -> None:
    # Pyrus sends X-RateLimit-* on every answer: a 503 must back off, not wait for the window
    assert retry_after_from_headers({"X-RateLimit-Reset": "540"}, 503) is None
    assert retry_after_from_headers({"X-RateLimit-Reset": "540"}, 429) == 540.0
    assert retry_after_from_headers({"Retry-After": "3"}, 503) == 3.0


def test_backoff_is_full_jitter_under_a_doubling_ceiling() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=5.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [backoff_delay(policy, attempt, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spans the range, not a constant
        assert min(delays) < ceiling * 0.2


def test_server_wait_wins_but_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=10.0)
    assert backoff_delay(policy, 1, retry_after=3.0) == 3.0
    assert backoff_delay(policy, 1, retry_after=3600.0) == 10.0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"attempts": 0}, ValueError),
        ({"attempts": 1.5}, TypeError),
        ({"initial_backoff": -1}, ValueError),
        ({"initial_backoff": 2.0, "max_backoff": 1.0}, ValueError),
        ({"max_retry_after": "1"}, ValueError),
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        POLICY.attempts = 9  # type: ignore[misc]


def test_a_wait_longer_than_the_cap_is_not_retried() -> None:
    policy = RetryPolicy(max_retry_after=60)
    long_wait = RateLimitError(status=429, method="GET", url="https://x/y", retry_after=61)
    short_wait = RateLimitError(status=429, method="GET", url="https://x/y", retry_after=60)
    assert should_retry(long_wait, idempotent=True, policy=policy) is False
    assert should_retry(short_wait, idempotent=True, policy=policy) is True


@pytest.mark.parametrize("cls", [TLSError, ProxyError, ClientClosedError])
def test_failures_that_cannot_heal_are_never_retried(cls: type[TransportError]) -> None:
    error = cls("no", method="GET", url="https://x/y", request_sent=False)
    assert should_retry(error, idempotent=True, policy=POLICY) is False


def _key() -> aiohttp.client_reqrep.ConnectionKey:
    return aiohttp.client_reqrep.ConnectionKey("x", 443, True, True, None, None, None)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ssl.SSLCertVerificationError("certificate verify failed"), TLSError),
        (ssl.SSLError("handshake"), TLSError),
        (aiohttp.ServerFingerprintMismatch(b"a", b"b", "x", 443), TLSError),
        (aiohttp.ClientProxyConnectionError(_key(), OSError("refused")), ProxyError),
        (aiohttp.ClientConnectorError(_key(), OSError("refused")), None),
        (aiohttp.ServerDisconnectedError(), None),
        (ConnectionResetError(), None),
    ],
)
def test_final_connection_failures_are_classified(
    error: BaseException, expected: type[TransportError] | None
) -> None:
    assert final_connection_failure(error) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_transport(sent=True), True),  # dropped after sending
        (RequestTimeoutError("slow", method="GET", url="u", request_sent=True), True),
        (_transport(sent=False), False),  # never left this process
        (_api(ServerError, 502), True),
        (_api(ServerError, 504), True),
        (_api(ServerError, 500), True),
        (_api(ServerError, 503), False),  # the server says it did nothing
        (_api(RateLimitError, 429), False),
        (_api(BadRequestError, 400), False),
        (TLSError("cert", method="GET", url="u", request_sent=False), False),
    ],
)
def test_which_failures_may_have_reached_the_server(error: Exception, expected: bool) -> None:
    assert may_have_reached(error) is expected


def test_a_retry_after_date_is_measured_against_the_servers_own_clock() -> None:
    # The server's clock runs ten minutes ahead of ours: its "in 2 s" is 2 s, not 602 s.
    from email.utils import format_datetime

    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    headers = {
        "Date": format_datetime(ahead, usegmt=True),
        "Retry-After": format_datetime(ahead + timedelta(seconds=2), usegmt=True),
    }
    assert retry_after_from_headers(headers, 503) == 2.0
    # Without a Date (or an unreadable one) our clock is all there is.
    no_date = {"Retry-After": headers["Retry-After"]}
    assert retry_after_from_headers(no_date, 503) == pytest.approx(602, abs=5)
    assert retry_after_from_headers({**no_date, "Date": "soon"}, 503) == pytest.approx(602, abs=5)
