"""The alert rules, judged as of a day: a breach raises an alert once, a clear recovery resolves it.

Every rule is evaluated from the read models as they stand, with no memory of its own, so
running it twice on the same day changes nothing, and a value between the threshold and the
threshold plus its margin keeps an open alert open and a resolved one resolved (hysteresis).
"""

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import asyncpg

from projections import actions as actions_model
from projections import alerts as alerts_model
from projections import attainment as attainment_model
from projections import pipeline as pipeline_model
from projections.runner import caught_up, tracked
from target_ledger.application import Command, ReadModelBehindError
from target_ledger.application.forecast_rule import forecast_findings
from target_ledger.application.judging import Finding, Judge, manager, weeks_ended
from target_ledger.application.target_rules import target_rules
from target_ledger.domain.alert import Alert, alert_id
from target_ledger.domain.calendar import Calendar
from target_ledger.eventstore import Cursor


async def _overdue_actions(judge: Judge) -> list[Finding]:
    """Every open action: overdue once its due date has passed; a closed one is no longer."""
    open_actions = await actions_model.fetch_open(judge.conn)
    still_open = {str(a["action_id"]) for a in open_actions}
    findings = [
        Finding(
            rule="action_overdue",
            subject=alert["subject"],
            verdict="clear",
            node=alert["node"],
            assignee="",
            message="the corrective action is completed or cancelled",
        )
        for key, alert in judge.open_alerts.items()
        if key.startswith("action_overdue|") and alert["subject"] not in still_open
    ]
    for action in open_actions:
        settings = await judge.settings("action_overdue", "", action["node"])
        if not settings.enabled:
            continue
        overdue = judge.today > action["due"]
        findings.append(
            Finding(
                rule="action_overdue",
                subject=str(action["action_id"]),
                verdict="breach" if overdue else "clear",
                node=action["node"],
                assignee=manager(judge.org, action["node"], judge.today),
                target_id=action["target_id"],
                message=f"corrective action {action['action_id']} of {action['owner']} was due {action['due']}",
            )
        )
    return findings


def _working_days_between(after: date, before: date) -> int:
    """Monday to Friday strictly between two days."""
    return sum((after + timedelta(days=n)).isoweekday() <= 5 for n in range(1, (before - after).days))


async def _missing_actuals(judge: Judge) -> list[Finding]:
    """People with a target running today and no actual for N working days."""
    running = await attainment_model.fetch_targets_covering(judge.conn, judge.today, judge.today)
    starts: dict[str, date] = {}
    for t in running:
        if judge.org.is_person(t["node"]) and judge.org.parent(t["node"], judge.today) is not None:
            starts[t["node"]] = min(starts.get(t["node"], t["starts_on"]), t["starts_on"])
    last = await attainment_model.fetch_last_actual_days(judge.conn, list(starts), judge.today)
    findings = []
    for person, started in starts.items():
        settings = await judge.settings("no_actuals", "", person)
        since = last.get(person, started - timedelta(days=1))
        days = _working_days_between(since, judge.today)
        if settings.enabled and settings.days:
            findings.append(
                Finding(
                    rule="no_actuals",
                    subject=person,
                    verdict="breach" if days >= settings.days else "clear",
                    node=person,
                    assignee=manager(judge.org, person, judge.today),
                    message=f"no actual from {person} for {days} working days (since {since})",
                    value=Decimal(days),
                    threshold=Decimal(settings.days),
                )
            )
    return findings


def follow_up_window(cadence: str, today: date, calendar: Calendar) -> tuple[date, date]:
    """The last whole day, week or month (a retail calendar's: fiscal week, period) before today."""
    if cadence == "daily":
        return today - timedelta(days=1), today - timedelta(days=1)
    if cadence == "weekly":
        return weeks_ended(today, 1, calendar)[0]
    if calendar.retail is not None:
        ended = calendar.previous(calendar.containing(today, "period"))
        return ended.start, ended.end
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


async def _missed_follow_ups(judge: Judge) -> list[Finding]:
    """Follow-up plans whose reporter let the last whole cadence period pass without a report."""
    findings = []
    for plan in await alerts_model.fetch_follow_ups(judge.conn):
        first, last = follow_up_window(plan["cadence"], judge.today, judge.cmd.calendar)
        span = judge.cmd.calendar.parse(plan["period"])
        settings = await judge.settings("follow_up_missed", plan["metric"], plan["node"])
        if not settings.enabled or plan["planned_at"].date() > first or not (span.start <= last and first <= span.end):
            continue  # planned since, or the target's period is not running: nothing was due
        reported = plan["last_report_at"] is not None and plan["last_report_at"].date() >= first
        findings.append(
            Finding(
                rule="follow_up_missed",
                subject=str(plan["target_id"]),
                verdict="clear" if reported else "breach",
                node=plan["node"],
                assignee=plan["supervisor"],
                target_id=plan["target_id"],
                metric=plan["metric"],
                period=plan["period"],
                message=f"{plan['reporter']} made no {plan['cadence']} follow-up report on {plan['node']} "
                f"{plan['metric']} {plan['period']} for {first}..{last}",
            )
        )
    return findings


