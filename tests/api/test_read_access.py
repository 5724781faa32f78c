"""Who may read what: one story per row of the README's table, and outsiders read nothing."""

import re
import uuid
from datetime import UTC, datetime

import pytest

from target_ledger.domain.alert import Alert
from target_ledger.eventstore import Metadata
from tests.api.monitoring_support import head
from tests.api.support import ADMIN, ask, build_east, team_target

OUTSIDER = ("mallory",)  # a valid token whose subject the organisation never had, and no role
AUDITOR, CRM = ("eve", "auditor"), ("crm", "integration")


@pytest.fixture
async def east(client, auth, clock) -> dict:
    """East on 10 July 2026: east-1's Q3 target of 1,000 split 600 : 400 between rep1 and rep2,
    who have sold 100 and 50."""
    clock.set("2026-07-10")
    await build_east(client, auth)
    team = await team_target(client, auth)
    for person, value in (("rep1", "100"), ("rep2", "50")):
        body = {"person": person, "metric": "revenue", "date": "2026-07-05", "value": value}
        assert (await client.post("/v1/actuals", json=body, headers=auth(person))).status_code == 201
    return {"team": team, **{c["node"]: c for c in team["children"]}}


async def _get(client, auth, path: str, who: tuple, **params):
    return await client.get(path, params={"min_position": await head(client), **params}, headers=auth(*who))


async def _ok(client, auth, path: str, who: tuple, **params):
    r = await _get(client, auth, path, who, **params)
    assert r.status_code == 200, (who, path, params, r.text)
    return r.json()


