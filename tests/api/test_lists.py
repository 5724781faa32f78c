"""Lists a page at a time: targets, actuals, people, units and the raw log, each filtered to what
the reader may read, and walked to the end while others write without a repeat or a gap."""

import asyncio
import base64
import json

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from target_ledger.app import create_app
from tests.api.monitoring_support import head
from tests.api.support import ADMIN, admin_post, build_east, team_target

OUTSIDER, AUDITOR, CRM = ("mallory",), ("eve", "auditor"), ("crm", "integration")


@pytest.fixture
async def east(client, auth, clock) -> dict:
    """East on 10 July 2026: east-1's Q3 revenue target split 600 : 400 between rep1 and rep2, and
    actuals: rep1 100 on 5 July from the CRM (ref o-1), rep2 50 on 6 July, rep1 3 orders on 7 July."""
    clock.set("2026-07-10")
    await build_east(client, auth)
    team = await team_target(client, auth)
    ids = {}
    for person, metric, day, value, ref in (
        ("rep1", "revenue", "2026-07-05", "100", "o-1"),
        ("rep2", "revenue", "2026-07-06", "50", None),
        ("rep1", "orders", "2026-07-07", "3", None),
    ):
        body = {"person": person, "metric": metric, "date": day, "value": value}
        body |= {"source": "crm", "external_ref": ref} if ref else {}
        r = await client.post("/v1/actuals", json=body, headers=auth(*CRM))
        assert r.status_code == 201, r.text
        ids[(person, metric)] = r.json()["id"]
    return {"team": team, "actuals": ids, **{c["node"]: c for c in team["children"]}}


async def _get(client, auth, path: str, who: tuple = ADMIN, **params):
    return await client.get(path, params={**params}, headers=auth(*who))


async def _page(client, auth, path: str, who: tuple = ADMIN, **params) -> dict:
    if path in ("/v1/targets", "/v1/actuals"):
        params = {"min_position": await head(client), **params}
    r = await _get(client, auth, path, who, **params)
    assert r.status_code == 200, (who, path, params, r.text)
    return r.json()


async def _items(client, auth, path: str, who: tuple = ADMIN, key: str = "id", **params) -> list:
    return [item[key] for item in (await _page(client, auth, path, who, **params))["items"]]


