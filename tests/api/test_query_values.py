"""Every day, instant, period, scope and list of event types in a query string (or a path)
passes one rule, on every GET operation the OpenAPI document lists: a day outside the calendar's
years, an instant without its timezone, a malformed scope or a list with an empty item is a 422
naming the parameter. The operations are read from the document: a new endpoint is covered."""

import uuid

import pytest

from tests.api.support import ADMIN, build_east

# Values for the parameters an operation needs before it reads the one under test.
GOOD = {"node": "east", "unit": "east", "metric": "revenue", "period": "2026-Q3", "person": "rep1"}
BAD_DAYS = ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"]
BAD_INSTANTS = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-05:00",
    "3000-01-01T00:00:00Z",
    "2026-07-01T09:00:00",  # no timezone: no instant
]
BAD_PERIODS = ["0001-Q1", "1899", "3000-07", "10000-01", "2026-Q9"]
BAD_SCOPES = [
    "a:b:c,,",  # a value with a colon, and empty pairs
    "segment:new,,",
    ",",
    "segment",  # no value
    "segment:",
    ":new",
    "Segment:new",  # not a dimension's spelling
    "segment:new,segment:old",  # a dimension named twice
    "nosuch:x",  # a dimension the catalog does not declare
]
BAD_TYPES = [",", "target.set.v1,,alert.raised.v1", "target.set.v1,"]  # comma lists with an empty item


def _kind(schema: dict) -> str | None:
    """date, date-time, or None, for a parameter's schema (alone or with null)."""
    for option in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        if option.get("format") in ("date", "date-time"):
            return option["format"]
    return None


def _cases(spec: dict) -> list[tuple[str, str, str, str, str]]:
    """(path, where, parameter, bad value, operation) for every GET operation's days, periods, scopes and type lists."""
    cases = []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        for parameter in (operation or {}).get("parameters", []):
            name, where = parameter["name"], parameter["in"]
            if where not in ("query", "path"):
                continue
            kind = _kind(parameter["schema"])
            bad = {"date": BAD_DAYS, "date-time": BAD_INSTANTS}.get(kind or "", [])
            bad = bad or {"period": BAD_PERIODS, "scope": BAD_SCOPES, "types": BAD_TYPES}.get(name, [])
            cases += [(path, where, name, value, operation["operationId"]) for value in bad]
    return cases


def _request(spec: dict, path: str, where: str, name: str, value: str) -> tuple[str, dict[str, str]]:
    """The URL and query of a request that is right in everything but `name`."""
    operation = spec["paths"][path]["get"]
    required = [p for p in operation["parameters"] if p.get("required")]
    params = {p["name"]: GOOD.get(p["name"]) or p["schema"].get("enum", ["x"])[0] for p in required}
    url = path
    for p in operation["parameters"]:
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", value if p["name"] == name else str(uuid.uuid4()))
            params.pop(p["name"], None)
    if where == "query":
        params[name] = value
    return url, params


async def test_every_dated_period_and_scope_parameter_refuses_what_no_calendar_holds(client, auth, clock) -> None:
    clock.set("2026-07-20")
    await build_east(client, auth)
    spec = (await client.get("/schema/openapi.json")).json()
    cases = _cases(spec)
    # The walk finds the parameters the review named (a new endpoint adds its own).
    found = {(operation, name) for _, _, name, _, operation in cases}
    assert {("list_targets", "scope"), ("read_attainment", "scope"), ("list_actuals", "from")} <= found
    assert {("list_people", "as_of"), ("read_target", "as_of"), ("search_audit", "to")} <= found
    assert {("read_leaderboard", "period"), ("read_review", "period"), ("list_targets", "period")} <= found
    assert ("read_feed", "types") in found
    wrong = []
    for path, where, name, value, operation in cases:
        # Each bad value, alone in an otherwise good request: a 422 naming the parameter.
        url, params = _request(spec, path, where, name, value)
        r = await client.get(url, params=params, headers=auth(*ADMIN))
        fields = [e.get("field") for e in r.json().get("errors", [])] if r.status_code == 422 else []
        if not any(f == name or str(f).startswith(f"{name}.") for f in fields):
            wrong.append(f"{operation} {name}={value!r}: {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("good", ["1900-01-01", "2999-12-31"])
async def test_the_calendars_first_and_last_days_are_still_read(client, auth, clock, good) -> None:
    clock.set("2026-07-20")
    await build_east(client, auth)
    # The edges of the calendar are days like any other.
    r = await client.get("/v1/actuals", params={"from": good, "to": "2999-12-31"}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    r = await client.get("/v1/org/people", params={"as_of": good}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text


async def test_a_scope_query_reads_as_a_bodys_scope(client, auth, clock) -> None:
    clock.set("2026-07-20")
    await build_east(client, auth)
    admin = auth(*ADMIN)
    r = await client.post("/v1/dimensions", json={"name": "segment", "values": ["new", "existing"]}, headers=admin)
    assert r.status_code in (200, 201), r.text
    body = {"node": "east", "metric": "revenue", "period": "2026-Q3", "value": "500", "scope": {"segment": "new"}}
    r = await client.post("/v1/targets", json=body, headers=admin)
    assert r.status_code == 201, r.text
    # Spaces around the pair's parts are forgiven; the target with that scope is found.
    seen = {"scope": " segment : new ", "min_position": r.json()["position"]}
    r = await client.get("/v1/targets", params=seen, headers=admin)
    assert r.status_code == 200 and [t["scope"] for t in r.json()["items"]] == [{"segment": "new"}], r.text
    # A value the dimension does not declare: a 422 naming the scope's dimension, as in a body.
    r = await client.get("/v1/targets", params={"scope": "segment:old"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scope.segment", r.text


EXPORTS = ["/v1/attainment/export", "/v1/attainment/leaderboard/export", "/v1/reviews/2026-Q3/export"]


@pytest.mark.parametrize("path", EXPORTS)
async def test_an_export_answers_a_file_and_refuses_json(client, auth, clock, path) -> None:
    clock.set("2026-07-20")
    await build_east(client, auth)
    query = {"node": "east", "unit": "east", "metric": "revenue", "period": "2026-Q3"}
    # No format, or json: a 422 naming format (the JSON is the read's own, without /export).
    for asked in ({}, {"format": "json"}):
        r = await client.get(path, params={**query, **asked}, headers=auth(*ADMIN))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format", r.text
    # A file format: the file, as the read with ?format= makes it.
    file = {**query, "format": "csv" if "reviews" in path else "xlsx"}
    r = await client.get(path, params=file, headers=auth(*ADMIN))
    read = await client.get(path.removesuffix("/export"), params=file, headers=auth(*ADMIN))
    assert r.status_code == read.status_code and r.headers["content-type"] == read.headers["content-type"], r.text
    assert "reviews" in path or (r.status_code == 200 and r.content[:2] == b"PK"), r.text  # a workbook is a zip
