"""The OpenTelemetry adapter against the fakes, read back with the SDK's in-memory exporters
(no collector): one CLIENT span per call with its attempts as events, the HTTP client
attributes, a login as a child span, and the counters."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from calendar_transport.otel import OpenTelemetryHooks
from pyrus_calendar import NotFoundError, PyrusClient, RetryPolicy
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client
from r7cal.testing import FakeR7Server

FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0, max_retry_after=1.0)
DAY = datetime(2024, 5, 1, tzinfo=UTC)


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def hooks(self) -> Any:
        return OpenTelemetryHooks(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def counts(self) -> dict[str, int]:
        data = self.reader.get_metrics_data()
        totals: dict[str, int] = {}
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name.startswith("calendar_transport."):
                        points = metric.data.data_points
                        totals[metric.name] = sum(int(p.value) for p in points)  # type: ignore[union-attr]
        return totals


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.tracer_provider.shutdown()
    t.meter_provider.shutdown()


async def test_a_call_with_one_503_is_one_span_with_two_attempts_and_a_retry(
    telemetry: Telemetry,
) -> None:
    async with (
        FakePyrusServer() as server,
        PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            retry=FAST,
            hooks=telemetry.hooks(),
        ) as pyrus,
    ):
        server.faults.fail_next(1, 503, path="/v4/calendar")
        await pyrus.calendar(DAY, DAY + timedelta(days=1))
    login, call = sorted(telemetry.finished(), key=lambda s: s.name)[::-1]
    assert call.name == "GET /v4/calendar"
    assert call.kind is SpanKind.CLIENT
    attributes = dict(call.attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == 200
    assert attributes["http.request.resend_count"] == 1
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["url.full"] == f"{server.api_url.rstrip('/')}/calendar"
    assert "error.type" not in attributes
    assert [event.name for event in call.events] == ["http.attempt", "http.retry", "http.attempt"]
    first, retry, second = (dict(event.attributes or {}) for event in call.events)
    assert (first["attempt"], first["http.response.status_code"]) == (1, 503)
    assert (retry["reason"], retry["wait_s"]) == ("HTTP 503", 0.0)
    assert (second["attempt"], second["http.response.status_code"]) == (2, 200)
    # The login the call needed is a span of its own, inside the call's.
    assert login.name == "POST /v4/auth"
    assert login.parent is not None
    assert login.parent.span_id == call.context.span_id
    assert telemetry.counts() == {
        "calendar_transport.requests": 3,
        "calendar_transport.retries": 1,
        "calendar_transport.logins": 1,
    }


async def test_a_failed_call_is_an_error_span(telemetry: Telemetry) -> None:
    async with (
        FakeR7Server(users={"alice": "pw-alice"}) as server,
        R7Client(
            server.url, login="alice", password="pw-alice", retry=FAST, hooks=telemetry.hooks()
        ) as r7,
    ):
        await r7.login()
        with pytest.raises(NotFoundError):
            await r7.calendars.delete(987654)
    failed = next(s for s in telemetry.finished() if s.name.startswith("DELETE"))
    attributes = dict(failed.attributes or {})
    assert attributes["error.type"] == "NotFoundError"
    assert attributes["http.response.status_code"] == 404
    assert "?" not in str(attributes["url.full"])
    assert failed.status.status_code is StatusCode.ERROR


async def test_rate_limit_waits_are_counted(telemetry: Telemetry) -> None:
    async with (
        FakePyrusServer() as server,
        PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            retry=FAST,
            hooks=telemetry.hooks(),
        ) as pyrus,
    ):
        await pyrus.login()
        server.faults.rate_limit_next(1, retry_after=0.01, path="/v4/calendar")
        await pyrus.calendar(DAY, DAY + timedelta(days=1))
    assert telemetry.counts()["calendar_transport.rate_limit_waits"] == 1
    call = next(s for s in telemetry.finished() if s.name == "GET /v4/calendar")
    assert "rate_limit.wait" in [event.name for event in call.events]


def test_the_core_never_imports_opentelemetry() -> None:
    code = (
        "import sys, calendar_transport, r7cal, pyrus_calendar\n"
        "loaded = [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
