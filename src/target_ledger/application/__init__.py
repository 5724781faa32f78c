"""Use cases: load, decide in the domain, append; each returns the last position."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from target_ledger.application.cache import StreamCache, current_each
from target_ledger.domain.access import Principal
from target_ledger.domain.alert_rules import ALERT_RULES_ID, AlertRules
from target_ledger.domain.attainment import Thresholds
from target_ledger.domain.calendar import Calendar
from target_ledger.domain.catalog import CATALOG_ID, Catalog
from target_ledger.domain.errors import ConflictError, PreconditionFailedError
from target_ledger.domain.org import ORG_ID, Organisation
from target_ledger.domain.period import PERIODS_ID, Closure, Periods
from target_ledger.eventstore import Appended, EventStore, Guard, Metadata, StreamConflictError
from target_ledger.eventstore.appending import Replayed

IDEMPOTENCY = uuid.UUID("4c0a6a55-3f4e-4a43-8f43-9a0f5b7f2c03")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ReadModelBehindError(Exception):
    """A read model has not yet applied what a decision must see; retry shortly."""


@dataclass(frozen=True)
class Caches:
    """Shared by every request of a process."""

    catalog: StreamCache = field(default_factory=lambda: StreamCache(CATALOG_ID, lambda: Catalog.start(EPOCH)))
    # Before the company exists: an empty organisation, never stored.
    org: StreamCache = field(default_factory=lambda: StreamCache(ORG_ID, lambda: Organisation.start(at=EPOCH)))
    periods: StreamCache = field(default_factory=lambda: StreamCache(PERIODS_ID, lambda: Periods.start(EPOCH)))
    alert_rules: StreamCache = field(
        default_factory=lambda: StreamCache(ALERT_RULES_ID, lambda: AlertRules.start(EPOCH))
    )


@dataclass(frozen=True)
class Command:
    """What every use case gets: where to append, the clock, and who asks and why."""

    store: EventStore
    clock: Callable[[], datetime]
    actor: Principal
    request_id: str
    correlation_id: str | None = None
    idempotency_key: str | None = None  # the key with its request's fingerprint: api/idempotency.keyed_request
    if_match: str | None = None  # the If-Match header as sent: application/preconditions.py reads it
    calendar: Calendar = field(default_factory=Calendar)
    thresholds: Thresholds = field(default_factory=Thresholds)
    caches: Caches = field(default_factory=Caches)
    actual_max_days_ahead: int = 31  # how far after today an actual may be dated (TL_ACTUAL_MAX_DAYS_AHEAD)
    # One look at each shared aggregate per command, however often its steps ask, and the
    # stored version each was at then.
    _seen: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _versions: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    # The streams an If-Match conditions, each with the version loaded and the entity tags the
    # If-Match names: compared before the append; a write racing in before it commits is a 412.
    _conditioned: dict[uuid.UUID, tuple[int, frozenset[str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def today(self) -> date:
        return self.clock().date()

    async def _current(self, name: str) -> Any:
        if not self._seen:  # the first ask brings all four up to date, in one query
            names = ["catalog", "org", "periods", "alert_rules"]
            caches = [getattr(self.caches, n) for n in names]
            seen = await current_each(self.store, caches)
            self._seen.update(zip(names, seen, strict=True))
            self._versions.update((n, c.version) for n, c in zip(names, caches, strict=True))
        return self._seen[name]

    async def catalog(self) -> Catalog:
        catalog: Catalog = await self._current("catalog")
        return catalog

    async def org(self) -> Organisation:
        """The organisation as of the last committed change: read it, never change it."""
        org: Organisation = await self._current("org")
        return org

    async def periods(self) -> Periods:
        """Every period closure, as of the last committed change: read it, never change it."""
        periods: Periods = await self._current("periods")
        return periods

    async def alert_rules(self) -> AlertRules:
        rules: AlertRules = await self._current("alert_rules")
        return rules

    async def _chain(self, node: str, on: date) -> list[str]:
        org = await self.org()
        return [node, *org.ancestors(node, on)] if org.exists(node) else [node]

    async def closure(self, node: str, starts_on: date, ends_on: date) -> Closure | None:
        """The closure freezing those days for the node (closed for it or a unit above it)."""
        return (await self.periods()).closing(await self._chain(node, starts_on), starts_on, ends_on)

    async def check_open(self, node: str, starts_on: date, ends_on: date, *, field: str | None = None) -> None:
        """Refuse a write in a period closed for the node or a unit above it (409). The
        append that follows is guarded: a close committed meanwhile makes it fail, not land."""
        (await self.periods()).check_open(await self._chain(node, starts_on), starts_on, ends_on, field=field)
        self._versions["closures checked"] = self._versions["periods"]

    async def append(
        self,
        events: Sequence[Any],
        *,
        event_ids: list[uuid.UUID] | None = None,
        closures_checked: bool = False,
        replayed: Replayed | None = None,
    ) -> Appended:
        """Append what the command decided, under its Idempotency-Key's event ids unless given;
        guarded if it checked the closures (`closures_checked`: it did so itself); `replayed`
        as in EventStore.append."""
        await self.check_conditions()
        checked = self._versions.get("periods") if closures_checked else self._versions.get("closures checked")
        guard = Guard(PERIODS_ID, checked) if checked is not None else None
        try:
            return await self.store.append(
                events,
                self.metadata,
                event_ids=event_ids or self.event_ids(len(events)),
                guard=guard,
                replayed=replayed,
            )
        except StreamConflictError as conflict:
            await self._check_raced(conflict)
            if conflict.stream_id != str(PERIODS_ID):
                raise
            raise ConflictError("a period was closed or reopened while this was being written: send it again") from None

    def condition_on(self, stream_id: uuid.UUID, version: int, accepted: frozenset[str]) -> None:
        """The If-Match names `accepted` (entity tags, unquoted) for this stream, loaded at `version`:
        application/preconditions.py says so once the caller may read it; see check_conditions."""
        self._conditioned[stream_id] = (version, accepted)

    async def check_conditions(self) -> None:
        """412 if a stream the If-Match conditions was loaded at a version it does not name, unless
        this very request (its Idempotency-Key) was stored before: then the version moved by its
        own doing, and it is a retry. The append calls it, after every rule that decides whether
        the caller may make the change at all; a use case that stores nothing calls it itself."""
        for stream_id, (version, accepted) in self._conditioned.items():
            if str(version) not in accepted and not await self._replayed():
                raise PreconditionFailedError(
                    f"{stream_id} is at version {version}, which the If-Match does not name: "
                    "read it again and decide on what it says now",
                    version=version,
                )

    async def _replayed(self) -> bool:
        ids = self.event_ids(1)
        return ids is not None and bool(await self.store.get_holding(ids))

    async def _check_raced(self, conflict: StreamConflictError) -> None:
        """A conditioned stream moved on between the If-Match check and the append: 412 naming
        the version it is at now, as if it had moved before the check."""
        moved = next((s for s in self._conditioned if str(s) == conflict.stream_id), None)
        if moved is not None:
            version = (await self.store.get(moved)).version
            raise PreconditionFailedError(
                f"{moved} changed to version {version} while this was being written: "
                "read it again and decide on what it says now",
                version=version,
            ) from None

    @property
    def metadata(self) -> Metadata:
        return Metadata(
            actor=self.actor.subject,
            request_id=self.request_id,
            causation_id=self.request_id,
            correlation_id=self.correlation_id or self.request_id,
        )

    def event_ids(self, count: int) -> list[uuid.UUID] | None:
        """A retried request with the same Idempotency-Key stores the same events once."""
        if self.idempotency_key is None:
            return None
        base = f"{self.actor.subject}|{self.idempotency_key}"
        return [uuid.uuid5(IDEMPOTENCY, f"{base}|{i}") for i in range(count)]
