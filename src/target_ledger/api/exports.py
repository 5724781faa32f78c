"""The files (xlsx, csv, html) of the decomposition, the attainment views and the review, as operations of their own.

`?format=xlsx` on the JSON reads answers the same files; but one operation whose answer is JSON or
a file, by a query value, is more than a client generator can say (it reads every 200 as the
first media type, JSON). Each file therefore has an operation at `…/export` that answers nothing
but files, so a generated client hands back the file's bytes: the read's own handler function,
taken as it is, behind a guard that refuses `format=json` (422 naming `format`; the document
lists the file formats alone and requires one, api/openapi.py EXPORTS).
"""

from litestar import Controller, get
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from target_ledger.api.attainment import AttainmentController
from target_ledger.api.query_values import refuse
from target_ledger.api.reviews import ReviewController
from target_ledger.api.targets import TargetController


def files_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """An export answers a file: `format` names one (xlsx, csv, html), never json."""
    if connection.query_params.get("format", "json") == "json":
        raise refuse("format", "name the file to export (e.g. xlsx); the JSON is the read's without /export")


class ExportController(Controller):
    path = "/v1"
    tags = ["exports"]
    guards = [files_only]

    decomposition = get(
        "/targets/{target_id:uuid}/decomposition/export",
        summary="The decomposition matrix as a file: xlsx (a sheet per pair of axes) or csv",
    )(TargetController.matrix.fn)
    attainment = get(
        "/attainment/export", summary="How a node stands against its target, with a breakdown, as a workbook"
    )(AttainmentController.read.fn)
    leaderboard = get(
        "/attainment/leaderboard/export", summary="The people of a unit ranked by attainment, as a workbook"
    )(AttainmentController.leaderboard.fn)
    review = get(
        "/reviews/{period:str}/export", summary="The historical review as a file: xlsx, csv or a printable html page"
    )(ReviewController.read.fn)
