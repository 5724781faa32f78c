"""Console page 4: a target — value, decomposition, timeline, as known on a date, explain, and its forms."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath

from projections import audit as audit_model
from projections import targets as target_tree
from target_ledger.api.adjustments import RequestAdjustment
from target_ledger.application import Command, adjustments, audit, targets
from target_ledger.console.dashboard import places
from target_ledger.console.pages_support import (
    After,
    Answer,
    Box,
    FormBody,
    Outcome,
    attempt,
    back,
    day,
    decode,
    fresh,
    lines,
    optional,
    refused,
)
from target_ledger.console.web import Page
from target_ledger.domain.adjustment import REASONS
from target_ledger.domain.errors import DomainError
from target_ledger.domain.values import typed_value

READ_MODELS = [audit_model.NAME, target_tree.NAME]


def _known_on(day: date, at: time | None) -> datetime:
    """What the ledger had recorded by the end of a day ("as known on"), or by a time that day (UTC)."""
    return datetime.combine(day, at or time.max, tzinfo=UTC)


async def _page(
    command: Command,
    state: State,
    target_id: UUID,
    as_of: date | None = None,
    at: time | None = None,
    form: str = "",
    outcome: Outcome | None = None,
    sent: Mapping[str, str] | None = None,
) -> Page:
    target = await targets.read_target(command, target_id)  # the API's access check: 403 / 404 as there
    # As GET /v1/targets/{id}?as_of=: rebuilt from the events recorded by then (none yet: not there).
    then = None
    if as_of is not None:
        then = (await attempt(targets.get_target_as_of(command.store, target_id, _known_on(as_of, at)))).value
    _, events = await targets.explain(command.store, target_id)  # as GET /v1/targets/{id}/explain
    async with state.pool.acquire() as conn:
        matrix = await target_tree.fetch_tree(conn, target_id)  # as GET /v1/targets/{id}/decomposition
    org = await command.org()
    # Only to offer the form to whom it concerns: targets.respond decides who may answer, as for the API.
    assignee = target.node if org.is_person(target.node) else org.manager_of(target.node, command.today())
    context: dict[str, Any] = {
        "target": target,
        "places": places((await command.catalog()).metric(target.metric)),  # cents for money, none for a count
        "matrix": matrix,
        "history": await audit.history(command, target_id),
        "events": events,
        "as_of": as_of,
        "at": at,
        "then": then,
        "is_assignee": assignee == command.actor.subject,
        "reasons": REASONS,
        "form": form,
        "errors": outcome.errors if outcome else {},
        "sent": sent or {},
    }
    return Page("target.html", context, outcome.status if outcome else 200)


@get("/targets/{target_id:uuid}", name="console:target")
async def target_page(
    command: NamedDependency[Command],
    state: State,
    target_id: FromPath[UUID],
    as_of: Box = None,
    at: Box = None,
    after: After = None,
) -> Page:
    await fresh(state, READ_MODELS, after)
    errors: dict[str, str] = {}  # a date picker sends ISO dates; anything else is that box's error
    known_on, moment = optional(day, as_of, "as_of", errors), optional(time.fromisoformat, at, "at", errors)
    return await _page(command, state, target_id, known_on, moment, "as_of", refused(errors) if errors else None)


@post("/targets/{target_id:uuid}/adjustments", name="console:target-adjust")
async def request_adjustment(
    command: NamedDependency[Command], state: State, target_id: FromPath[UUID], data: FormBody
) -> Response:
    # Read as POST /v1/targets/{id}/adjustments reads its body: the API's limits and formats, once.
    typed = data.get("new_value", "").replace(",", "")  # 1,000,000 as people write it
    form = {**data, "evidence": lines(data.get("evidence", "")), "new_value": typed}
    body, errors = decode(form, RequestAdjustment)
    if body is None:  # an error about one evidence line ("evidence[3]") is the evidence box's
        errors = {k.split("[")[0]: v for k, v in errors.items()}
        if "new_value" in errors:  # said in the reader's language, rather than as the API's pattern
            errors["new_value"] = "number"
        return await _page(command, state, target_id, None, None, "adjust", refused(errors), data)
    fields = msgspec.structs.asdict(body)
    try:  # a rate may be typed "15%", as for the API
        fields["new_value"] = None if body.new_value is None else typed_value(body.new_value, "new_value")
    except DomainError:  # it does not read as a number (its rules come later): said in the reader's language
        return await _page(command, state, target_id, None, None, "adjust", refused({"new_value": "number"}), data)
    ask = adjustments.Ask(**fields)
    outcome = await attempt(adjustments.request_adjustment(command, target_id, ask))
    if outcome.value is None:
        return await _page(command, state, target_id, None, None, "adjust", outcome, data)
    return back(f"/console/targets/{target_id}", outcome.value[1])


@post("/targets/{target_id:uuid}/response", name="console:target-respond")
async def respond(
    command: NamedDependency[Command], state: State, target_id: FromPath[UUID], data: FormBody
) -> Response:
    """The assignee acknowledges or disputes (the button pressed says which)."""
    answer, errors = decode(data, Answer)  # acknowledge or dispute, nothing else (as the API's two routes)
    if answer is None:
        return await _page(command, state, target_id, None, None, "respond", refused(errors), data)
    agree = answer.answer == "acknowledge"
    outcome = await attempt(targets.respond(command, target_id, agree=agree, comment=answer.comment))
    if outcome.value is None:
        return await _page(command, state, target_id, None, None, "respond", outcome, data)
    return back(f"/console/targets/{target_id}", outcome.value)


PAGES = [target_page, request_adjustment, respond]
