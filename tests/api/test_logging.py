"""Request ids and JSON logs: the client's X-Request-ID (or one made for it) comes back on every
answer, is in the events a command appends, and is on each log line written for the request."""

import uuid

import httpx

from target_ledger.api.edge import MAX_BODY
from tests.api import served

ADMIN = ("root", "admin")
UNIT = {"node": "acme", "kind": "company", "name": "Acme"}


async def test_the_request_id_comes_back_on_every_answer_refusals_included(client, auth) -> None:
    # The client's id, on a 200.
    r = await client.get("/health/live", headers={"X-Request-ID": "lb-7f3a"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "lb-7f3a"
    # None given: one is made (uuid4 hex), on a 404 of a path no route takes, and on a 404 problem.
    r = await client.get("/nowhere")
    assert r.status_code == 404 and len(r.headers["x-request-id"]) == 32
    r = await client.get(f"/v1/targets/{uuid.uuid4()}", headers=auth(*ADMIN))
    assert r.status_code == 404 and len(r.headers["x-request-id"]) == 32
    # A body over the limit, refused at the edge before any handler: 413, with the id.
    big = {**auth(*ADMIN), "content-type": "application/json", "X-Request-ID": "too-big-1"}
    r = await client.post("/v1/actuals", content=b" " * (MAX_BODY + 1), headers=big)
    assert r.status_code == 413 and r.headers["x-request-id"] == "too-big-1"
    # An invalid body: 422 problem+json, with the id.
    r = await client.post("/v1/org/units", json={"node": "acme"}, headers={**auth(*ADMIN), "X-Request-ID": "bad-1"})
    assert r.status_code == 422 and r.headers["x-request-id"] == "bad-1"
    # Two requests without an id get two ids.
    first, second = (await client.get("/health/live"), await client.get("/health/live"))
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_commands_events_carry_the_id_its_answer_came_with(client, auth, pool) -> None:
    # No id given: the one made for the request is both echoed and kept in the event's metadata.
    r = await client.post("/v1/org/units", json=UNIT, headers=auth(*ADMIN))
    assert r.status_code == 201, r.text
    made = r.headers["x-request-id"]
    kept = await pool.fetchval("SELECT metadata->>'request_id' FROM events WHERE position = $1", r.json()["position"])
    assert kept == made


async def test_serve_logs_one_json_object_a_line_with_the_request_id(settings, auth, tmp_path) -> None:
    api = await served.serve(settings, tmp_path / "serve.log")
    async with served.stopped_at_end(api):
        async with httpx.AsyncClient(base_url=api.url) as http:
            given = await http.post("/v1/org/units", json=UNIT, headers={**auth(*ADMIN), "X-Request-ID": "given-42"})
            made = await http.get(f"/v1/targets/{uuid.uuid4()}", headers=auth(*ADMIN))
        assert given.status_code == 201 and made.status_code == 404
    # Every line on stderr is a JSON object with its time (UTC), level, logger and event...
    lines = api.lines()
    assert lines and all({"time", "level", "logger", "event"} <= line.keys() for line in lines)
    assert all(line["time"].endswith("Z") for line in lines)
    # ... uvicorn's own lines included (no second, plain-text format) ...
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    # ... and each request's access line carries its id: the client's, or the one it was answered with.
    access = {line["request_id"]: line for line in lines if line["logger"] == "target_ledger.access"}
    assert access["given-42"]["route"] == "/v1/org/units" and access["given-42"]["status"] == 201
    made_id = made.headers["x-request-id"]
    assert access[made_id]["route"] == "/v1/targets/{target_id}" and access[made_id]["status"] == 404
    assert access[made_id]["ms"] >= 0
