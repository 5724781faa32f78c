"""Console page 7: a period's review for a node, printable, with the API's CSV and xlsx exports."""

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from target_ledger.api import report_workbooks, workbook
from target_ledger.api.review_export import to_csv
from target_ledger.api.reviews import READ_MODELS
from target_ledger.application import Command, reviews
from target_ledger.console import i18n
from target_ledger.console.dashboard import places
from target_ledger.console.pages_support import After, fresh
from target_ledger.console.web import Page

Node = Annotated[str, QueryParameter(min_length=1, max_length=64)]


@get("/reviews/{period:str}", name="console:review")
async def review_page(
    command: NamedDependency[Command], state: State, period: FromPath[str], node: Node, after: After = None
) -> Page:
    """As GET /v1/reviews/{period}?node= (the same report, the same access rule)."""
    await fresh(state, READ_MODELS, after)
    report = await reviews.review_report(command, period=period, node=node)
    catalog = await command.catalog()
    metrics = {row["metric"]: places(catalog.metric(row["metric"])) for row in report["rows"]}
    return Page("review.html", {"report": report, "places": metrics})


@get("/reviews/{period:str}/export/{kind:str}", name="console:review-export")
async def review_export(
    request: Request,
    command: NamedDependency[Command],
    period: FromPath[str],
    kind: FromPath[Literal["csv", "xlsx"]],
    node: Node,
) -> Response[Any]:
    """The API's CSV and xlsx exports, through the console's session (the API wants a bearer token)."""
    report: dict[str, Any] = msgspec.to_builtins(await reviews.review_report(command, period=period, node=node))
    filename = f"review-{report['period']}-{node}"
    if kind == "csv":
        headers = {"Content-Disposition": f'attachment; filename="{filename}.csv"'}
        return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    catalog = await command.catalog()
    units: dict[str, str] = {row["metric"]: catalog.metric(row["metric"]).unit for row in report["rows"]}
    book = report_workbooks.review(report, units, workbook.language(i18n.html_lang(i18n.language(request))))
    return Response(book, media_type=workbook.XLSX, headers=workbook.attachment(filename))


PAGES = [review_page, review_export]
