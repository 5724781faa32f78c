"""Forecast submissions: a manager's commit and best case, read back as known on a day, and their accuracy."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from target_ledger.application import Command
from target_ledger.application.attainment import attainment
from target_ledger.application.reads import authorize_read, known_metric
from target_ledger.domain.access import check_manages_or_runs
from target_ledger.domain.attainment import RATE, shown
from target_ledger.domain.errors import DomainError
from target_ledger.domain.forecast import Forecast, Submission, accuracy, forecast_id


async def _forecast(cmd: Command, node: str, metric: str, period: str) -> Forecast | None:
    found = await cmd.store.get(forecast_id(node, metric, period))
    return found if isinstance(found, Forecast) else None


async def submit(
    cmd: Command, *, node: str, metric: str, period: str, commit: Decimal, best_case: Decimal, note: str
) -> tuple[Forecast, int]:
    """A manager of the node (its own, or one above it) or an admin submits; a closed period is a 409."""
    org, today = await cmd.org(), cmd.today()
    check_manages_or_runs(cmd.actor, org, node, today, "forecasting for")
    definition = (await cmd.catalog()).metric(metric)
    if not definition.additive:
        raise DomainError(f"{metric} is computed from its parts: forecast those instead", field="metric")
    definition.check_value(commit, field="commit")
    definition.check_value(best_case, field="best_case")
    span = cmd.calendar.parse(period)
    await cmd.check_open(node, span.start, span.end, field="period")
    forecast = await _forecast(cmd, node, metric, span.key) or Forecast.start(node, metric, span.key, cmd.clock())
    forecast.submit(commit, best_case, note, person=cmd.actor.subject, at=cmd.clock())
    return forecast, (await cmd.append(forecast.collect_events())).last


async def latest_submission(cmd: Command, node: str, metric: str, period: str) -> Submission | None:
    forecast = await _forecast(cmd, node, metric, period)
    return forecast.submissions[-1] if forecast and forecast.submissions else None


@dataclass(frozen=True)
class KnownForecast:
    node: str
    metric: str
    period: str
    as_of: date | None
    submissions: list[Submission]  # recorded by the end of `as_of` (UTC), oldest first
    latest: Submission | None
    closed: bool  # the period is closed for the node
    actual: Decimal | None  # the period's actual, once closed
    accuracy: Decimal | None  # actual ÷ the latest commit, once closed (1 is spot on), to 0.0001


async def known_on(cmd: Command, *, node: str, metric: str, period: str, as_of: date | None) -> KnownForecast:
    """The submissions as known at the end of `as_of` (every one without it); once the period is
    closed for the node, its actual and the accuracy of the latest commit shown."""
    await authorize_read(cmd, node)
    definition = await known_metric(cmd, metric)
    span = cmd.calendar.parse(period)
    forecast = await _forecast(cmd, node, metric, span.key)
    by = datetime.combine(as_of, time.max, UTC) if as_of else cmd.clock()
    submissions = forecast.known_by(by) if forecast else []
    latest = submissions[-1] if submissions else None
    closed = await cmd.closure(node, span.start, span.end) is not None
    actual = exact = None
    if closed and definition.additive:
        row, _, _ = await attainment(cmd, node=node, metric=metric, period=span.key, scope={}, breakdown=None)
        actual = row.actual
        exact = accuracy(row.actual, latest.commit) if latest else None
    return KnownForecast(
        node=node,
        metric=metric,
        period=span.key,
        as_of=as_of,
        submissions=submissions,
        latest=latest,
        closed=closed,
        actual=actual,
        accuracy=None if exact is None else shown(exact, RATE),
    )
