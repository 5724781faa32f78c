"""A company target becomes every team's and person's target, and the numbers reconcile."""

from decimal import Decimal

import pytest

ADMIN = ("root", "admin")
REGIONS = {"east": ["east-1", "east-2"], "west": ["west-1", "west-2", "west-3"], "south": ["south-1"]}


@pytest.fixture
async def org(client, auth):
    """acme (ceo) → east/west/south (their managers) → teams (their leads) → two reps each."""
    admin = auth(*ADMIN)

    async def post(path: str, body: dict) -> None:
        r = await client.post(path, json=body, headers=admin)
        assert r.status_code in (200, 201), r.text

    await post("/v1/org/units", {"node": "acme", "kind": "company", "name": "Acme"})
    await post("/v1/org/people", {"person": "ceo", "name": "CEO", "unit": "acme", "effective": "2025-01-01"})
    await post("/v1/org/units/acme/manager", {"manager": "ceo", "effective": "2025-01-01"})
    for region, teams in REGIONS.items():
        await post("/v1/org/units", {"node": region, "kind": "region", "name": region, "parent": "acme"})
        await post(
            "/v1/org/people",
            {"person": f"{region}-boss", "name": region, "unit": region, "effective": "2025-01-01"},
        )
        await post(f"/v1/org/units/{region}/manager", {"manager": f"{region}-boss", "effective": "2025-01-01"})
        for team in teams:
            await post("/v1/org/units", {"node": team, "kind": "team", "name": team, "parent": region})
            for n in (1, 2):
                await post(
                    "/v1/org/people",
                    {"person": f"{team}-rep{n}", "name": f"rep {n}", "unit": team, "effective": "2025-01-01"},
                )


async def _set(client, auth, actor, **body) -> dict:
    r = await client.post("/v1/targets", json=body, headers=auth(*actor))
    assert r.status_code == 201, r.text
    return r.json()


async def _decompose(client, auth, actor, target_id, expect=201, **body) -> dict:
    r = await client.post(f"/v1/targets/{target_id}/decomposition", json=body, headers=auth(*actor))
    assert r.status_code == expect, r.text
    return r.json()


def _sums(parent: dict) -> Decimal:
    return sum((Decimal(c["value"]) for c in parent["children"]), Decimal(0))


