"""Helpers for the integration-event stories: actuals in, public events out."""

from tests.api.support import ADMIN, build_east, team_target

INTEGRATION = ("crm", "integration")
__all__ = ["ADMIN", "INTEGRATION", "actual", "build_east", "east_2_target", "events", "team_target"]


async def actual(client, auth, person: str, value: str, day: str = "2026-10-15") -> int:
    """Record an actual as the CRM; return its position."""
    body = {"person": person, "metric": "revenue", "date": day, "value": value}
    r = await client.post("/v1/actuals", json=body, headers=auth(*INTEGRATION))
    assert r.status_code == 201, r.text
    return r.json()["position"]


async def events(client, auth, position: int, who=INTEGRATION, **params) -> list[dict]:
    """Every public event the reader may see, once the projection has applied `position`."""
    found, after = [], 0
    while True:
        query = {"after": after, "limit": 50, "min_position": position, **params}
        r = await client.get("/v1/feed", params=query, headers=auth(*who))
        assert r.status_code == 200, r.text
        page = r.json()
        found += page["events"]
        if not page["events"]:
            return found
        after = page["next"]


async def east_2_target(client, auth) -> None:
    """rep3 joins east-2, and east-2 gets a target of its own for the quarter."""
    person = {"person": "rep3", "name": "rep3", "unit": "east-2", "effective": "2025-01-01"}
    assert (await client.post("/v1/org/people", json=person, headers=auth(*ADMIN))).status_code == 201
    body = {"node": "east-2", "metric": "revenue", "period": "2026-Q4", "value": "500"}
    assert (await client.post("/v1/targets", json=body, headers=auth("east-boss"))).status_code == 201
