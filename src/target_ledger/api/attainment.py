"""/v1/attainment: how a node's targets stand, broken down, and a unit's leaderboard."""

from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromQuery, HeaderParameter, QueryParameter

from projections import attainment as model
from projections.runner import caught_up, tracked
from target_ledger.api import report_workbooks, workbook
from target_ledger.api.attainment_matrix import body as as_matrix
from target_ledger.api.openapi import answers
from target_ledger.api.query_values import ScopeQuery, parse_scope
from target_ledger.api.schemas import (
    MAX_POSITION,
    Attainment,
    AttainmentRow,
    Leaderboard,
    MetricName,
    NodeId,
    PeriodKey,
    ReadPeriodKey,
)
from target_ledger.application import Command
from target_ledger.application.attainment import Row, attainment, leaderboard
from target_ledger.application.attainment_matrix import attainment_matrix

MinPosition = Annotated[
    int | None,
    QueryParameter(ge=0, le=MAX_POSITION, description="wait (bounded) until the read model has applied this position"),
]
Breakdown = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        description="`children`, `time`, or a dimension name; or two of them, `rows,columns` "
        "(`time,product`), for a matrix with row and column totals",
    ),
]
Format = Annotated[Literal["json", "xlsx"], QueryParameter(description="xlsx: a workbook, totals as formulas")]
AcceptLanguage = Annotated[str | None, HeaderParameter(name="Accept-Language", max_length=200)]


async def read_position(conn: asyncpg.Connection, projection: str) -> int:
    """The position of the last event the read model has applied."""
    return (await tracked(conn, projection)).position


async def wait_for(state: State, projection: str, min_position: int | None) -> None:
    """Hold the read until the read model has applied min_position, or answer 503."""
    if not min_position:  # None, or 0: the start of the log, which every read model has reached
        return
    timeout = state.settings.min_position_timeout
    if not await caught_up(state.pool, state.store, projection, min_position, timeout, state.progress):
        raise ServiceUnavailableException(
            f"the {projection} read model has not reached position {min_position} yet",
            headers={"Retry-After": "1"},
        )


AsOf = Annotated[
    datetime | None,
    QueryParameter(
        description="an instant with its timezone (`2026-07-01T09:00:00Z`): the target as the ledger "
        "knew it then, by the time its events were recorded",
    ),
]


def _row(row: Row) -> AttainmentRow:
    s = row.standing
    return AttainmentRow(
        node=row.node,
        metric=row.metric,
        period=row.period,
        scope=row.scope,
        actual=row.actual,
        target_id=row.target_id,  # type: ignore[arg-type]
        target=row.target,
        attainment_pct=s.attainment_pct if s else None,
        gap=s.gap if s else None,
        expected=s.expected if s else None,
        pace_pct=s.pace_pct if s else None,
        projected=s.projected if s else None,
        status=s.status if s else None,
        target_source=row.target_source,  # type: ignore[arg-type]
    )


class AttainmentController(Controller):
    path = "/v1/attainment"
    tags = ["attainment"]

    @get("/", summary="How a node stands against its target, with a breakdown", responses=answers(Attainment))
    async def read(
        self,
        state: State,
        command: NamedDependency[Command],
        node: FromQuery[NodeId],
        metric: FromQuery[MetricName],
        period: FromQuery[ReadPeriodKey],
        scope_filter: ScopeQuery = None,
        breakdown: Breakdown = None,
        min_position: MinPosition = None,
        as_of: AsOf = None,
        format: Format = "json",
        accept_language: AcceptLanguage = None,
    ) -> Response[Attainment]:
        await wait_for(state, model.NAME, min_position)
        scope, day = parse_scope(scope_filter), as_of.date() if as_of else command.today()
        if breakdown and "," in breakdown:
            body = await _matrix(state, command, node, metric, period, scope, breakdown, as_of)
        else:
            row, rows, position = await attainment(
                command, node=node, metric=metric, period=period, scope=scope, breakdown=breakdown, as_of=as_of
            )
            position = await _position(state, position)
            body = Attainment(position=position, as_of=day, row=_row(row), breakdown=[_row(r) for r in rows])
        if format == "xlsx":
            unit = (await command.catalog()).metric(metric).unit
            title = f"{node} {metric} {period}"
            book = report_workbooks.attainment(
                body.row, body.breakdown, unit, workbook.language(accept_language), title
            )
            return _xlsx(book, f"attainment-{node}-{metric}-{period}")
        return Response(body, headers={"X-Read-Position": str(body.position)})

    @get("/leaderboard", summary="The people of a unit ranked by attainment", responses=answers(Leaderboard))
    async def leaderboard(
        self,
        state: State,
        command: NamedDependency[Command],
        unit: FromQuery[NodeId],
        metric: FromQuery[MetricName],
        period: FromQuery[PeriodKey],
        min_position: MinPosition = None,
        format: Format = "json",
        accept_language: AcceptLanguage = None,
    ) -> Response[Leaderboard]:
        await wait_for(state, model.NAME, min_position)
        async with state.pool.acquire() as conn:
            position = await read_position(conn, model.NAME)
        rows = await leaderboard(command, unit=unit, metric=metric, period=period)
        body = Leaderboard(position=position, as_of=command.today(), rows=[_row(r) for r in rows])
        if format == "xlsx":
            measure = (await command.catalog()).metric(metric).unit
            lang = workbook.language(accept_language)
            book = report_workbooks.attainment(None, body.rows, measure, lang, f"{unit} {metric} {period}")
            return _xlsx(book, f"leaderboard-{unit}-{metric}-{period}")
        return Response(body, headers={"X-Read-Position": str(position)})


async def _matrix(
    state: State,
    command: Command,
    node: str,
    metric: str,
    period: str,
    scope: dict[str, str],
    breakdown: str,
    as_of: datetime | None,
) -> Attainment:
    """A two-axis breakdown: the matrix, the node's row, and the first axis's rows as the breakdown
    (what a workbook of it shows)."""
    matrix, position = await attainment_matrix(
        command, node=node, metric=metric, period=period, scope=scope, breakdown=breakdown, as_of=as_of
    )
    definition = (await command.catalog()).metric(metric)
    day = as_of.date() if as_of else command.today()
    rows = [_row(r) for r in matrix.rows]
    return Attainment(
        position=await _position(state, position),
        as_of=day,
        row=_row(matrix.total),
        breakdown=rows,
        matrix=as_matrix(matrix, definition, _row),
    )


async def _position(state: State, position: int | None) -> int:
    """The read's position; read as known at an instant (None: from the log), where the read model stands."""
    if position is None:
        async with state.pool.acquire() as conn:
            return await read_position(conn, model.NAME)
    return position


def _xlsx(book: bytes, filename: str) -> Response[Any]:
    """The workbook instead of the JSON body (the operation documents the JSON one)."""
    return Response(book, media_type=workbook.XLSX, headers=workbook.attachment(filename))
