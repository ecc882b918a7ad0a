"""The ``feed`` commands both tools share: where to listen, the public URL, and a run that
prints the address to subscribe to and serves until SIGTERM / Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import errno
from typing import Any, TextIO

from calendar_bridge.feed import FeedServer, FeedStateError, WatchFactory
from calendar_watch import WatchStateError

from .common import EXIT_OK, counted, say, text_argument
from .watching import PollLimit, add_watch_options, stop_on_signals

__all__ = ["add_feed_options", "listen_argument", "run_feed"]

DEFAULT_LISTEN = "127.0.0.1:8088"


def listen_argument(text: str) -> tuple[str, int]:
    """``--listen``: ``HOST:PORT`` (``[::1]:8088`` for IPv6; port 0: any free one)."""
    host, sep, port = text.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r:.60} is not HOST:PORT, e.g. 127.0.0.1:8088")
    return host, int(port)


def add_feed_options(parser: argparse.ArgumentParser, *, name: str) -> None:
    """``--listen``, ``--public-url``, ``--name`` and the watch's window options."""
    group = parser.add_argument_group("feed")
    group.add_argument(
        "--listen",
        type=listen_argument,
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"where to serve plain HTTP (default {DEFAULT_LISTEN}, loopback: put a reverse "
        "proxy with TLS in front to publish it)",
    )
    group.add_argument(
        "--public-url",
        metavar="URL",
        help="the https:// address the reverse proxy serves this feed at (for the printed URL)",
    )
    group.add_argument(
        "--name",
        type=text_argument,
        metavar="TEXT",
        default=name,
        help=f"the calendar's name in the app (default: {name})",
    )
    add_watch_options(parser)


def check_feed_options(args: argparse.Namespace) -> None:
    """Refuse what cannot work before any request: a feed without ``--state`` or without
    the ``ics`` extra."""
    if not args.state:
        raise ValueError("feed needs --state FILE: it keeps the secret URL and the UIDs")
    from calendar_bridge.ical import require_icalendar

    require_icalendar()


async def run_feed(
    make: Any,
    args: argparse.Namespace,
    *,
    out: TextIO,
    err: TextIO,
    program: str,
) -> int:
    """Serve the feed of ``make`` (a backend's ``watch`` taking ``clock`` and ``sleep``)
    until stopped; bad input (a port in use, a state of another feed) is a ``ValueError``."""
    host, port = args.listen
    stopping = asyncio.Event()
    limit = PollLimit(args.polls, stopping)

    def watch(**hooks: Any) -> Any:
        made = make(**hooks)
        limit.watch = made
        return made

    factory: WatchFactory = watch
    feed = FeedServer(
        factory, name=args.name, host=host, port=port, public_url=args.public_url, sleep=limit
    )
    try:
        await feed.start()
    except (FeedStateError, WatchStateError) as error:
        await feed.aclose()
        raise ValueError(f"--state {args.state}: {error}") from None
    except OSError as error:
        await feed.aclose()
        if error.errno == errno.EADDRINUSE:
            raise ValueError(f"--listen {host}:{port}: the port is in use") from None
        raise ValueError(f"--listen {host}:{port}: cannot listen: {error.strerror}") from None
    try:
        out.write(f"{feed.url}\n")
        if feed.url.startswith("https://"):
            out.write(f"{feed.webcal_url}\n")
        out.flush()
        say(err, program, "subscribe to the URL above; it is a secret: share it like a password")
        if not feed.url.startswith("https://"):
            say(err, program, "plain HTTP: publish it through a reverse proxy with TLS")
        with stop_on_signals(stopping):
            serving = asyncio.ensure_future(feed.serve_forever())
            stopped = asyncio.ensure_future(stopping.wait())
            done, _ = await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if serving in done:
                serving.result()  # the watch ended on an error that cannot heal: raise it
            else:
                serving.cancel()
    finally:
        await feed.aclose()
    polls, served = counted(feed.watch.polls, "poll"), counted(feed.served, "calendar")
    say(err, program, f"stopped after {polls}, {served} served")
    return EXIT_OK
