"""The pipeline stories' quarter: east-1's opportunities moving through the stages in July 2026."""

from tests.api.support import ADMIN, build_east, team_target

PATH = "/v1/opportunities"


async def open_deal(client, auth, who: str, person: str, name: str, amount: str, close_on: str, **more) -> dict:
    body = {"person": person, "name": name, "amount": amount, "close_on": close_on, **more}
    r = await client.post(PATH, json=body, headers=auth(who))
    assert r.status_code == 201, r.text
    return r.json()


async def move(client, auth, who: str, deal: dict, stage: str) -> dict:
    r = await client.post(f"{PATH}/{deal['id']}/stage", json={"stage": stage}, headers=auth(who))
    assert r.status_code == 200, r.text
    return r.json()


async def july_quarter(client, auth, clock) -> dict:
    """East as in the adjustment stories: east-1's Q3 revenue target 1,000 (rep1 600, rep2 400).
    On 10 July rep1 opens Globex (200, closing 15 Aug) and Initech (300, 10 Sep); rep2 opens
    Umbrella (150, 30 Aug), Hooli (100, 25 Jul) and Soylent (400, 15 Oct: the next quarter);
    rep2 sells 50 on 12 July. By 25 July: Globex won (sent twice), Initech in negotiation,
    Umbrella lost on price (20 July), Hooli still prospecting. Returns the deals by name."""
    clock.set("2026-07-10")
    await build_east(client, auth)
    await team_target(client, auth)
    deals = {
        "globex": await open_deal(client, auth, "rep1", "rep1", "Globex", "200", "2026-08-15"),
        "initech": await open_deal(client, auth, "rep1", "rep1", "Initech", "300", "2026-09-10"),
        "umbrella": await open_deal(client, auth, "rep2", "rep2", "Umbrella", "150", "2026-08-30"),
        "hooli": await open_deal(client, auth, "lead1", "rep2", "Hooli", "100", "2026-07-25"),
        "soylent": await open_deal(client, auth, "rep2", "rep2", "Soylent", "400", "2026-10-15"),
    }
    body = {"person": "rep2", "metric": "revenue", "date": "2026-07-12", "value": "50"}
    assert (await client.post("/v1/actuals", json=body, headers=auth(*ADMIN))).status_code == 201
    clock.set("2026-07-15")
    for name, who in (("globex", "rep1"), ("initech", "rep1"), ("umbrella", "rep2")):
        await move(client, auth, who, deals[name], "qualification")
    clock.set("2026-07-20")
    await move(client, auth, "rep1", deals["globex"], "proposal")
    await move(client, auth, "rep1", deals["initech"], "proposal")
    r = await client.post(
        f"{PATH}/{deals['umbrella']['id']}/loss",
        json={"reason": "price", "note": "15 % cheaper elsewhere"},
        headers=auth("rep2"),
    )
    assert r.status_code == 200, r.text
    clock.set("2026-07-25")
    await move(client, auth, "rep1", deals["initech"], "negotiation")
    return deals
