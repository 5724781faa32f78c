"""The OpenAPI document: litestar's, amended with what it cannot say per route (problems, headers, names)."""

import copy
from importlib import resources
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types.internal_types import PathParameterDefinition

from target_ledger.api.docs import AmendedJson, OfflineSwagger
from target_ledger.api.operations import (
    CONDITIONAL,
    EXAMPLES,
    EXPORTS,
    FILE_BODIES,
    LOCATED,
    OPERATIONS,
    READ_POSITIONED,
    TAGGED,
)
from target_ledger.api.parameter_types import Key, add_bounds, parameter_types
from target_ledger.api.schemas import MAX_POSITION
from target_ledger.application import preconditions

PUBLIC = ("/health/",)  # no token needed (and /metrics, which the document leaves out)
WRITES = {"post", "put", "patch", "delete"}
MEDIA = {
    "csv": "text/csv",
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PROBLEMS = {
    400: "The request's path, query or body cannot be read (not JSON, not UTF-8, a malformed parameter)",
    401: "No token, or one that is invalid or expired",
    403: "The token's role or subtree does not allow this",
    404: "Something the request names does not exist (or is outside the caller's subtree)",
    408: "The request's head or body did not arrive in time (`target-ledger serve` bounds both); the connection "
    "is closed",
    409: "The change conflicts with what is stored (already done, closed period, a concurrent write); reload and retry",
    412: "If-Match named a version the target (or request) is no longer at; `ETag` is the current one: read it again",
    413: "The body is larger than the ledger accepts (10 MiB), whatever the operation does with it",
    422: "An input breaks a rule; `errors` names each field and what is wrong with it",
    431: "The request's line and headers are larger than the server accepts; the connection is closed",
    503: "The database or a read model is not available yet; retry after `Retry-After` seconds",
}
_TEXT = {"type": "string"}
PROBLEM_DETAILS = {
    "title": "ProblemDetails",
    "description": "RFC 9457 problem details: every error the ledger answers, as application/problem+json",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "always `about:blank`: the status says the kind"},
        "title": {"type": "string", "description": "the status's phrase, e.g. `Conflict`"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "what went wrong, for a person"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemError"}},
        "stream": {"type": "string", "description": "409 on a concurrent write: the stream that moved"},
        "stored": {"type": "object", "additionalProperties": True, "description": "409 on a resent actual"},
    },
}
PROBLEM_ERROR = {
    "title": "ProblemError",
    "type": "object",
    "required": ["message"],
    "properties": {
        "field": {"type": ["string", "null"], "description": "the field, parameter or header at fault"},
        "message": _TEXT,
        "index": {"type": "integer", "description": "a batch's item"},
        "stored": {"type": "object", "additionalProperties": True},
    },
}
HEADERS = {
    "X-Request-ID": {"maxLength": 200, "description": "your id for this request: kept in its events and logs"},
    "Idempotency-Key": {"maxLength": 255, "description": "a retry with the same key gets the first answer again"},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'the version you decided on, as its ETag gave it ("3"; a list "3", "4" matches any; * any '
    "version): another is a 412 and nothing is stored. Without it the change is unconditional",
    "schema": {"type": "string", "minLength": 1, "maxLength": preconditions.MAX_LENGTH},
}
ETAG = {"description": "the version of what the answer shows, quoted", "schema": {"type": "string"}}
LOCATION = {"description": "the path to read what was made", "schema": {"type": "string"}}
READ_POSITION = {
    "description": "on a JSON answer: the position of the read model it was read from (a later read's `min_position`)",
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_POSITION},
}


def operation_id(handler: HTTPRouteHandler, method: str, components: list[str | PathParameterDefinition]) -> str:
    """The chosen name; a route nobody named keeps litestar's (a test fails on it)."""
    path = "/" + "/".join(f"{{{c.name}}}" if isinstance(c, PathParameterDefinition) else c for c in components)
    return OPERATIONS.get((method.upper(), path.rstrip("/") or "/"), f"unnamed_{method}_{path}")


def answers(
    model: type, *statuses: int, description: str = "Request fulfilled, document follows"
) -> dict[int, ResponseSpec]:
    """The answers litestar cannot see: a route answering a file when `format` asks for one returns a
    bare Response (this declares its JSON answer's model; the files' media types are added below), and
    a create that answers 200 when it was done before (its `description` says when)."""
    spec = ResponseSpec(model, generate_examples=False, description=description)
    return dict.fromkeys(statuses or (200,), spec)


def config() -> OpenAPIConfig:
    intro = resources.files("target_ledger.api").joinpath("docs_intro.md").read_text(encoding="utf-8")
    return OpenAPIConfig(
        title="Target Ledger",
        version="0.1.0",
        description=intro,
        path="/schema",
        render_plugins=[OfflineSwagger(amend), AmendedJson(amend)],
        components=Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
        ),
        security=[{"bearer": []}],
        operation_id_creator=operation_id,
    )


