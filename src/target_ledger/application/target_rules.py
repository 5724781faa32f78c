"""The rules on a target's weeks: weekly completion N weeks running, a week's gap, and pace."""

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import asyncpg

from projections import attainment as attainment_model
from target_ledger.application.attainment import standing_on
from target_ledger.application.judging import Finding, Judge, manager, scope_of, verdict, weeks_ended
from target_ledger.domain.attainment import shown
from target_ledger.domain.derived_share import shown_share


def _covering(targets: list[asyncpg.Record], day: date) -> dict[tuple[str, str, str], asyncpg.Record]:
    """Per node, metric and scope, the shortest target whose period holds the day."""
    chosen: dict[tuple[str, str, str], asyncpg.Record] = {}
    for t in targets:  # shortest first
        if t["starts_on"] <= day <= t["ends_on"]:
            chosen.setdefault((t["node"], t["metric"], t["scope"]), t)
    return chosen


async def target_rules(judge: Judge) -> list[Finding]:
    """Weekly completion, a week's gap and pace, for each target judged on the last week ended."""
    weeks = weeks_ended(judge.today, 8, judge.cmd.calendar)
    catalog, findings = await judge.cmd.catalog(), []
    targets = await attainment_model.fetch_targets_covering(judge.conn, weeks[-1][0], weeks[0][1])
    for key, target in _covering(targets, weeks[0][1]).items():
        if not catalog.metric(target["metric"]).additive:
            continue  # a rate has no weekly share; its pace is judged on its parts' targets
        same = [t for t in targets if (t["node"], t["metric"], t["scope"]) == key]
        lower = catalog.metric(target["metric"]).direction == "lower"
        findings += await _judge_target(judge, target, same, weeks, lower_is_better=lower)
    return findings


def _completion(planned: Fraction, actual: Decimal, *, lower_is_better: bool) -> Fraction | None:
    """A week's completion in %, exact: actual ÷ planned, or for a lower-is-better metric (a
    cost) planned ÷ actual, as pace is; None when there is nothing to judge by."""
    if lower_is_better:
        return planned * 100 / Fraction(actual) if actual > 0 else None
    return Fraction(actual) * 100 / planned if planned > 0 else None


async def _judge_target(
    judge: Judge,
    target: asyncpg.Record,
    same: list[asyncpg.Record],
    weeks: list[tuple[date, date]],
    *,
    lower_is_better: bool = False,
) -> list[Finding]:
    """`same`: the targets of the same node, metric and scope, for weeks of other periods. For a
    lower-is-better metric, completion is planned ÷ actual and the gap is the overrun."""
    node, metric, period = target["node"], target["metric"], target["period"]
    base: dict[str, Any] = {
        "subject": f"{node}|{metric}|{target['scope']}",
        "node": node,
        "assignee": manager(judge.org, node, judge.today),
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
    # Judged on the exact percentages; shown rounded down (completion: higher is better).
    judged_weeks = [_completion(planned, actual, lower_is_better=lower_is_better) for planned, actual in by_week]
    pcts = [p for p in judged_weeks if p is not None]
    # The latest week's target as GET /v1/attainment shows it for that week.
    weekly = shown_share(by_week[0][0], lower_is_better=lower_is_better) if by_week else None
    if completion.enabled and pcts and completion.threshold is not None:
        judged = verdict(pcts[0], completion.threshold, completion.margin or Decimal(0))
        running = len(pcts) >= (completion.weeks or 1) and all(p < Fraction(completion.threshold) for p in pcts)
        findings.append(
            Finding(
                rule="weekly_completion",
                verdict="hold" if judged == "breach" and not running else judged,
                message=f"{node} {metric}: weekly completion {', '.join(f'{shown(p)} %' for p in pcts)} "
                f"(latest first; the latest against a weekly target of {weekly}); "
                f"below {completion.threshold} % for {completion.weeks} weeks running raises",
                value=shown(pcts[0]),
                threshold=completion.threshold,
                **base,
            )
        )
    gap = await judge.settings("week_gap", metric, node)
    if gap.enabled and by_week and by_week[0][0] > 0 and gap.share is not None:
        planned, actual = by_week[0]
        short = (Fraction(actual) - planned) if lower_is_better else (planned - Fraction(actual))
        share = short * 100 / planned  # a gap: shown rounded up
        findings.append(
            Finding(
                rule="week_gap",
                verdict=verdict(share, gap.share, gap.margin or Decimal(0), breach_below=False),
                message=f"{node} {metric}: last week's gap {shown(short, higher_is_better=False)} is "
                f"{shown(share, higher_is_better=False)} % of its weekly target of {weekly}; "
                f"above {gap.share} % raises",
                value=shown(share, higher_is_better=False),
                threshold=gap.share,
                **base,
            )
        )
    pace = await judge.settings("pace", metric, node)
    checkpoint = weeks[0][1]
    row = await standing_on(
        judge.cmd, judge.conn, node=node, metric=metric, period=period, scope=scope_of(target), day=checkpoint
    )
    if pace.enabled and row.standing and row.standing.pace is not None and pace.threshold is not None:
        findings.append(
            Finding(
                rule="pace",
                verdict=verdict(row.standing.pace, pace.threshold, pace.margin or Decimal(0)),
                message=f"{node} {metric} {period}: pace {row.standing.pace_pct} % on {checkpoint}; "
                f"below {pace.threshold} % raises",
                value=row.standing.pace_pct,
                threshold=pace.threshold,
                **base,
            )
        )
    return findings