def _refused(r, status: int = 403, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    if field is not None:
        assert [e["field"] for e in r.json()["errors"]] == [field], r.text


# The reproducers: any valid token read every request of the company.


async def test_outsider_token_cannot_list_adjustments(client, auth, east) -> None:
    asked = await ask(client, auth, east["team"]["id"], new_value="950")
    _refused(await _get(client, auth, "/v1/adjustments", OUTSIDER))
    assert [r["adjustment_id"] for r in await _ok(client, auth, "/v1/adjustments", ("lead1",))] == [asked["id"]]


async def test_outsider_token_cannot_read_an_adjustment(client, auth, east) -> None:
    asked = await ask(client, auth, east["team"]["id"], new_value="950")
    _refused(await _get(client, auth, f"/v1/adjustments/{asked['id']}", OUTSIDER))
    # Nor learn from a 404 which ids exist: refused before the lookup.
    _refused(await _get(client, auth, f"/v1/adjustments/{uuid.uuid4()}", OUTSIDER))
    _refused(await _get(client, auth, f"/v1/adjustments/{uuid.uuid4()}", ADMIN), 404)


async def test_a_manager_elsewhere_neither_lists_nor_reads_a_request(client, auth, east) -> None:
    asked = await ask(client, auth, east["team"]["id"], new_value="950")
    assert await _ok(client, auth, "/v1/adjustments", ("lead2",)) == []
    _refused(await _get(client, auth, f"/v1/adjustments/{asked['id']}", ("lead2",)))
    assert (await _ok(client, auth, f"/v1/adjustments/{asked['id']}", AUDITOR))["id"] == asked["id"]


async def test_approvers_at_both_levels_see_the_request_routed_to_them(client, auth, east) -> None:
    asked = await ask(client, auth, east["team"]["id"], new_value="800")  # 20 %: two approvals
    assert asked["approvals_needed"] == 2
    for approver in ("east-boss", "ceo"):
        inbox = await _ok(client, auth, "/v1/adjustments", (approver,), approver="me")
        assert [r["adjustment_id"] for r in inbox] == [asked["id"]], approver
        assert (await _ok(client, auth, f"/v1/adjustments/{asked['id']}", (approver,)))["status"] == "pending"
        r = await client.post(f"/v1/adjustments/{asked['id']}/approve", headers=auth(approver))
        assert r.status_code == 200, r.text
    assert (await _ok(client, auth, f"/v1/adjustments/{asked['id']}", ("ceo",)))["status"] == "approved"


async def test_a_person_sees_their_units_request_without_a_colleagues_figures(client, auth, east) -> None:
    on_team = await ask(client, auth, east["team"]["id"], new_value="950")
    body = {"transfer_to": east["rep1"]["target_id"], "amount": "50"}
    on_rep2 = await ask(client, auth, east["rep2"]["target_id"], who="rep2", **body)
    [seen] = await _ok(client, auth, "/v1/adjustments", ("rep1",))
    assert seen["adjustment_id"] == on_team["id"]  # east-1's, not rep2's own request
    actual = {c["node"]: c["actual"] for c in seen["changes"]}
    assert actual == {"east-1": "150", "rep1": "100", "rep2": None}
    _refused(await _get(client, auth, f"/v1/adjustments/{on_rep2['id']}", ("rep1",)))
    assert len(await _ok(client, auth, "/v1/adjustments", ("lead1",))) == 2


# Outsiders and leavers read nothing, whichever read it is.

QUERY = {
    "node": "east",
    "unit": "east-1",
    "metric": "revenue",
    "period": "2026-Q3",
    "format": "xlsx",
}  # xlsx: the exports


async def test_outsiders_and_leavers_get_403_from_every_read(client, auth, east) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    reads = [(p, op) for p, ops in spec["paths"].items() if p.startswith("/v1/") for m, op in ops.items() if m == "get"]
    assert len(reads) >= 25, [p for p, _ in reads]
    r = await client.post("/v1/org/people/rep2/leave", json={"effective": "2026-07-09"}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    for path, operation in reads:
        url = re.sub(r"\{[^}]*id\}", east["team"]["id"], path).replace("{period}", "2026-Q3")
        url = url.replace("{node}", "east").replace("{person}", "rep1")
        required = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")]
        for who in (OUTSIDER, ("rep2",)):
            r = await client.get(url, params={k: QUERY[k] for k in required}, headers=auth(*who))
            _refused(r)


async def test_a_leaver_no_longer_reads_their_own_figures(client, auth, east) -> None:
    query = {"node": "rep2", "metric": "revenue", "period": "2026-Q3"}
    await _ok(client, auth, "/v1/attainment", ("rep2",), **query)
    r = await client.post("/v1/org/people/rep2/leave", json={"effective": "2026-07-09"}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    _refused(await _get(client, auth, "/v1/attainment", ("rep2",), **query))


# Query ids that do not exist: a 404 naming the field, for members; outsiders learn nothing.


async def test_unknown_node_is_a_404_naming_node(client, auth, east) -> None:
    query = {"node": "nobody", "metric": "revenue", "period": "2026-Q3"}
    _refused(await _get(client, auth, "/v1/attainment", ("lead1",), **query), 404, "node")
    _refused(await _get(client, auth, "/v1/attainment", OUTSIDER, **query))


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/v1/attainment", {"node": "east-1", "metric": "nope", "period": "2026-Q3"}, "metric"),
        ("/v1/attainment/leaderboard", {"unit": "nobody", "metric": "revenue", "period": "2026-Q3"}, "unit"),
        ("/v1/attainment/leaderboard", {"unit": "east-1", "metric": "nope", "period": "2026-Q3"}, "metric"),
        ("/v1/alerts", {"node": "nobody"}, "node"),
        ("/v1/corrective-actions", {"node": "nobody"}, "node"),
        ("/v1/corrective-actions", {"owner": "nobody"}, "owner"),
        ("/v1/audit", {"node": "nobody"}, "node"),
        ("/v1/reviews/2026-Q3", {"node": "nobody"}, "node"),
        ("/v1/periods", {"node": "nobody"}, "node"),
        ("/v1/org/nodes/nobody", {}, "node"),
    ],
)
async def test_an_unknown_id_in_a_query_is_a_404_naming_it(client, auth, east, path, query, field) -> None:
    _refused(await _get(client, auth, path, ("lead1",), **query), 404, field)
    _refused(await _get(client, auth, path, OUTSIDER, **query))


async def test_an_unknown_reason_category_in_the_audit_search_is_refused_naming_it(client, auth, east) -> None:
    # A typo answered an empty list: "no change was ever made for that reason".
    r = await _get(client, auth, "/v1/audit", AUDITOR, reason_category="market_changes")
    assert r.status_code in (400, 422), r.text
    assert [e["field"] for e in r.json()["errors"]] == ["reason_category"], r.text
    assert await _ok(client, auth, "/v1/audit", AUDITOR, reason_category="market_change") == []


# One row of the table each: a caller outside it is refused, one inside it answered.


@pytest.mark.parametrize("path", ["/v1/org/tree", "/v1/org/nodes/east", "/v1/metrics", "/v1/dimensions"])
async def test_the_org_and_the_catalog_are_for_members_and_roles(client, auth, east, path) -> None:
    _refused(await _get(client, auth, path, OUTSIDER))
    for who in (("rep1",), CRM, AUDITOR):
        await _ok(client, auth, path, who)


async def test_alert_rules_are_for_members_and_roles(client, auth, east) -> None:
    _refused(await _get(client, auth, "/v1/alert-rules", OUTSIDER))
    assert "defaults" in await _ok(client, auth, "/v1/alert-rules", ("rep2",))


@pytest.mark.parametrize("suffix", ["", "/explain", "/history", "/decomposition"])
async def test_a_target_is_for_those_who_may_read_its_node(client, auth, east, suffix) -> None:
    path = f"/v1/targets/{east['team']['id']}{suffix}"
    for who in (OUTSIDER, ("lead2",)):
        _refused(await _get(client, auth, path, who))
    # Target ids derive from their key: an outsider must not learn from a 404 which exist.
    _refused(await _get(client, auth, f"/v1/targets/{uuid.uuid4()}{suffix}", OUTSIDER))
    for who in (("rep1",), ("lead1",), ("ceo",), AUDITOR):
        await _ok(client, auth, path, who)


async def test_attainment_of_a_colleague_is_refused_and_hidden_from_the_breakdown(client, auth, east) -> None:
    query = {"metric": "revenue", "period": "2026-Q3"}
    _refused(await _get(client, auth, "/v1/attainment", ("rep1",), node="rep2", **query))
    _refused(await _get(client, auth, "/v1/attainment", ("lead2",), node="east-1", **query))
    mine = await _ok(client, auth, "/v1/attainment", ("rep1",), node="east-1", breakdown="children", **query)
    assert [r["node"] for r in mine["breakdown"]] == ["rep1"]
    theirs = await _ok(client, auth, "/v1/attainment", ("lead1",), node="east-1", breakdown="children", **query)
    assert sorted(r["node"] for r in theirs["breakdown"]) == ["lead1", "rep1", "rep2"]


async def test_the_leaderboard_ranks_only_the_people_the_reader_may_read(client, auth, east) -> None:
    query = {"unit": "east-1", "metric": "revenue", "period": "2026-Q3"}
    path = "/v1/attainment/leaderboard"
    assert [r["node"] for r in (await _ok(client, auth, path, ("rep2",), **query))["rows"]] == ["rep2"]
    assert [r["node"] for r in (await _ok(client, auth, path, ("lead1",), **query))["rows"]] == ["rep1", "rep2"]
    _refused(await _get(client, auth, path, ("lead2",), **query))


async def test_the_audit_search_keeps_to_what_the_reader_may_read(client, auth, east) -> None:
    _refused(await _get(client, auth, "/v1/audit", ("lead1",)))  # without a node: auditors and admins
    _refused(await _get(client, auth, "/v1/audit", ("rep1",), node="east-2"))
    _refused(await _get(client, auth, "/v1/audit", OUTSIDER, node="east-1"))
    mine = {e["node"] for e in await _ok(client, auth, "/v1/audit", ("rep1",), node="east-1")}
    assert mine == {"east-1", "rep1"}
    assert {e["node"] for e in await _ok(client, auth, "/v1/audit", AUDITOR)} == {"east-1", "rep1", "rep2"}


async def _raise(store, rule: str, node: str, assignee: str) -> str:
    alert = Alert.raise_(
        rule=rule, subject=node, target_id=None, node=node, message=rule, assignee=assignee, at=datetime.now(UTC)
    )
    await store.append(alert.collect_events(), Metadata(actor="scheduler"))
    return str(alert.id)


async def test_alerts_are_for_readers_of_their_node_and_whom_they_go_to(client, auth, store, east) -> None:
    on_rep2 = await _raise(store, "no_actuals", "rep2", assignee="lead1")
    on_east2 = await _raise(store, "follow_up_missed", "east-2", assignee="rep1")  # rep1 supervises it
    seen = {
        who: {a["alert_id"] for a in await _ok(client, auth, "/v1/alerts", (who,))}
        for who in ("rep1", "rep2", "lead1", "lead2", "ceo")
    }
    assert seen == {
        "rep1": {on_east2},
        "rep2": {on_rep2},
        "lead1": {on_rep2},
        "lead2": {on_east2},
        "ceo": {on_rep2, on_east2},
    }
    _refused(await _get(client, auth, "/v1/alerts", ("rep1",), node="rep2"))
    _refused(await _get(client, auth, "/v1/alerts", OUTSIDER))


async def test_an_action_is_for_readers_of_its_node_and_the_people_named_on_it(client, auth, east) -> None:
    opening = {"target_id": east["rep1"]["target_id"], "causes": [], "plan": "visit key accounts", "due": "2026-07-31"}
    opening["causes"] = [{"kind": "objective", "factor": "market", "description": "slow summer"}]
    ids = {}
    for owner in ("rep1", "rep2"):
        r = await client.post("/v1/corrective-actions", json={**opening, "owner": owner}, headers=auth("lead1"))
        assert r.status_code == 201, r.text
        ids[owner] = r.json()["id"]
    listed = await _ok(client, auth, "/v1/corrective-actions", ("rep2",))
    assert [a["id"] for a in listed] == [ids["rep2"]]  # rep2 owns it, though it is on rep1's target
    _refused(await _get(client, auth, f"/v1/corrective-actions/{ids['rep1']}", ("rep2",)))
    await _ok(client, auth, f"/v1/corrective-actions/{ids['rep2']}", ("rep2",))
    assert len(await _ok(client, auth, "/v1/corrective-actions", ("rep1",))) == 2
    _refused(await _get(client, auth, "/v1/corrective-actions", OUTSIDER))
    _refused(await _get(client, auth, f"/v1/corrective-actions/{uuid.uuid4()}", OUTSIDER))


async def test_closures_are_seen_by_those_they_bind_and_those_who_may_read_their_node(
    client, auth, clock, east
) -> None:
    clock.set("2026-08-03")
    # east-2 first: once east is closed, a close of east-2 under it is a 409 (already closed).
    for node, who in (("east-2", "lead2"), ("east", "east-boss")):
        r = await client.post("/v1/periods/2026-07/close", json={"node": node}, headers=auth(who))
        assert r.status_code == 200, r.text
    closed = {who: {c["node"] for c in await _ok(client, auth, "/v1/periods", who)} for who in (("rep1",), CRM)}
    assert closed == {("rep1",): {"east"}, CRM: {"east", "east-2"}}
    _refused(await _get(client, auth, "/v1/periods", ("rep1",), node="east-2"))
    _refused(await _get(client, auth, "/v1/periods", OUTSIDER))


async def test_a_review_shows_a_person_only_their_own_row(client, auth, east) -> None:
    rows = {
        who: {r["node"] for r in (await _ok(client, auth, "/v1/reviews/2026-Q3", (who,), node="east-1"))["rows"]}
        for who in ("rep1", "east-boss")
    }
    assert rows == {"rep1": {"east-1", "rep1"}, "east-boss": {"east-1", "rep1", "rep2"}}
    _refused(await _get(client, auth, "/v1/reviews/2026-Q3", ("lead2",), node="east-1"))


@pytest.mark.parametrize("path", ["/v1/feed", "/v1/feed/schemas", "/v1/webhooks"])
async def test_integration_events_and_webhooks_are_for_the_roles(client, auth, east, path) -> None:
    _refused(await _get(client, auth, path, ("ceo",)))
    await _ok(client, auth, path, CRM)


async def test_a_feed_filtered_by_a_node_that_never_was_is_a_404_naming_node(client, auth) -> None:
    await build_east(client, auth)
    integration = auth("bi", "integration")
    # Then a page, the stream and a webhook filtered by `nobody` are refused, naming node...
    for path in ["/v1/feed", "/v1/feed/stream"]:
        r = await client.get(path, params={"node": "nobody"}, headers=integration)
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "node", r.text
    r = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "node": "nobody"}, headers=integration)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "node", r.text
    # ... and so is a token limited to a subtree that never was...
    for path in ["/v1/feed", "/v1/feed/stream"]:
        r = await client.get(path, headers=auth("bi", "integration", "nobody"))
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "scope_node", r.text
    # ... while a real node filters as before.
    assert (await client.get("/v1/feed", params={"node": "east"}, headers=integration)).status_code == 200
    assert (await client.get("/v1/feed", headers=auth("bi", "integration", "east"))).status_code == 200
