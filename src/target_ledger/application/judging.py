"""What the alert rules share: a finding, its verdict with hysteresis, whom it goes to, and the
read models as they stand on the day being judged."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import asyncpg
import msgspec

from projections import attainment as attainment_model
from projections.attainment import Plan
from target_ledger.application import Command
from target_ledger.application.attainment import holders_now, planned_between
from target_ledger.domain.alert_rules import Settings
from target_ledger.domain.attainment import Number
from target_ledger.domain.calendar import Calendar
from target_ledger.domain.derived_share import planned_share
from target_ledger.domain.org import Organisation

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


def verdict(exact: Number, threshold: Decimal, margin: Decimal, *, breach_below: bool = True) -> Verdict:
    """Judged on the exact value: a figure shown rounded may sit on the threshold while short of it."""
    value, line, margin_ = Fraction(exact), Fraction(threshold), Fraction(margin)
    if breach_below:
        return "breach" if value < line else "clear" if value >= line + margin_ else "hold"
    return "breach" if value > line else "clear" if value <= line - margin_ else "hold"


def manager(org: Organisation, node: str, on: date) -> str:
    """Whom an alert about the node goes to: the manager of its unit (or the next one up)."""
    own = org.manager_of(node, on) if org.is_unit(node) else None
    above = org.managers_above(node, on) if org.exists(node) else []
    return own if own is not None and own != node else (above[0] if above else "admin")


def weeks_ended(today: date, count: int, calendar: Calendar | None = None) -> list[tuple[date, date]]:
    """The last `count` weeks of the calendar (ISO weeks, or a retail calendar's fiscal weeks,
    which end on the year's last weekday) that ended before today, latest first."""
    last = (calendar or Calendar()).week_of(today).start - timedelta(days=1)
    return [(last - timedelta(days=7 * k + 6), last - timedelta(days=7 * k)) for k in range(count)]


class Judge:
    """Looks at the read models for one evaluation day."""

    def __init__(self, cmd: Command, conn: asyncpg.Connection, org: Organisation, today: date) -> None:
        self.cmd, self.conn, self.org, self.today = cmd, conn, org, today
        self.open_alerts: dict[str, asyncpg.Record] = {}

    async def settings(self, rule: str, metric: str, node: str) -> Settings:
        chain = [node, *self.org.ancestors(node, self.today)] if self.org.exists(node) else [node]
        return (await self.cmd.alert_rules()).settings(rule, metric, chain)

    async def week(self, target: asyncpg.Record, first: date, last: date) -> tuple[Fraction, Decimal]:
        """Planned (exactly) and actual for a week: the week's planned share of the targets holding
        its days, the figure GET /v1/attainment answers for it (a week straddling two month targets
        takes each one's share of its days); if some day of it has no target, the days of the week
        that fall in the target's period."""
        node, metric, scope = target["node"], target["metric"], scope_of(target)
        [held] = await holders_now(self.conn, metric, [(node, first, last, scope)])
        planned = planned_share(held, first, last)
        if planned is None:
            span = self.cmd.calendar.parse(target["period"])
            first, last = max(first, span.start), min(last, span.end)
            plan = await attainment_model.fetch_plan(self.conn, node=node, metric=metric, period=span.key, scope=scope)
            planned = planned_between(plan or Plan(target["target_id"], target["value"], []), span, first, last)
        totals = await attainment_model.fetch_actual_totals(
            self.conn, node=node, metrics=[metric], starts_on=first, ends_on=last, scope=scope
        )
        return planned, totals[metric]


def scope_of(target: asyncpg.Record) -> dict[str, str]:
    scope: dict[str, str] = msgspec.json.decode(target["scope"])
    return scope
