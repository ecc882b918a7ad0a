"""The sync engine: mirror a source window into a target calendar, vdirsyncer-style.

Each run lists ``[now - lookback, now + horizon)`` of the source, renders every item as a
tagged VEVENT (:mod:`calendar_bridge.ical`'s mapping; UID prefixed ``sync-``), and compares
its hash with the state's entry: new items are created, changed ones updated, entries whose
item left the source deleted. Only entries of the state are ever updated or deleted, so the
target's other items are never touched. A walk that is incomplete deletes nothing; a source
that suddenly lists nothing while the state holds items is refused (:class:`SyncSafetyError`)
unless ``force_delete``. The planned writes are recorded before they are made and the run's
results committed in one transaction at its end (also when it fails half-way, for the
writes that finished), so a re-run finishes the job and creates nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from calendar_transport.checks import require_int
from calendar_transport.errors import CalendarError, IncompleteResultsError
from calendar_watch import Change
from calendar_watch.engine import Watch, check_watch
from calendar_watch.replicas import next_change
from pyrus_calendar.models import Meeting

from ..ical import PRODID, Exportable, require_icalendar, to_ical
from .state import Entry, Intent, MemorySyncState, Operation, SyncState, SyncStateError

if TYPE_CHECKING:
    import icalendar

__all__ = [
    "TAG",
    "Item",
    "Plan",
    "Step",
    "Sync",
    "SyncConflictError",
    "SyncReport",
    "SyncSafetyError",
    "SyncTarget",
    "SyncTargetError",
    "Written",
    "render",
]

logger = logging.getLogger(__name__)

#: the property every item the sync writes carries (its value: the sync's name)
TAG = "X-R7-PYRUS-SYNC"
#: what the UID of every item the sync writes starts with
UID_PREFIX = "sync-"

#: lists the source's items in a window (raising IncompleteResultsError at the end if cut)
Fetch = Callable[[datetime, datetime], AsyncIterator[Exportable]]


class SyncTargetError(CalendarError):
    """The target cannot be used: a wrong URL or credentials, a calendar that does not exist."""


class SyncConflictError(CalendarError):
    """Someone else changed an item the sync wrote (a CalDAV 412): it was not overwritten."""


class SyncSafetyError(CalendarError):
    """The source listed nothing while the target holds synced items: nothing was deleted
    (pass ``force_delete`` if the calendar really is empty now)."""


@dataclass(frozen=True, slots=True)
class Item:
    """One source item ready to write: its ``key`` (the source UID), the tagged VEVENT,
    the whole VCALENDAR text (``payload``), its ``hash`` (without DTSTAMP) and ``until``."""

    key: str
    event: icalendar.Event
    payload: bytes
    hash: str
    until: datetime | None
    summary: str


@dataclass(frozen=True, slots=True)
class Written:
    """What a target answered to a write: the item's id there and its new etag;
    ``adopted``: a create found its own item already there (left by a run whose state was
    lost) and took it over instead of making a new one."""

    target_id: str
    etag: str | None
    adopted: bool = False


class SyncTarget(Protocol):
    """A calendar the engine writes to; it never touches an id the state did not give it."""

    #: what the target is (a URL, ``r7:<host>/<calendar id>``): a state is bound to it
    identity: str

    async def open(self) -> None:
        """Check the target can be used (raise :class:`SyncTargetError` otherwise)."""

    def fingerprint(self, item: Item) -> str:
        """The hash of what this target keeps of ``item`` (a change elsewhere is none)."""

    async def create(self, item: Item) -> Written:
        """Write a new item; never twice for one key (a target finds its own leftovers)."""

    async def update(self, item: Item, entry: Entry, *, force: bool) -> Written:
        """Replace what ``entry`` names; :class:`SyncConflictError` if it changed there."""

    async def delete(self, entry: Entry, *, force: bool) -> None:
        """Remove what ``entry`` names (already gone is fine)."""

    async def recover(self, intent: Intent, known: Iterable[str]) -> Written | None:
        """What an unfinished ``intent`` left on the target: the item it wrote, or ``None``
        if it wrote none (``known``: target ids of the state's entries)."""

    async def close(self) -> None:
        """Release connections."""


def _event_hash(event: icalendar.Event) -> str:
    lines = [
        line
        for line in event.to_ical().splitlines()
        if not line.startswith((b"DTSTAMP", TAG.encode()))
    ]
    return hashlib.blake2b(b"\n".join(lines), digest_size=12).hexdigest()


def render(item: Exportable, sync: str) -> Item:
    """``item`` as the sync writes it: the VEVENT of ``to_ical`` with the UID prefixed and
    the tag added, wrapped in its own VCALENDAR."""
    ical = require_icalendar()
    if isinstance(item, Meeting) and item.deleted:
        # On nobody's calendar: left out, so a copy written before is deleted.
        raise ValueError(f"meeting {item.id} is deleted")
    event = to_ical(item)
    key = str(event["UID"])
    event["UID"] = f"{UID_PREFIX}{key}"
    event.add(TAG.lower(), sync)
    calendar = ical.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return Item(
        key=key,
        event=event,
        payload=bytes(calendar.to_ical()),
        hash=_event_hash(event),
        until=_until(event),
        summary=str(event.get("SUMMARY", key)),
    )


def parse(payload: bytes, key: str) -> Item:
    """The :class:`Item` of ``key`` that :func:`render` made ``payload`` from (its hash as
    :func:`render` computed it); ``ValueError`` if it holds no VEVENT."""
    ical = require_icalendar()
    try:
        calendar = ical.Calendar.from_ical(payload)
    except ValueError as error:
        raise ValueError(f"not iCalendar text: {error}") from None
    events = calendar.walk("VEVENT")
    if not events:
        raise ValueError("no VEVENT in the text")
    event = events[0]
    return Item(
        key=key,
        event=event,
        payload=payload,
        hash=_event_hash(event),
        until=_until(event),
        summary=str(event.get("SUMMARY", key)),
    )


def _until(event: icalendar.Event) -> datetime | None:
    prop = event.get("DTEND") or event.get("DTSTART")
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


@dataclass(frozen=True, slots=True)
class Step:
    """One write of a plan."""

    action: Operation
    key: str
    summary: str
    item: Item | None = None
    entry: Entry | None = None


@dataclass(slots=True)
class Plan:
    """What a run would write; ``complete``: the source listing was whole (else no delete),
    ``withheld``: deletes left out for that reason."""

    steps: list[Step] = field(default_factory=list)
    unchanged: int = 0
    complete: bool = True
    withheld: int = 0

    def count(self, action: Operation) -> int:
        """How many steps do ``action``."""
        return sum(1 for step in self.steps if step.action == action)

    def lines(self) -> list[str]:
        """The plan as readable lines (``--dry-run``)."""
        out = [f"{step.action:<6}  {step.key}  {step.summary}" for step in self.steps]
        out.append(
            f"{self.count('create')} to create, {self.count('update')} to update, "
            f"{self.count('delete')} to delete, {self.unchanged} unchanged"
            + (f", {self.withheld} deletes withheld (incomplete listing)" if self.withheld else "")
        )
        return out


@dataclass(slots=True)
class SyncReport:
    """What a run did: writes per action (``adopted``: creates that found the item this
    sync had written already there, and took it over), conflicts (keys), recovered
    leftovers, and ``resent``: the keys of writes an unfinished run left unconfirmed, which
    this run sends again (on R7 a copy may then exist twice: the log names it)."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    adopted: int = 0
    unchanged: int = 0
    recovered: int = 0
    withheld: int = 0
    conflicts: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)

    def add(self, other: SyncReport) -> None:
        """Count ``other`` into this report (a running total over several runs)."""
        for count in fields(self):
            if count.name in ("conflicts", "resent"):
                getattr(self, count.name).extend(getattr(other, count.name))
            else:
                setattr(self, count.name, getattr(self, count.name) + getattr(other, count.name))

    @property
    def writes(self) -> int:
        """Writes made on the target (an adoption rewrites the item it took over)."""
        return self.created + self.updated + self.deleted + self.adopted

    def line(self) -> str:
        """One readable summary line."""
        text = (
            f"{self.created} created, {self.updated} updated, {self.deleted} deleted, "
            f"{self.unchanged} unchanged"
        )
        if self.adopted:
            text += f", {self.adopted} adopted (already there from an earlier sync)"
        if self.recovered:
            text += f", {self.recovered} recovered from an unfinished run"
        if self.withheld:
            text += f", {self.withheld} deletes withheld (incomplete listing)"
        if self.conflicts:
            text += f", {len(self.conflicts)} conflicts (edited on the target; not overwritten)"
        if self.resent:
            keys = ", ".join(self.resent[:3]) + (" ..." if len(self.resent) > 3 else "")
            text += f", {len(self.resent)} unconfirmed by an unfinished run and sent again ({keys})"
        return text


class Sync:
    """One named sync of a source window into a target.

    ``fetch`` lists the source (e.g. ``lambda a, b: pyrus.iter_calendar(a, b)``),
    ``source`` names it (a state refuses another source), ``state`` is a
    :class:`SyncState` (default: memory). :meth:`run` makes one run; :meth:`follow` keeps
    the target in step with a ``watch()``.
    """

    def __init__(
        self,
        fetch: Fetch,
        target: SyncTarget,
        *,
        source: str,
        name: str | None = None,
        state: SyncState | None = None,
        lookback: timedelta = timedelta(days=1),
        horizon: timedelta = timedelta(days=30),
        force: bool = False,
        force_delete: bool = False,
        concurrency: int = 8,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.lookback, self.horizon, _, _ = check_watch(lookback, horizon, 1.0)
        if not callable(fetch):
            raise TypeError(f"fetch must be callable, not {type(fetch).__name__}")
        if not isinstance(source, str) or not source:
            raise ValueError(f"source must be a non-empty str, got {source!r:.60}")
        require_int(concurrency, "concurrency", low=1)
        self.name = name or f"{source} -> {target.identity}"
        self.source = source
        self.target = target
        self.state: SyncState = state if state is not None else MemorySyncState()
        self.force = force
        self.force_delete = force_delete
        self._fetch = fetch
        self._concurrency = concurrency
        self._clock = clock or (lambda: datetime.now(UTC))
        self._opened = False

    def __repr__(self) -> str:
        return f"Sync({self.name!r}, state={self.state!r})"

    async def open(self) -> None:
        """Open the state and the target; refuse a state bound to another source/target."""
        if self._opened:
            return
        await self.state.open()
        try:
            stored = await self.state.load(self.name)
            if stored.source and stored.source != self.source:
                raise SyncStateError(
                    f"the state's sync {self.name!r} mirrors {stored.source!r}, not "
                    f"{self.source!r}: use another --state file"
                )
            if stored.target and stored.target != self.target.identity:
                raise SyncStateError(
                    f"the state's sync {self.name!r} writes to {stored.target!r}, not "
                    f"{self.target.identity!r}: use another --state file"
                )
            await self.target.open()
        except BaseException:
            # `async with` does not exit what failed to enter: the file is closed here.
            await self.state.close()
            raise
        self._opened = True

    async def close(self) -> None:
        """Close the target and the state."""
        try:
            await self.target.close()
        finally:
            await self.state.close()
            self._opened = False

    async def __aenter__(self) -> Sync:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- planning --------------------------------------------------------------------------

    def _window(self) -> tuple[datetime, datetime]:
        now = self._clock()
        if now.utcoffset() is None:
            raise ValueError("clock must return aware datetimes")
        return now - self.lookback, now + self.horizon

    async def plan(self) -> Plan:
        """What a run would write now (reads the source; writes nothing)."""
        await self.open()
        return await self._plan((await self.state.load(self.name)).entries)

    async def _plan(self, entries: dict[str, Entry]) -> Plan:
        start, end = self._window()
        items: dict[str, Item] = {}
        complete = True
        listing = self._fetch(start, end)
        try:
            async for raw in listing:
                try:
                    item = render(raw, self.name)
                except ValueError as error:  # no dates to put in a calendar
                    logger.info("sync %s: left out: %s", self.name, error)
                    continue
                items.setdefault(item.key, item)
        except IncompleteResultsError as error:
            complete = False
            logger.warning("sync %s: incomplete listing, nothing deleted: %s", self.name, error)
        finally:
            closing = getattr(listing, "aclose", None)
            if closing is not None:
                await closing()
        return self._diff(entries, items, complete)

    def _diff(self, entries: dict[str, Entry], items: dict[str, Item], complete: bool) -> Plan:
        plan = Plan(complete=complete)
        for key in sorted(items):
            item = items[key]
            entry = entries.get(key)
            digest = self.target.fingerprint(item)
            if entry is None:
                plan.steps.append(Step("create", key, item.summary, item=item))
            elif entry.hash != digest:
                plan.steps.append(Step("update", key, item.summary, item=item, entry=entry))
            else:
                plan.unchanged += 1
        gone = sorted(key for key in entries if key not in items)
        if not complete:
            plan.withheld = len(gone)
            return plan
        if gone and not items and not self.force_delete:
            raise SyncSafetyError(
                f"the source listed nothing, and the target holds {len(gone)} synced items: "
                "nothing was deleted (pass force_delete / --force-delete if it is really empty)"
            )
        plan.steps.extend(Step("delete", key, key, entry=entries[key]) for key in gone)
        return plan

    # ---- running ---------------------------------------------------------------------------

    async def run(self) -> SyncReport:
        """One run: recover an unfinished one, plan, write, commit (see the module doc)."""
        await self.open()
        report = SyncReport()
        plan = await self._plan(await self._recover(report))
        report.unchanged, report.withheld = plan.unchanged, plan.withheld
        await self._apply(plan.steps, report)
        return report

    async def _recover(self, report: SyncReport) -> dict[str, Entry]:
        # Finishes what an unfinished run left (its intents); returns the entries as they
        # stand after it, so the caller need not read the state again.
        snapshot = await self.state.load(self.name)
        if not snapshot.intents:
            return snapshot.entries
        known = [entry.target_id for entry in snapshot.entries.values()]
        put: dict[str, Entry] = {}
        for intent in snapshot.intents:
            if intent.op == "delete":
                continue  # its entry is still there: the plan deletes it again if need be
            found = await self.target.recover(intent, known)
            if found is None:
                report.resent.append(intent.key)  # the plan that follows writes it again
            else:
                # What the target holds is what the intent wrote: its fingerprint, so an
                # unchanged source item is not written again by the plan that follows.
                put[intent.key] = Entry(
                    found.target_id, found.etag, *self._written(intent.payload, intent.key)
                )
                report.recovered += 1
        await self.state.commit(
            self.name,
            self.source,
            self.target.identity,
            put,
            (),
            [intent.key for intent in snapshot.intents],
        )
        return {**snapshot.entries, **put}

    def _written(self, payload: bytes, key: str) -> tuple[str, datetime | None]:
        """The fingerprint and ``until`` of what an intent wrote (its VCALENDAR text);
        an empty fingerprint (rewrite it) where the text cannot be read back."""
        try:
            item = parse(payload, key)
        except ValueError as error:
            logger.warning("sync %s: %s: %s", self.name, key, error)
            return "", None
        return self.target.fingerprint(item), item.until

    async def _apply(self, steps: Sequence[Step], report: SyncReport) -> None:
        if not steps:
            return
        intents = [
            Intent(step.action, step.key, step.entry, step.item.payload if step.item else b"")
            for step in steps
        ]
        await self.state.begin(self.name, self.source, self.target.identity, intents)
        put: dict[str, Entry] = {}
        drop: list[str] = []
        done: list[str] = []
        gate = asyncio.Semaphore(self._concurrency)

        async def one(step: Step) -> None:
            async with gate:
                try:
                    await self._write(step, put, drop, report)
                except SyncConflictError as error:
                    logger.warning("sync %s: %s", self.name, error)
                    report.conflicts.append(step.key)
                done.append(step.key)

        try:
            async with asyncio.TaskGroup() as group:
                for step in steps:
                    group.create_task(one(step))
        finally:
            # Also after a failure half-way: what finished is recorded, the rest keeps its
            # intent for the next run to look for.
            await asyncio.shield(
                self.state.commit(self.name, self.source, self.target.identity, put, drop, done)
            )

    async def _write(
        self, step: Step, put: dict[str, Entry], drop: list[str], report: SyncReport
    ) -> None:
        if step.action == "delete":
            assert step.entry is not None
            await self.target.delete(step.entry, force=self.force)
            drop.append(step.key)
            report.deleted += 1
            return
        item = step.item
        assert item is not None
        if step.action == "create":
            written = await self.target.create(item)
            if written.adopted:
                report.adopted += 1
            else:
                report.created += 1
        else:
            assert step.entry is not None
            written = await self.target.update(item, step.entry, force=self.force)
            report.updated += 1
        put[step.key] = Entry(
            written.target_id, written.etag, self.target.fingerprint(item), item.until
        )

    # ---- following a watch -----------------------------------------------------------------

    async def follow(
        self,
        changes: Watch[Any],
        stopping: asyncio.Event | None = None,
        *,
        on_report: Callable[[SyncReport], object] | None = None,
    ) -> SyncReport:
        """Write every change of ``changes`` (a ``watch()``) until ``stopping`` is set or the
        watch ends; ``on_report`` is told what each change wrote. Returns the totals.

        Each change is written and committed in this sync's state before the next is asked
        for (asking commits it in the watch's state), so a crash loses nothing and repeats
        at most one change.
        """
        stopping = stopping or asyncio.Event()
        total = SyncReport()
        async with changes:
            while not stopping.is_set():
                change = await next_change(changes, stopping)
                if change is None:
                    break
                done = await self.apply([change])
                total.add(done)
                if on_report is not None:
                    on_report(done)
        return total

    async def apply(self, changes: Sequence[Change[Any]]) -> SyncReport:
        """Write what ``changes`` of a ``watch()`` say (added/changed: create or update;
        removed: delete), and delete entries that fell off the back of the window."""
        await self.open()
        report = SyncReport()
        entries = await self._recover(report)
        steps: dict[str, Step] = {}
        for change in changes:
            if change.kind == "removed":
                try:
                    key = render(change.item, self.name).key
                except ValueError:
                    continue
                if key in entries:
                    steps[key] = Step("delete", key, key, entry=entries[key])
                continue
            try:
                item = render(change.item, self.name)
            except ValueError:
                continue
            entry = entries.get(item.key)
            if entry is None:
                steps[item.key] = Step("create", item.key, item.summary, item=item)
            elif entry.hash != self.target.fingerprint(item):
                steps[item.key] = Step("update", item.key, item.summary, item=item, entry=entry)
        start, _ = self._window()
        for key, entry in entries.items():
            if key not in steps and entry.until is not None and entry.until <= start:
                steps[key] = Step("delete", key, key, entry=entry)
        await self._apply(list(steps.values()), report)
        return report