def amend(document: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """The document as served: litestar's (of `app`), with problems, headers, media types and bounds (a copy)."""
    return _amend(copy.deepcopy(document), parameter_types(app))


def _amend(document: dict[str, Any], types: dict[Key, dict[str, Any]]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(ProblemDetails=PROBLEM_DETAILS, ProblemError=PROBLEM_ERROR)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in WRITES | {"get"}:
                add_bounds(path, method, operation.get("parameters", []), types)
                _operation(path, method, operation)
    _bounds(document)
    return document


def _operation(path: str, method: str, operation: dict[str, Any]) -> None:
    public = path.startswith(PUBLIC)
    if public:
        operation["security"] = []
    if operation.get("operationId") in FILE_BODIES:
        operation["requestBody"] = copy.deepcopy(FILE_BODIES[operation["operationId"]])
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and operation.get("operationId") in EXAMPLES:
        body["example"] = EXAMPLES[operation["operationId"]]
    parameters = operation.setdefault("parameters", [])
    for parameter in parameters:
        if parameter["in"] == "header" and parameter["name"].lower() == "last-event-id":
            parameter["name"] = "Last-Event-ID"
            parameter["description"] = "the id of the last event you saw: the stream resumes after it"
    for name, schema in HEADERS.items():
        if name == "X-Request-ID" or method in WRITES:
            description = schema["description"]
            bound = {"type": "string", "minLength": 1, "maxLength": schema["maxLength"]}
            parameters.append(
                {"name": name, "in": "header", "required": False, "description": description, "schema": bound}
            )
    if operation.get("operationId") in CONDITIONAL:
        parameters.append(copy.deepcopy(IF_MATCH))
    responses = operation.setdefault("responses", {})
    for status, answer in responses.items():
        answer.setdefault("headers", {})["X-Request-ID"] = _request_id()
        if status.startswith("2"):
            _media_types(path, operation, answer)
            if operation.get("operationId") in TAGGED:
                answer["headers"]["ETag"] = copy.deepcopy(ETAG)
            if operation.get("operationId") in READ_POSITIONED and "application/json" in answer.get("content", {}):
                answer["headers"]["X-Read-Position"] = copy.deepcopy(READ_POSITION)
            if operation.get("operationId") in LOCATED and status == "201":
                answer["headers"]["Location"] = copy.deepcopy(LOCATION)
    for status in _problems(path, method, operation, public):
        responses[str(status)] = _problem(status)


def _problems(path: str, method: str, operation: dict[str, Any], public: bool) -> list[int]:
    """The problems an operation can answer. Every request can be too slow (408) or have too large a
    head (431: the server's), or a kept header too long (422: api/edge.py); a body too large is a 413
    on every method that takes one, whether the operation reads a body or not (the edge refuses it first)."""
    names_something = "{" in path or bool(operation.get("parameters")) or "requestBody" in operation
    statuses = [400]
    statuses += [] if public else [401, 403]
    statuses += [404] if not public and names_something else []
    statuses += [408]
    statuses += [409] if method in WRITES else []
    statuses += [412] if operation.get("operationId") in CONDITIONAL else []
    statuses += [413] if method in WRITES or "requestBody" in operation else []
    statuses += [422, 431]
    statuses += [503] if path != "/health/live" else []
    return statuses


def _problem(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": _request_id()}
    if status == 412:
        headers["ETag"] = {"description": "the current version, quoted", "schema": {"type": "string"}}
    if status == 503:
        headers["Retry-After"] = {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 0}}
    schema = {"$ref": "#/components/schemas/ProblemDetails"}
    return {
        "description": PROBLEMS[status],
        "headers": headers,
        "content": {"application/problem+json": {"schema": schema}},
    }


def _request_id() -> dict[str, Any]:
    return {"description": "the request's id (yours, or one the ledger chose)", "schema": {"type": "string"}}


def _media_types(path: str, operation: dict[str, Any], answer: dict[str, Any]) -> None:
    """What a `format` query asks for, and the event stream, as the media types really answered."""
    content = answer.get("content")
    if content is None:
        return
    if path.endswith("/stream"):
        answer["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
        return
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "format" and parameter["in"] == "query":
            if operation.get("operationId") in EXPORTS:  # api/exports.py: a file, never JSON; format required
                content.clear()
                parameter["schema"].pop("default", None)
                parameter["schema"]["enum"] = [f for f in parameter["schema"]["enum"] if f in MEDIA]
                parameter["required"] = True
            for value in parameter["schema"].get("enum", []):
                if value in MEDIA:
                    content[MEDIA[value]] = {"schema": {"type": "string", "format": "binary"}}


_POSITION = float(MAX_POSITION)


def _bounds(node: Any) -> None:
    """Bounds as the service enforces them: a bigint's bound as the integer it is (not a float
    that rounds above it), integral bounds as integers, and positions never negative."""
    if isinstance(node, list):
        for item in node:
            _bounds(item)
        return
    if not isinstance(node, dict):
        return
    for key in ("minimum", "maximum"):
        value = node.get(key)
        if isinstance(value, float) and value >= _POSITION:
            node[key] = MAX_POSITION
        elif isinstance(value, float) and value.is_integer():
            node[key] = int(value)
    if node.get("maximum") == MAX_POSITION and "minimum" not in node:
        node["minimum"] = 0  # positions and sequences count from 0
    for value in node.values():
        _bounds(value)
