"""The alert rules, judged as of a day: a breach raises an alert once, a clear recovery resolves it.

Every rule is evaluated from the read models as they stand, with no memory of its own, so
running it twice on the same day changes nothing, and a value between the threshold and the
threshold plus its margin keeps an open alert open and a resolved one resolved (hysteresis).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import asyncpg
import msgspec

from projections import actions as actions_model
from projections import alerts as alerts_model
from projections import attainment as attainment_model
from projections.attainment import Plan
from target_ledger.application import Command
from target_ledger.application.attainment import planned_between, read_models_current, standing_on
from target_ledger.domain.alert import Alert, alert_id
from target_ledger.domain.alert_rules import Settings
from target_ledger.domain.org import Organisation

HUNDRED, CENT = Decimal(100), Decimal("0.01")
Verdict = Literal["breach", "clear", "hold"]


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    verdict: Verdict
    node: str
    assignee: str
    message: str
    target_id: Any = None
    metric: str = ""
    period: str = ""
    value: Decimal | None = None
    threshold: Decimal | None = None


def _verdict(value: Decimal, threshold: Decimal, margin: Decimal, *, breach_below: bool = True) -> Verdict:
    if breach_below:
        return "breach" if value < threshold else "clear" if value >= threshold + margin else "hold"
    return "breach" if value > threshold else "clear" if value <= threshold - margin else "hold"


def _manager(org: Organisation, node: str, on: date) -> str:
    """Whom an alert about the node goes to: the manager of its unit (or the next one up)."""
    own = org.manager_of(node, on) if org.is_unit(node) else None
    above = org.managers_above(node, on) if org.exists(node) else []
    return own if own is not None and own != node else (above[0] if above else "admin")


def _weeks_ended(today: date, count: int) -> list[tuple[date, date]]:
    """The last `count` ISO weeks that ended before today, latest first."""
    sunday = today - timedelta(days=today.isoweekday())
    return [(sunday - timedelta(days=7 * k + 6), sunday - timedelta(days=7 * k)) for k in range(count)]


class Judge:
    """Looks at the read models for one evaluation day."""

    def __init__(self, cmd: Command, conn: asyncpg.Connection, org: Organisation, today: date) -> None:
        self.cmd, self.conn, self.org, self.today = cmd, conn, org, today
        self.open_alerts: dict[str, asyncpg.Record] = {}

    async def settings(self, rule: str, metric: str, node: str) -> Settings:
        chain = [node, *self.org.ancestors(node, self.today)] if self.org.exists(node) else [node]
        return (await self.cmd.alert_rules()).settings(rule, metric, chain)

    async def week(self, target: asyncpg.Record, first: date, last: date) -> tuple[Decimal, Decimal]:
        """Planned and actual for the days of a week that fall in the target's period."""
        span = self.cmd.calendar.parse(target["period"])
        first, last = max(first, span.start), min(last, span.end)
        plan = await attainment_model.fetch_plan(
            self.conn, node=target["node"], metric=target["metric"], period=span.key, scope=_scope(target)
        )
        planned = planned_between(plan or Plan(target["target_id"], target["value"], []), span, first, last)
        totals = await attainment_model.fetch_actual_totals(
            self.conn,
            node=target["node"],
            metrics=[target["metric"]],
            starts_on=first,
            ends_on=last,
            scope=_scope(target),
        )
        return planned, totals[target["metric"]]


def _scope(target: asyncpg.Record) -> dict[str, str]:
    scope: dict[str, str] = msgspec.json.decode(target["scope"])
    return scope


def _covering(targets: list[asyncpg.Record], day: date) -> dict[tuple[str, str, str], asyncpg.Record]:
    """Per node, metric and scope, the shortest target whose period holds the day."""
    chosen: dict[tuple[str, str, str], asyncpg.Record] = {}
    for t in targets:  # shortest first
        if t["starts_on"] <= day <= t["ends_on"]:
            chosen.setdefault((t["node"], t["metric"], t["scope"]), t)
    return chosen


async def _target_rules(judge: Judge) -> list[Finding]:
    """Weekly completion, a week's gap and pace, for each target judged on the last week ended."""
    weeks = _weeks_ended(judge.today, 8)
    catalog, findings = await judge.cmd.catalog(), []
    targets = await attainment_model.fetch_targets_covering(judge.conn, weeks[-1][0], weeks[0][1])
    for key, target in _covering(targets, weeks[0][1]).items():
        if not catalog.metric(target["metric"]).additive:
            continue  # a rate has no weekly share; its pace is judged on its parts' targets
        same = [t for t in targets if (t["node"], t["metric"], t["scope"]) == key]
        findings += await _judge_target(judge, target, same, weeks)
    return findings


