"""The ledger's rules for input values, whatever the field: every decimal is finite and bounded,
every text is free of NUL, every position fits a bigint, every instant is in range, a body is
JSON of bounded depth and size; and a value fits its metric (cents, whole counts). Each breach
is a 4xx problem naming the field, and nothing is stored."""

import pytest

from target_ledger.api.edge import MAX_BODY
from target_ledger.api.schemas import Input
from tests.api.live import live_api
from tests.api.monitoring_support import head
from tests.api.support import ADMIN, build_east, team_target

BAD_DECIMALS = ["NaN", "sNaN", "Infinity", "-Infinity", "1e400", "0.0000001"]
PROBLEM = "application/problem+json"


def assert_refused(r, field: str, status: int = 422) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


@pytest.fixture
async def east(client, auth) -> dict:
    """The east org, east-1's Q3 revenue split 60 : 40 between rep1 and rep2, and an empty Q4 one."""
    await build_east(client, auth)
    parent = await team_target(client, auth)
    r = await client.post(
        "/v1/targets",
        json={"node": "east-2", "metric": "revenue", "period": "2026-Q4", "value": "900"},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 201, r.text
    return {"parent": parent, "q4": r.json()}


def decimal_bodies(east: dict) -> list[tuple[str, str, dict, str]]:
    """(method, path, body with BAD in one decimal field, the field's name) for every body with a decimal."""
    parent, q4 = east["parent"], east["q4"]
    [rep1, rep2] = [str(p["target_id"]) for p in parent["children"]]
    ask = {"reason_category": "market_change", "justification": "a customer left"}
    return [
        ("POST", "/v1/targets", {"node": "east-2", "metric": "revenue", "period": "2026-Q3", "value": "BAD"}, "value"),
        (
            "POST",
            "/v1/targets",
            {"node": "east-2", "metric": "revenue", "period": "2026-Q3", "value": "1", "stretch": "BAD"},
            "stretch",
        ),
        ("POST", f"/v1/targets/{parent['id']}/adjustments", {**ask, "new_value": "BAD"}, "new_value"),
        (
            "POST",
            f"/v1/targets/{parent['id']}/adjustments",
            {**ask, "new_value": "1000", "reallocation": {rep1: "BAD", rep2: "400"}},
            f"reallocation.{rep1}",
        ),
        ("POST", f"/v1/targets/{rep1}/adjustments", {**ask, "transfer_to": rep2, "amount": "BAD"}, "amount"),
        (
            "POST",
            f"/v1/targets/{q4['id']}/decomposition",
            {"axis": "period", "method": "weights", "into": "month", "weights": {"2026-10": "BAD", "2026-11": "1"}},
            "weights.2026-10",
        ),
        (
            "POST",
            f"/v1/targets/{q4['id']}/decomposition",
            {"axis": "period", "method": "explicit", "into": "month", "allocations": {"2026-10": "BAD"}},
            "allocations.2026-10",
        ),
        ("PUT", "/v1/alert-rules/weekly_completion", {"threshold": "BAD"}, "threshold"),
        ("PUT", "/v1/alert-rules/week_gap", {"share": "BAD"}, "share"),
        ("PUT", "/v1/alert-rules/weekly_completion", {"margin": "BAD"}, "margin"),
        ("POST", "/v1/actuals", {"person": "rep1", "metric": "revenue", "date": "2026-07-01", "value": "BAD"}, "value"),
    ]


def _fill(body, bad: str):
    """The body with `bad` wherever it says BAD."""
    if isinstance(body, dict):
        return {key: _fill(value, bad) for key, value in body.items()}
    return bad if body == "BAD" else body


async def test_every_decimal_in_every_body_refuses_nan_infinity_and_out_of_range(client, auth, east) -> None:
    before = await head(client)
    for method, path, body, field in decimal_bodies(east):
        for bad in BAD_DECIMALS:
            filled = _fill(body, bad)
            # Then every one of them is refused, naming the field.
            r = await client.request(method, path, json=filled, headers=auth(*ADMIN))
            assert_refused(r, field)
    # And nothing was stored.
    assert await head(client) == before


async def test_a_batch_item_with_a_bad_decimal_is_listed_by_index(client, auth, east) -> None:
    good = {"person": "rep1", "metric": "revenue", "date": "2026-07-01", "value": "5", "external_ref": "a"}
    r = await client.post(
        "/v1/actuals/batch", json={"items": [good, {**good, "value": "NaN", "external_ref": "b"}]}, headers=auth(*ADMIN)
    )
    assert r.status_code == 422, r.text
    assert [(e["index"], e["field"]) for e in r.json()["errors"]] == [(1, "value")]


async def test_nul_in_any_text_field_is_refused_and_nothing_is_stored(client, auth, east) -> None:
    parent = east["parent"]
    before = await head(client)
    nul = "a\u0000b"
    bodies = [
        (
            "POST",
            "/v1/targets",
            {"node": "east-2", "metric": "revenue", "period": "2026-Q3", "value": "1", "rationale": nul},
            "rationale",
        ),
        (
            "POST",
            f"/v1/targets/{parent['id']}/adjustments",
            {"reason_category": "market_change", "justification": nul, "new_value": "900"},
            "justification",
        ),
        (
            "POST",
            f"/v1/targets/{parent['id']}/adjustments",
            {"reason_category": "market_change", "justification": "j", "evidence": ["ok", nul], "new_value": "900"},
            "evidence[1]",
        ),
        ("POST", f"/v1/targets/{parent['id']}/dispute", {"comment": nul}, "comment"),
        (
            "POST",
            "/v1/actuals",
            {"person": "rep1", "metric": "revenue", "date": "2026-07-01", "value": "1", "external_ref": nul},
            "external_ref",
        ),
        (
            "POST",
            "/v1/actuals",
            {"person": "rep1", "metric": "revenue", "date": "2026-07-01", "value": "1", "scope": {"segment": nul}},
            "scope.segment",
        ),
        ("POST", "/v1/dimensions", {"name": "product", "values": ["A", nul]}, "values[1]"),
        ("POST", "/v1/org/units", {"node": "west", "kind": "region", "name": nul, "parent": "acme"}, "name"),
        ("POST", "/v1/periods/2026-Q3/reopen", {"node": "east", "reason": nul}, "reason"),
    ]
    for method, path, body, field in bodies:
        # Then each is a 422 naming the field: PostgreSQL's jsonb cannot hold a NUL.
        assert_refused(await client.request(method, path, json=body, headers=auth(*ADMIN)), field)
    assert await head(client) == before


async def test_nul_or_invalid_utf8_in_a_query_is_a_400_naming_the_parameter(client, auth, east) -> None:
    for query in ["node=east%00&metric=revenue&period=2026-Q3", "node=east%FF&metric=revenue&period=2026-Q3"]:
        r = await client.get(f"/v1/attainment?{query}", headers=auth(*ADMIN))
        assert_refused(r, "node", status=400)


async def test_positions_past_64_bits_are_refused_naming_the_parameter(client, auth, east) -> None:
    huge = str(2**64)
    integration = auth("bi", "integration")
    reads = [
        (f"/v1/feed?after={huge}", {}, "after"),
        (f"/v1/attainment?node=east&metric=revenue&period=2026-Q3&min_position={huge}", {}, "min_position"),
        (f"/v1/alerts?min_position={huge}", {}, "min_position"),
        ("/v1/feed/stream", {"Last-Event-ID": huge}, "last-event-id"),
    ]
    for path, headers, field in reads:
        r = await client.get(
            path, headers={**integration, **headers} if "feed" in path else {**auth(*ADMIN), **headers}
        )
        assert_refused(r, field)
    r = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "after": 2**64}, headers=integration)
    assert_refused(r, "after")


