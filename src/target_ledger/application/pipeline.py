"""The funnel of a subtree for a period, and the forecast of a target: actual plus weighted open pipeline."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from projections import pipeline as pipeline_model
from target_ledger.application import Command
from target_ledger.application.attainment import attainment
from target_ledger.application.forecasts import latest_submission
from target_ledger.application.opportunities import check_pipeline_metric, stages
from target_ledger.application.reads import authorize_read, known_metric
from target_ledger.domain.access import can_read, is_member
from target_ledger.domain.attainment import CENT, percent, shown
from target_ledger.domain.calendar import Period
from target_ledger.domain.forecast import Submission, weighted
from target_ledger.domain.funnel import Deal, Funnel, funnel, slipping
from target_ledger.domain.org import Organisation


def people_of(org: Organisation, node: str, today: date) -> list[str]:
    """The people of a subtree today (a person: themselves): whose opportunities count for it."""
    return [n for n in org.subtree(node, today) if org.is_person(n)]


def _deal(row: asyncpg.Record) -> Deal:
    return Deal(
        status=row["status"],
        stage=row["stage"],
        amount=row["won_amount"] if row["status"] == "won" else row["amount"],
        close_on=row["close_on"],
        stage_since=row["stage_since"].date(),
        stages=list(row["stages"]),
    )


def reader_of(cmd: Command, org: Organisation, people: list[str], today: date) -> pipeline_model.Reader:
    """Of these people's deals, those the actor may read one by one: GET /v1/opportunities/{id}'s
    rule (can_read_record: whoever may read the deal's person, and its opener while a member),
    as a query. The lists (the opportunities, the funnel's slipping ones) show no other deal;
    the totals (the funnel's counts, the forecast) are the node's, as the attainment's are."""
    actor = cmd.actor
    readable = [p for p in people if can_read(actor, org, p, today)]
    return pipeline_model.Reader(people=readable, opener=actor.subject if is_member(actor, org, today) else None)


async def read_funnel(cmd: Command, *, node: str, period: str, metric: str) -> tuple[Funnel, list[dict[str, Any]]]:
    """The funnel of the node's subtree for the opportunities closing in the period (an open one
    by its expected close date, a closed one by the day it closed), and the slipping ones the
    reader may read one by one."""
    org = await authorize_read(cmd, node)
    check_pipeline_metric(await known_metric(cmd, metric))
    span, today = cmd.calendar.parse(period), cmd.today()
    people = people_of(org, node, today)
    async with cmd.store.pool.acquire() as conn:
        rows = await pipeline_model.fetch_opportunities(
            conn, people=people, metric=metric, first=span.start, last=span.end
        )
    order = (await stages(cmd)).order()
    result = funnel([_deal(r) for r in rows], order, today)
    reader = reader_of(cmd, org, people, today)
    late = [
        {
            "opportunity_id": r["opportunity_id"],
            "person": r["person"],
            "name": r["name"],
            "stage": r["stage"],
            "amount": r["amount"],
            "close_on": r["close_on"],
            "days_late": (today - r["close_on"]).days,
        }
        for r in rows
        if slipping(_deal(r), today) and reader.sees(r["person"], r["opened_by"])
    ]
    return result, late


@dataclass(frozen=True)
class OpportunityQuery:
    """What GET /v1/opportunities asks for: a subtree's, closing in a period, of a status and metric."""

    node: str
    period: str | None = None
    status: str | None = None
    metric: str | None = None


async def list_opportunities(
    cmd: Command, query: OpportunityQuery, *, after: tuple[date, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """The opportunities of the node's subtree (its people today) the reader may read one by one,
    closing in the period if named (as the funnel counts them), soonest first (by closing day,
    then id; `after` such a key, at most `limit`): a person's plan of key deals, a manager's pipeline."""
    org = await authorize_read(cmd, query.node)
    if query.metric is not None:
        check_pipeline_metric(await known_metric(cmd, query.metric))
    span, today = cmd.calendar.parse(query.period) if query.period else None, cmd.today()
    people = people_of(org, query.node, today)
    async with cmd.store.pool.acquire() as conn:
        rows = await pipeline_model.fetch_opportunities(
            conn,
            people=people,
            metric=query.metric,
            first=span.start if span else None,
            last=span.end if span else None,
            status=query.status,
            reader=reader_of(cmd, org, people, today),
            after=after,
            limit=limit,
        )
    return [{**dict(r), "scope": msgspec.json.decode(r["scope"]), "stages": list(r["stages"])} for r in rows]


@dataclass(frozen=True)
class ForecastFigures:
    """A target's forecast, every money figure shown to the cent without flattering."""

    node: str
    metric: str
    period: str
    scope: dict[str, str]
    target: Decimal | None
    actual: Decimal  # to date
    projected: Decimal | None  # the run rate: actual per day elapsed, over every day of the period
    pipeline: Decimal  # open opportunities expected to close in the period, unweighted
    weighted_pipeline: Decimal  # each open amount times its probability, summed, rounded down
    forecast: Decimal  # actual + weighted pipeline, rounded down
    forecast_pct: Decimal | None  # forecast ÷ target, %, rounded down
    gap_after_forecast: Decimal | None  # target minus forecast, rounded up
    open_opportunities: int
    submitted: Submission | None  # the latest commit and best case for the node, metric and period (a
    # submission is the whole node's: a scoped forecast has none)
    position: int | None


async def open_pipeline(
    conn: asyncpg.Connection, people: list[str], metric: str, span: Period, scope: dict[str, str]
) -> tuple[Decimal, Fraction, int]:
    """The open opportunities of these people closing in the period and within the scope (their
    scope holds every value of it): total amount, exact weighted amount, and how many."""
    rows = await pipeline_model.fetch_opportunities(
        conn, people=people, metric=metric, first=span.start, last=span.end, status="open"
    )
    return weigh(rows, scope)


def weigh(rows: list[asyncpg.Record], scope: dict[str, str]) -> tuple[Decimal, Fraction, int]:
    """Of these opportunities, the open ones within the scope: total amount, exact weighted amount, how many."""
    inside = [r for r in rows if r["status"] == "open" and scope.items() <= msgspec.json.decode(r["scope"]).items()]
    total = sum((r["amount"] for r in inside), Decimal(0))
    exact = sum((weighted(r["amount"], r["probability"]) for r in inside), Fraction(0))
    return total, exact, len(inside)


def forecast_of(actual: Decimal, exact_weighted: Fraction) -> Fraction:
    """Actual to date plus the open pipeline weighted by probability, exactly."""
    return Fraction(actual) + exact_weighted


async def read_forecast(cmd: Command, *, node: str, metric: str, period: str, scope: dict[str, str]) -> ForecastFigures:
    """Where the node will land: actual to date + the open pipeline expected to close in the
    period weighted by probability, beside the run-rate projection and the target."""
    row, _, position = await attainment(cmd, node=node, metric=metric, period=period, scope=scope, breakdown=None)
    check_pipeline_metric((await cmd.catalog()).metric(metric))
    org, span, today = await cmd.org(), cmd.calendar.parse(period), cmd.today()
    async with cmd.store.pool.acquire() as conn:
        total, exact, count = await open_pipeline(conn, people_of(org, node, today), metric, span, scope)
    expected = forecast_of(row.actual, exact)
    target = row.target
    share = percent(expected, target) if target else None
    return ForecastFigures(
        node=node,
        metric=metric,
        period=span.key,
        scope=scope,
        target=target,
        actual=row.actual,
        projected=row.standing.projected if row.standing else None,
        pipeline=total,
        weighted_pipeline=shown(exact, CENT),
        forecast=shown(expected, CENT),
        forecast_pct=None if share is None else shown(share),
        gap_after_forecast=None if target is None else shown(Fraction(target) - expected, higher_is_better=False),
        open_opportunities=count,
        submitted=None if scope else await latest_submission(cmd, node, metric, span.key),
        position=position,
    )
