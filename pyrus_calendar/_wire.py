"""What a Pyrus error report in a 2xx answer looks like (R7's twin is ``r7cal/_wire.py``)."""

from __future__ import annotations

from typing import Any

import msgspec

from calendar_transport.errors import ErrorEnvelope


class _Envelope(msgspec.Struct):
    # Any: the fields are only looked at, and a body of another shape must not fail here.
    error_code: Any = None
    error: Any = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)


def error_envelope(data: bytes) -> ErrorEnvelope | None:
    """A Pyrus error report in a 2xx answer: ``{"error_code": "...", "error": "..."}``.

    Decoded as a calendar page it would be an empty page, so it must be caught first.
    """
    if b'"error_code"' not in data:
        return None
    try:
        envelope = _envelope_decoder.decode(data)
    except msgspec.DecodeError:
        return None  # not an object: the normal decoding reports it
    if not envelope.error_code:
        return None
    message = envelope.error if isinstance(envelope.error, str) else None
    return ErrorEnvelope(None, str(envelope.error_code), message)
