"""/v1/reviews: record a closed period's review; read the historical review as JSON, CSV or HTML."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from projections import actions, alerts, attainment, audit, reviews
from target_ledger.api import report_workbooks, workbook
from target_ledger.api.attainment import MinPosition, wait_for
from target_ledger.api.openapi import answers
from target_ledger.api.review_export import to_csv, to_html
from target_ledger.api.schemas import Input, NodeId, PeriodKey, Struct
from target_ledger.application import Command
from target_ledger.application import reviews as review_service

Notes = Annotated[list[Annotated[str, msgspec.Meta(max_length=2000)]], msgspec.Meta(max_length=50)]


class RecordReview(Input):
    period: PeriodKey
    node: NodeId
    summary: Annotated[str, msgspec.Meta(min_length=1, max_length=8000)]
    success_factors: Notes = []
    shortfall_causes: Notes = []
    lessons: Notes = []
    next_actions: Notes = []


class Recorded(Struct):
    review_id: UUID
    period: str
    node: str
    position: int


class Compared(Struct):
    period: str
    original: Decimal
    final: Decimal
    actual: Decimal
    attainment_pct: Decimal | None
    gap: Decimal | None


class ReviewRow(Struct):
    node: str
    metric: str
    scope: dict[str, str]
    period: str
    target_id: UUID
    original: Decimal
    final: Decimal
    adjustments: list[dict[str, Any]]
    actual: Decimal
    attainment_pct: Decimal | None
    gap: Decimal | None
    status: str | None
    alerts: list[dict[str, Any]]
    corrective_actions: list[dict[str, Any]]
    previous: Compared | None
    last_year: Compared | None


class ReviewNotes(Struct):
    reviewer: str
    summary: str
    success_factors: list[str]
    shortfall_causes: list[str]
    lessons: list[str]
    next_actions: list[str]
    recorded_at: datetime
    position: int


class HistoricalReview(Struct):
    period: str
    node: str
    starts_on: date
    ends_on: date
    closed: bool
    rows: list[ReviewRow]
    review: ReviewNotes | None


READ_MODELS = [attainment.NAME, audit.NAME, alerts.NAME, actions.NAME, reviews.NAME]


class ReviewController(Controller):
    path = "/v1/reviews"
    tags = ["reviews"]

    @post("/", status_code=201, summary="Record the review of a closed period for a node")
    async def record(self, data: JSONBody[RecordReview], command: NamedDependency[Command]) -> Recorded:
        notes = msgspec.structs.asdict(data)
        period, node = notes.pop("period"), notes.pop("node")
        review, position = await review_service.record_review(command, period=period, node=node, notes=notes)
        return Recorded(review_id=review.id, period=review.period, node=review.node, position=position)

    @get(
        "/{period:str}",
        summary="The historical review of a period for a node and its children",
        media_type=MediaType.JSON,
        responses=answers(HistoricalReview),
    )
    async def read(
        self,
        period: FromPath[str],
        state: State,
        command: NamedDependency[Command],
        node: Annotated[NodeId, QueryParameter()],
        format: Annotated[
            Literal["json", "csv", "html", "xlsx"],
            QueryParameter(description="csv: a spreadsheet; html: a printable report; xlsx: a workbook by metric"),
        ] = "json",
        min_position: MinPosition = None,
        accept_language: Annotated[str | None, HeaderParameter(name="Accept-Language", max_length=200)] = None,
    ) -> Response:
        for name in READ_MODELS:
            await wait_for(state, name, min_position)
        report = msgspec.to_builtins(await review_service.review_report(command, period=period, node=node))
        checked = msgspec.convert(report, HistoricalReview)
        filename = f"review-{checked.period}-{node}"
        if format == "csv":
            headers = {"Content-Disposition": f'attachment; filename="{filename}.csv"'}
            return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
        if format == "xlsx":
            catalog = await command.catalog()
            units: dict[str, str] = {row.metric: catalog.metric(row.metric).unit for row in checked.rows}
            book = report_workbooks.review(report, units, workbook.language(accept_language))
            return Response(book, media_type=workbook.XLSX, headers=workbook.attachment(filename))
        if format == "html":
            return Response(to_html(report), media_type=MediaType.HTML)
        return Response(checked)
