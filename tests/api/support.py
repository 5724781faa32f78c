"""The org, target and request that the adjustment stories share."""

from datetime import UTC, datetime

from target_ledger.application import Command
from target_ledger.domain.access import Principal

ADMIN = ("root", "admin")


def importer(store, today: str) -> Command:
    """The command the importer tests run as: a CRM sync (integration role) at noon UTC on `today`."""
    return Command(
        store=store,
        clock=lambda: datetime.fromisoformat(today).replace(hour=12, tzinfo=UTC),
        actor=Principal("crm-sync", "integration"),
        request_id="import-1",
    )


async def admin_post(client, auth, path: str, body: dict) -> dict:
    r = await client.post(path, json=body, headers=auth(*ADMIN))
    assert r.status_code in (200, 201), r.text
    return r.json()


async def build_east(client, auth) -> None:
    """acme (ceo) → east (east-boss) → east-1 (lead1: rep1, rep2), east-2 (lead2)."""
    await admin_post(client, auth, "/v1/org/units", {"node": "acme", "kind": "company", "name": "Acme"})
    await admin_post(
        client, auth, "/v1/org/units", {"node": "east", "kind": "region", "name": "East", "parent": "acme"}
    )
    for team in ("east-1", "east-2"):
        await admin_post(client, auth, "/v1/org/units", {"node": team, "kind": "team", "name": team, "parent": "east"})
    people = [
        ("ceo", "acme"),
        ("east-boss", "east"),
        ("lead1", "east-1"),
        ("lead2", "east-2"),
        ("rep1", "east-1"),
        ("rep2", "east-1"),
    ]
    for person, unit in people:
        body = {"person": person, "name": person, "unit": unit, "effective": "2025-01-01"}
        await admin_post(client, auth, "/v1/org/people", body)
    for unit, manager in [("acme", "ceo"), ("east", "east-boss"), ("east-1", "lead1"), ("east-2", "lead2")]:
        await admin_post(client, auth, f"/v1/org/units/{unit}/manager", {"manager": manager, "effective": "2025-01-01"})


async def team_target(client, auth, value="1000", period="2026-Q3") -> dict:
    """east-1's quarterly target, split between its two reps 60 : 40."""
    r = await client.post(
        "/v1/targets",
        json={"node": "east-1", "metric": "revenue", "period": period, "value": value},
        headers=auth("east-boss"),
    )
    assert r.status_code == 201, r.text
    target = r.json()
    r = await client.post(
        f"/v1/targets/{target['id']}/decomposition",
        json={"axis": "org", "method": "weights", "weights": {"rep1": "6", "rep2": "4"}},
        headers=auth("lead1"),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def ask(client, auth, target_id, who="lead1", **body) -> dict:
    body = {
        "reason_category": "market_change",
        "justification": "a key customer went bankrupt",
        "evidence": ["https://crm.example/acct/77"],
        **body,
    }
    r = await client.post(f"/v1/targets/{target_id}/adjustments", json=body, headers=auth(who))
    assert r.status_code == 201, r.text
    return r.json()