async def test_instants_out_of_range_are_refused_naming_the_parameter(client, auth, east) -> None:
    target = east["parent"]["id"]
    for instant in ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]:
        reads = [
            (f"/v1/targets/{target}", {"as_of": instant}, "as_of"),
            ("/v1/attainment", {"node": "east", "metric": "revenue", "period": "2026-Q3", "as_of": instant}, "as_of"),
            ("/v1/audit", {"from": instant}, "from"),
            ("/v1/audit", {"to": instant}, "to"),
        ]
        for path, query, field in reads:
            assert_refused(await client.get(path, params=query, headers=auth(*ADMIN)), field)


async def test_dates_out_of_the_calendar_in_a_body_are_refused(client, auth, east) -> None:
    before = await head(client)
    for day in ["0001-01-01", "9999-12-31"]:
        body = {"person": "newbie", "name": "N", "unit": "east-1", "effective": day}
        assert_refused(await client.post("/v1/org/people", json=body, headers=auth(*ADMIN)), "effective")
    assert await head(client) == before


async def test_a_body_nested_100000_deep_is_a_400(client, auth, east) -> None:
    deep = b'{"node":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = await client.post("/v1/targets", content=deep, headers={**auth(*ADMIN), "content-type": "application/json"})
    assert_refused(r, "body", status=400)


