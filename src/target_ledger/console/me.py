"""My targets: a rep's targets this period with attainment and pace; acknowledge or dispute; record an actual."""

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from projections import actions as actions_model
from projections import alerts as alerts_model
from projections import attainment as attainment_model
from projections import targets as targets_model
from target_ledger.api.attainment import MinPosition
from target_ledger.api.schemas import RecordActual
from target_ledger.application import Command
from target_ledger.application.actuals import ActualInput, record_actual
from target_ledger.application.alerts import list_alerts
from target_ledger.application.attainment import attainment
from target_ledger.application.corrective_actions import list_actions
from target_ledger.application.lists import TargetQuery, list_targets
from target_ledger.application.targets import respond
from target_ledger.console.dashboard import places
from target_ledger.console.pages_support import Answer, decode, fresh
from target_ledger.console.web import Page
from target_ledger.domain.access import Principal
from target_ledger.domain.errors import DomainError, ForbiddenError, NotFoundError

ACTUAL_FIELDS = {"metric", "date", "value"}  # the boxes shown; an error about another is the form's own
# Every read model the page shows (the acknowledgement is the targets model's, the standing attainment's):
# a page sent back after a write waits for each, or the write may be missing from the part it lives in.
READ_MODELS = [targets_model.NAME, attainment_model.NAME, alerts_model.NAME, actions_model.NAME]


async def _context(command: Command, principal: Principal) -> dict[str, Any]:
    """My targets covering today, each with its standing as /v1/attainment has it; my alerts and actions."""
    me, today = principal.subject, command.today()
    found = await list_targets(command, TargetQuery(node=me), after=None, limit=200)
    current = [t for t in found if t["starts_on"] <= today <= t["ends_on"]]
    rows, catalog = [], await command.catalog()
    for t in current:
        row, _, _ = await attainment(
            command, node=me, metric=t["metric"], period=t["period"], scope=t["scope"], breakdown=None
        )
        rows.append((t, row, places(catalog.metric(t["metric"]))))
    return {
        "targets": rows,
        "metrics": sorted(catalog.metrics),
        "today": today.isoformat(),
        "reference": uuid.uuid4().hex,  # re-sending the same form records the actual once
        "alerts": await list_alerts(command, node=None, status="open", mine=True),
        "actions": await list_actions(command, owner=me, node=None, status="open"),
        "values": {},
    }


@get("/me", name="console:me")
async def my_targets(
    state: State,
    principal: NamedDependency[Principal],
    command: NamedDependency[Command],
    min_position: MinPosition = None,
) -> Page:
    await fresh(state, READ_MODELS, min_position)  # the write this page was sent back from shows
    return Page("me.html", await _context(command, principal))


@post("/me/targets/{target_id:uuid}/response", name="console:respond", status_code=303)
async def answer_target(
    request: Request,
    principal: NamedDependency[Principal],
    command: NamedDependency[Command],
    target_id: FromPath[uuid.UUID],
) -> Any:
    """Acknowledge (agree) or dispute, as POST /v1/targets/{id}/acknowledgement and /dispute do."""
    form = await request.form()
    comment = str(form.get("comment") or "")
    answer, refusal = decode(dict(form), Answer)  # acknowledge or dispute, nothing else (as the API's two routes)
    sent = {f"{target_id}:comment": comment}
    if answer is None:
        return await _refused(command, principal, {f"{target_id}:{k}": v for k, v in refusal.items()}, sent)
    try:
        position = await respond(command, target_id, agree=answer.answer == "acknowledge", comment=answer.comment)
    except DomainError as e:
        if isinstance(e, ForbiddenError | NotFoundError):
            raise  # the 403 or 404 page
        return await _refused(command, principal, {f"{target_id}:{e.field or 'answer'}": str(e)}, sent)
    return Redirect(f"/console/me?min_position={position}", status_code=303)


@post("/me/actuals", name="console:record-actual", status_code=303)
async def record(request: Request, principal: NamedDependency[Principal], command: NamedDependency[Command]) -> Any:
    """An actual of my own, as POST /v1/actuals records it (source `manual`)."""
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("metric", "date", "value", "external_ref")}
    # Read as POST /v1/actuals reads its body: the API's limits, the NUL rule, its date and decimal formats.
    item, refusal = decode({**values, "person": principal.subject}, RecordActual)
    errors = {_form_field(k): v for k, v in refusal.items()}
    if item is not None:
        actual = ActualInput(item.person, item.metric, item.date, item.value, external_ref=item.external_ref)
        try:
            outcome = await record_actual(command, actual)
            return Redirect(f"/console/me?min_position={outcome.position}", status_code=303)
        except DomainError as e:
            if isinstance(e, ForbiddenError):
                raise
            errors[_form_field(e.field)] = str(e)
    context = await _context(command, principal)
    return Page("me.html", {**context, "errors": errors, "values": values}, status_code=422)


def _form_field(field: str | None) -> str:
    """The form's name for a field the application names (`occurred_on` is the form's `date`);
    an error about no one field (a closed period) is the form's own."""
    if field in ("date", "occurred_on"):
        return "date"
    return field if field in ACTUAL_FIELDS else "actual"


async def _refused(command: Command, principal: Principal, errors: dict[str, str], sent: dict[str, str]) -> Page:
    """My targets again with the refusal beside the answer it is about (422)."""
    return Page("me.html", {**await _context(command, principal), "errors": errors, "values": sent}, 422)


PAGES = [my_targets, answer_target, record]
