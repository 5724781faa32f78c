"""Corrective actions: open against a target with a cause analysis, follow up, close with the measured effect."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec

from projections import actions as actions_model
from target_ledger.application import Command
from target_ledger.application.attainment import measure
from target_ledger.application.reads import authorize_member, authorize_read
from target_ledger.application.targets import get_target
from target_ledger.domain.access import can_read_record, check_can_read_record, check_known
from target_ledger.domain.alert import Alert
from target_ledger.domain.corrective_action import Cause, CorrectiveAction, Measure, effect
from target_ledger.domain.errors import DomainError, ForbiddenError, NotFoundError


@dataclass(frozen=True)
class Opening:
    """What the opener decided: why the target drifts, what to do, who does it by when."""

    target_id: uuid.UUID
    causes: list[Cause]
    plan: str
    owner: str
    due: date
    alert_id: uuid.UUID | None = None
    resources: str = ""
    expected_effect: str = ""


async def _append(cmd: Command, action: CorrectiveAction) -> tuple[CorrectiveAction, int]:
    events = action.collect_events()
    return action, (await cmd.append(events)).last


async def open_action(cmd: Command, opening: Opening) -> tuple[CorrectiveAction, int]:
    """The target's node itself, a manager above it (or the unit's own manager), or an admin
    opens an action; the attainment it starts from is measured now."""
    try:
        target = await get_target(cmd.store, opening.target_id)
    except NotFoundError as e:
        raise DomainError(str(e), field="target_id") from e
    org, today, me = await cmd.org(), cmd.today(), cmd.actor.subject
    may_open = cmd.actor.is_admin or me == target.node or org.manages(me, target.node, today)
    if not (may_open or (org.is_unit(target.node) and org.manager_of(target.node, today) == me)):
        raise ForbiddenError(f"opening an action on {target.node!r}'s target needs to be its assignee or a manager")
    if not org.is_person(opening.owner):  # a reference in the body: 422, as for an actual's person
        raise DomainError(f"{opening.owner!r} is not a person of the organisation", field="owner")
    org.check_active_person(opening.owner, field="owner")
    if opening.alert_id is not None:
        alert = await cmd.store.get(opening.alert_id)
        if not isinstance(alert, Alert):
            raise DomainError(f"no alert {opening.alert_id}", field="alert_id")
        if alert.target_id != target.id:
            raise DomainError(f"alert {alert.id} is about another target ({alert.target_id})", field="alert_id")
    action = CorrectiveAction.open(
        target_id=target.id,
        alert_id=opening.alert_id,
        node=target.node,
        causes=opening.causes,
        plan=opening.plan,
        owner=opening.owner,
        due=opening.due,
        resources=opening.resources,
        expected_effect=opening.expected_effect,
        opened_by=me,
        before=await measure(cmd, target),
        at=cmd.clock(),
    )
    return await _append(cmd, action)


async def get_action(cmd: Command, action_id: uuid.UUID) -> CorrectiveAction:
    action = await cmd.store.get(action_id)
    if not isinstance(action, CorrectiveAction):
        raise NotFoundError(f"no corrective action {action_id}")
    return action


async def read_action(cmd: Command, action_id: uuid.UUID) -> CorrectiveAction:
    """One action, for whoever may read its node, its owner, or whoever opened it; an
    outsider is refused before the lookup."""
    org = await authorize_member(cmd)
    action = await get_action(cmd, action_id)
    named = (action.owner, action.opened_by)
    check_can_read_record(cmd.actor, org, action.node, cmd.today(), "a corrective action", named)
    return action


async def _may_manage(cmd: Command, action: CorrectiveAction) -> bool:
    return cmd.actor.is_admin or (await cmd.org()).manages(cmd.actor.subject, action.node, cmd.today())


async def progress(cmd: Command, action_id: uuid.UUID, note: str) -> tuple[CorrectiveAction, int]:
    action = await get_action(cmd, action_id)
    action.progress(cmd.actor.subject, note, may_manage=await _may_manage(cmd, action), at=cmd.clock())
    return await _append(cmd, action)


async def complete(cmd: Command, action_id: uuid.UUID, outcome: str) -> tuple[CorrectiveAction, int]:
    """Complete with the outcome; the effect is the attainment measured now against at opening."""
    action = await get_action(cmd, action_id)
    may_manage = await _may_manage(cmd, action)
    # Who may and whether it is still open, before the (slower) measurement.
    action.check_open()
    action.check_may_change(cmd.actor.subject, may_manage)
    after = await measure(cmd, await get_target(cmd.store, action.target_id))
    action.complete(cmd.actor.subject, outcome, after, may_manage=may_manage, at=cmd.clock())
    return await _append(cmd, action)


async def cancel(cmd: Command, action_id: uuid.UUID, reason: str) -> tuple[CorrectiveAction, int]:
    action = await get_action(cmd, action_id)
    action.cancel(cmd.actor.subject, reason, may_manage=await _may_manage(cmd, action), at=cmd.clock())
    return await _append(cmd, action)


def _measure(row: Any, side: str) -> Measure:
    return Measure(attainment_pct=row[f"attainment_{side}"], pace_pct=row[f"pace_{side}"], actual=row[f"actual_{side}"])


async def list_actions(
    cmd: Command, *, owner: str | None, node: str | None, status: str | None
) -> list[dict[str, Any]]:
    """Actions the actor may see (those on nodes they may read, and their own), filtered by
    owner, the subtree of a node, and status; each with whether it is overdue and, once
    completed, its measured effect."""
    org, today = await authorize_member(cmd), cmd.today()
    if owner is not None:
        check_known(cmd.actor, org, owner, today, field="owner")
    nodes = (await authorize_read(cmd, node)).subtree(node, today) if node is not None else None
    async with cmd.store.pool.acquire() as conn:
        rows = await actions_model.fetch_actions(conn, owner=owner, nodes=nodes, status=status, today=today)
    named = ("owner", "opened_by")
    visible = [r for r in rows if can_read_record(cmd.actor, org, r["node"], today, [r[k] for k in named])]
    return [_item(r, today) for r in visible]


def _item(row: Any, today: date) -> dict[str, Any]:
    """A row as the API shows an action: overdue or not, and a completed one's effect."""
    before, after = _measure(row, "before"), _measure(row, "after")
    completed = row["status"] == "completed"
    return {
        "id": row["action_id"],
        **{k: row[k] for k in ("target_id", "alert_id", "node", "owner", "opened_by", "due", "status", "plan")},
        **{k: row[k] for k in ("resources", "expected_effect", "opened_at", "closed_at")},
        "overdue": row["status"] == "open" and today > row["due"],
        "causes": msgspec.json.decode(row["causes"]),
        "notes": msgspec.json.decode(row["notes"]),
        "outcome": row["outcome"] or "",
        "before": before,
        "after": after if completed else None,
        "effect": effect(before, after) if completed else None,
    }