def _refused(r, status: int, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    if field is not None:
        assert [e["field"] for e in r.json()["errors"]] == [field], r.text


# Targets.


async def test_targets_are_listed_by_each_filter(client, auth, east) -> None:
    team, rep1, rep2 = east["team"]["id"], east["rep1"]["target_id"], east["rep2"]["target_id"]
    # An unscoped yearly orders target for rep1, and rep1 acknowledges their revenue share.
    r = await client.post(
        "/v1/targets", json={"node": "rep1", "metric": "orders", "period": "2026", "value": "40"}, headers=auth("lead1")
    )
    assert r.status_code == 201, r.text
    orders = r.json()["id"]
    r = await client.post(f"/v1/targets/{rep1}/acknowledgement", json={"comment": "ok"}, headers=auth("rep1"))
    assert r.status_code == 200, r.text
    # In (node, metric, first day, id) order, with the fields a client needs to act on one.
    page = await _page(client, auth, "/v1/targets")
    assert [(t["node"], t["metric"], t["period"]) for t in page["items"]] == [
        ("east-1", "revenue", "2026-Q3"),
        ("rep1", "orders", "2026"),
        ("rep1", "revenue", "2026-Q3"),
        ("rep2", "revenue", "2026-Q3"),
    ]
    assert page["next"] is None
    first = page["items"][0]
    assert (first["value"], first["starts_on"], first["ends_on"]) == ("1000", "2026-07-01", "2026-09-30")
    assert (first["decomposed_along"], first["acknowledgement"]) == ("org", "pending")
    assert await _items(client, auth, "/v1/targets", node="rep1") == [orders, rep1]
    assert await _items(client, auth, "/v1/targets", subtree="east-1", metric="revenue") == [team, rep1, rep2]
    assert await _items(client, auth, "/v1/targets", subtree="acme", period="2026") == [orders]
    assert await _items(client, auth, "/v1/targets", acknowledged="true") == [rep1]
    assert await _items(client, auth, "/v1/targets", acknowledged="false", node="rep1") == [orders]
    assert await _items(client, auth, "/v1/targets", scope="segment:new") == []


async def test_a_target_list_holds_only_the_nodes_the_reader_may_read(client, auth, east) -> None:
    team, rep1, rep2 = east["team"]["id"], east["rep1"]["target_id"], east["rep2"]["target_id"]
    # A person: their own and their unit's, not a colleague's.
    assert await _items(client, auth, "/v1/targets", ("rep1",)) == [team, rep1]
    assert await _items(client, auth, "/v1/targets", ("lead1",)) == [team, rep1, rep2]
    assert await _items(client, auth, "/v1/targets", ("lead2",)) == []
    assert await _items(client, auth, "/v1/targets", ("rep1",), subtree="east-1") == [team, rep1]
    assert await _items(client, auth, "/v1/targets", AUDITOR) == [team, rep1, rep2]
    # A node named out of reach is a 403, an unknown one a 404 naming its field; outsiders learn nothing.
    _refused(await _get(client, auth, "/v1/targets", ("rep1",), node="rep2"), 403)
    _refused(await _get(client, auth, "/v1/targets", ("lead2",), subtree="east-1"), 403)
    _refused(await _get(client, auth, "/v1/targets", ("lead1",), node="nobody"), 404, "node")
    _refused(await _get(client, auth, "/v1/targets", ("lead1",), subtree="nobody"), 404, "subtree")
    _refused(await _get(client, auth, "/v1/targets", ("lead1",), metric="nope"), 404, "metric")
    for params in ({}, {"node": "nobody"}):
        _refused(await _get(client, auth, "/v1/targets", OUTSIDER, **params), 403)


# Actuals.


async def test_actuals_are_listed_by_each_filter(client, auth, east) -> None:
    ids = east["actuals"]
    r1, r2, o1 = ids[("rep1", "revenue")], ids[("rep2", "revenue")], ids[("rep1", "orders")]
    r = await client.post(f"/v1/actuals/{r2}/reversal", json={"reason": "typo"}, headers=auth("lead1"))
    assert r.status_code == 201, r.text
    # In the order they were recorded, with what finds one again (source, external_ref).
    page = await _page(client, auth, "/v1/actuals")
    assert [a["id"] for a in page["items"]] == [r1, r2, o1] and page["next"] is None
    first = page["items"][0]
    assert (first["person"], first["date"], first["value"], first["source"], first["external_ref"]) == (
        "rep1",
        "2026-07-05",
        "100",
        "crm",
        "o-1",
    )
    assert await _items(client, auth, "/v1/actuals", person="rep1") == [r1, o1]
    assert await _items(client, auth, "/v1/actuals", node="east-1", metric="revenue") == [r1, r2]
    assert await _items(client, auth, "/v1/actuals", node="east-2") == []
    assert await _items(client, auth, "/v1/actuals", **{"from": "2026-07-06", "to": "2026-07-06"}) == [r2]
    assert await _items(client, auth, "/v1/actuals", source="crm", external_ref="o-1") == [r1]
    assert await _items(client, auth, "/v1/actuals", reversed="true") == [r2]
    assert await _items(client, auth, "/v1/actuals", reversed="false") == [r1, o1]


async def test_an_actual_list_holds_only_the_people_the_reader_may_read(client, auth, east) -> None:
    ids = east["actuals"]
    r1, r2, o1 = ids[("rep1", "revenue")], ids[("rep2", "revenue")], ids[("rep1", "orders")]
    assert await _items(client, auth, "/v1/actuals", ("rep1",)) == [r1, o1]
    assert await _items(client, auth, "/v1/actuals", ("rep1",), node="east-1") == [r1, o1]
    assert await _items(client, auth, "/v1/actuals", ("lead1",)) == [r1, r2, o1]
    assert await _items(client, auth, "/v1/actuals", ("lead2",)) == []
    # The integration role records and reverses anyone's: it finds them all.
    assert await _items(client, auth, "/v1/actuals", CRM, source="crm") == [r1]
    _refused(await _get(client, auth, "/v1/actuals", ("rep1",), person="rep2"), 403)
    _refused(await _get(client, auth, "/v1/actuals", ("lead2",), node="east-1"), 403)
    _refused(await _get(client, auth, "/v1/actuals", ("lead1",), person="nobody"), 404, "person")
    _refused(await _get(client, auth, "/v1/actuals", ("lead1",), node="nobody"), 404, "node")
    _refused(await _get(client, auth, "/v1/actuals", OUTSIDER), 403)


# The org chart.


async def test_people_and_units_are_listed_as_of_a_day(client, auth, east) -> None:
    r = await client.post(
        "/v1/org/people/rep2/move", json={"to_unit": "east-2", "effective": "2026-08-01"}, headers=auth(*ADMIN)
    )
    assert r.status_code == 200, r.text
    people = await _page(client, auth, "/v1/org/people", ("rep1",), unit="east-1")
    assert people == {
        "items": [
            {"person": "lead1", "name": "lead1", "unit": "east-1"},
            {"person": "rep1", "name": "rep1", "unit": "east-1"},
            {"person": "rep2", "name": "rep2", "unit": "east-1"},
        ],
        "next": None,
    }
    after = await _items(client, auth, "/v1/org/people", key="person", unit="east-2", as_of="2026-08-01")
    assert after == ["lead2", "rep2"]
    assert len(await _items(client, auth, "/v1/org/people", CRM, key="person")) == 6
    units = await _page(client, auth, "/v1/org/units", ("rep1",), unit="east")
    assert [(u["node"], u["parent"], u["manager"]) for u in units["items"]] == [
        ("east", "acme", "east-boss"),
        ("east-1", "east", "lead1"),
        ("east-2", "east", "lead2"),
    ]
    assert await _items(client, auth, "/v1/org/units", key="node", kind="team") == ["east-1", "east-2"]
    _refused(await _get(client, auth, "/v1/org/people", ("rep1",), unit="nobody"), 404, "unit")
    _refused(await _get(client, auth, "/v1/org/people", ("rep1",), unit="rep2"), 422, "unit")
    _refused(await _get(client, auth, "/v1/org/units", OUTSIDER), 403)


# The raw log.


async def test_the_raw_log_is_for_auditors_and_admins(client, auth, east) -> None:
    log = await _page(client, auth, "/v1/events", AUDITOR, limit=500)
    assert [e["position"] for e in log["items"]] == list(range(1, await head(client) + 1))
    assert await _items(client, auth, "/v1/events", ADMIN, key="position", after=3, limit=2) == [4, 5]
    team = east["team"]["id"]
    mine = (await _page(client, auth, "/v1/events", AUDITOR, stream=team))["items"]
    assert [e["version"] for e in mine] == [1, 2] and {e["stream_id"] for e in mine} == {team}
    assert mine[0]["payload"]["node"] == "east-1" and len(mine[0]["hash"]) == 64
    kinds = {e["type"] for e in (await _page(client, auth, "/v1/events", AUDITOR, type=mine[0]["type"]))["items"]}
    assert kinds == {mine[0]["type"]}
    for who in (OUTSIDER, ("ceo",), CRM):
        _refused(await _get(client, auth, "/v1/events", who), 403)


# Walking to the end.


class Writer:
    """Another task that writes while a walk goes on: one round of writes after each page the
    walk reads (handed over through a queue, so that the writes land between pages every time)."""

    def __init__(self, rounds) -> None:
        self.rounds, self.asked, self.written = iter(rounds), asyncio.Queue(), asyncio.Queue()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.asked.get()
            write = next(self.rounds, None)
            if write is not None:
                await write()
            await self.written.put(write is not None)

    async def between_pages(self) -> None:
        await self.asked.put(True)
        await self.written.get()

    async def stop(self) -> int:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        return sum(1 for _ in self.rounds)  # rounds left unwritten


async def _walk(client, auth, path: str, writer: Writer | None = None, **params) -> list[str]:
    seen, cursor = [], None
    while True:
        page = await _page(client, auth, path, **params, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= params["limit"]
        seen += [item["id"] for item in page["items"]]
        if (cursor := page["next"]) is None:
            return seen
        if writer is not None:
            await writer.between_pages()


async def test_walking_targets_to_the_end_while_others_set_targets_repeats_and_misses_nothing(
    client, auth, east
) -> None:
    # Monthly targets for east-2 before the walk; during it, more for nodes that sort before and
    # after (acme, rep1): an offset would count some twice, a key reached by position skip some.
    for month in range(1, 13):
        body = {"node": "east-2", "metric": "revenue", "period": f"2026-{month:02}", "value": "10"}
        await admin_post(client, auth, "/v1/targets", body)
    before = await _walk(client, auth, "/v1/targets", limit=500)

    def month_of_orders(month: int):
        async def write() -> None:
            for node in ("acme", "rep1"):
                body = {"node": node, "metric": "orders", "period": f"2026-{month:02}", "value": "5"}
                await admin_post(client, auth, "/v1/targets", body)

        return write

    writer = Writer(month_of_orders(m) for m in range(1, 13))
    walked = await _walk(client, auth, "/v1/targets", writer, limit=2)
    assert await writer.stop() < 6, "the walk ended before the writes it was to see between its pages"
    assert len(walked) == len(set(walked)), "a target came twice"
    assert set(before) <= set(walked), "a target that existed before the walk was skipped"


async def test_walking_actuals_to_the_end_while_others_record_and_reverse_repeats_and_misses_nothing(
    client, auth, east
) -> None:
    recorded = []
    for day in range(1, 21):
        body = {"person": "rep1", "metric": "calls", "date": f"2026-06-{day:02}", "value": "1"}
        r = await client.post("/v1/actuals", json=body, headers=auth("rep1"))
        assert r.status_code == 201, r.text
        recorded.append(r.json()["id"])
    before = await _walk(client, auth, "/v1/actuals", limit=500)

    def record_and_reverse(day: int):
        async def write() -> None:
            body = {"person": "rep2", "metric": "calls", "date": f"2026-05-{day:02}", "value": "1"}
            assert (await client.post("/v1/actuals", json=body, headers=auth("rep2"))).status_code == 201
            # A reversal changes a row already walked past, and one still ahead: neither moves.
            for actual in (recorded[day - 1], recorded[-day]):
                r = await client.post(f"/v1/actuals/{actual}/reversal", json={"reason": "typo"}, headers=auth("rep1"))
                assert r.status_code in (201, 409), r.text

        return write

    writer = Writer(record_and_reverse(d) for d in range(1, 11))
    walked = await _walk(client, auth, "/v1/actuals", writer, limit=3)
    assert await writer.stop() < 5, "the walk ended before the writes it was to see between its pages"
    assert len(walked) == len(set(walked)), "an actual came twice"
    assert set(before) <= set(walked), "an actual that existed before the walk was skipped"


# Bad pages.


@pytest.mark.parametrize("path", ["/v1/targets", "/v1/actuals", "/v1/org/people", "/v1/org/units", "/v1/events"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not a cursor!"}, "cursor"),
        ({"cursor": "WyJ4Il0"}, "cursor"),  # base64 of ["x"]: a cursor of another shape
        ({"cursor": "OTIyMzM3MjAzNjg1NDc3NTgwOA"}, "cursor"),  # 2^63: beyond any position
    ],
)
async def test_a_bad_limit_or_cursor_is_refused_naming_it(client, auth, east, path, params, field) -> None:
    r = await _get(client, auth, path, AUDITOR, **params)
    assert r.status_code in (400, 422), r.text
    assert [e["field"] for e in r.json()["errors"]] == [field], r.text


@pytest.mark.parametrize("period", ["2026-Q9", "2026-13", "nonsense"])
async def test_a_target_list_of_a_period_that_cannot_be_is_refused_naming_it(client, auth, east, period) -> None:
    r = await _get(client, auth, "/v1/targets", AUDITOR, period=period)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["period"], r.text


async def test_a_page_s_next_cursor_continues_where_it_ended(client, auth, east) -> None:
    first = await _page(client, auth, "/v1/org/people", limit=4)
    rest = await _page(client, auth, "/v1/org/people", limit=4, cursor=first["next"])
    names = [p["person"] for p in first["items"] + rest["items"]]
    assert names == ["ceo", "east-boss", "lead1", "lead2", "rep1", "rep2"] and rest["next"] is None


# Cursors are the list's own: signed, bound to the list and its filters, good on every process.


def _unsigned(key: object) -> str:
    """A cursor as a client could make one up: base64url of a key's JSON, without the list's tag."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v1/org/people", "x"),
        ("/v1/org/units", "east"),
        ("/v1/events", 1),
        ("/v1/actuals", 1),
        ("/v1/targets", ["east-1", "revenue", "2026-07-01", "00000000-0000-0000-0000-000000000000"]),
    ],
)
async def test_a_made_up_cursor_is_refused_naming_it(client, auth, east, path, key) -> None:
    # A key of the right shape, not given by the list: refused, whatever it would have skipped to.
    _refused(await _get(client, auth, path, AUDITOR, cursor=_unsigned(key)), 422, "cursor")


async def test_an_edited_cursor_is_refused(client, auth, east) -> None:
    given = (await _page(client, auth, "/v1/org/people", limit=2))["next"]
    _, tag = given.split(".")
    # The key changed to one further on, the list's tag kept: refused.
    _refused(await _get(client, auth, "/v1/org/people", cursor=f"{_unsigned('rep1')}.{tag}"), 422, "cursor")


async def test_a_cursor_from_another_list_or_other_filters_is_refused(client, auth, east) -> None:
    people = (await _page(client, auth, "/v1/org/people", limit=2))["next"]
    # The people's cursor on the units, or on the people of one unit only: refused.
    _refused(await _get(client, auth, "/v1/org/units", cursor=people), 422, "cursor")
    _refused(await _get(client, auth, "/v1/org/people", unit="east-1", cursor=people), 422, "cursor")
    # With the same filters (and another limit) it goes on.
    assert (await _page(client, auth, "/v1/org/people", limit=3, cursor=people))["items"]


async def test_a_cursor_from_one_process_works_on_another_sharing_the_secret(
    client, auth, east, settings, tmp_path
) -> None:
    first = await _page(client, auth, "/v1/org/people", limit=4)
    # Another API process: its own data directory, the same TL_JWT_SECRET.
    other = msgspec.structs.replace(
        settings, data_dir=str(tmp_path / "other"), run_projections=False, run_webhooks=False
    )
    async with AsyncTestClient(create_app(other)) as elsewhere:
        rest = await _page(elsewhere, auth, "/v1/org/people", limit=4, cursor=first["next"])
    names = [p["person"] for p in first["items"] + rest["items"]]
    assert names == ["ceo", "east-boss", "lead1", "lead2", "rep1", "rep2"]
