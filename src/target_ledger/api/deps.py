"""Dependencies the controllers ask for, built from app state and the request."""

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from target_ledger.api.edge import request_id
from target_ledger.api.idempotency import keyed_request
from target_ledger.application import Command
from target_ledger.domain.access import Principal


def provide_command(request: Request[Principal, dict, State], state: State) -> Command:
    return command_for(request, state, request.user)


def command_for(request: Request, state: State, actor: Principal) -> Command:
    """A command by `actor` (the bearer token's, or the console session's) for this request."""
    return Command(
        store=state.store,
        clock=state.clock,
        actor=actor,
        request_id=request_id(request.scope),  # the id its log lines and its answer carry
        correlation_id=request.headers.get("x-correlation-id"),
        idempotency_key=keyed_request(request.scope),
        # Several If-Match lines are one list (RFC 9110 §5.3).
        if_match=", ".join(request.headers.getall("if-match", [])) or None,
        calendar=state.calendar,
        thresholds=state.thresholds,
        caches=state.caches,
        actual_max_days_ahead=state.settings.actual_max_days_ahead,
    )


DEPENDENCIES = {
    "command": Provide(provide_command, sync_to_thread=False),
}
