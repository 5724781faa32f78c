"""The forecast rule: a target whose forecast (actual + weighted open pipeline) falls below a share of it."""

from decimal import Decimal
from fractions import Fraction

from projections import attainment as attainment_model
from projections import pipeline as pipeline_model
from target_ledger.application.attainment import standing_on
from target_ledger.application.judging import Finding, Judge, manager, scope_of, verdict
from target_ledger.application.pipeline import forecast_of, people_of, weigh
from target_ledger.domain.attainment import shown


async def forecast_findings(judge: Judge) -> list[Finding]:
    """Every target running today on a sum where more is better, whose people have opportunities
    closing in its period (a team not using the pipeline is not judged on it): the forecast as a
    % of the target, below `threshold` (90 %) raises, at `threshold` + `margin` it resolves."""
    catalog, findings, today = await judge.cmd.catalog(), [], judge.today
    for target in await attainment_model.fetch_targets_covering(judge.conn, today, today):
        node, metric, goal = target["node"], target["metric"], target["value"]
        definition = catalog.metric(metric)
        if not definition.additive or definition.direction != "higher" or goal <= 0 or not judge.org.exists(node):
            continue
        settings = await judge.settings("forecast", metric, node)
        if not settings.enabled or settings.threshold is None:
            continue
        span = judge.cmd.calendar.parse(target["period"])
        deals = await pipeline_model.fetch_opportunities(
            judge.conn, people=people_of(judge.org, node, today), metric=metric, first=span.start, last=span.end
        )
        if not deals:
            continue
        scope = scope_of(target)
        _, weighted, _ = weigh(deals, scope)
        row = await standing_on(
            judge.cmd, judge.conn, node=node, metric=metric, period=span.key, scope=scope, day=today
        )
        expected = forecast_of(row.actual, weighted)
        share = expected * 100 / Fraction(goal)
        findings.append(
            Finding(
                rule="forecast",
                subject=str(target["target_id"]),
                verdict=verdict(share, settings.threshold, settings.margin or Decimal(0)),
                node=node,
                assignee=manager(judge.org, node, today),
                target_id=target["target_id"],
                metric=metric,
                period=span.key,
                message=f"{node} {metric} {span.key}: forecast {shown(expected)} is {shown(share)} % of the target "
                f"{goal}; below {settings.threshold} % raises",
                value=shown(share),
                threshold=settings.threshold,
            )
        )
    return findings