async def test_a_yearly_company_target_decomposes_down_to_weeks(client, auth, org, pool) -> None:
    ceo = ("ceo",)
    # The board (admin) sets the company's yearly revenue target: no unit is above the company.
    company = await _set(client, auth, ADMIN, node="acme", metric="revenue", period="2026", value="5000000")
    # ... and splits it over the regions by weights 5 : 3 : 2.
    weights = {"east": "5", "west": "3", "south": "2"}
    split = await _decompose(client, auth, ceo, company["id"], axis="org", method="weights", weights=weights)
    regions = {c["node"]: c for c in split["children"]}
    assert {n: c["value"] for n, c in regions.items()} == {
        "east": "2500000.00",
        "west": "1500000.00",
        "south": "1000000.00",
    }
    assert _sums(split) == Decimal("5000000")
    # Each region's manager splits theirs evenly over their teams (west: 3 teams, cents left over).
    teams = {}
    for region, team_nodes in REGIONS.items():
        done = await _decompose(
            client, auth, (f"{region}-boss",), regions[region]["target_id"], axis="org", method="even"
        )
        assert sorted(c["node"] for c in done["children"]) == sorted(team_nodes)
        assert _sums(done) == Decimal(regions[region]["value"])
        teams |= {c["node"]: c for c in done["children"]}
    assert [teams[t]["value"] for t in REGIONS["west"]] == ["500000.00"] * 3
    # The east manager splits team east-1 over the quarters with seasonal weights.
    seasonal = {"2026-Q1": "2", "2026-Q2": "3", "2026-Q3": "3", "2026-Q4": "4"}
    quarters = await _decompose(
        client,
        auth,
        ("east-boss",),
        teams["east-1"]["target_id"],
        axis="period",
        method="weights",
        weights=seasonal,
    )
    assert [c["value"] for c in quarters["children"]] == ["208333.33", "312500.00", "312500.00", "416666.67"]
    assert _sums(quarters) == Decimal("1250000.00")
    # Q3 into months, evenly; July into ISO weeks, pro-rated by the days each week has in July.
    q3 = next(c for c in quarters["children"] if c["period"] == "2026-Q3")
    months = await _decompose(client, auth, ("east-boss",), q3["target_id"], axis="period", method="even")
    assert [c["period"] for c in months["children"]] == ["2026-07", "2026-08", "2026-09"]
    assert _sums(months) == Decimal("312500.00")
    july = months["children"][0]
    weeks = await _decompose(client, auth, ("east-boss",), july["target_id"], axis="period", method="even", into="week")
    assert [c["period"] for c in weeks["children"]] == [f"2026-W{w}" for w in range(27, 32)]
    days = [5, 7, 7, 7, 5]  # W27 starts on Monday 29 June, W31 ends on Sunday 2 August
    values = [Decimal(c["value"]) for c in weeks["children"]]
    assert sum(values) == Decimal(july["value"])
    assert all(abs(v - Decimal(july["value"]) * d / 31) < Decimal("0.01") for v, d in zip(values, days, strict=True))
    # The same decomposition again returns the same children and stores nothing.
    events = await pool.fetchval("SELECT count(*) FROM events")
    again = await _decompose(
        client, auth, ("east-boss",), july["target_id"], expect=200, axis="period", method="even", into="week"
    )
    assert [c["target_id"] for c in again["children"]] == [c["target_id"] for c in weeks["children"]]
    assert await pool.fetchval("SELECT count(*) FROM events") == events
    # The matrix shows the whole tree below the company with shares, and exports as CSV.
    r = await client.get(
        f"/v1/targets/{company['id']}/decomposition",
        params={"min_position": weeks["position"]},
        headers=auth("ceo"),
    )
    assert r.status_code == 200, r.text
    matrix = r.json()["rows"]
    assert len(matrix) == 1 + 3 + 6 + 4 + 3 + 5
    east = next(row for row in matrix if row["node"] == "east")
    assert (east["depth"], east["share_of_parent"], east["share_of_root"]) == (1, "50.00", "50.00")
    csv = await client.get(f"/v1/targets/{company['id']}/decomposition", params={"format": "csv"}, headers=auth("ceo"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("depth,node,metric,period")
    assert len(csv.text.splitlines()) == len(matrix) + 1


async def test_an_allocation_off_by_a_cent_is_refused_and_nothing_stored(client, auth, org, pool) -> None:
    company = await _set(client, auth, ADMIN, node="acme", metric="revenue", period="2026-Q1", value="100.00")
    before = await pool.fetchval("SELECT count(*) FROM events")
    r = await client.post(
        f"/v1/targets/{company['id']}/decomposition",
        json={
            "axis": "org",
            "method": "explicit",
            "allocations": {"east": "50.00", "west": "30.00", "south": "19.99"},
        },
        headers=auth("ceo"),
    )
    assert r.status_code == 422
    assert "0.01 short of" in r.json()["detail"] and r.json()["errors"][0]["field"] == "allocations"
    assert await pool.fetchval("SELECT count(*) FROM events") == before


async def test_explicit_allocations_that_sum_are_accepted(client, auth, org) -> None:
    company = await _set(client, auth, ADMIN, node="acme", metric="orders", period="2026-07", value="10")
    done = await _decompose(
        client,
        auth,
        ("ceo",),
        company["id"],
        axis="org",
        method="explicit",
        allocations={"east": "6", "west": "4"},
    )
    assert {c["node"]: c["value"] for c in done["children"]} == {"east": "6", "west": "4"}


async def test_counts_split_into_whole_units(client, auth, org) -> None:
    team = await _set(client, auth, ("east-boss",), node="east-1", metric="visits", period="2026-07", value="10")
    done = await _decompose(client, auth, ("east-boss",), team["id"], axis="org", method="even")
    assert sorted(c["value"] for c in done["children"]) == ["5", "5"]
    quarter = await _set(client, auth, ("ceo",), node="east", metric="orders", period="2026-Q3", value="10")
    months = await _decompose(client, auth, ("ceo",), quarter["id"], axis="period", method="even")
    assert [c["value"] for c in months["children"]] == ["4", "3", "3"]


async def test_a_dimension_split_scopes_the_children(client, auth, org) -> None:
    region = await _set(client, auth, ("ceo",), node="east", metric="revenue", period="2026-H1", value="900")
    done = await _decompose(client, auth, ("ceo",), region["id"], axis="dimension", method="even", dimension="segment")
    assert {c["scope"]["segment"]: c["value"] for c in done["children"]} == {
        "new": "300.00",
        "existing": "300.00",
        "key_account": "300.00",
    }


async def test_a_ratio_target_is_inherited_not_divided(client, auth, org) -> None:
    rate = await _set(client, auth, ADMIN, node="acme", metric="conversion_rate", period="2026", value="0.25")
    done = await _decompose(client, auth, ("ceo",), rate["id"], axis="org", method="even")
    assert {c["value"] for c in done["children"]} == {"0.25"}


async def test_only_managers_above_set_or_decompose(client, auth, org) -> None:
    body = {"node": "west-1-rep1", "metric": "revenue", "period": "2026", "value": "10"}
    # A manager of another branch, and the rep themselves, may not set it.
    for outsider in ("east-boss", "west-1-rep2", "west-1-rep1", "stranger"):
        r = await client.post("/v1/targets", json=body, headers=auth(outsider))
        assert r.status_code == 403, (outsider, r.text)
        assert "manage a unit above it" in r.json()["detail"]
    # The west manager may; the east manager may not decompose the west's target.
    await _set(client, auth, ("west-boss",), **body)
    west = await _set(client, auth, ("ceo",), node="west", metric="revenue", period="2026", value="30")
    r = await client.post(
        f"/v1/targets/{west['id']}/decomposition",
        json={"axis": "org", "method": "even"},
        headers=auth("east-boss"),
    )
    assert r.status_code == 403
    # Along time, the west manager needs someone above: the target sits on their own unit.
    r = await client.post(
        f"/v1/targets/{west['id']}/decomposition",
        json={"axis": "period", "method": "even"},
        headers=auth("west-boss"),
    )
    assert r.status_code == 403


async def test_a_salesperson_acknowledges_their_own_target_only(client, auth, org) -> None:
    mine = await _set(client, auth, ("east-boss",), node="east-1-rep1", metric="calls", period="2026-07", value="80")
    # A colleague cannot acknowledge it.
    r = await client.post(f"/v1/targets/{mine['id']}/acknowledgement", json={}, headers=auth("east-1-rep2"))
    assert r.status_code == 403
    # The rep acknowledges it, then reads it back.
    r = await client.post(
        f"/v1/targets/{mine['id']}/acknowledgement", json={"comment": "ok"}, headers=auth("east-1-rep1")
    )
    assert r.status_code == 200 and r.json()["acknowledgement"] == "acknowledged"
    assert r.headers["etag"] == '"2"'
    # A dispute needs a reason.
    r = await client.post(f"/v1/targets/{mine['id']}/dispute", json={}, headers=auth("east-1-rep1"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "comment"


async def test_a_second_target_for_the_same_key_names_the_first(client, auth, org) -> None:
    body = {"node": "east", "metric": "revenue", "period": "2026", "value": "1", "scope": {"segment": "new"}}
    first = await _set(client, auth, ("ceo",), **body)
    r = await client.post("/v1/targets", json={**body, "value": "2"}, headers=auth("ceo"))
    assert r.status_code == 409 and first["id"] in r.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period": "2026-Q5"}, "period"),
        ({"period": "2025-W53"}, "period"),
        ({"metric": "happiness"}, "metric"),
        ({"value": "-5"}, "value"),
        ({"scope": {"segment": "vip"}}, "scope.segment"),
        ({"scope": {"colour": "red"}}, "scope.colour"),
        ({"node": "nowhere"}, "node"),
        ({"stretch": "1"}, "stretch"),
    ],
)
async def test_bad_targets_get_a_422_naming_the_field(client, auth, org, pool, change, field) -> None:
    body = {"node": "east", "metric": "revenue", "period": "2026", "value": "100", **change}
    r = await client.post("/v1/targets", json=body, headers=auth("ceo"))
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await pool.fetchval("SELECT count(*) FROM events WHERE type LIKE 'Target%'") == 0


async def test_user_defined_metrics_and_dimension_values(client, auth, org) -> None:
    admin = auth(*ADMIN)
    # Admin declares products and a lower-is-better metric.
    r = await client.post("/v1/dimensions", json={"name": "product", "values": ["A", "B"]}, headers=admin)
    assert r.status_code == 201
    r = await client.post("/v1/metrics", json={"name": "returns", "unit": "count", "direction": "lower"}, headers=admin)
    assert r.status_code == 201
    target = await _set(
        client,
        auth,
        ("ceo",),
        node="east",
        metric="returns",
        period="2026",
        value="10",
        scope={"product": "A"},
    )
    assert target["scope"] == {"product": "A"}
    names = [m["name"] for m in (await client.get("/v1/metrics", headers=admin)).json()]
    assert "returns" in names and "conversion_rate" in names
    # A ratio metric must name additive parts.
    r = await client.post(
        "/v1/metrics",
        json={
            "name": "bad_ratio",
            "unit": "ratio",
            "rollup": "ratio",
            "numerator": "conversion_rate",
            "denominator": "calls",
        },
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "numerator"
    # Only admins declare.
    assert (
        await client.post("/v1/dimensions", json={"name": "x", "values": ["y"]}, headers=auth("ceo"))
    ).status_code == 403


async def test_last_periods_actual_mix_weights_the_split(client, auth, org) -> None:
    # Last year east-1 sold 300 and east-2 sold 100 (one sale outside 2025 does not count).
    crm = auth("crm", "integration")
    for person, day, value in [
        ("east-1-rep1", "2025-03-01", "200"),
        ("east-1-rep2", "2025-11-30", "100"),
        ("east-2-rep1", "2025-06-15", "100"),
        ("east-2-rep1", "2026-01-02", "900"),
    ]:
        r = await client.post(
            "/v1/actuals", json={"person": person, "metric": "revenue", "date": day, "value": value}, headers=crm
        )
        assert r.status_code == 201, r.text
    # The east target for 2026 is split by that mix, without waiting for the read model by hand.
    east = await _set(client, auth, ("ceo",), node="east", metric="revenue", period="2026", value="1000")
    done = await _decompose(client, auth, ("east-boss",), east["id"], axis="org", method="last_period_mix")
    assert {c["node"]: c["value"] for c in done["children"]} == {"east-1": "750.00", "east-2": "250.00"}


async def test_a_mix_without_last_period_actuals_is_refused(client, auth, org) -> None:
    east = await _set(client, auth, ("ceo",), node="east", metric="calls", period="2026", value="10")
    r = await client.post(
        f"/v1/targets/{east['id']}/decomposition",
        json={"axis": "org", "method": "last_period_mix"},
        headers=auth("east-boss"),
    )
    assert r.status_code == 422 and "no actuals last period" in r.json()["detail"]
