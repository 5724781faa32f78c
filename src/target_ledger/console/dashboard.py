"""The team dashboard: one row per node with its standing, drill-downs, the weekly chart, alerts and the leaderboard."""

from datetime import date
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from projections import actions as actions_model
from projections import alerts as alerts_model
from projections import attainment as model
from target_ledger.api.attainment import MinPosition
from target_ledger.application import Command
from target_ledger.application.alerts import list_alerts
from target_ledger.application.attainment import attainment, leaderboard
from target_ledger.application.corrective_actions import list_actions
from target_ledger.console import chart, i18n
from target_ledger.console.pages_support import fresh
from target_ledger.console.web import Page
from target_ledger.domain.access import Principal, can_read
from target_ledger.domain.calendar import Calendar
from target_ledger.domain.catalog import Metric
from target_ledger.domain.errors import DomainError, ForbiddenError, NotFoundError
from target_ledger.domain.org import Organisation

Text = Annotated[str | None, QueryParameter(max_length=64)]
FILTERS = ("period", "metric", "breakdown")


def places(metric: Metric) -> int:
    """Decimal places the metric's figures show at least: cents for money, none for a count, two for a rate
    (the number filter shows any further places a figure has: nothing is rounded away)."""
    return min(2, max(0, -int(metric.step.as_tuple().exponent)))


def current_quarter(calendar: Calendar, today: date) -> str:
    """The fiscal quarter holding today, found among the fiscal year's (the calendar knows where they start)."""
    year = calendar.parse(str(today.year))
    if not year.contains(today):
        year = calendar.parse(str(today.year - 1))
    return next(q.key for q in calendar.children(year, "quarter") if q.contains(today))


def home_node(principal: Principal, org: Organisation, today: date) -> str:
    """Where a person lands: the highest unit they manage, the company for a role, else their own row."""
    managed = [u for u in org.units if org.manager_of(u, today) == principal.subject]
    top = [
        u for u in managed if not any(org.manager_of(a, today) == principal.subject for a in org.ancestors(u, today))
    ]
    if top:
        return top[0]
    if principal.role:
        return next((u for u in org.units if org.parent(u, today) is None), principal.subject)
    return principal.subject


async def _charts(cmd: Command, request: Request, *, node: str, metric: str, period: str) -> dict[str, Any] | None:
    """The weekly bars and the cumulative lines, planned and actual; None without a target."""
    found = await chart.weeks(cmd, node=node, metric=metric, period=period)
    if not found:
        return None
    gettext = i18n.translations(i18n.language(request)).gettext
    labels = [w.key for w in found]
    planned, actual = chart.weekly(found)
    return {
        "weekly": chart.plot(
            "bars",
            labels,
            [
                chart.Series(gettext("Planned"), "planned", list(planned)),
                chart.Series(gettext("Actual"), "actual", actual),
            ],
        ),
        "cumulative": chart.plot(
            "lines",
            labels,
            [
                chart.Series(gettext("Planned"), "planned", [w.planned for w in found]),
                chart.Series(gettext("Actual"), "actual", [w.actual for w in found]),
            ],
        ),
    }


READ_MODELS = [model.NAME, alerts_model.NAME, actions_model.NAME]  # every read model the page shows


@get("/dashboard", name="console:dashboard")
async def dashboard(
    request: Request,
    state: State,
    principal: NamedDependency[Principal],
    command: NamedDependency[Command],
    node: Text = None,
    period: Text = None,
    metric: Text = None,
    breakdown: Text = None,
    min_position: MinPosition = None,
) -> Page:
    await fresh(state, READ_MODELS, min_position)  # a form that wrote just now shows its own write
    org, today, catalog = await command.org(), command.today(), await command.catalog()
    node = node or home_node(principal, org, today)
    period = period or current_quarter(command.calendar, today)
    metric = metric or "revenue"
    breakdown = breakdown or ("children" if org.is_unit(node) else "time")
    chosen = {"node": node, "period": period, "metric": metric, "breakdown": breakdown}
    try:
        row, rows, _ = await attainment(command, **chosen, scope={}, as_of=None)
    except DomainError as e:
        if isinstance(e, ForbiddenError | NotFoundError) and e.field not in FILTERS:
            raise  # the 403 or 404 page
        # A period, metric or breakdown the ledger refuses: the form again, the reason beside the field.
        errors = {e.field if e.field in FILTERS else "period": str(e)}
        form = {"metrics": sorted(catalog.metrics), "dimensions": sorted(catalog.dimensions), "errors": errors}
        return Page("dashboard.html", {**chosen, **form, "node_name": org.name(node), "row": None}, 422)
    charts = await _charts(command, request, node=node, metric=metric, period=period)
    parent = org.parent(node, today)
    actions = await list_actions(command, owner=None, node=node, status="open")
    leaders = await leaderboard(command, unit=node, metric=metric, period=period) if org.is_unit(node) else []
    context: dict[str, Any] = {
        **chosen,
        "node_name": org.name(node),
        "places": places(catalog.metric(metric)),
        "row": row,
        "rows": rows,
        "names": {r.node: org.name(r.node) for r in [*rows, *leaders] if org.exists(r.node)},
        "metrics": sorted(catalog.metrics),
        "dimensions": sorted(catalog.dimensions),
        "previous": command.calendar.previous(command.calendar.parse(period)).key,
        "parent": parent if parent and can_read(principal, org, parent, today) else None,
        "charts": charts,
        "alerts": await list_alerts(command, node=node, status="open", mine=False),
        "overdue": [a for a in actions if a["overdue"]],
        "leaders": leaders,
    }
    return Page("dashboard.html", context)


PAGES = [dashboard]
