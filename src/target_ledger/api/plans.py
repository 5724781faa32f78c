"""/v1/plans/import: the annual plan from an .xlsx or CSV file, tried (dry run) or stored in one append."""

import asyncio
import hashlib
from typing import Annotated

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from target_ledger.api.errors import problem
from target_ledger.api.openapi import answers
from target_ledger.api.workbook import XLSX
from target_ledger.application import Command
from target_ledger.application.plans import PlanReport, Problem, import_plan
from target_ledger.application.reads import authorize_member
from target_ledger.plan_file import PlanFileError, read_plan_file
from target_ledger.xlsx_file import MAX_UNZIPPED

PLAN_FILE = (
    "The body is the plan file itself, sent as it is (Content-Type `application/octet-stream`, `text/csv` or `"
    + XLSX
    + "`): an .xlsx workbook or a UTF-8 CSV, a row per target (node, metric, period, scope, target, stretch, "
    "rationale, part of; zh-CN or en headers) and optional split columns: periods such as `2026-03`, or dimension "
    "values such as `product:A`. A part split further is a row of its own; the rows naming a node in `part of` "
    "make that node's target's org split. An .xlsx is known by its content (a zip), whatever the Content-Type; "
    f"it may unzip to {MAX_UNZIPPED // 2**20} MiB at most. Only the visible sheets whose first row is a plan header "
    "are read; the others are listed under `warnings`. "
)


def _where(p: Problem) -> str:
    return f"{p.sheet}!{p.row}" + (f" {p.column}" if p.column else "")


class PlanController(Controller):
    path = "/v1/plans"
    tags = ["targets"]

    @post(
        "/import",
        status_code=200,
        summary="Import the annual plan: targets and their splits from an .xlsx or CSV file",
        responses=answers(PlanReport, 200, 201),
        description=PLAN_FILE + "A dry run answers the targets to set, the splits, the targets that would need an "
        "adjustment request, and every error by sheet, row and column, storing nothing. Otherwise the new "
        "targets and splits are stored in one append (all or nothing; 201), with the file's sha256 in the "
        "events' metadata; the same file again stores nothing (200). A changed value of an existing target "
        "is never applied: it is listed under `needs_adjustment`. A target above its org ancestor's, or children "
        "adding up to more than their parent, are listed under `warnings` and do not block.",
    )
    async def import_plan(
        self,
        request: Request,
        command: NamedDependency[Command],
        dry_run: Annotated[bool, QueryParameter(description="answer what would happen, store nothing")] = False,
    ) -> Response:
        await authorize_member(command)  # an outsider learns nothing of the plan's targets
        data = await request.body()  # the file as sent: not JSON, so no `data` parameter
        try:
            # In a worker thread: a large workbook takes seconds to parse, and the loop serves everyone else.
            plan = await asyncio.to_thread(read_plan_file, data, "csv", "the plan file")
        except PlanFileError as error:
            return problem(422, "Invalid plan", str(error), errors=[{"field": "body", "message": str(error)}])
        lines, problems = plan.lines, plan.problems
        skipped = [Problem(sheet="", row=1, column=None, message=f"sheet skipped: {s}") for s in plan.skipped]
        report = await import_plan(command, lines, hashlib.sha256(data).hexdigest(), dry_run=dry_run or bool(problems))
        errors = [*problems, *report.errors]
        if errors and not dry_run:
            detail = f"{len(errors)} error(s) in the plan; nothing was stored: " + "; ".join(
                f"{_where(p)}: {p.message}" for p in errors[:5]
            )
            items = [
                {"field": _where(p), "sheet": p.sheet, "row": p.row, "column": p.column, "message": p.message}
                for p in errors
            ]
            return problem(422, "Invalid plan", detail, errors=items)
        body = PlanReport(**{**_fields(report), "errors": errors, "warnings": [*skipped, *report.warnings]})
        return Response(body, status_code=201 if report.stored else 200)


def _fields(report: PlanReport) -> dict:
    return {f: getattr(report, f) for f in report.__struct_fields__}
