"""Lists and searches, a page at a time: targets, actuals, people, units, and the raw log."""

import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from projections import attainment, targets
from target_ledger.application import Command
from target_ledger.application.reads import authorize_member, known_metric
from target_ledger.domain.access import READ_ALL, can_read, check_can_read, check_can_read_log, check_known
from target_ledger.domain.errors import DomainError
from target_ledger.domain.org import Organisation


def _readable(cmd: Command, org: Organisation, nodes: list[str]) -> list[str] | None:
    """The nodes the reader may read; None for the roles that read everything."""
    if cmd.actor.role in READ_ALL:
        return None
    return [n for n in nodes if can_read(cmd.actor, org, n, cmd.today())]


@dataclass(frozen=True)
class TargetQuery:
    node: str | None = None
    subtree: str | None = None
    metric: str | None = None
    period: str | None = None
    scope: dict[str, str] | None = None
    acknowledged: bool | None = None


async def list_targets(
    cmd: Command, q: TargetQuery, *, after: targets.TargetKey | None, limit: int
) -> list[dict[str, Any]]:
    """Targets on nodes the reader may read; a `node` or `subtree` named must be readable (403),
    and known (404 naming it)."""
    org, today = await authorize_member(cmd), cmd.today()
    for field, named in (("node", q.node), ("subtree", q.subtree)):
        if named is not None:
            check_can_read(cmd.actor, org, named, today, field=field)
    if q.metric is not None:
        await known_metric(cmd, q.metric)
    if q.scope:  # dimensions and values the catalog declares, as a target's own scope must be
        (await cmd.catalog()).check_scope(q.scope)
    # A period that cannot be is a 422 naming `period`, as when setting a target, not an empty page.
    period = cmd.calendar.parse(q.period).key if q.period is not None else None
    nodes = _readable(cmd, org, [*org.units, *org.people])
    if q.subtree is not None:
        below = org.subtree(q.subtree, today)
        nodes = below if nodes is None else sorted(set(below) & set(nodes))
    async with cmd.store.pool.acquire() as conn:
        return await targets.fetch_targets(
            conn,
            after=after,
            nodes=nodes,
            node=q.node,
            metric=q.metric,
            period=period,
            scope=q.scope or {},
            acknowledged=q.acknowledged,
            limit=limit,
        )


async def list_actuals(cmd: Command, f: attainment.ActualFilter, *, after: int, limit: int) -> list[dict[str, Any]]:
    """Actuals of the people the reader may read (the integration role, which records and
    reverses anyone's, reads them all); a `person` or `node` named must be readable."""
    org, today = await authorize_member(cmd), cmd.today()
    everyone = cmd.actor.role in (*READ_ALL, "integration")
    for field, named in (("person", f.person), ("node", f.node)):
        if named is not None:
            (check_known if everyone else check_can_read)(cmd.actor, org, named, today, field=field)
    if f.metric is not None:
        await known_metric(cmd, f.metric)
    people = None if everyone else _readable(cmd, org, list(org.people))
    async with cmd.store.pool.acquire() as conn:
        return await attainment.fetch_actuals(conn, replace(f, people=people), after=after, limit=limit)


def _unit(org: Organisation, cmd: Command, unit: str | None, field: str) -> None:
    if unit is None:
        return
    check_known(cmd.actor, org, unit, cmd.today(), field=field)
    if not org.is_unit(unit):
        raise DomainError(f"{unit!r} is a person, not a unit", field=field)


async def list_people(
    cmd: Command, *, unit: str | None, on: date, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """The members of the organisation on a day (of `unit` and the units below it), by id: the
    org chart is every member's to read."""
    org = await authorize_member(cmd)
    _unit(org, cmd, unit, "unit")
    below = set(org.subtree(unit, on)) if unit is not None else None
    found = []
    for person in sorted(p for p in org.people if after is None or p > after):
        member_of = org.parent(person, on)
        if member_of is not None and (below is None or person in below):
            found.append({"person": person, "name": org.name(person), "unit": member_of})
            if len(found) == limit:
                break
    return found


async def list_units(
    cmd: Command, *, unit: str | None, kind: str | None, on: date, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """The units (`unit` and those below it, of a `kind`), by id, each with its manager on a day."""
    org = await authorize_member(cmd)
    _unit(org, cmd, unit, "unit")
    below = set(org.subtree(unit, on)) if unit is not None else None
    found = []
    for node in sorted(u for u in org.units if after is None or u > after):
        if (below is None or node in below) and kind in (None, org.kind(node)):
            row = {"node": node, "kind": org.kind(node), "name": org.name(node), "parent": org.parent(node, on)}
            found.append(row | {"manager": org.manager_of(node, on)})
            if len(found) == limit:
                break
    return found


# The raw log in position order, for auditors: every event as stored, its hash-chain link in hex.
LOG = """
SELECT position, event_id, stream_id, version, type, recorded_at, metadata::text AS metadata,
       payload::text AS payload, encode(hash, 'hex') AS hash
  FROM events
 WHERE position > $1
   AND ($2::uuid IS NULL OR stream_id = $2)
   AND ($3::text IS NULL OR type = $3)
 ORDER BY position
 LIMIT $4
"""


async def read_log(
    cmd: Command, *, stream: uuid.UUID | None, type: str | None, after: int, limit: int
) -> list[dict[str, Any]]:
    """The log's events after a position, for the auditor and admin roles only."""
    check_can_read_log(cmd.actor)
    rows = await cmd.store.pool.fetch(LOG, after, stream, type, limit)
    return [dict(r) for r in rows]
