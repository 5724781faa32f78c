"""The team dashboard: one row per node with its standing, drill-downs, the weekly chart, alerts and the leaderboard."""

from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from target_ledger.application import Command
from target_ledger.application.attainment import attainment
from target_ledger.console.web import Page
from target_ledger.domain.access import Principal

Text = Annotated[str | None, QueryParameter(max_length=64)]


@get("/dashboard", name="console:dashboard")
async def dashboard(
    principal: NamedDependency[Principal],
    command: NamedDependency[Command],
    node: Text = None,
    period: Text = None,
    metric: Text = None,
) -> Page:
    node = node or principal.subject
    period = period or f"{command.today():%Y-%m}"
    metric = metric or "revenue"
    row, rows, _ = await attainment(
        command, node=node, metric=metric, period=period, scope={}, breakdown="children", as_of=None
    )
    context: dict[str, Any] = {"node": node, "period": period, "metric": metric, "row": row, "rows": rows}
    return Page("dashboard.html", context)


PAGES = [dashboard]
