"""Path, query and header parameters' bounds as their types declare them (msgspec Meta), in the document.

litestar documents a parameter from its QueryParameter/PathParameter and leaves out the Meta of
its annotated type (NodeId, MetricName, PeriodKey...), which the service enforces all the same.
This reads every route's handler (and its dependencies) and copies what msgspec's own JSON Schema
of each parameter's type says: any route added later is covered without a word here.
"""

from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Litestar
from litestar.constants import RESERVED_KWARGS
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

# JSON Schema keywords that bound a value; a parameter's own (from its QueryParameter) are kept.
BOUNDS = (
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
)
Key = tuple[str, str, str, str]  # (path as in the document, method in lower case, `in`, name in lower case)


def parameter_types(app: Litestar) -> dict[Key, dict[str, Any]]:
    """Each documented parameter's JSON Schema as msgspec makes it of the handler's annotation."""
    found: dict[Key, dict[str, Any]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for location, name, raw in _parameters(handler, handler.parsed_fn_signature.parameters, route):
                try:
                    schema = msgspec.json.schema(raw)
                except TypeError:  # not a type msgspec describes: litestar's schema is all there is
                    continue
                for method in handler.http_methods:
                    found[(route.path_format or "/", method.lower(), location, name.lower())] = schema
    return found


def _parameters(
    handler: HTTPRouteHandler, fields: dict[str, FieldDefinition], route: HTTPRoute
) -> Iterator[tuple[str, str, Any]]:
    """(in, name, annotation) of the handler's parameters, its dependencies' included, as litestar names them."""
    providers = handler.resolve_dependencies()
    for name, field in fields.items():
        if name in RESERVED_KWARGS:
            continue
        if name in providers:
            yield from _parameters(handler, providers[name].parsed_fn_signature.parameters, route)
            continue
        if field.is_di_field:
            continue
        kwarg = field.kwarg_definition if isinstance(field.kwarg_definition, ParameterKwarg) else None
        if name in route.path_parameters:
            yield ParamType.PATH.value, name, field.raw
        elif kwarg is not None:
            yield kwarg.param_type.value, kwarg.name or name, field.raw
        else:
            yield ParamType.QUERY.value, name, field.raw


def add_bounds(path: str, method: str, parameters: list[dict[str, Any]], types: dict[Key, dict[str, Any]]) -> None:
    """Copy the bounds (and, where the parameter has none, the description) of each one's type."""
    for parameter in parameters:
        schema = types.get((path, method, parameter["in"], parameter["name"].lower()))
        if schema is None:
            continue
        for branch in [schema, *schema.get("anyOf", [])]:
            bounds = {k: v for k, v in branch.items() if k in BOUNDS}
            target = _branch(parameter["schema"], branch.get("type"))
            if bounds and target is not None:
                for key, value in bounds.items():
                    target.setdefault(key, value)
            if branch.get("description") and not parameter.get("description"):
                parameter["description"] = branch["description"]


def _branch(schema: dict[str, Any], kind: str | None) -> dict[str, Any] | None:
    """The part of a parameter's schema for values of `kind` (the whole, or one of its oneOf/anyOf)."""
    if kind is None:
        return None
    if schema.get("type") == kind:
        return schema
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        if branch.get("type") == kind:
            return branch
    return None
