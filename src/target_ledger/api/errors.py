"""Every error becomes RFC 9457 problem+json here, and only here."""

import logging
import re
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from target_ledger.application import ReadModelBehindError
from target_ledger.application.actuals import ActualResentError, BatchInvalidError
from target_ledger.database import unavailable
from target_ledger.domain import errors
from target_ledger.eventstore import StreamConflictError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
DOMAIN_STATUS = {  # a domain error's status: that of the first class here it is an instance of
    errors.ForbiddenError: 403,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.DomainError: 422,
}
RETRY_AFTER = "5"  # seconds: about what a PostgreSQL restart takes
_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")
_PARAMETER = re.compile(r"parameter '([^']+)'")


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$")


def field_and_message(error: str) -> tuple[str | None, str]:
    """msgspec's "Expected `str`, got `int` - at `$.person`" as ("person", "Expected ..."); a
    field named in the message of a nested object is joined to its path ("items[2].value")."""
    match = _AT.match(error)
    message, path = (match["message"], match["path"]) if match else (error, None)
    named = _FIELD_IN_MESSAGE.search(message)
    name = named.group(1) if named else None
    if name and message.startswith(f"field `{name}`: "):  # check_input's own: the name says it already
        message = message.removeprefix(f"field `{name}`: ")
    return (f"{path}.{name}" if path and name else path or name), message


def _field(request: Request, error: dict[str, Any]) -> str:
    # msgspec names a missing or unknown field in the message, not in the key.
    named, _ = field_and_message(error.get("message", ""))
    key = error.get("key")
    if key == "data":  # the body as a whole (none was sent, or not an object)
        return named or "body"
    return named if key is None and named else _public_name(request, str(key))


def _public_name(request: Request, key: str) -> str:
    """A parameter as the client spells it (`from`, `Last-Event-ID`), not its Python name."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get(key)
    return getattr(getattr(parameter, "kwarg_definition", None), "name", None) or key


def validation_problem(request: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    fields = [{"field": _field(request, e), "message": field_and_message(e.get("message", ""))[1]} for e in extra]
    if not fields:
        named = _PARAMETER.search(str(exc.detail))
        errors = [{"field": named.group(1), "message": str(exc.detail)}] if named else []
        return problem(400, "Bad Request", str(exc.detail), errors=errors)
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return problem(422, "Invalid input", detail, errors=fields)


# What a bare 4xx from the framework is about: a path no route takes, a body over the limit.
_ABOUT = {404: "path", 413: "body"}


def http_problem(request: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    fields = [{"field": e["key"], "message": e.get("message", "")} for e in extra if isinstance(e, dict) and "key" in e]
    if not fields and exc.status_code in _ABOUT:
        fields = [{"field": _ABOUT[exc.status_code], "message": str(exc.detail)}]
    return problem(exc.status_code, _title(exc.status_code), str(exc.detail), exc.headers, errors=fields)


def domain_problem(request: Request, exc: errors.DomainError) -> Response[dict[str, Any]]:
    status = next(s for cls, s in DOMAIN_STATUS.items() if isinstance(exc, cls))
    # No field named: a 404 or 409 is about the resource the path names (this actual is reversed
    # already, no such target); a 403 is about the caller, not an input.
    field = exc.field or (None if status == 403 else "path")
    fields = [{"field": field, "message": str(exc)}] if field else []
    return problem(status, _title(status), str(exc), errors=fields)


def precondition_problem(request: Request, exc: errors.PreconditionFailedError) -> Response[dict[str, Any]]:
    """412: the If-Match named another version; the ETag of the current one, to read and decide again."""
    fields = [{"field": "If-Match", "message": str(exc)}]
    return problem(412, _title(412), str(exc), {"ETag": f'"{exc.version}"'}, errors=fields)


def conflict_problem(request: Request, exc: StreamConflictError) -> Response[dict[str, Any]]:
    return problem(409, "Conflict", f"{exc}; reload and try again", stream=exc.stream_id)


def batch_problem(request: Request, exc: BatchInvalidError) -> Response[dict[str, Any]]:
    items = [{"index": e.index, "field": e.field, "message": e.message} for e in exc.errors]
    detail = f"{exc}: " + "; ".join(f"item {e.index} {e.field or ''}: {e.message}" for e in exc.errors[:5])
    return problem(422, "Invalid input", detail, errors=items)


def resent_problem(request: Request, exc: ActualResentError) -> Response[dict[str, Any]]:
    """409 naming external_ref, with what it stands for now (`stored`; per item in a batch)."""
    stored = [
        {"id": a.id, "person": a.person, "metric": a.metric, "date": a.occurred_on, "value": a.value, "scope": a.scope}
        | {"source": a.source, "external_ref": a.external_ref, "reversed": a.reversed}
        for a in (c.stored for c in exc.clashes)
    ]
    if not exc.batch:
        fields = [{"field": "external_ref", "message": str(exc)}]
        return problem(409, "Conflict", str(exc), errors=fields, stored=stored[0])
    items = [
        {"index": c.index, "field": "external_ref", "message": c.message, "stored": s}
        for c, s in zip(exc.clashes, stored, strict=True)
    ]
    return problem(409, "Conflict", f"{len(items)} item(s) clash with stored actuals; nothing was stored", errors=items)


def behind_problem(request: Request, exc: ReadModelBehindError) -> Response[dict[str, Any]]:
    return problem(503, "Service Unavailable", str(exc), {"Retry-After": "1"})


def unavailable_problem(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    """503 with Retry-After while the database is down, restarting or out of connections
    (database.unavailable); any other error of these classes is a 500."""
    if not unavailable(exc):
        return internal_problem(request, exc)
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    detail = "the database is not available right now; try again shortly"
    return problem(503, "Service Unavailable", detail, {"Retry-After": RETRY_AFTER})


def internal_problem(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error occurred; it was logged")


def _title(status: int) -> str:
    return HTTPStatus(status).phrase


HANDLERS = {
    ValidationException: validation_problem,
    HTTPException: http_problem,
    errors.PreconditionFailedError: precondition_problem,
    errors.DomainError: domain_problem,
    StreamConflictError: conflict_problem,
    ReadModelBehindError: behind_problem,
    BatchInvalidError: batch_problem,
    ActualResentError: resent_problem,
    OSError: unavailable_problem,
    asyncpg.PostgresError: unavailable_problem,
    asyncpg.InterfaceError: unavailable_problem,
    asyncpg.InternalClientError: unavailable_problem,
    Exception: internal_problem,
}
