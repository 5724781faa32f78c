"""Console page 6: alerts and corrective actions — acknowledge, open with causes, progress, complete, effect."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath

from projections import actions as actions_model
from projections import alerts as alerts_model
from target_ledger.application import Command, alerts, corrective_actions
from target_ledger.console.pages_support import After, FormBody, Outcome, attempt, back, fresh, optional, refused
from target_ledger.console.web import Page
from target_ledger.domain.corrective_action import FACTORS, Cause

READ_MODELS = [alerts_model.NAME, actions_model.NAME]
CAUSE_ROWS = 2  # cause rows the form offers; an empty row is left out


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
        "unplaced": (outcome.errors.get("form") if outcome and form not in forms else None),
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
    outcome = await attempt(alerts.acknowledge(command, alert_id, data.get("comment", "")))
    return await _done(command, f"ack-{alert_id}", outcome, data)


def _opening(data: Mapping[str, str]) -> tuple[corrective_actions.Opening | None, dict[str, str]]:
    """The form as the use case's input; what cannot even be read (an id, a date) is that field's error."""
    errors: dict[str, str] = {}
    target_id = optional(UUID, data.get("target_id"), "target_id", errors)
    due = optional(date.fromisoformat, data.get("due"), "due", errors)
    alert_id = optional(UUID, data.get("alert_id"), "alert_id", errors)
    if target_id is None:
        errors.setdefault("target_id", "id")
    if due is None:
        errors.setdefault("due", "date")
    causes = [
        Cause(
            kind="objective" if data.get(f"kind-{i}") == "objective" else "subjective",
            factor=data.get(f"factor-{i}", ""),
            description=data.get(f"description-{i}", ""),
        )
        for i in range(CAUSE_ROWS)
        if data.get(f"factor-{i}") or data.get(f"description-{i}", "").strip()
    ]
    if errors or target_id is None or due is None:
        return None, errors
    opening = corrective_actions.Opening(
        target_id=target_id,
        causes=causes,
        plan=data.get("plan", ""),
        owner=data.get("owner", ""),
        due=due,
        alert_id=alert_id,
        resources=data.get("resources", ""),
        expected_effect=data.get("expected_effect", ""),
    )
    return opening, {}


@post("/actions", name="console:action-open")
async def open_action(command: NamedDependency[Command], data: FormBody) -> Response:
    form = f"open-{data.get('alert_id') or 'new'}"
    opening, errors = _opening(data)
    if opening is None:
        return await _page(command, form, refused(errors), data)
    return await _done(command, form, await attempt(corrective_actions.open_action(command, opening)), data)


@post("/actions/{action_id:uuid}/progress", name="console:action-progress")
async def progress(command: NamedDependency[Command], action_id: FromPath[UUID], data: FormBody) -> Response:
    outcome = await attempt(corrective_actions.progress(command, action_id, data.get("note", "")))
    return await _done(command, f"progress-{action_id}", outcome, data)


@post("/actions/{action_id:uuid}/completion", name="console:action-complete")
async def complete(command: NamedDependency[Command], action_id: FromPath[UUID], data: FormBody) -> Response:
    outcome = await attempt(corrective_actions.complete(command, action_id, data.get("outcome", "")))
    return await _done(command, f"complete-{action_id}", outcome, data)


PAGES = [alerts_page, acknowledge, open_action, progress, complete]