async def _judge_target(
    judge: Judge, target: asyncpg.Record, same: list[asyncpg.Record], weeks: list[tuple[date, date]]
) -> list[Finding]:
    """`same`: the targets of the same node, metric and scope, for weeks of other periods."""
    node, metric, period = target["node"], target["metric"], target["period"]
    base: dict[str, Any] = {
        "subject": f"{node}|{metric}|{target['scope']}",
        "node": node,
        "assignee": _manager(judge.org, node, judge.today),
        "target_id": target["target_id"],
        "metric": metric,
        "period": period,
    }
    findings = []
    completion = await judge.settings("weekly_completion", metric, node)
    by_week = []  # (planned, actual) of the weeks ended, latest first, while a target covers them
    for first, last in weeks[: max(completion.weeks or 1, 1)]:
        week_target = _covering(same, last).get((node, metric, target["scope"]))
        if week_target is None:
            break
        by_week.append(await judge.week(week_target, first, last))
    pcts = [(actual / planned * HUNDRED).quantize(CENT) for planned, actual in by_week if planned > 0]
    if completion.enabled and pcts and completion.threshold is not None:
        verdict = _verdict(pcts[0], completion.threshold, completion.margin or Decimal(0))
        running = len(pcts) >= (completion.weeks or 1) and all(p < completion.threshold for p in pcts)
        findings.append(
            Finding(
                rule="weekly_completion",
                verdict="hold" if verdict == "breach" and not running else verdict,
                message=f"{node} {metric}: weekly completion {', '.join(f'{p} %' for p in pcts)} (latest first); "
                f"below {completion.threshold} % for {completion.weeks} weeks running raises",
                value=pcts[0],
                threshold=completion.threshold,
                **base,
            )
        )
    gap = await judge.settings("week_gap", metric, node)
    if gap.enabled and by_week and by_week[0][0] > 0 and gap.share is not None:
        planned, actual = by_week[0]
        share = ((planned - actual) / planned * HUNDRED).quantize(CENT)
        findings.append(
            Finding(
                rule="week_gap",
                verdict=_verdict(share, gap.share, gap.margin or Decimal(0), breach_below=False),
                message=f"{node} {metric}: last week's gap {(planned - actual).quantize(CENT)} is {share} % of "
                f"its weekly target; above {gap.share} % raises",
                value=share,
                threshold=gap.share,
                **base,
            )
        )
    pace = await judge.settings("pace", metric, node)
    checkpoint = weeks[0][1]
    row = await standing_on(
        judge.cmd, judge.conn, node=node, metric=metric, period=period, scope=_scope(target), day=checkpoint
    )
    if pace.enabled and row.standing and row.standing.pace_pct is not None and pace.threshold is not None:
        findings.append(
            Finding(
                rule="pace",
                verdict=_verdict(row.standing.pace_pct, pace.threshold, pace.margin or Decimal(0)),
                message=f"{node} {metric} {period}: pace {row.standing.pace_pct} % on {checkpoint}; "
                f"below {pace.threshold} % raises",
                value=row.standing.pace_pct,
                threshold=pace.threshold,
                **base,
            )
        )
    return findings


async def _overdue_actions(judge: Judge) -> list[Finding]:
    """Every open action: overdue once its due date has passed; a closed one is no longer."""
    findings = [
        Finding(
            rule="action_overdue",
            subject=alert["subject"],
            verdict="clear",
            node=alert["node"],
            assignee="",
            message="the corrective action is completed or cancelled",
        )
        for alert in await actions_closed(judge)
    ]
    for action in await actions_model.fetch_open(judge.conn):
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
                assignee=_manager(judge.org, action["node"], judge.today),
                target_id=action["target_id"],
                message=f"corrective action {action['action_id']} of {action['owner']} was due {action['due']}",
            )
        )
    return findings


async def actions_closed(judge: Judge) -> list[asyncpg.Record]:
    """Open overdue alerts whose action is no longer open."""
    still_open = {str(a["action_id"]) for a in await actions_model.fetch_open(judge.conn)}
    return [
        a
        for key, a in judge.open_alerts.items()
        if key.startswith("action_overdue|") and a["subject"] not in still_open
    ]


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
    last = await attainment_model.fetch_last_actual_days(judge.conn, list(starts))
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
                    assignee=_manager(judge.org, person, judge.today),
                    message=f"no actual from {person} for {days} working days (since {since})",
                    value=Decimal(days),
                    threshold=Decimal(settings.days),
                )
            )
    return findings


def _window(cadence: str, today: date) -> tuple[date, date]:
    """The last whole day, ISO week or month before today."""
    if cadence == "daily":
        return today - timedelta(days=1), today - timedelta(days=1)
    if cadence == "weekly":
        return _weeks_ended(today, 1)[0]
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


async def _missed_follow_ups(judge: Judge) -> list[Finding]:
    """Follow-up plans whose reporter let the last whole cadence period pass without a report."""
    findings = []
    for plan in await alerts_model.fetch_follow_ups(judge.conn):
        first, last = _window(plan["cadence"], judge.today)
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


async def evaluate(cmd: Command, today: date) -> int | None:
    """Judge every rule as of `today`; append what changed in one go. Returns its position."""
    await read_models_current(cmd, [attainment_model.NAME, alerts_model.NAME, actions_model.NAME], timeout=30)
    org = await cmd.org()
    async with cmd.store.pool.acquire() as conn:
        judge = Judge(cmd, conn, org, today)
        judge.open_alerts = await alerts_model.fetch_open(conn)
        findings = [
            *await _target_rules(judge),
            *await _overdue_actions(judge),
            *await _missing_actuals(judge),
            *await _missed_follow_ups(judge),
        ]
    alerts = [await _decide(cmd, f, f"{f.rule}|{f.subject}" in judge.open_alerts) for f in findings]
    events = [e for a in alerts if a is not None for e in a.collect_events()]
    return (await cmd.store.append(events, cmd.metadata)).last if events else None
