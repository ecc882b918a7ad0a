"""Decoding one 100-task Pyrus calendar page (fields of 16 types, approvals, subscribers, a
comment) into models: the SDK's ``msgspec`` decoder into ``CalendarPage`` against
``json.loads`` of the same bytes and the official ``pyrus-api``'s
``CalendarResponse(**json.loads(...))`` (what its ``get_calendar_tasks`` builds).

Form field values are typed lazily in this SDK (``FormField.value`` on first access), while
``pyrus-api`` types them while decoding; the "+ every .value" row reads every top-level
field's value so the comparison with ``pyrus-api`` is like for like.
"""

from __future__ import annotations

import cProfile
import functools
import json
import pstats
from collections.abc import Callable
from typing import Any

import msgspec

from pyrus_calendar import CalendarPage

from .data import calendar_page
from .report import Row, median, ratio, side_by_side, timed, us

TARGET_VS_JSON = 0.5
TARGET_VS_PYRUS_API = 10.0


def page_bytes() -> bytes:
    """The page as the server sends it."""
    return msgspec.json.encode(calendar_page(100))


def _runs(data: bytes) -> dict[str, Callable[[], object]]:
    from pyrus.models.responses import (  # type: ignore[import-untyped]
        CalendarResponse,
    )

    decoder = msgspec.json.Decoder(CalendarPage)  # what Transport.request builds and caches

    def sdk() -> object:
        return decoder.decode(data)

    def sdk_values() -> object:
        page = decoder.decode(data)
        for task in page.tasks:
            for field in task.fields:
                field.value  # noqa: B018 - typing the value is what is timed
        return page

    def loads() -> object:
        return json.loads(data)

    def pyrus_api() -> Any:
        return CalendarResponse(**json.loads(data))

    return {"sdk": sdk, "sdk_values": sdk_values, "json": loads, "pyrus_api": pyrus_api}


def _check(runs: dict[str, Callable[[], Any]]) -> None:
    page = runs["sdk_values"]()
    official = runs["pyrus_api"]()
    assert len(page.tasks) == len(official.tasks) == 100
    assert page.tasks[0].fields[1].value == float(official.tasks[0].fields[1].value)


def run(*, quick: bool = False) -> list[Row]:
    """The decode rows: SDK vs json.loads, SDK vs pyrus-api (without and with .value)."""
    data = page_bytes()
    runs = _runs(data)
    _check(runs)
    loops, repetitions = (3, 3) if quick else (10, 15)
    samples = side_by_side(
        {name: functools.partial(timed, function, loops) for name, function in runs.items()},
        repetitions,
        warmup=2,
    )
    size = f"{len(data) / 1024:.0f} KB"
    vs_json = ratio(samples, "sdk", "json")
    vs_json_values = ratio(samples, "sdk_values", "json")
    speedup = ratio(samples, "pyrus_api", "sdk")
    speedup_values = ratio(samples, "pyrus_api", "sdk_values")
    how = f"{repetitions} interleaved repetitions of {loops} decodes each; medians"
    return [
        Row(
            measure=f"decode a 100-task page ({size}) into models",
            sdk=us(median(samples["sdk"])),
            baseline=f"{us(median(samples['json']))} (json.loads)",
            result=f"SDK/json.loads = {vs_json:.2f}",
            target=f"<= {TARGET_VS_JSON}",
            ok=vs_json <= TARGET_VS_JSON,
            notes=[how + "; field values not typed yet (lazy)"],
        ),
        Row(
            measure="same, + every field's .value",
            sdk=us(median(samples["sdk_values"])),
            baseline=f"{us(median(samples['json']))} (json.loads)",
            result=f"SDK/json.loads = {vs_json_values:.2f}",
            target="(informational)",
            ok=None,
        ),
        Row(
            measure="decode the same page vs pyrus-api",
            sdk=us(median(samples["sdk"])),
            baseline=f"{us(median(samples['pyrus_api']))} (pyrus-api CalendarResponse)",
            result=f"{speedup:.1f}x faster",
            target=f">= {TARGET_VS_PYRUS_API:.0f}x faster",
            ok=speedup >= TARGET_VS_PYRUS_API,
        ),
        Row(
            measure="same, + every field's .value",
            sdk=us(median(samples["sdk_values"])),
            baseline=f"{us(median(samples['pyrus_api']))} (pyrus-api CalendarResponse)",
            result=f"{speedup_values:.1f}x faster",
            target=f">= {TARGET_VS_PYRUS_API:.0f}x faster",
            ok=speedup_values >= TARGET_VS_PYRUS_API,
            notes=["pyrus-api types field values while decoding, so this is like for like"],
        ),
    ]


def profile(*, quick: bool = False) -> None:
    """cProfile of the SDK decode (with every .value read)."""
    runs = _runs(page_bytes())
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20 if quick else 200):
        runs["sdk_values"]()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
