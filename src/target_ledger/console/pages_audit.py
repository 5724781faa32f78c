"""Console page 8: audit search — changes by node (and below), actor, time and reason, as GET /v1/audit."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from litestar import get
from litestar.datastructures import State
from litestar.di import NamedDependency

from projections import audit as audit_model
from target_ledger.application import Command, audit
from target_ledger.console.pages_support import After, Box, attempt, day, fresh, optional
from target_ledger.console.web import Page
from target_ledger.domain.adjustment import REASONS

LIMIT = 500  # a page a person reads; the API serves up to 10,000 to a program


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@get("/audit", name="console:audit")
async def audit_page(
    command: NamedDependency[Command],
    state: State,
    node: Box = None,
    actor: Box = None,
    since: Box = None,
    until: Box = None,
    reason: Box = None,
    after: After = None,
) -> Page:
    await fresh(state, [audit_model.NAME], after)
    node, actor, reason = node or None, actor or None, reason or None  # an empty box means "any"
    query = {
        "node": node or "",
        "actor": actor or "",
        "since": since or "",
        "until": until or "",
        "reason": reason or "",
    }
    context: dict[str, Any] = {"entries": [], "query": query, "reasons": REASONS, "limit": LIMIT, "searched": True}
    errors: dict[str, str] = {}
    first, last = (
        optional(day, since, "since", errors),
        optional(day, until, "until", errors),
    )
    if reason is not None and reason not in REASONS:
        errors["reason"] = f"one of {', '.join(REASONS)}"
    if errors:
        return Page("audit.html", {**context, "errors": errors}, 422)
    found = await attempt(
        audit.search(
            command,
            node=node,
            actor=actor,
            since=_start(first) if first else None,
            until=_start(last + timedelta(days=1)) if last else None,  # "to" a day includes that day
            reason_category=reason,
            limit=LIMIT,
        )
    )
    if found.value is None and not any(query.values()):
        # A first visit by someone who may not search everything (the search's rule): ask for a node, no error.
        return Page("audit.html", {**context, "searched": False})
    if found.value is None:  # an unknown or unreadable node is that box's error; otherwise the search's
        errors = {("node" if node else "form"): message for message in found.errors.values()}
        return Page("audit.html", {**context, "errors": errors}, found.status)
    return Page("audit.html", {**context, "entries": found.value, "searched": True})


PAGES = [audit_page]
