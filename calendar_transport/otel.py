"""OpenTelemetry for both clients: ``hooks=OpenTelemetryHooks()`` (the ``otel`` extra).

One CLIENT span per call, named ``"{method} {path}"`` (the paths of both APIs carry no ids:
those travel in the query, which is never recorded), with the OpenTelemetry HTTP client
attributes (``http.request.method``, ``url.full`` without the query, ``server.address``,
``server.port``, ``http.response.status_code``, ``http.request.resend_count``,
``error.type``) and each attempt, retry and rate-limit wait as a span event. A login is a
call of its own, a child span of the call that needed it. Counters: requests (HTTP
attempts), retries, logins and rate-limit waits, with the ``http.client.request.duration``
histogram of the attempts.

Only this module imports ``opentelemetry``; the core never does.
"""

from __future__ import annotations

import logging
from contextvars import Token
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .extras import missing_extra

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError as missing:
    raise missing_extra("otel", "calendar_transport.otel") from missing

from .hooks import (
    CallEndRecord,
    CallRecord,
    Hooks,
    LoginRecord,
    RateLimitWaitRecord,
    ResponseRecord,
    RetryRecord,
)

__all__ = ["OpenTelemetryHooks"]

logger = logging.getLogger(__name__)

_SCOPE = "calendar_transport"


def OpenTelemetryHooks(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> Hooks:
    """:class:`~calendar_transport.Hooks` that record spans and counters; the global
    providers unless ``tracer_provider`` / ``meter_provider`` are given."""
    recorder = _Recorder(tracer_provider, meter_provider)
    return Hooks(
        on_call_start=recorder.call_start,
        on_call_end=recorder.call_end,
        on_response=recorder.response,
        on_retry=recorder.retry,
        on_login=recorder.login,
        on_rate_limit_wait=recorder.rate_limit_wait,
    )


class _Recorder:
    """The spans of the calls in flight, and the instruments."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
    ) -> None:
        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
        self._requests = meter.create_counter(
            "calendar_transport.requests", unit="{request}", description="HTTP attempts sent"
        )
        self._retries = meter.create_counter(
            "calendar_transport.retries", unit="{retry}", description="attempts retried"
        )
        self._logins = meter.create_counter(
            "calendar_transport.logins", unit="{login}", description="logins with credentials"
        )
        self._waits = meter.create_counter(
            "calendar_transport.rate_limit_waits",
            unit="{wait}",
            description="waits for a rate budget or a server's 429",
        )
        self._duration = meter.create_histogram(
            "http.client.request.duration", unit="s", description="duration of HTTP attempts"
        )
        # call_id -> its span and the context token that made it current
        self._calls: dict[int, tuple[Span, Token[otel_context.Context]]] = {}

    def call_start(self, record: CallRecord) -> None:
        span = self._tracer.start_span(
            f"{record.method} {record.path}",
            kind=SpanKind.CLIENT,
            attributes=_server(record.method, record.url),
        )
        # Current for what runs inside the call: its login becomes a child span.
        token = otel_context.attach(trace.set_span_in_context(span))
        self._calls[record.call_id] = (span, token)

    def call_end(self, record: CallEndRecord) -> None:
        entry = self._calls.pop(record.call_id, None)
        if entry is None:
            return
        span, token = entry
        if record.status is not None:
            span.set_attribute("http.response.status_code", record.status)
        if record.attempts > 1:
            span.set_attribute("http.request.resend_count", record.attempts - 1)
        error = record.error or (str(record.status) if (record.status or 0) >= 400 else None)
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        try:
            otel_context.detach(token)
        finally:
            span.end()

    def response(self, record: ResponseRecord) -> None:
        attributes: dict[str, Any] = _server(record.method, record.url)
        if record.status is not None:
            attributes["http.response.status_code"] = record.status
        if record.error is not None:
            attributes["error.type"] = record.error
        self._requests.add(1, attributes)
        self._duration.record(record.elapsed, attributes)
        span = self._span(record.call_id)
        if span is not None:
            span.add_event(
                "http.attempt",
                {"attempt": record.attempt, "duration_s": record.elapsed, **attributes},
            )

    def retry(self, record: RetryRecord) -> None:
        self._retries.add(1, {"http.request.method": record.method, "reason": record.reason})
        span = self._span(record.call_id)
        if span is not None:
            span.add_event(
                "http.retry",
                {"attempt": record.attempt, "wait_s": record.wait, "reason": record.reason},
            )

    def login(self, record: LoginRecord) -> None:
        attributes = {"backend": record.backend, "outcome": "ok" if record.ok else "failed"}
        if record.error is not None:
            attributes["error.type"] = record.error
        self._logins.add(1, attributes)

    def rate_limit_wait(self, record: RateLimitWaitRecord) -> None:
        self._waits.add(1, {"reason": record.reason})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("rate_limit.wait", {"wait_s": record.wait, "reason": record.reason})

    def _span(self, call_id: int) -> Span | None:
        entry = self._calls.get(call_id)
        return entry[0] if entry is not None else None


def _server(method: str, url: str) -> dict[str, Any]:
    parts = urlsplit(url)  # the record's URL has no query: url.full stays without one
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.full": url,
        "server.address": parts.hostname or "",
    }
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    if port is not None:
        attributes["server.port"] = port
    return attributes
