"""One rule for the days, instants and scopes of every query string, whichever route reads them.

A day or instant outside the calendar's years (1900-2999), or an instant without its timezone, is
a 422 naming the parameter before any handler runs (`DatedQueries`, for every route, so a new one
is covered without a line of its own). A `scope` is read by `parse_scope`, to the rules a body's
`scope` passes (api/schemas.py ScopeMap), so that a query cannot ask for a scope no target can have.
"""

import re
import weakref
from datetime import UTC, date, datetime
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg, QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send

from target_ledger.api.schemas import ScopeMap
from target_ledger.domain.errors import InvalidValueError
from target_ledger.domain.values import FIRST_DAY, LAST_DAY, check_day

ScopeQuery = Annotated[
    str | None,
    QueryParameter(
        name="scope",
        max_length=500,
        description="declared dimension values, `dimension:value` pairs joined by commas, e.g. `segment:new,product:A`",
    ),
]
_SCOPE_FORM = "scope is dimension:value pairs joined by commas, e.g. segment:new,product:A"


def refuse(name: str, message: str) -> ValidationException:
    """A 422 naming the query parameter `name`."""
    return ValidationException(
        detail=f"{name}: {message}", extra=[{"key": name, "message": message, "source": "query"}]
    )


def parse_scope(text: str | None) -> dict[str, str]:
    """`segment:new,product:A` as {"segment": "new", "product": "A"}; None or "" is every scope.
    An empty pair, a pair without exactly one colon, a dimension named twice, or names and values a
    body's scope could not hold are a 422 naming `scope` (unknown dimensions are the catalog's)."""
    scope: dict[str, str] = {}
    for pair in (text or "").split(",") if text else []:
        parts = [part.strip() for part in pair.split(":")]
        if len(parts) != 2 or not all(parts):
            raise refuse("scope", f"{pair!r} is not dimension:value; {_SCOPE_FORM}")
        if parts[0] in scope:
            raise refuse("scope", f"{parts[0]!r} is named twice; {_SCOPE_FORM}")
        scope[parts[0]] = parts[1]
    try:
        return msgspec.convert(scope, ScopeMap)
    except msgspec.ValidationError as e:
        raise refuse("scope", f"{e}; {_SCOPE_FORM}") from None


def check_instant(value: datetime, name: str) -> None:
    """An instant needs its timezone (a naive time names no instant), and in UTC it lies
    in the calendar's years, 1900-2999 (so no arithmetic on it overflows, whatever its offset)."""
    if value.utcoffset() is None:
        raise refuse(name, "needs a timezone, e.g. 2026-07-01T09:00:00Z")
    try:
        check_day(value.astimezone(UTC), name)
    except (OverflowError, InvalidValueError):
        raise refuse(name, f"must lie between {FIRST_DAY} and {LAST_DAY} (UTC)") from None


def check_query_day(value: date, name: str) -> None:
    """A day in the calendar's years, 1900-01-01 to 2999-12-31."""
    if isinstance(value, datetime):
        check_instant(value, name)
    elif not FIRST_DAY <= value <= LAST_DAY:
        raise refuse(name, f"must lie between {FIRST_DAY} and {LAST_DAY}")


def _day_kind(annotation: Any) -> type | None:
    """datetime or date if the parameter holds one (alone, or with None), else None."""
    if get_origin(annotation) is Annotated:
        return _day_kind(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        kinds = {_day_kind(a) for a in get_args(annotation) if a is not NoneType}
        return kinds.pop() if len(kinds) == 1 else None
    return annotation if annotation in (date, datetime) else None


# By handler, found once (weakly: each app built, e.g. by a test, has handlers of its own).
_DATED: "weakref.WeakKeyDictionary[HTTPRouteHandler, list[tuple[str, type]]]" = weakref.WeakKeyDictionary()
_PATH_PARAMETER = re.compile(r"{(\w+):")


def dated_parameters(handler: HTTPRouteHandler) -> list[tuple[str, type]]:
    """The handler's query parameters holding a day or an instant: (name in the query, type)."""
    if handler not in _DATED:
        found = []
        path = {m for p in handler.paths for m in _PATH_PARAMETER.findall(p)}
        for name, field in handler.parsed_fn_signature.parameters.items():
            kwarg = field.kwarg_definition
            if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
                continue
            kind = _day_kind(field.annotation)
            if kind is not None and name not in path:
                alias = (kwarg.query or kwarg.name) if isinstance(kwarg, ParameterKwarg) else None
                found.append((alias or name, kind))
        _DATED[handler] = found
    return _DATED[handler]


class DatedQueries:
    """ASGI middleware: every day or instant in a route's query string passes the calendar's
    rule (`check_query_day`) before the handler runs, whatever the route. A value that is not a
    day at all is left to litestar (its 400 names the parameter)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] == "http" and isinstance(handler, HTTPRouteHandler):
            dated = dated_parameters(handler)
            if dated:
                query = Request(scope).query_params
                for name, kind in dated:
                    for raw in query.getall(name, []):
                        try:
                            value: date = msgspec.convert(raw, kind, strict=False)
                        except msgspec.ValidationError:
                            continue
                        check_query_day(value, name)
        await self.app(scope, receive, send)