async def test_invalid_utf8_inside_a_json_string_is_a_400(client, auth, east) -> None:
    body = b'{"node":"east-2","metric":"revenue","period":"2026-Q3","value":"1","rationale":"\xff\xfe"}'
    r = await client.post("/v1/targets", content=body, headers={**auth(*ADMIN), "content-type": "application/json"})
    assert_refused(r, "body", status=400)


async def test_an_idempotency_key_too_long_to_keep_is_refused_naming_the_header(client, auth, east) -> None:
    body = {"node": "east-2", "metric": "revenue", "period": "2026-Q3", "value": "10"}
    before = await head(client)
    # Then a key, a request id or a correlation id too long to keep is a 422 naming the header.
    for header in ["Idempotency-Key", "X-Request-Id", "X-Correlation-Id"]:
        r = await client.post("/v1/targets", json=body, headers={**auth(*ADMIN), header: "k" * 3000})
        assert_refused(r, header)
    assert await head(client) == before
    # And the same request with a key of the documented length is kept, and replayed.
    headers = {**auth(*ADMIN), "Idempotency-Key": "k" * 255}
    first = await client.post("/v1/targets", json=body, headers=headers)
    again = await client.post("/v1/targets", json=body, headers=headers)
    assert (first.status_code, again.status_code, again.headers.get("idempotent-replayed")) == (201, 201, "true")


async def test_a_body_over_the_limit_is_refused_before_it_is_read(settings, clock, auth) -> None:
    oversized = b"x" * (MAX_BODY + 1)

    async def chunks():  # sent in chunks, with no declared length
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"x" * 65536

    async with live_api(settings, clock) as api:
        for content, key in [
            (oversized, {}),
            (oversized, {"Idempotency-Key": "big"}),
            (chunks, {"Idempotency-Key": "c"}),
        ]:
            body = content() if callable(content) else content
            headers = {**auth(*ADMIN), "content-type": "application/json", **key}
            # Then each is a 413 naming the body, whether it declared its length or not.
            assert_refused(await api.post("/v1/actuals/batch", content=body, headers=headers), "body", status=413)


async def test_values_finer_than_their_metric_are_refused(client, auth, east) -> None:
    parent = east["parent"]
    [rep1, rep2] = [str(p["target_id"]) for p in parent["children"]]
    ask = {"reason_category": "market_change", "justification": "a customer left"}
    before = await head(client)
    refused = [
        # money is counted in cents
        ("/v1/targets", {"node": "east-2", "metric": "revenue", "period": "2026-Q3", "value": "100.001"}, "value"),
        ("/v1/actuals", {"person": "rep1", "metric": "revenue", "date": "2026-07-01", "value": "100.001"}, "value"),
        (f"/v1/targets/{parent['id']}/adjustments", {**ask, "new_value": "999.999"}, "new_value"),
        (f"/v1/targets/{rep1}/adjustments", {**ask, "transfer_to": rep2, "amount": "0.001"}, "amount"),
        (
            f"/v1/targets/{parent['id']}/adjustments",
            {**ask, "new_value": "1000", "reallocation": {rep1: "600.005", rep2: "399.995"}},
            f"reallocation.{rep1}",
        ),
        # counts are whole
        ("/v1/targets", {"node": "east-2", "metric": "visits", "period": "2026-Q3", "value": "2.5"}, "value"),
        ("/v1/actuals", {"person": "rep1", "metric": "new_customers", "date": "2026-07-01", "value": "2.5"}, "value"),
    ]
    for path, body, field in refused:
        assert_refused(await client.post(path, json=body, headers=auth(*ADMIN)), field)
    assert await head(client) == before


async def test_a_negative_or_absurd_adjustment_is_refused_when_asked_not_when_approved(client, auth, east) -> None:
    parent = east["parent"]
    before = await head(client)
    for value in ["-1", "1e15", "1e400"]:
        body = {"reason_category": "market_change", "justification": "why", "new_value": value}
        assert_refused(
            await client.post(f"/v1/targets/{parent['id']}/adjustments", json=body, headers=auth("east-boss")),
            "new_value",
        )
    assert await head(client) == before