async def _decide(cmd: Command, finding: Finding, open_now: bool) -> Alert | None:
    """The alert to save for a finding, if anything changes."""
    if finding.verdict == "hold" or (finding.verdict == "breach") == open_now:
        return None
    alert: Alert | None = await cmd.store.get(alert_id(finding.rule, finding.subject))
    if finding.verdict == "clear":
        if alert is not None:
            alert.resolve(value=finding.value, message=finding.message, at=cmd.clock())
        return alert
    if alert is None:
        fields = {k: v for k, v in vars(finding).items() if k != "verdict"}
        return Alert.raise_(**fields, at=cmd.clock())
    alert.recur(value=finding.value, message=finding.message, assignee=finding.assignee, at=cmd.clock())
    return alert


# The read models the rules consult: a judgement waits until each holds every event
# recorded before it began.
CONSULTED = [attainment_model.NAME, alerts_model.NAME, actions_model.NAME, pipeline_model.NAME]

# The newest event in the order the projections apply them (see READ_LIVE in the store):
# every event committed before it was read comes at or before it, and none can come before
# it later (a read model applies it only once the watermark passed it), so a read model
# whose tracked cursor reaches it holds every event recorded before it was read.
NEWEST = "SELECT xid::text::bigint AS xid, position FROM events ORDER BY xid DESC, position DESC LIMIT 1"


@dataclass(frozen=True)
class Judgement:
    head: int  # the position of the newest event every consulted read model had applied (0: none)
    position: int | None  # of the alert events appended, if any


async def _head(cmd: Command) -> Cursor:
    """The log's head now, in the order the projections apply events (0, 0 for an empty log)."""
    newest = await cmd.store.pool.fetchrow(NEWEST)
    return Cursor(0, 0) if newest is None else Cursor(newest["xid"], newest["position"])


async def _reached(cmd: Command, head: Cursor, wait: float) -> None:
    """Wait, `wait` seconds at most in all, for every consulted read model to reach `head`."""
    if head.position == 0:
        return  # an empty log: nothing to wait for
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    for name in CONSULTED:
        await caught_up(cmd.store.pool, cmd.store, name, head.position, max(0.0, deadline - loop.time()))


async def _applied(conn: asyncpg.Connection, head: Cursor) -> int:
    """The position of the newest event every consulted read model has applied, as this
    snapshot sees them, once each has reached `head`; ReadModelBehindError if one has not."""
    cursors = [await tracked(conn, name) for name in CONSULTED]
    for name, cursor in zip(CONSULTED, cursors, strict=True):
        if cursor < head:
            raise ReadModelBehindError(f"the {name} read model has not reached position {head.position} yet")
    return min(cursors).position


async def evaluate(cmd: Command, today: date, wait: float = 5.0) -> Judgement:
    """Judge every rule as of `today`, on read models holding every event recorded before
    the judgement began, and append what changed in one go. The log's head is taken first;
    waits up to `wait` seconds for the read models to reach it, then judges on them as they
    stand (events recorded meanwhile may be in, or are judged at the next look: under steady
    input the head moves on while they catch up, so waiting for the head of the moment would
    never end). Raises ReadModelBehindError, judging nothing, if one is still behind that
    head. That is checked in the snapshot the rules read, so a read model that falls behind
    meanwhile (a worker that died, a rebuild) can never leave a rule judging a part of the
    log recorded before it began."""
    head = await _head(cmd)
    await _reached(cmd, head, wait)  # the check in the rules' snapshot below decides
    org = await cmd.org()
    async with cmd.store.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        applied = await _applied(conn, head)
        judge = Judge(cmd, conn, org, today)
        judge.open_alerts = await alerts_model.fetch_open(conn)
        findings = [
            *await target_rules(judge),
            *await _overdue_actions(judge),
            *await _missing_actuals(judge),
            *await _missed_follow_ups(judge),
            *await forecast_findings(judge),
        ]
    alerts = [await _decide(cmd, f, f"{f.rule}|{f.subject}" in judge.open_alerts) for f in findings]
    events = [e for a in alerts if a is not None for e in a.collect_events()]
    return Judgement(applied, (await cmd.store.append(events, cmd.metadata)).last if events else None)
