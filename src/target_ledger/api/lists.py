"""GET /v1/targets, /v1/actuals, /v1/org/people, /v1/org/units and /v1/events: lists a page at a time.

Every list answers `{"items": [...], "next": cursor or null}` in a stable order (each item's key
is unique); `next` continues after the page's last item, so a walk to the end repeats nothing and
misses nothing that existed when it began, whatever is written meanwhile."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from projections import attainment as attainment_model
from projections import targets as target_tree
from target_ledger.api import pages
from target_ledger.api.attainment import MinPosition, wait_for
from target_ledger.api.query_values import ScopeQuery, parse_scope
from target_ledger.api.schemas import MAX_POSITION, MetricName, NodeId, PeriodKey, Struct
from target_ledger.application import Command, lists

Node = Annotated[NodeId | None, QueryParameter(description="only this node's")]
Metric = Annotated[MetricName | None, QueryParameter(description="only this metric's (404 if unknown)")]
AsOf = Annotated[date | None, QueryParameter(description="the day the answer is for; today if left out")]
# What a cursor may hold, checked as it is decoded: a key this list could have given.
Position = Annotated[int, msgspec.Meta(ge=0, le=MAX_POSITION)]
TargetKey = tuple[NodeId, MetricName, date, UUID]
Next = Annotated[
    str | None,
    msgspec.Meta(description="the `cursor` of the next page; null: this page is the last"),
]


class TargetItem(Struct):
    id: UUID
    node: str
    metric: str
    period: str
    starts_on: date | None
    ends_on: date | None
    scope: dict[str, str]
    value: Decimal
    stretch: Decimal | None
    parent_id: UUID | None
    acknowledgement: str  # pending, acknowledged or disputed
    decomposed_along: str | None
    decomposed_by: str | None
    version: int


class TargetPage(Struct):
    items: list[TargetItem]
    next: Next


class ActualItem(Struct):
    id: UUID
    person: str
    metric: str
    date: date
    value: Decimal
    scope: dict[str, str]
    source: str | None
    external_ref: str | None
    reversed: bool
    position: int  # of the event that recorded it: the list's order


class ActualPage(Struct):
    items: list[ActualItem]
    next: Next


class PersonItem(Struct):
    person: str
    name: str
    unit: str  # the unit they are a member of on the day asked about


class PersonPage(Struct):
    items: list[PersonItem]
    next: Next


class UnitItem(Struct):
    node: str
    kind: str
    name: str
    parent: str | None
    manager: str | None


class UnitPage(Struct):
    items: list[UnitItem]
    next: Next


class LogEvent(Struct):
    position: int
    event_id: UUID
    stream_id: UUID
    version: int
    type: str
    recorded_at: datetime
    metadata: Any  # as stored: actor, request and correlation ids
    payload: Any  # as stored
    hash: str  # the stream's hash-chain link, hex


class LogPage(Struct):
    items: list[LogEvent]
    next: Next


def _target(r: dict[str, Any]) -> TargetItem:
    keep = ("node", "metric", "period", "starts_on", "ends_on", "scope", "value", "stretch", "parent_id")
    return TargetItem(
        id=r["target_id"],
        **{k: r[k] for k in keep},
        acknowledgement=r["acknowledgement"],
        decomposed_along=r["axis"],
        decomposed_by=r["method"],
        version=r["version"],
    )


def _actual(r: dict[str, Any]) -> ActualItem:
    keep = ("person", "metric", "value", "scope", "source", "external_ref", "reversed", "position")
    return ActualItem(id=r["actual_id"], date=r["occurred_on"], **{k: r[k] for k in keep})


ERRORS = (
    " Errors: 403 for an outsider (before anything else) and for a node named that the reader may not read;"
    " 404 naming the field for an unknown node or metric; 400/422 naming the field for a malformed"
    " parameter, a `limit` outside 1-500, or a `cursor` this list did not give."
)


# The handlers of the lists on paths another controller holds (litestar registers a path's
# methods once, from one controller): those controllers take them as they are, e.g.
# `list_targets = lists.list_targets` in TargetController.


@get(
    "/",
    summary="List targets, by node, subtree, metric, period, scope and acknowledgement",
    description="Targets on the nodes the reader may read, in (node, metric, first day, id) order."
    " `node`: that node's; `subtree`: that node's and those below it today; `scope=segment:new`:"
    " targets whose scope holds those values; `acknowledged=true`: acknowledged ones only, `false`:"
    " pending or disputed." + ERRORS,
)
async def list_targets(
    self: Controller,  # the controller that takes the handler
    state: State,
    command: NamedDependency[Command],
    node: Node = None,
    subtree: Annotated[NodeId | None, QueryParameter(description="this node and everything below it")] = None,
    metric: Metric = None,
    period: Annotated[PeriodKey | None, QueryParameter(description="only this period's, e.g. 2026-Q3")] = None,
    scope_filter: ScopeQuery = None,
    acknowledged: Annotated[bool | None, QueryParameter(description="true: acknowledged only; false: the rest")] = None,
    limit: pages.Limit = 100,
    cursor: pages.CursorParam = None,
    min_position: MinPosition = None,
) -> TargetPage:
    filters = {"node": node, "subtree": subtree, "metric": metric, "period": period, "scope": scope_filter}
    cursors = pages.walk(state, "targets", **filters, acknowledged=acknowledged)
    after = cursors.after(cursor, TargetKey)
    query = lists.TargetQuery(
        node=node,
        subtree=subtree,
        metric=metric,
        period=period,
        scope=parse_scope(scope_filter),
        acknowledged=acknowledged,
    )
    await wait_for(state, target_tree.NAME, min_position)
    rows = await lists.list_targets(command, query, after=after, limit=limit + 1)
    key = lambda r: (r["node"], r["metric"], r["starts_on"], r["target_id"])  # noqa: E731
    return TargetPage(items=[_target(r) for r in rows[:limit]], next=cursors.next(rows, limit, key))


@get(
    "/",
    summary="List actuals, by person, node, metric, dates, source, external_ref and reversal",
    description="Actuals in the order they were recorded, of the people the reader may read (the"
    " integration, auditor and admin roles: everyone's). `node`: the person's own, or those of the"
    " people who were in a unit below it on the actual's date; `from`/`to`: dates, inclusive;"
    " `source` + `external_ref` find the actual a system sent (to reverse or correct it);"
    " `reversed=false`: those that stand." + ERRORS,
)
async def list_actuals(
    self: Controller,  # the controller that takes the handler
    state: State,
    command: NamedDependency[Command],
    person: Annotated[NodeId | None, QueryParameter(description="only this person's")] = None,
    node: Node = None,
    metric: Metric = None,
    since: Annotated[date | None, QueryParameter(name="from", description="dated on or after")] = None,
    until: Annotated[date | None, QueryParameter(name="to", description="dated on or before")] = None,
    source: Annotated[str | None, QueryParameter(max_length=64)] = None,
    external_ref: Annotated[str | None, QueryParameter(max_length=200)] = None,
    reversed: Annotated[bool | None, QueryParameter(description="true: reversed only; false: standing only")] = None,
    limit: pages.Limit = 100,
    cursor: pages.CursorParam = None,
    min_position: MinPosition = None,
) -> ActualPage:
    filters = {"person": person, "node": node, "metric": metric, "from": since, "to": until}
    cursors = pages.walk(state, "actuals", **filters, source=source, external_ref=external_ref, reversed=reversed)
    after = cursors.after(cursor, Position) or 0
    wanted = attainment_model.ActualFilter(
        person=person,
        node=node,
        metric=metric,
        since=since,
        until=until,
        source=source,
        external_ref=external_ref,
        reversed=reversed,
    )
    await wait_for(state, attainment_model.NAME, min_position)
    rows = await lists.list_actuals(command, wanted, after=after, limit=limit + 1)
    items = [_actual(r) for r in rows[:limit]]
    return ActualPage(items=items, next=cursors.next(rows, limit, lambda r: r["position"]))


@get(
    "/people",
    summary="List the people who are members on a day, of a unit and the units below it",
    description="By id; every member of the organisation may read the org chart." + ERRORS,
)
async def list_people(
    self: Controller,  # the controller that takes the handler
    state: State,
    command: NamedDependency[Command],
    unit: Annotated[NodeId | None, QueryParameter(description="this unit and those below it")] = None,
    as_of: AsOf = None,
    limit: pages.Limit = 100,
    cursor: pages.CursorParam = None,
) -> PersonPage:
    cursors = pages.walk(state, "people", unit=unit, as_of=as_of)
    after = cursors.after(cursor, NodeId)
    on = as_of or command.today()
    rows = await lists.list_people(command, unit=unit, on=on, after=after, limit=limit + 1)
    items = [PersonItem(**r) for r in rows[:limit]]
    return PersonPage(items=items, next=cursors.next(rows, limit, lambda r: r["person"]))


@get(
    "/units",
    summary="List the units (of a kind, a unit and those below it), with their managers on a day",
    description="By id; every member of the organisation may read the org chart." + ERRORS,
)
async def list_units(
    self: Controller,  # the controller that takes the handler
    state: State,
    command: NamedDependency[Command],
    unit: Annotated[NodeId | None, QueryParameter(description="this unit and those below it")] = None,
    kind: Annotated[str | None, QueryParameter(pattern=r"^(company|department|region|team)$")] = None,
    as_of: AsOf = None,
    limit: pages.Limit = 100,
    cursor: pages.CursorParam = None,
) -> UnitPage:
    cursors = pages.walk(state, "units", unit=unit, kind=kind, as_of=as_of)
    after = cursors.after(cursor, NodeId)
    on = as_of or command.today()
    rows = await lists.list_units(command, unit=unit, kind=kind, on=on, after=after, limit=limit + 1)
    items = [UnitItem(**r) for r in rows[:limit]]
    return UnitPage(items=items, next=cursors.next(rows, limit, lambda r: r["node"]))


class EventLogController(Controller):
    path = "/v1/events"
    tags = ["audit"]

    @get(
        "/",
        summary="The raw event log, in position order (auditor and admin roles)",
        description="Every event as stored: position, ids, stream version, type, time, metadata, payload"
        " and its hash-chain link (hex), to check with `verify` or against `/v1/targets/{id}/explain`."
        " `after`: the position to start after; `stream`: one stream's; `type`: one type's"
        " (e.g. `TargetSet`). 403 for anyone but the auditor and admin roles; 400/422 naming the field"
        " for a malformed parameter, a `limit` outside 1-500, or a `cursor` this list did not give.",
    )
    async def list_events(
        self,
        state: State,
        command: NamedDependency[Command],
        stream: Annotated[UUID | None, QueryParameter(description="only this stream's (an aggregate id)")] = None,
        after: Annotated[int, QueryParameter(ge=0, le=MAX_POSITION, description="start after this position")] = 0,
        event_type: Annotated[str | None, QueryParameter(name="type", max_length=100)] = None,
        limit: pages.Limit = 100,
        cursor: pages.CursorParam = None,
    ) -> LogPage:
        cursors = pages.walk(state, "events", stream=stream, after=after, type=event_type)
        start = max(after, cursors.after(cursor, Position) or 0)
        rows = await lists.read_log(command, stream=stream, type=event_type, after=start, limit=limit + 1)
        items = [
            LogEvent(**{**r, "metadata": _json(r["metadata"]), "payload": _json(r["payload"])}) for r in rows[:limit]
        ]
        return LogPage(items=items, next=cursors.next(rows, limit, lambda r: r["position"]))


def _json(text: str) -> Any:
    return msgspec.json.decode(text)