async def test_a_time_split_naming_only_some_sub_periods_is_refused_naming_the_missing_ones(client, auth, east) -> None:
    q4 = east["q4"]["id"]
    split = {
        "axis": "period",
        "method": "explicit",
        "into": "month",
        "allocations": {"2026-10": "300", "2026-11": "600"},
    }
    r = await client.post(f"/v1/targets/{q4}/decomposition", json=split, headers=auth(*ADMIN))
    assert_refused(r, "allocations")
    assert "2026-12" in r.json()["detail"]
    # The same with weights, or naming the parts.
    weights = {"axis": "period", "method": "weights", "into": "month", "weights": {"2026-10": "1"}}
    assert_refused(await client.post(f"/v1/targets/{q4}/decomposition", json=weights, headers=auth(*ADMIN)), "weights")
    parts = {"axis": "period", "method": "even", "into": "month", "parts": ["2026-10", "2026-12"]}
    assert_refused(await client.post(f"/v1/targets/{q4}/decomposition", json=parts, headers=auth(*ADMIN)), "parts")
    # Every month named: split.
    whole = {**split, "allocations": {"2026-10": "300", "2026-11": "300", "2026-12": "300"}}
    assert (await client.post(f"/v1/targets/{q4}/decomposition", json=whole, headers=auth(*ADMIN))).status_code == 201


def test_every_request_body_is_an_input_checked_as_it_is_decoded(client) -> None:
    """The rule lives in one place (schemas.Input): a new endpoint whose body skipped it would fail here."""
    bodies = []
    for route in client.app.routes:
        if route.path.startswith("/console"):
            continue  # the console's forms are decoded into these same Inputs by its own pages
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None:
                bodies.append(data.annotation)
    assert len(bodies) > 25
    assert [b for b in bodies if not (isinstance(b, type) and issubclass(b, Input))] == []


async def test_decimals_are_kept_in_plain_spelling_whatever_way_they_were_written(client, auth, east) -> None:
    body = {"node": "east-2", "metric": "revenue", "period": "2026-Q3", "value": "1.5E+2", "stretch": "2E+2"}
    target = await client.post("/v1/targets", json=body, headers=auth(*ADMIN))
    # Then the target reads 150 and 200, in the answer and when read again.
    assert (target.json()["value"], target.json()["stretch"]) == ("150", "200")
    again = await client.get(f"/v1/targets/{target.json()['id']}", headers=auth(*ADMIN))
    assert (again.json()["value"], again.json()["stretch"]) == ("150", "200")
    # A rule refined with "8E+1" reads 80; an actual of "-0" is stored as 0.
    r = await client.put("/v1/alert-rules/weekly_completion", json={"threshold": "8E+1"}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    rules = (await client.get("/v1/alert-rules", headers=auth(*ADMIN))).json()
    assert "8E+1" not in str(rules) and "80" in str(rules)
    actual = {"person": "rep1", "metric": "revenue", "date": "2026-07-01", "value": "-0", "external_ref": "z"}
    recorded = await client.post("/v1/actuals", json=actual, headers=auth(*ADMIN))
    explained = await client.get(f"/v1/targets/{east['parent']['id']}/explain", headers=auth(*ADMIN))
    assert recorded.status_code == 201 and "E+" not in explained.text


async def test_a_body_that_is_not_json_is_a_400_naming_body(client, auth, east) -> None:
    headers = {**auth(*ADMIN), "content-type": "application/json"}
    for body in [b"{", b'{"node":"east-2",}', b'{"node":"east-2"} trailing', b"\xef\xbb\xbf{}", b'{"value":1e400}']:
        r = await client.post("/v1/targets", content=body, headers=headers)
        assert_refused(r, "body", status=400)
    # No body at all is refused naming the body too.
    r = await client.post("/v1/targets", headers=headers)
    assert r.status_code in (400, 422) and [e["field"] for e in r.json()["errors"]] == ["body"], r.text


async def test_a_path_no_route_takes_is_a_404_naming_path(client, auth, east) -> None:
    for path in ["/v1/targets/not-a-uuid", "/v1/adjustments/%ff"]:
        assert_refused(await client.get(path, headers=auth(*ADMIN)), "path", status=404)
    r = await client.post("/v1/actuals/not-a-uuid/correction", json={"value": "1", "reason": "x"}, headers=auth(*ADMIN))
    assert_refused(r, "path", status=404)


async def test_a_reallocation_of_a_target_without_children_is_refused_not_ignored(client, auth, east) -> None:
    q4 = east["q4"]
    body = {"reason_category": "market_change", "justification": "why", "new_value": "800", "reallocation": {"a": "1"}}
    r = await client.post(f"/v1/targets/{q4['id']}/adjustments", json=body, headers=auth(*ADMIN))
    assert_refused(r, "reallocation")
