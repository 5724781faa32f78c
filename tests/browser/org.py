"""The small organisation every browser test reads, written through the API as a client would."""

from dataclasses import dataclass

import httpx

from target_ledger.api.auth import issue_token

PEOPLE = [
    ("ceo", "acme"),
    ("east-boss", "east"),
    ("lead1", "east-1"),
    ("rep1", "east-1"),
    ("rep2", "east-1"),
    ("west-boss", "west"),
    ("rep3", "west"),
]
UNITS = [
    ("acme", "company", "Acme", None),
    ("east", "region", "East", "acme"),
    ("east-1", "team", "East 1", "east"),
    ("west", "region", "West", "acme"),
]
ACTUALS = [("rep1", "2026-07-10", "150.25"), ("rep2", "2026-08-03", "99.50"), ("rep3", "2026-07-20", "300")]
MANAGERS = [("acme", "ceo"), ("east", "east-boss"), ("east-1", "lead1"), ("west", "west-boss")]


@dataclass
class Ledger:
    url: str
    api: httpx.AsyncClient
    secret: str
    team_target: str = ""  # east-1's 2026-Q3 revenue target's id
    position: int = 0  # of the last write seen: reads wait for the read model to reach it

    def headers(self, subject: str, role: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.secret, subject, role)}"}

    async def post(self, path: str, body: dict, subject: str = "root", role: str | None = "admin") -> dict:
        r = await self.api.post(path, json=body, headers=self.headers(subject, role))
        assert r.status_code in (200, 201), r.text
        self.position = max(self.position, r.json().get("position") or 0)
        return r.json()

    async def attainment(self, subject: str, **params: str) -> dict:
        """GET /v1/attainment as `subject`, once the read model holds every event recorded so far."""
        query = {"metric": "revenue", "period": "2026-Q3", "min_position": str(self.position), **params}
        r = await self.api.get("/v1/attainment", params=query, headers=self.headers(subject))
        assert r.status_code == 200, r.text
        return r.json()


async def seed(ledger: Ledger) -> None:
    """acme → east (east-1: lead1, rep1, rep2) and west (rep3); east-1's Q3 revenue target of 1,000.00
    split 60 : 40 between rep1 and rep2; west's of 800.00; and a few actuals in July and August."""
    for node, kind, name, parent in UNITS:
        body = {"node": node, "kind": kind, "name": name, **({"parent": parent} if parent else {})}
        await ledger.post("/v1/org/units", body)
    for person, unit in PEOPLE:
        await ledger.post("/v1/org/people", {"person": person, "name": person, "unit": unit, "effective": "2025-01-01"})
    for unit, manager in MANAGERS:
        await ledger.post(f"/v1/org/units/{unit}/manager", {"manager": manager, "effective": "2025-01-01"})
    team = {"node": "east-1", "metric": "revenue", "period": "2026-Q3", "value": "1000.00"}
    ledger.team_target = (await ledger.post("/v1/targets", team, "east-boss", None))["id"]
    split = {"axis": "org", "method": "weights", "weights": {"rep1": "6", "rep2": "4"}}
    await ledger.post(f"/v1/targets/{ledger.team_target}/decomposition", split, "lead1", None)
    west = {"node": "west", "metric": "revenue", "period": "2026-Q3", "value": "800.00"}
    await ledger.post("/v1/targets", west, "ceo", None)
    for person, day, value in [
        ("rep1", "2026-07-10", "150.25"),
        ("rep2", "2026-08-03", "99.50"),
        ("rep3", "2026-07-20", "300"),
    ]:
        actual = {"person": person, "metric": "revenue", "date": day, "value": value, "external_ref": f"{person}-{day}"}
        await ledger.post("/v1/actuals", actual, person, None)
