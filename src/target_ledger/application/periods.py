"""Closing a period for a subtree, and reopening it only with a reason and an approval."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from target_ledger.application import Command, payouts
from target_ledger.application.reads import authorize_member
from target_ledger.domain.access import can_read_closure, check_can_read_closures, check_manages_or_runs
from target_ledger.domain.errors import ConflictError, ForbiddenError
from target_ledger.domain.period import PERIODS_ID, Periods
from target_ledger.eventstore import Guard


async def _load(cmd: Command) -> Periods:
    periods: Periods | None = await cmd.store.get(PERIODS_ID)
    return periods if periods is not None else Periods.start(cmd.clock())


async def _save(cmd: Command, periods: Periods, *, also: Sequence[Any] = ()) -> int:
    """Closures change under an exclusive lock: no guarded write is between its check and commit.
    `also`: events appended with the closure, in the same transaction (the payouts it finalises)."""
    events: list[Any] = list(periods.collect_events())
    guard = Guard(PERIODS_ID, periods.version - len(events), exclusive=True)
    events += also
    return (await cmd.store.append(events, cmd.metadata, event_ids=cmd.event_ids(len(events)), guard=guard)).last


async def _check_node(cmd: Command, node: str) -> None:
    """The node's own manager, a manager above it, or an admin closes (and asks to reopen)."""
    check_manages_or_runs(cmd.actor, await cmd.org(), node, cmd.today(), "closing or reopening a period of")


async def close(cmd: Command, period: str, node: str) -> int:
    span = cmd.calendar.parse(period)
    await _check_node(cmd, node)
    periods, org = await _load(cmd), await cmd.org()
    above = tuple(org.ancestors(node, span.start)) if org.exists(node) else ()
    # Plans under a close of their own (or of a unit between) stay as that close finalised them.
    already = periods.covered(span.start, span.end)
    periods.close(span.key, node, span.start, span.end, cmd.actor.subject, at=cmd.clock(), above=above)
    plans, seen = await payouts.finalise(cmd, node, span.start, span.end, already)
    finalised = [e for plan in plans for e in plan.collect_events()]
    position = await _save(cmd, periods, also=finalised)
    if position - len(finalised) - 1 > seen:  # something committed between the figures and the close
        position = await payouts.finalise_again(cmd, node, span.start, span.end, plans, already) or position
    return position


async def request_reopen(cmd: Command, period: str, node: str, reason: str) -> int:
    span = cmd.calendar.parse(period)
    await _check_node(cmd, node)
    periods = await _load(cmd)
    periods.request_reopen(span.key, node, cmd.actor.subject, reason, at=cmd.clock())
    return await _save(cmd, periods)


async def approve_reopen(cmd: Command, period: str, node: str) -> int:
    """Like an adjustment: someone other than the requester, managing a unit above the node."""
    span, org, me = cmd.calendar.parse(period), await cmd.org(), cmd.actor.subject
    if not (cmd.actor.is_admin or org.manages(me, node, cmd.today())):
        raise ForbiddenError(f"approving a reopen of {node!r} needs to manage a unit above it, or the admin role")
    periods = await _load(cmd)
    periods.approve_reopen(span.key, node, me, at=cmd.clock())
    return await _save(cmd, periods)


async def closures(cmd: Command, *, period: str | None = None, node: str | None = None) -> list[dict[str, Any]]:
    """Closures (current and reopened) the actor may read, optionally of one period or node
    (404 if unknown, 403 if out of reach): see access.can_read_closure."""
    org, today = await authorize_member(cmd), cmd.today()
    if node is not None:
        check_can_read_closures(cmd.actor, org, node, today)
    key = cmd.calendar.parse(period).key if period else None
    found = [c for c in (await cmd.periods()).closures.values() if can_read_closure(cmd.actor, org, c.node, today)]
    return [
        {
            "period": c.period,
            "node": c.node,
            "starts_on": c.starts_on,
            "ends_on": c.ends_on,
            "status": "closed" if c.closed else "reopened",
            "reopen_requested_by": c.reopen_requested_by,
            "reopen_reason": c.reopen_reason or None,
        }
        for c in found
        if key in (None, c.period) and node in (None, c.node)
    ]


async def closed_for(cmd: Command, period: str, node: str) -> tuple[date, date]:
    """The days of a period closed for the node (or a unit above it); a 409 says what to do if not."""
    span = cmd.calendar.parse(period)
    if await cmd.closure(node, span.start, span.end) is None:
        raise ConflictError(f"period {span.key} is not closed for {node!r}: close it before reviewing it")
    return span.start, span.end
