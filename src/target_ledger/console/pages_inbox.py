"""Console page 3: the approver inbox — pending requests routed to me, their impact, approve or reject."""

from uuid import UUID

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath

from projections import attainment as attainment_model
from projections import inbox as inbox_model
from target_ledger.api.adjustments import Decision
from target_ledger.application import Command, adjustments
from target_ledger.console.pages_support import After, FormBody, Outcome, attempt, back, decode, fresh, refused
from target_ledger.console.web import Page

READ_MODELS = [inbox_model.NAME, attainment_model.NAME]  # the impact reads actuals too, as the API's inbox


async def _page(command: Command, failed: UUID | None = None, outcome: Outcome | None = None) -> Page:
    """The requests I may approve next (the API's GET /v1/adjustments?status=pending&approver=me)."""
    pending = await adjustments.inbox(command, status="pending", mine=True)
    for request in pending:  # the inbox read model keeps no evidence: the request does (GET /v1/adjustments/{id})
        request["evidence"] = (await adjustments.read_adjustment(command, UUID(str(request["adjustment_id"])))).evidence
    errors = {str(failed): outcome.errors} if failed and outcome else {}
    # An error about a request not listed (decided meanwhile, or not the caller's to decide) goes on top.
    listed = {str(r["adjustment_id"]) for r in pending}
    unplaced = next(iter(outcome.errors.values())) if outcome and str(failed) not in listed else None
    context = {"requests": pending, "failed": errors, "unplaced": unplaced}
    return Page("inbox.html", context, outcome.status if outcome else 200)


@get("/inbox", name="console:inbox")
async def inbox_page(command: NamedDependency[Command], state: State, after: After = None) -> Page:
    await fresh(state, READ_MODELS, after)
    return await _page(command)


@post("/inbox/{adjustment_id:uuid}/approve", name="console:inbox-approve")
async def approve(command: NamedDependency[Command], adjustment_id: FromPath[UUID]) -> Response:
    outcome = await attempt(adjustments.approve(command, adjustment_id))
    if outcome.value is None:
        return await _page(command, adjustment_id, outcome)
    return back("/console/inbox", outcome.value[1])


@post("/inbox/{adjustment_id:uuid}/reject", name="console:inbox-reject")
async def reject(command: NamedDependency[Command], adjustment_id: FromPath[UUID], data: FormBody) -> Response:
    body, errors = decode(data, Decision)  # the API's body: its limits and the NUL rule
    if body is None or not body.reason.strip():  # the API accepts an empty reason; a person rejecting says why
        return await _page(command, adjustment_id, refused(errors or {"reason": "required"}))
    outcome = await attempt(adjustments.reject(command, adjustment_id, body.reason.strip()))
    if outcome.value is None:
        return await _page(command, adjustment_id, outcome)
    return back("/console/inbox", outcome.value[1])


PAGES = [inbox_page, approve, reject]
