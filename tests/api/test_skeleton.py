"""The walking skeleton over HTTP: set a target, record actuals, read attainment."""

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from target_ledger.app import create_app

ADMIN = ("ceo", "admin")
LEDGER_EVENTS = "SELECT count(*) FROM events WHERE type IN ('TargetSet', 'ActualRecorded')"


@pytest.fixture(autouse=True)
async def staff(client, auth) -> None:
    """Everyone these stories name works in one sales team."""
    admin = auth(*ADMIN)
    units = [
        {"node": "acme", "kind": "company", "name": "Acme"},
        {"node": "sales", "kind": "team", "name": "Sales", "parent": "acme"},
    ]
    for unit in units:
        assert (await client.post("/v1/org/units", json=unit, headers=admin)).status_code == 201
    for person in ["alice", "bob", "carol", "dave", "erin", "fay", "gus", "hal", "ivy", "jo", "a"]:
        body = {"person": person, "name": person, "unit": "sales", "effective": "2025-01-01"}
        assert (await client.post("/v1/org/people", json=body, headers=admin)).status_code == 201


async def test_target_actuals_and_attainment_end_to_end(client, auth) -> None:
    # The admin sets Alice's Q3 revenue target.
    r = await client.post(
        "/v1/targets",
        json={
            "node": "alice",
            "metric": "revenue",
            "period": "2026-Q3",
            "value": "1000.00",
            "rationale": "plan",
        },
        headers=auth(*ADMIN),
    )
    assert r.status_code == 201, r.text
    target = r.json()
    assert r.headers["etag"] == '"1"' and r.headers["location"] == f"/v1/targets/{target['id']}"
    # Alice records two actuals inside the quarter and one outside it.
    positions = []
    for day, value in [("2026-07-03", "250.50"), ("2026-09-30", "100"), ("2026-10-01", "999")]:
        r = await client.post(
            "/v1/actuals",
            json={
                "person": "alice",
                "metric": "revenue",
                "date": day,
                "value": value,
                "source": "crm",
                "external_ref": f"deal-{day}",
            },
            headers=auth("alice"),
        )
        assert r.status_code == 201, r.text
        positions.append(r.json()["position"])
    # Reading with min_position waits for the read model to catch up.
    r = await client.get(
        "/v1/attainment",
        params={"node": "alice", "metric": "revenue", "period": "2026-Q3", "min_position": max(positions)},
        headers=auth("alice"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["position"] >= max(positions)
    row = body["row"]
    assert (row["target"], row["actual"], row["gap"], row["attainment_pct"]) == (
        "1000.00",
        "350.50",
        "649.50",
        "35.05",
    )


async def test_resending_an_actual_changes_nothing(client, auth, pool) -> None:
    body = {
        "person": "bob",
        "metric": "orders",
        "date": "2026-07-01",
        "value": "3",
        "source": "crm",
        "external_ref": "order-42",
    }
    first = await client.post("/v1/actuals", json=body, headers=auth("bob"))
    # The same actual again (other content is a 409: tests/api/test_actuals_contract.py).
    again = await client.post("/v1/actuals", json=body, headers=auth("bob"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert await pool.fetchval(LEDGER_EVENTS) == 1


async def test_the_actor_comes_from_the_token(client, auth, pool) -> None:
    await client.post(
        "/v1/targets",
        json={"node": "carol", "metric": "calls", "period": "2026-07", "value": "40"},
        headers={**auth(*ADMIN), "X-Correlation-ID": "crm-sync-7"},
    )
    meta = await pool.fetchrow(
        "SELECT metadata->>'actor' AS actor, metadata->>'correlation_id' AS corr FROM events WHERE type = 'TargetSet'"
    )
    assert dict(meta) == {"actor": "ceo", "corr": "crm-sync-7"}


async def test_a_second_target_for_the_same_key_is_a_conflict_naming_it(client, auth) -> None:
    body = {"node": "dave", "metric": "revenue", "period": "2026", "value": "10"}
    first = await client.post("/v1/targets", json=body, headers=auth(*ADMIN))
    second = await client.post("/v1/targets", json={**body, "value": "20"}, headers=auth(*ADMIN))
    assert second.status_code == 409
    assert second.headers["content-type"].startswith("application/problem+json")
    assert first.json()["id"] in second.json()["detail"]


async def test_an_idempotency_key_makes_a_retry_harmless(client, auth, pool) -> None:
    body = {"node": "erin", "metric": "revenue", "period": "2026-H1", "value": "10"}
    headers = {**auth(*ADMIN), "Idempotency-Key": "k-1"}
    first = await client.post("/v1/targets", json=body, headers=headers)
    again = await client.post("/v1/targets", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["position"] == first.json()["position"]
    assert await pool.fetchval(LEDGER_EVENTS) == 1


async def test_reading_a_target_gives_its_value_and_etag(client, auth) -> None:
    created = await client.post(
        "/v1/targets",
        json={"node": "fay", "metric": "visits", "period": "2026-W27", "value": "12"},
        headers=auth(*ADMIN),
    )
    r = await client.get(f"/v1/targets/{created.json()['id']}", headers=auth("fay"))
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    assert r.json()["value"] == "12" and r.json()["period"] == "2026-W27"
    # Someone else without a role may not read it.
    assert (await client.get(f"/v1/targets/{created.json()['id']}", headers=auth("gus"))).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic YTpi"}],
)
async def test_requests_without_a_valid_token_get_401(client, headers) -> None:
    r = await client.get("/v1/attainment", params={"node": "alice"}, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 401 and "token" in r.json()["detail"]


async def test_a_token_signed_with_another_secret_is_refused(client) -> None:
    from target_ledger.api.auth import issue_token

    forged = issue_token("another-secret-that-is-long-enough-0123", "mallory", "admin")
    r = await client.get("/v1/attainment", params={"node": "x"}, headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"node": "a", "metric": "revenue", "period": "2026-Q3"}, "value"),
        ({"node": "a", "metric": "revenue", "period": "2026-Q3", "value": "lots"}, "value"),
        ({"node": "a", "metric": "revenue", "period": "2026-Q5", "value": "1"}, "period"),
        ({"node": "a", "metric": "revenue", "period": "2026-W54", "value": "1"}, "period"),
        ({"node": "a", "metric": "Revenue!", "period": "2026", "value": "1"}, "metric"),
        ({"node": "a", "metric": "revenue", "period": "2026", "value": "-1"}, "value"),
        ({"node": "a", "metric": "revenue", "period": "2026", "value": "NaN"}, "value"),
        ({"node": "a", "metric": "revenue", "period": "2026", "value": "1e999999999"}, "value"),
        ({"node": "a", "metric": "revenue", "period": "2026", "value": "0.0000001"}, "value"),
        ({"node": "a", "metric": "revenue", "period": "2026", "value": "1", "owner": "x"}, "owner"),
        ({"node": "", "metric": "revenue", "period": "2026", "value": "1"}, "node"),
    ],
)
async def test_a_malformed_target_names_the_field_and_stores_nothing(client, auth, pool, body, field) -> None:
    r = await client.post("/v1/targets", json=body, headers=auth(*ADMIN))
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await pool.fetchval(LEDGER_EVENTS) == 0


async def test_malformed_json_is_a_400_problem(client, auth) -> None:
    r = await client.post(
        "/v1/actuals",
        content=b"{not json",
        headers={**auth("a"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_people_do_not_set_their_own_targets_and_record_only_their_own_actuals(client, auth) -> None:
    target = {"node": "hal", "metric": "revenue", "period": "2026", "value": "1"}
    r = await client.post("/v1/targets", json=target, headers=auth("hal"))
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    actual = {"person": "hal", "metric": "revenue", "date": "2026-01-05", "value": "1"}
    assert (await client.post("/v1/actuals", json=actual, headers=auth("ivy"))).status_code == 403
    assert (await client.post("/v1/actuals", json=actual, headers=auth("crm", "integration"))).status_code == 201


async def test_min_position_beyond_the_log_answers_503_with_retry_after(auth, settings) -> None:
    impatient = msgspec.structs.replace(settings, min_position_timeout=0.3)
    async with AsyncTestClient(create_app(impatient)) as client:
        r = await client.get(
            "/v1/attainment",
            params={"node": "alice", "metric": "revenue", "period": "2026", "min_position": 10_000_000},
            headers=auth("alice"),
        )
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_health_and_openapi_need_no_token(client) -> None:
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/ready")).json()["status"] == "ok"
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["openapi"].startswith("3.1") and "/v1/attainment" in schema["paths"]


async def test_round_values_keep_their_plain_decimal_form(client, auth) -> None:
    await client.post(
        "/v1/targets",
        json={"node": "jo", "metric": "revenue", "period": "2026", "value": "120000"},
        headers=auth(*ADMIN),
    )
    r = await client.post(
        "/v1/actuals",
        json={"person": "jo", "metric": "revenue", "date": "2026-03-01", "value": "20000"},
        headers=auth("jo"),
    )
    body = (
        await client.get(
            "/v1/attainment",
            params={"node": "jo", "metric": "revenue", "period": "2026", "min_position": r.json()["position"]},
            headers=auth("jo"),
        )
    ).json()
    row = body["row"]
    assert (row["target"], row["actual"], row["gap"]) == ("120000", "20000", "100000")
