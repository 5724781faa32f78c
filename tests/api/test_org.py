"""The organisation over HTTP: admins build it, anyone signed in reads it as of a date."""

from datetime import UTC, date, datetime

import pytest

from target_ledger.application import Caches, Command
from target_ledger.application.org import add_person, create_unit
from target_ledger.domain.access import Principal
from target_ledger.eventstore import EventStore

ADMIN = ("ceo", "admin")


async def build(client, auth, *, company: bool = True) -> None:
    """acme > sales > east > east-1, sales > west; tim and ann in east-1 (tim manages it), eve
    manages east."""
    units = [{"node": "acme", "kind": "company", "name": "Acme"}] if company else []
    units += [
        {"node": "sales", "kind": "department", "name": "Sales", "parent": "acme"},
        {"node": "east", "kind": "region", "name": "East", "parent": "sales"},
        {"node": "west", "kind": "region", "name": "West", "parent": "sales"},
        {"node": "east-1", "kind": "team", "name": "East 1", "parent": "east"},
    ]
    for body in units:
        r = await client.post("/v1/org/units", json=body, headers=auth(*ADMIN))
        assert r.status_code == 201, r.text
    for person, unit in [("eve", "east"), ("tim", "east-1"), ("ann", "east-1")]:
        r = await client.post(
            "/v1/org/people",
            json={"person": person, "name": person.title(), "unit": unit, "effective": "2026-01-01"},
            headers=auth(*ADMIN),
        )
        assert r.status_code == 201, r.text
    for unit, manager in [("east", "eve"), ("east-1", "tim")]:
        r = await client.post(
            f"/v1/org/units/{unit}/manager",
            json={"manager": manager, "effective": "2026-01-01"},
            headers=auth(*ADMIN),
        )
        assert r.status_code == 200, r.text


async def test_an_admin_builds_a_tree_and_anyone_signed_in_reads_it_back(client, auth) -> None:
    # The admin creates the company, and the first response carries its position.
    r = await client.post(
        "/v1/org/units", json={"node": "acme", "kind": "company", "name": "Acme"}, headers=auth(*ADMIN)
    )
    assert r.status_code == 201 and r.headers["location"] == "/v1/org/nodes/acme"
    assert r.json() == {"node": "acme", "position": r.json()["position"]}
    # The admin adds the rest.
    await build(client, auth, company=False)
    # Ann, without a role, reads the tree as of February.
    r = await client.get("/v1/org/tree", params={"as_of": "2026-02-01"}, headers=auth("ann"))
    assert r.status_code == 200, r.text
    root = r.json()["root"]
    assert (root["node"], root["kind"], r.json()["as_of"]) == ("acme", "company", "2026-02-01")
    east = root["children"][0]["children"][0]
    assert (east["node"], east["manager"]) == ("east", "eve")
    assert [c["node"] for c in east["children"]] == ["east-1", "eve"]
    assert east["children"][0]["children"][1] == {
        "node": "ann",
        "kind": "person",
        "name": "Ann",
        "manager": None,
        "children": [],
    }
    # She reads one node: where it sits, what is below it, who manages it and above.
    r = await client.get("/v1/org/nodes/east-1", params={"as_of": "2026-02-01"}, headers=auth("ann"))
    assert r.json() == {
        "node": "east-1",
        "kind": "team",
        "name": "East 1",
        "as_of": "2026-02-01",
        "parent": "east",
        "ancestors": ["east", "sales", "acme"],
        "children": ["tim", "ann"],
        "subtree": ["east-1", "tim", "ann"],
        "manager": "tim",
        "managers_above": ["eve"],
    }


