"""The server-sent event stream: live events, heartbeats, and a reconnect that misses nothing."""

import json

import httpx
import pytest

from tests.api.feed_support import INTEGRATION, actual, build_east, events, team_target
from tests.api.live import live_api, sse_events


@pytest.fixture
async def api(settings, clock) -> httpx.AsyncClient:
    async with live_api(settings, clock, sse_heartbeat=0.2) as client:
        yield client


async def _take(client, auth, count: int, **headers) -> list[dict]:
    """Read `count` events from the stream, then hang up."""
    taken = []
    async with client.stream("GET", "/v1/feed/stream", headers={**auth(*INTEGRATION), **headers}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        async for event_id, data in sse_events(r):
            if data is None:
                continue  # a heartbeat
            event = json.loads(data)
            assert str(event["sequence"]) == event_id
            taken.append(event)
            if len(taken) == count:
                break
    return taken


async def test_a_reconnect_with_last_event_id_gets_every_event_exactly_once_in_order(api, auth) -> None:
    await build_east(api, auth)
    await team_target(api, auth, value="1000", period="2026-Q4")
    await actual(api, auth, "rep1", "100")
    # The consumer reads a few events, then its connection drops mid-stream.
    first = await _take(api, auth, 4)
    # Meanwhile the ledger moves on.
    for value in ("200", "300", "400"):
        last = await actual(api, auth, "rep2", value)
    everything = await events(api, auth, last)
    # It comes back with the id of the last event it saw and reads up to the newest one.
    rest = await _take(api, auth, len(everything) - len(first), **{"Last-Event-ID": str(first[-1]["sequence"])})
    assert [e["id"] for e in first + rest] == [e["id"] for e in everything]


async def test_a_quiet_stream_sends_heartbeats_then_live_events(api, auth) -> None:
    await build_east(api, auth)
    await team_target(api, auth, value="1000", period="2026-Q4")
    # Three target.set events, then quiet: heartbeats keep the connection alive.
    taken = await _take(api, auth, 3)
    assert [e["type"] for e in taken] == ["target.set.v1"] * 3
    async with api.stream("GET", "/v1/feed/stream", params={"after": 3}, headers=auth(*INTEGRATION)) as r:
        stream = sse_events(r)
        assert await anext(stream) == (None, None)
        # An actual recorded now arrives live.
        await actual(api, auth, "rep1", "100")
        event_id, data = await anext(stream)
        while data is None:  # heartbeats until it comes
            event_id, data = await anext(stream)
        assert json.loads(data)["type"] == "attainment.updated.v1" and event_id == "4"
