"""Alerts (read, acknowledge), their rules, and the follow-up plans whose missed reports raise them."""

import uuid
from typing import Any

from projections import alerts as alerts_model
from target_ledger.application import Command
from target_ledger.application.reads import authorize_member, authorize_read
from target_ledger.application.targets import get_target
from target_ledger.domain.access import can_read_record, check_can_set_target, manages_or_runs
from target_ledger.domain.alert import Alert
from target_ledger.domain.alert_rules import ALERT_RULES_ID, DEFAULTS, AlertRules, Settings
from target_ledger.domain.errors import DomainError, ForbiddenError, NotFoundError
from target_ledger.domain.target import Target


async def _save(cmd: Command, aggregate: Any) -> int:
    events = aggregate.collect_events()
    return (await cmd.append(events)).last


async def list_alerts(cmd: Command, *, node: str | None, status: str | None, mine: bool) -> list[dict[str, Any]]:
    """Alerts the actor may read (on nodes they may read, or routed to them) of a subtree
    (`node`: 404 if unknown, 403 if out of reach); `mine`: those routed to the actor."""
    org, today, me = await authorize_member(cmd), cmd.today(), cmd.actor.subject
    nodes = (await authorize_read(cmd, node)).subtree(node, today) if node is not None else None
    async with cmd.store.pool.acquire() as conn:
        found = await alerts_model.fetch_alerts(conn, nodes=nodes, status=status, assignee=me if mine else None)
    return [a for a in found if can_read_record(cmd.actor, org, a["node"], today, (a["assignee"],))]


async def acknowledge(cmd: Command, alert_id: uuid.UUID, comment: str) -> tuple[Alert, int]:
    """The manager it is routed to (or one above them, or an admin) acknowledges an open alert."""
    alert = await cmd.store.get(alert_id)
    if not isinstance(alert, Alert):
        raise NotFoundError(f"no alert {alert_id}")
    org, me = await cmd.org(), cmd.actor.subject
    may = cmd.actor.is_admin or me == alert.assignee or org.manages(me, alert.node, cmd.today())
    alert.acknowledge(me, comment, may=may, at=cmd.clock())
    return alert, await _save(cmd, alert)


async def configure_rule(cmd: Command, rule: str, node: str | None, metric: str | None, settings: Settings) -> int:
    """Admins refine a rule anywhere; a unit's manager (or one above it) within its subtree."""
    org, today = await cmd.org(), cmd.today()
    if node is not None and not org.exists(node):
        raise DomainError(f"unknown org node {node!r}", field="node")
    if metric is not None:
        (await cmd.catalog()).metric(metric)
    if not (cmd.actor.is_admin or (node is not None and manages_or_runs(cmd.actor, org, node, today))):
        raise ForbiddenError("refining an alert rule needs to manage the subtree given as node, or the admin role")
    rules: AlertRules | None = await cmd.store.get(ALERT_RULES_ID)
    rules = rules if rules is not None else AlertRules.start(cmd.clock())
    rules.configure(rule, node, metric, settings, at=cmd.clock())
    return await _save(cmd, rules)


async def rules(cmd: Command) -> dict[str, Any]:
    """The built-in defaults and every refinement: settings, not figures, for any member."""
    await authorize_member(cmd)
    refinements = (await cmd.alert_rules()).refinements
    return {
        "defaults": DEFAULTS,
        "refinements": [
            {"rule": rule, "node": node, "metric": metric, "settings": settings}
            for (rule, node, metric), settings in refinements.items()
        ],
    }


async def plan_follow_up(
    cmd: Command, target_id: uuid.UUID, cadence: str, reporter: str, supervisor: str
) -> tuple[Target, int]:
    target, org, today = await get_target(cmd.store, target_id), await cmd.org(), cmd.today()
    check_can_set_target(cmd.actor, org, target.node, today)
    for field, person in (("reporter", reporter), ("supervisor", supervisor)):
        org.check_active_person(person, field=field, on=today)
    target.plan_follow_up(cadence, reporter, supervisor, at=cmd.clock())
    return target, await _save(cmd, target)


async def report_follow_up(cmd: Command, target_id: uuid.UUID, note: str) -> tuple[Target, int]:
    target = await get_target(cmd.store, target_id)
    target.report_follow_up(cmd.actor.subject, note, at=cmd.clock())
    return target, await _save(cmd, target)