async def test_a_person_reads_differently_before_and_after_a_move(client, auth) -> None:
    await build(client, auth)
    # Ann moves to the west region from 15 March.
    r = await client.post(
        "/v1/org/people/ann/move",
        json={"to_unit": "west", "effective": "2026-03-15"},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 200 and r.json()["node"] == "ann"
    # On 14 March she is in the east team, managed by Tim and Eve.
    before = (await client.get("/v1/org/nodes/ann?as_of=2026-03-14", headers=auth("ann"))).json()
    assert (before["parent"], before["managers_above"]) == ("east-1", ["tim", "eve"])
    # From 15 March she is in the west region, which has no manager yet.
    after = (await client.get("/v1/org/nodes/ann?as_of=2026-03-15", headers=auth("ann"))).json()
    assert (after["kind"], after["parent"], after["ancestors"]) == (
        "person",
        "west",
        ["west", "sales", "acme"],
    )
    assert after["managers_above"] == [] and after["manager"] is None


async def test_a_leaver_drops_out_of_the_tree_from_the_day_they_leave(client, auth) -> None:
    await build(client, auth)
    # Tim leaves on 1 May.
    r = await client.post("/v1/org/people/tim/leave", json={"effective": "2026-05-01"}, headers=auth(*ADMIN))
    assert r.status_code == 200, r.text
    # From then on his team has neither him nor a manager.
    team = (await client.get("/v1/org/nodes/east-1?as_of=2026-05-01", headers=auth("ann"))).json()
    assert (team["children"], team["manager"]) == (["ann"], None)


async def test_without_the_admin_role_the_org_cannot_be_changed(client, auth, pool) -> None:
    # Ann, without a role, tries to create the company.
    r = await client.post(
        "/v1/org/units", json={"node": "acme", "kind": "company", "name": "Acme"}, headers=auth("ann")
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "admin role" in r.json()["detail"]
    # Nothing was stored.
    assert await pool.fetchval("SELECT count(*) FROM events") == 0


async def test_an_unknown_parent_is_refused_naming_the_parent(client, auth, pool) -> None:
    await build(client, auth)
    count = await pool.fetchval("SELECT count(*) FROM events")
    # A team under a region that does not exist.
    r = await client.post(
        "/v1/org/units",
        json={"node": "north-1", "kind": "team", "name": "North 1", "parent": "north"},
        headers=auth(*ADMIN),
    )
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["parent"]
    assert await pool.fetchval("SELECT count(*) FROM events") == count


async def test_a_duplicate_node_is_a_conflict(client, auth) -> None:
    await build(client, auth)
    # Another unit called "east", and a person whose id is a unit's.
    unit = {"node": "east", "kind": "team", "name": "East again", "parent": "sales"}
    r = await client.post("/v1/org/units", json=unit, headers=auth(*ADMIN))
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "node"
    person = {"person": "west", "name": "West", "unit": "east"}
    r = await client.post("/v1/org/people", json=person, headers=auth(*ADMIN))
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "person"


async def test_rules_of_the_tree_answer_422_naming_the_field(client, auth) -> None:
    await build(client, auth)
    # A move effective before Ann's membership began rewrites history.
    r = await client.post(
        "/v1/org/people/ann/move", json={"to_unit": "west", "effective": "2025-12-01"}, headers=auth(*ADMIN)
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "effective"
    # A second company.
    r = await client.post(
        "/v1/org/units", json={"node": "rival", "kind": "company", "name": "Rival"}, headers=auth(*ADMIN)
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/v1/org/units", {"node": "x", "kind": "squad", "name": "X", "parent": "acme"}, "kind"),
        ("/v1/org/units", {"node": "", "kind": "team", "name": "X", "parent": "acme"}, "node"),
        ("/v1/org/units", {"node": "x", "kind": "team", "parent": "acme"}, "name"),
        ("/v1/org/units", {"node": "x", "kind": "team", "name": "X", "boss": "ann"}, "boss"),
        (
            "/v1/org/people",
            {"person": "zed", "name": "Zed", "unit": "acme", "effective": "soon"},
            "effective",
        ),
        ("/v1/org/people/ann/move", {"to_unit": "acme"}, "effective"),
        ("/v1/org/people/ann/leave", {"effective": "2026-02-30"}, "effective"),
        ("/v1/org/units/acme/manager", {"effective": "2026-01-01"}, "manager"),
    ],
)
async def test_a_malformed_body_names_the_field_and_stores_nothing(client, auth, pool, url, body, field) -> None:
    r = await client.post(url, json=body, headers=auth(*ADMIN))
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await pool.fetchval("SELECT count(*) FROM events") == 0


async def test_reading_an_empty_org_or_an_unknown_node_is_not_found(client, auth) -> None:
    # Before the company exists there is no tree (ann is nobody yet: only a role may ask).
    r = await client.get("/v1/org/tree", headers=auth("eve", "auditor"))
    assert r.status_code == 404 and "company" in r.json()["detail"]
    # Once it does, a node nobody created is not found either.
    await build(client, auth)
    r = await client.get("/v1/org/nodes/ghost", headers=auth("ann"))
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "node"


async def test_joining_without_a_date_means_today(client, auth, settings) -> None:
    await build(client, auth)
    # Zed joins the west region without saying when.
    r = await client.post("/v1/org/people", json={"person": "zed", "name": "Zed", "unit": "west"}, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    # Today he is a member; yesterday he was not.
    today = datetime.now(UTC).date()
    assert (await client.get("/v1/org/nodes/zed", headers=auth("zed"))).json()["parent"] == "west"
    yesterday = date.fromordinal(today.toordinal() - 1).isoformat()
    r = await client.get(f"/v1/org/nodes/zed?as_of={yesterday}", headers=auth("zed"))
    assert r.json()["parent"] is None


async def test_the_org_endpoints_are_in_the_openapi_document(client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/v1/org/tree", "/v1/org/nodes/{node}", "/v1/org/people/{person}/move"} <= set(paths)


async def test_the_cache_catches_up_with_only_the_newer_events(store: EventStore) -> None:
    cache = Caches().org
    cmd = Command(
        store=store,
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        actor=Principal("ceo", "admin"),
        request_id="r-1",
    )
    # Before anything is stored, the cache answers with an empty organisation.
    assert not (await cache.current(store)).exists("acme")
    # The company is created, and the cache sees it.
    await create_unit(cmd, node="acme", kind="company", name="Acme")
    first = await cache.current(store)
    assert first.exists("acme") and first.version == 2
    # Ann joins; the cache reads only that newer event and answers with her in the tree.
    await add_person(cmd, person="ann", name="Ann", unit="acme", effective=date(2026, 1, 1))
    second = await cache.current(store)
    assert second.parent("ann", date(2026, 1, 1)) == "acme" and second.version == 3
