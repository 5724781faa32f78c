"""/v1/targets: set, read (now or as known then), acknowledge or dispute, decompose, the
decomposition matrix, and the events that explain a value."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from projections import targets as target_tree
from target_ledger.api import lists, report_workbooks, spreadsheet, workbook
from target_ledger.api.attainment import AsOf, MinPosition, read_position, wait_for
from target_ledger.api.cross_table import cross_csv
from target_ledger.api.openapi import answers
from target_ledger.api.schemas import (
    Axis,
    Comment,
    Decompose,
    ExplainedEvent,
    Explanation,
    GrowthView,
    Matrix,
    MatrixRow,
    PartView,
    SetTarget,
    TargetView,
)
from target_ledger.application import Command, targets
from target_ledger.application import matrix as two_axes
from target_ledger.application.growth import GrowthAsk
from target_ledger.application.reads import authorize_member, authorize_read
from target_ledger.domain.target import Target
from target_ledger.domain.values import plain, share_form, typed_value, typed_values


def _view(
    target: Target,
    position: int | None = None,
    status_code: int = 200,
    *,
    as_of: datetime | None = None,
    value_now: Decimal | None = None,
) -> Response[TargetView]:
    body = TargetView(
        id=target.id,
        node=target.node,
        metric=target.metric,
        period=target.period,
        starts_on=target.starts_on,
        ends_on=target.ends_on,
        scope=target.scope,
        value=target.value,
        stretch=target.stretch,
        rationale=target.rationale,
        version=target.version,
        parent_id=target.parent_id,
        acknowledgement=target.acknowledgement,
        comment=target.comment,
        decomposed_along=target.axis,
        decomposed_by=target.method,
        children=[PartView(**msgspec.structs.asdict(p)) for p in target.parts],
        crossed_along=target.cross_axis,
        crossed_by=target.cross_method,
        cross_children=[PartView(**msgspec.structs.asdict(p)) for p in target.cross_parts],
        position=position,
        as_of=as_of,
        value_now=value_now,
        growth=GrowthView(**msgspec.structs.asdict(target.growth)) if target.growth else None,
    )
    # A past version is no precondition for a change: the ETag is only ever the current one.
    headers = {"ETag": f'"{target.version}"'} if as_of is None else {}
    return Response(body, status_code=status_code, headers=headers)


class TargetController(Controller):
    path = "/v1/targets"
    tags = ["targets"]
    list_targets = lists.list_targets

    @post(
        "/",
        status_code=201,
        summary="Set a target for (node, metric, period, scope)",
        description="Exactly one of `value` or `growth`. A rate's value is a fraction in [0, 1] (`0.15`), or a "
        'percent (`"15%"` is read as 0.15). `growth: {over: previous_period | same_period_last_year, rate}` sets '
        "the value to the base period's actual * (1 + rate), rounded half up to the cent (money) or a whole unit "
        "(count); the base actual and the rounding are kept in the event and shown under `growth`. A base "
        "period not ended yet, or without an actual, is a 422 naming `growth`.",
    )
    async def set_target(self, data: JSONBody[SetTarget], command: NamedDependency[Command]) -> Response[TargetView]:
        ask = data.growth
        growth = None if ask is None else GrowthAsk(ask.over, plain(typed_value(ask.rate, "growth.rate")))
        target, position = await targets.set_target(
            command,
            node=data.node,
            metric=data.metric,
            period=data.period,
            value=None if data.value is None else typed_value(data.value),
            growth=growth,
            scope=dict(data.scope),
            stretch=None if data.stretch is None else typed_value(data.stretch, "stretch"),
            rationale=data.rationale,
        )
        response = _view(target, position, 201)
        response.headers["Location"] = f"/v1/targets/{target.id}"
        return response

    @get(
        "/{target_id:uuid}",
        summary="A target as it stands now, or as the ledger knew it at an instant",
        description="With `as_of`, the target is rebuilt from the events recorded up to that instant: "
        "`value` and `version` are as known then, `value_now` is today's value, and there is no ETag. "
        "A target that did not exist yet then is a 404.",
    )
    async def get_target(
        self,
        target_id: FromPath[UUID],
        command: NamedDependency[Command],
        as_of: AsOf = None,
    ) -> Response[TargetView]:
        target = await targets.read_target(command, target_id)
        if as_of is None:
            return _view(target)
        then = await targets.get_target_as_of(command.store, target_id, as_of)
        return _view(then, as_of=as_of, value_now=target.value)

    @get(
        "/{target_id:uuid}/explain",
        summary="The events that produced a target's current value, oldest first",
        description="The target's own events and, for each adjustment applied to it, that adjustment's "
        "events (request with justification and evidence, approvals), as stored: position, ids, type, "
        "time, actor, payload, and the hash chain (`hash`, `previous_hash` in hex) to check them against "
        "the raw log.",
    )
    async def explain(self, target_id: FromPath[UUID], command: NamedDependency[Command]) -> Response[Explanation]:
        await authorize_member(command)  # before the lookup: an outsider learns no target ids
        target, records = await targets.explain(command.store, target_id)
        await authorize_read(command, target.node)
        body = Explanation(
            target_id=target.id,
            value=target.value,
            version=target.version,
            events=[ExplainedEvent(**r) for r in records],
        )
        return Response(body, headers={"ETag": f'"{target.version}"'})

    @post("/{target_id:uuid}/acknowledgement", status_code=200, summary="The assignee accepts the target")
    async def acknowledge(
        self, target_id: FromPath[UUID], data: JSONBody[Comment], command: NamedDependency[Command]
    ) -> Response[TargetView]:
        position = await targets.respond(command, target_id, agree=True, comment=data.comment)
        return _view(await targets.get_target(command.store, target_id), position)

    @post("/{target_id:uuid}/dispute", status_code=200, summary="The assignee disputes the target, saying why")
    async def dispute(
        self, target_id: FromPath[UUID], data: JSONBody[Comment], command: NamedDependency[Command]
    ) -> Response[TargetView]:
        position = await targets.respond(command, target_id, agree=False, comment=data.comment)
        return _view(await targets.get_target(command.store, target_id), position)

    @post(
        "/{target_id:uuid}/decomposition",
        status_code=201,
        summary="Split a target into child targets along the org, time or a dimension, or two of them at once",
        description="With `cross`, or on a target split already along another axis, the split makes a matrix: "
        "the other margin's targets and a target per cell, every row and column adding up exactly "
        "(controlled rounding). A cell that cannot hold is a 422 naming it (`cells.<row>.<column>`, "
        "`margins.<axis>.<key>`).",
        responses=answers(TargetView, 200, description="this very split was made before: nothing new stored"),
    )
    async def decompose(
        self, target_id: FromPath[UUID], data: JSONBody[Decompose], command: NamedDependency[Command]
    ) -> Response[TargetView]:
        fields = msgspec.structs.asdict(data) | _typed(data, "")
        cross, cells = fields.pop("cross"), fields.pop("cells")
        cells = cells and {row: typed_values(line, f"cells.{row}") or {} for row, line in cells.items()}
        across = cross and targets.Split(**(msgspec.structs.asdict(cross) | _typed(cross, "cross.")))
        parent, position = await two_axes.decompose(command, target_id, targets.Split(**fields), across, cells)
        # 200: this very decomposition was made before, and nothing new was stored.
        return _view(parent, position, 201 if position is not None else 200)

    @get(
        "/{target_id:uuid}/decomposition",
        summary="The decomposition matrix: the target and every target split from it, with shares",
        media_type=MediaType.JSON,
        responses=answers(Matrix),
    )
    async def matrix(
        self,
        target_id: FromPath[UUID],
        state: State,
        command: NamedDependency[Command],
        min_position: MinPosition = None,
        format: Annotated[
            Literal["json", "csv", "xlsx"],
            QueryParameter(description="csv: a spreadsheet-ready export; xlsx: a workbook, a sheet per pair of axes"),
        ] = "json",
        accept_language: Annotated[str | None, HeaderParameter(name="Accept-Language", max_length=200)] = None,
    ) -> Response:
        await authorize_member(command)  # before the lookup: an outsider learns no target ids
        await wait_for(state, target_tree.NAME, min_position)
        async with state.pool.acquire() as conn:
            position = await read_position(conn, target_tree.NAME)
            rows = await target_tree.fetch_tree(conn, target_id)
        # An unknown id is a 404; a known one the read model has not reached yet has no rows.
        node = rows[0]["node"] if rows else (await targets.get_target(state.store, target_id)).node
        await authorize_read(command, node)
        matrix = Matrix(position=position, rows=[MatrixRow(**r) for r in rows])
        if format == "csv":
            additive = (await command.catalog()).metric(rows[0]["metric"]).additive if rows else True
            text = cross_csv(matrix, additive) or _csv(matrix)  # a two-axis split reads as its cross table
            return Response(text, media_type="text/csv; charset=utf-8", headers=_attachment(target_id))
        if format == "xlsx":
            unit = (await command.catalog()).metric(rows[0]["metric"]).unit if rows else "count"
            book = report_workbooks.decomposition(matrix, unit, workbook.language(accept_language))
            return Response(book, media_type=workbook.XLSX, headers=workbook.attachment(f"decomposition-{target_id}"))
        return Response(matrix, headers={"X-Read-Position": str(position)})


CSV_COLUMNS = [
    "depth",
    "node",
    "metric",
    "period",
    "scope",
    "value",
    "share_of_parent",
    "share_of_root",
    "axis",
    "method",
    "acknowledgement",
    "target_id",
    "parent_id",
]


def _csv(matrix: Matrix) -> str:
    def cells(row: MatrixRow) -> list[Any]:
        values = {**msgspec.to_builtins(row), "scope": ";".join(f"{k}={v}" for k, v in row.scope.items())}
        return [values[c] for c in CSV_COLUMNS]

    return spreadsheet.to_csv(CSV_COLUMNS, map(cells, matrix.rows))


def _attachment(target_id: UUID) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="decomposition-{target_id}.csv"'}


def _typed(axis: Axis, prefix: str) -> dict[str, Any]:
    """A split's figures as typed: allocations are values of the metric (a percent only for a
    rate), weights and a ramp are shares ("60%" is 0.6); an error names the exact key."""
    weights, ramp = axis.weights, axis.ramp
    return {
        "allocations": typed_values(axis.allocations, f"{prefix}allocations"),
        "weights": None if weights is None else {k: share_form(v, f"{prefix}weights.{k}") for k, v in weights.items()},
        "ramp": None if ramp is None else [share_form(v, f"{prefix}ramp.{n}") for n, v in enumerate(ramp)],
    }
