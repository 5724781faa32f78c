"""The OpenAPI document says what the service answers: every status it can give an operation (derived
from the one place that maps errors), the 200 of a create done before, the headers it sends, and each
parameter's bounds as its type declares them."""

from typing import Annotated, Any, get_args, get_origin

import msgspec
import pytest
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute

from target_ledger.api import errors
from target_ledger.api.edge import MAX_BODY
from target_ledger.api.idempotency import MUTATIONS
from target_ledger.api.operations import CONDITIONAL, READ_POSITIONED
from tests.api.support import ADMIN, build_east, team_target

# What every request can be answered, whatever it asks: a path or query that is not UTF-8 (400), a
# kept header too long (422: api/edge.py), a head too slow or too large (408, 431: serving.py).
EVERY_REQUEST = {400, 408, 422, 431}


def operations(spec: dict) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def documented(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"]}


async def test_every_operation_documents_each_problem_the_service_can_answer_it(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    for method, path, operation in operations(spec):
        missing = EVERY_REQUEST - documented(operation)
        # A body over the limit is refused on every method that may carry one, before any handler reads it.
        missing |= {413} - documented(operation) if method in MUTATIONS else set()
        if not path.startswith("/health/"):
            # Every domain error a change can meet, as errors.py maps it; a token missing or not allowed.
            statuses = set(errors.DOMAIN_STATUS.values()) if method in MUTATIONS else {403, 422}
            missing |= (statuses | {401, 503}) - documented(operation)
        assert not missing, f"{method} {path} does not document {sorted(missing)}"
        # 412 exactly where If-Match is taken.
        assert (412 in documented(operation)) == (operation["operationId"] in CONDITIONAL), (method, path)


async def test_a_body_too_large_for_an_operation_that_reads_none_is_a_documented_413(client, auth) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    path = "/v1/adjustments/{adjustment_id}/approve"
    # An approval takes no body; 11 MB sent with one anyway is refused, naming the body.
    r = await client.post(
        path.format(adjustment_id="5f0c6c57-2d3b-5a6e-9a43-1f0d6c1b2a10"),
        content=b"x" * (MAX_BODY + 1024 * 1024),
        headers=auth(*ADMIN),
    )
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "body"
    # The document says so, as a problem.
    answer = spec["paths"][path]["post"]["responses"]["413"]
    assert answer["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}


async def test_a_create_done_before_answers_a_documented_200(client, auth, clock) -> None:
    clock.set("2026-07-20")
    spec = (await client.get("/schema/openapi.json")).json()
    await build_east(client, auth)
    # A dimension declared twice: 201, then 200 with no position, as the document says.
    dimension = {"name": "product", "values": ["A", "B"]}
    first = await client.post("/v1/dimensions", json=dimension, headers=auth(*ADMIN))
    again = await client.post("/v1/dimensions", json=dimension, headers=auth(*ADMIN))
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json() == {"position": None}
    declared = spec["paths"]["/v1/dimensions"]["post"]["responses"]["200"]
    assert declared["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Position"}
    # An actual sent twice: 201, then 200 `duplicate: true`, as the document says.
    deal = {"person": "rep1", "metric": "revenue", "date": "2026-07-14", "value": "250", "source": "crm"}
    deal["external_ref"] = "deal-1"
    first = await client.post("/v1/actuals", json=deal, headers=auth(*ADMIN))
    again = await client.post("/v1/actuals", json=deal, headers=auth(*ADMIN))
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["duplicate"] is True
    assert "200" in spec["paths"]["/v1/actuals"]["post"]["responses"]
    # The same split made again: 200, as the document says.
    assert "200" in spec["paths"]["/v1/targets/{target_id}/decomposition"]["post"]["responses"]


async def test_the_read_position_header_is_declared_where_it_is_sent(client, auth, clock) -> None:
    clock.set("2026-07-20")
    spec = (await client.get("/schema/openapi.json")).json()
    await build_east(client, auth)
    target = await team_target(client, auth)
    # The decomposition matrix, read as JSON, says the read model's position it was read at.
    r = await client.get(f"/v1/targets/{target['id']}/decomposition", headers=auth("lead1"))
    assert r.status_code == 200 and int(r.headers["x-read-position"]) >= 0, r.text
    # Each operation sending it declares it on its JSON answer, as an integer.
    named = {op["operationId"]: op for _, _, op in operations(spec)}
    assert "read_decomposition" in READ_POSITIONED
    for name in READ_POSITIONED:
        header = named[name]["responses"]["200"]["headers"]["X-Read-Position"]
        assert header["schema"]["type"] == "integer", name


def _meta_bounds(annotation: Any) -> dict[str, Any]:
    """The length and pattern bounds of every msgspec Meta in an annotation (Optional and Annotated
    unwrapped), as JSON Schema spells them."""
    found: dict[str, Any] = {}
    if get_origin(annotation) is Annotated:
        inner, *extras = get_args(annotation)
        for meta in extras:
            if isinstance(meta, msgspec.Meta):
                spelled = {"minLength": meta.min_length, "maxLength": meta.max_length, "pattern": meta.pattern}
                found |= {k: v for k, v in spelled.items() if v is not None}
        return found | _meta_bounds(inner)
    for arg in get_args(annotation):
        found |= _meta_bounds(arg)
    return found


def _schema_bounds(schema: dict[str, Any]) -> dict[str, Any]:
    """The bounds a parameter's schema states for its string values (itself, or its string branch)."""
    strings = [schema, *[b for b in schema.get("oneOf", []) + schema.get("anyOf", []) if b.get("type") == "string"]]
    return {k: v for s in strings for k, v in s.items() if k in {"minLength", "maxLength", "pattern"}}


async def test_every_parameter_documents_the_bounds_its_type_declares(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    checked = 0
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in spec["paths"]:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = spec["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                by_name = {p["name"]: p for p in operation["parameters"] if p["in"] in {"path", "query"}}
                for name, field in handler.parsed_fn_signature.parameters.items():
                    bounds = _meta_bounds(field.raw)
                    kwarg = field.kwarg_definition
                    public = (kwarg.name if isinstance(kwarg, ParameterKwarg) else None) or name
                    if not bounds or public not in by_name:
                        continue
                    # The type's pattern and lengths, as the service enforces them, are in the document.
                    stated = _schema_bounds(by_name[public]["schema"])
                    assert stated | bounds == stated, (method, route.path_format, public, stated, bounds)
                    checked += 1
    # Node ids, metric names and period keys in every query and path that takes one.
    assert checked >= 30, checked


@pytest.mark.parametrize(("path", "name"), [("/v1/attainment", "node"), ("/v1/targets", "metric")])
async def test_a_node_id_and_a_metric_name_in_a_query_keep_their_pattern(client, path, name) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    parameter = next(p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name)
    assert _schema_bounds(parameter["schema"])["pattern"].startswith("^[")
    assert _schema_bounds(parameter["schema"])["maxLength"] == 64
