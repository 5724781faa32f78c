"""Console page 6: alerts and corrective actions — acknowledge, open with causes, progress, complete, effect."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath

from projections import actions as actions_model
from projections import alerts as alerts_model
from target_ledger.api.corrective_actions import Completion, OpenAction, Progress
from target_ledger.api.monitoring import Acknowledgement
from target_ledger.application import Command, alerts, corrective_actions
from target_ledger.console.pages_support import After, FormBody, Outcome, attempt, back, decode, fresh, refused
from target_ledger.console.web import Page
from target_ledger.domain.corrective_action import FACTORS, Cause

READ_MODELS = [alerts_model.NAME, actions_model.NAME]
CAUSE_ROWS = 2  # cause rows the form offers; an empty row is left out
# The fields the page's forms show an error beside; any other (alert_id, a form not on the page) goes on top.
PLACED = {"form", "comment", "note", "outcome", "target_id", "causes", "plan", "owner", "due", "resources"}
PLACED |= {"expected_effect", *(f"causes[{i}].factor" for i in range(CAUSE_ROWS))}


def _unplaced(errors: dict[str, str], form_shown: bool) -> str | None:
    """Every error no field on the page shows, as one line on top (an error is never left unsaid)."""
    left = [f"{name}: {message}" for name, message in errors.items() if not form_shown or name not in PLACED]
    return "; ".join(left) or None


async def _page(command: Command, form: str = "", outcome: Outcome | None = None, sent: Any = None) -> Page:
    """Open alerts I may see (GET /v1/alerts?status=open) and actions I may see (GET /v1/corrective-actions)."""
    actions = await corrective_actions.list_actions(command, owner=None, node=None, status=None)
    for action in actions:  # the read model keeps notes as JSON: their times as text
        action["notes"] = [{**n, "at": datetime.fromisoformat(n["at"])} for n in action["notes"]]
    shown = await alerts.list_alerts(command, node=None, status="open", mine=False)
    # The forms on the page; an error for one that is not (an alert or action the caller may not see) goes on top.
    forms = {"open-new"} | {f"{kind}-{a['alert_id']}" for a in shown for kind in ("ack", "open")}
    forms |= {f"{kind}-{a['id']}" for a in actions for kind in ("progress", "complete")}
    context = {
        "alerts": shown,
        "actions": actions,
        "unplaced": _unplaced(outcome.errors if outcome else {}, form in forms),
        "factors": FACTORS,
        "cause_rows": range(CAUSE_ROWS),
        "form": form,
        "errors": outcome.errors if outcome else {},
        "sent": sent or {},
    }
    return Page("alerts.html", context, outcome.status if outcome else 200)


@get("/alerts", name="console:alerts")
async def alerts_page(command: NamedDependency[Command], state: State, after: After = None) -> Page:
    await fresh(state, READ_MODELS, after)
    return await _page(command)


async def _done(command: Command, form: str, outcome: Outcome, data: Mapping[str, str]) -> Response:
    if outcome.value is None:
        return await _page(command, form, outcome, data)
    return back("/console/alerts", outcome.value[1])


@post("/alerts/{alert_id:uuid}/acknowledgement", name="console:alert-acknowledge")
async def acknowledge(command: NamedDependency[Command], alert_id: FromPath[UUID], data: FormBody) -> Response:
    form = f"ack-{alert_id}"
    body, errors = decode(data, Acknowledgement)
    if body is None:
        return await _page(command, form, refused(errors), data)
    return await _done(command, form, await attempt(alerts.acknowledge(command, alert_id, body.comment)), data)


def _opening(data: Mapping[str, str]) -> tuple[corrective_actions.Opening | None, dict[str, str]]:
    """The form read by POST /v1/corrective-actions' own body (its limits and formats, once)."""
    rows = [{k: data.get(f"{k}-{i}", "") for k in ("kind", "factor", "description")} for i in range(CAUSE_ROWS)]
    causes = [
        {**row, "kind": row["kind"] or "subjective"} for row in rows if row["factor"] or row["description"].strip()
    ]
    body, errors = decode({**data, "causes": causes}, OpenAction)
    if body is None:
        return None, errors
    found = [Cause(**msgspec.structs.asdict(c)) for c in body.causes]
    return corrective_actions.Opening(**{**msgspec.structs.asdict(body), "causes": found}), {}


@post("/actions", name="console:action-open")
async def open_action(command: NamedDependency[Command], data: FormBody) -> Response:
    form = f"open-{data.get('alert_id') or 'new'}"
    opening, errors = _opening(data)
    if opening is None:
        return await _page(command, form, refused(errors), data)
    return await _done(command, form, await attempt(corrective_actions.open_action(command, opening)), data)


@post("/actions/{action_id:uuid}/progress", name="console:action-progress")
async def progress(command: NamedDependency[Command], action_id: FromPath[UUID], data: FormBody) -> Response:
    form = f"progress-{action_id}"
    body, errors = decode(data, Progress)
    if body is None:
        return await _page(command, form, refused(errors), data)
    return await _done(command, form, await attempt(corrective_actions.progress(command, action_id, body.note)), data)


@post("/actions/{action_id:uuid}/completion", name="console:action-complete")
async def complete(command: NamedDependency[Command], action_id: FromPath[UUID], data: FormBody) -> Response:
    form = f"complete-{action_id}"
    body, errors = decode(data, Completion)
    if body is None:
        return await _page(command, form, refused(errors), data)
    outcome = await attempt(corrective_actions.complete(command, action_id, body.outcome))
    return await _done(command, form, outcome, data)


PAGES = [alerts_page, acknowledge, open_action, progress, complete]
